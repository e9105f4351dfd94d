#include "planner/block_cursor.hpp"

#include <algorithm>
#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

}  // namespace

BlockCursor::BlockCursor(const Problem& problem, const SlicePlan& plan)
    : problem_(problem),
      plan_(plan),
      index_(plan.sliced.size(), 0),
      level_extents_(plan.sliced.size()),
      start_(problem.mode_count(), 0) {
  for (const SlicedMode& sliced : plan.sliced)
    summed_.push_back(!contains(problem.output, sliced.mode));
  update();
}

void BlockCursor::update() {
  first_of_sum_ = last_of_sum_ = true;
  for (std::size_t level = 0; level < plan_.sliced.size(); ++level) {
    const SlicedMode& sliced = plan_.sliced[level];
    start_[sliced.mode] = index_[level] * sliced.block;
    level_extents_[level] =
        std::min(sliced.block, problem_.extents[sliced.mode] - start_[sliced.mode]);
    if (summed_[level]) {
      first_of_sum_ = first_of_sum_ && index_[level] == 0;
      last_of_sum_ = last_of_sum_ && index_[level] + 1 == sliced.blocks;
    }
  }
}

std::int64_t BlockCursor::offset(int operand, const std::vector<std::int64_t>& strides) const {
  std::int64_t offset = 0;
  if (operand < 0) {
    for (std::size_t axis = 0; axis < problem_.output.size(); ++axis) {
      offset += start_[problem_.output[axis]] * strides[axis];
    }
    return offset;
  }
  const ProblemOperand& input = problem_.inputs[operand];
  for (std::size_t k = 0; k < input.modes.size(); ++k) {
    offset += start_[input.modes[k]] * strides[input.axes[k]];
  }
  return offset;
}

void BlockCursor::seek(std::int64_t position) {
  std::int64_t rest = position;
  for (std::size_t level = plan_.sliced.size(); level-- > 0;) {
    const std::int64_t blocks = plan_.sliced[level].blocks;
    index_[level] = rest % blocks;
    rest /= blocks;
  }
  if (position < 0 || rest != 0) {
    throw Error("block cursor: position " + std::to_string(position) + " is outside the plan's " +
                std::to_string(plan_.block_count) + " blocks");
  }
  update();
}

bool BlockCursor::next() {
  for (std::size_t level = plan_.sliced.size(); level-- > 0;) {
    if (++index_[level] < plan_.sliced[level].blocks) {
      update();
      return true;
    }
    index_[level] = 0;
  }
  return false;
}

}  // namespace einstream::detail
