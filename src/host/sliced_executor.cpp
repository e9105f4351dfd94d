#include "src/host/sliced_executor.hpp"

#include <algorithm>

#include "planner/block_cursor.hpp"
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

void SlicedHostExecutor::use_program(const std::vector<std::int64_t>& level_extents,
                                     Program program) {
  programs_[level_extents] = std::move(program);
}

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
  const std::int64_t element = static_cast<std::int64_t>(size_of(dtype_));
  std::vector<const void*> block_inputs(inputs.size());
  BlockCursor cursor(problem_, plan_);
  do {
    // Each operand's element (0, ..., 0) of this block.
    for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
      block_inputs[operand] =
          static_cast<const char*>(inputs[operand]) +
          cursor.offset(static_cast<int>(operand), input_strides_[operand]) * element;
    }
    host_.run(program_for(cursor.level_extents()), block_inputs,
              static_cast<char*>(output) + cursor.offset(-1, output_strides_) * element, alpha,
              cursor.first_of_sum() ? beta : Scalar(1.0));
  } while (cursor.next());
}

}  // namespace einstream::detail
