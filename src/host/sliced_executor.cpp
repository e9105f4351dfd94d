#include "src/host/sliced_executor.hpp"

#include <algorithm>

#include "planner/lower.hpp"

namespace einstream::detail {

SlicedHostExecutor::SlicedHostExecutor(const Problem& problem, const ContractionPath& path,
                                       DataType dtype,
                                       std::vector<std::vector<std::int64_t>> input_strides,
                                       std::vector<std::int64_t> output_strides, SlicePlan plan)
    : problem_(problem),
      linear_(path.linear()),
      dtype_(dtype),
      input_strides_(std::move(input_strides)),
      output_strides_(std::move(output_strides)),
      plan_(std::move(plan)) {}

const Program& SlicedHostExecutor::program_for(const std::vector<std::int64_t>& block_extents) {
  auto found = programs_.find(block_extents);
  if (found != programs_.end()) return found->second;
  Problem block = problem_;
  for (std::size_t level = 0; level < plan_.sliced.size(); ++level) {
    block.extents[plan_.sliced[level].mode] = block_extents[level];
  }
  const ContractionPath path = evaluate_path(block, linear_);
  return programs_
      .emplace(block_extents, lower(block, path, dtype_, input_strides_, output_strides_))
      .first->second;
}

void SlicedHostExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                             Scalar beta) {
  const std::size_t levels = plan_.sliced.size();
  const std::int64_t element = static_cast<std::int64_t>(size_of(dtype_));
  std::vector<std::int64_t> index(levels, 0);  // block index per loop level
  std::vector<std::int64_t> start(problem_.mode_count(), 0);
  std::vector<std::int64_t> extents(levels);
  std::vector<const void*> block_inputs(inputs.size());
  while (true) {
    bool first_of_sum = true;
    for (std::size_t level = 0; level < levels; ++level) {
      const SlicedMode& sliced = plan_.sliced[level];
      start[sliced.mode] = index[level] * sliced.block;
      extents[level] = std::min(sliced.block, problem_.extents[sliced.mode] - start[sliced.mode]);
      const bool summed = std::find(problem_.output.begin(), problem_.output.end(), sliced.mode) ==
                          problem_.output.end();
      if (summed && index[level] != 0) first_of_sum = false;
    }
    // Each operand's element (0, ..., 0) of this block.
    for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
      const ProblemOperand& input = problem_.inputs[operand];
      std::int64_t offset = 0;
      for (std::size_t axis = 0; axis < input.modes.size(); ++axis) {
        offset += start[input.modes[axis]] * input_strides_[operand][input.axes[axis]];
      }
      block_inputs[operand] = static_cast<const char*>(inputs[operand]) + offset * element;
    }
    std::int64_t output_offset = 0;
    for (std::size_t axis = 0; axis < problem_.output.size(); ++axis) {
      output_offset += start[problem_.output[axis]] * output_strides_[axis];
    }
    host_.run(program_for(extents), block_inputs,
              static_cast<char*>(output) + output_offset * element, alpha,
              first_of_sum ? beta : Scalar(1.0));

    // Next block: the innermost level moves fastest.
    std::size_t level = levels;
    while (level > 0) {
      --level;
      if (++index[level] < plan_.sliced[level].blocks) break;
      index[level] = 0;
      if (level == 0) return;
    }
    if (levels == 0) return;
  }
}

}  // namespace einstream::detail
