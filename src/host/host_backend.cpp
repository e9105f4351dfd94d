#include "src/host/host_backend.hpp"

#include <algorithm>
#include <numeric>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

// An operand of the running contraction: a caller's input or an intermediate
// this backend owns.
struct LiveOperand {
  ProblemOperand shape;
  ReferenceInput data;
  std::vector<unsigned char> storage;  // intermediates only; moving keeps the buffer
};

}  // namespace

void execute_path_on_host(const Problem& problem, const ContractionPath& path,
                          const std::vector<ReferenceInput>& inputs, const ReferenceOutput& output,
                          Scalar alpha, Scalar beta) {
  if (inputs.size() != problem.inputs.size()) {
    throw Error("host backend: " + std::to_string(inputs.size()) +
                " inputs given, the problem has " + std::to_string(problem.inputs.size()));
  }
  const bool complex = is_complex(output.dtype) ||
                       std::any_of(inputs.begin(), inputs.end(), [](const ReferenceInput& input) {
                         return is_complex(input.dtype);
                       });
  const DataType intermediate_dtype = complex ? DataType::c128 : DataType::f64;

  std::vector<LiveOperand> operands;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    operands.push_back({problem.inputs[index], inputs[index], {}});
  }

  for (std::size_t step_index = 0; step_index < path.steps.size(); ++step_index) {
    const PathStep& step = path.steps[step_index];
    Problem step_problem;
    step_problem.extents = problem.extents;
    step_problem.labels = problem.labels;
    step_problem.output = step.result;
    std::vector<ReferenceInput> step_inputs;
    for (int position : step.operands) {
      step_problem.inputs.push_back(operands[position].shape);
      step_inputs.push_back(operands[position].data);
    }
    // Keep intermediates alive until the step that reads them has run.
    std::vector<LiveOperand> consumed;
    for (auto it = step.operands.rbegin(); it != step.operands.rend(); ++it) {
      consumed.push_back(std::move(operands[*it]));
      operands.erase(operands.begin() + *it);
    }

    if (step_index + 1 == path.steps.size()) {
      reference_einsum(step_problem, step_inputs, output, alpha, beta);
      break;
    }
    std::vector<std::int64_t> extents;
    for (Mode mode : step.result) extents.push_back(problem.extents[mode]);
    const std::int64_t elements = TensorDesc(intermediate_dtype, extents).element_count();
    std::vector<unsigned char> storage(static_cast<std::size_t>(elements) *
                                       size_of(intermediate_dtype));
    const std::vector<std::int64_t> strides = c_order_strides(extents);
    reference_einsum(step_problem, step_inputs, {storage.data(), intermediate_dtype, strides});

    LiveOperand result;
    result.shape.modes = step.result;
    result.shape.axes.resize(step.result.size());
    std::iota(result.shape.axes.begin(), result.shape.axes.end(), 0);
    result.shape.rank = static_cast<int>(step.result.size());
    result.data = {storage.data(), intermediate_dtype, strides};
    result.storage = std::move(storage);
    operands.push_back(std::move(result));
  }
}

}  // namespace einstream::detail
