#include "planner/simplify.hpp"

#include <algorithm>
#include <numeric>

namespace einstream::detail {

namespace {

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

bool is_subset(const std::vector<Mode>& small, const std::vector<Mode>& large) {
  return std::all_of(small.begin(), small.end(), [&](Mode mode) { return contains(large, mode); });
}

}  // namespace

Simplified simplify(const Problem& problem, bool merge_subsets) {
  std::vector<std::vector<Mode>> operands;
  for (const ProblemOperand& input : problem.inputs) {
    std::vector<Mode> unique;
    for (Mode mode : input.modes) {
      if (!contains(unique, mode)) unique.push_back(mode);
    }
    operands.push_back(std::move(unique));
  }
  // users[mode]: operands carrying the mode, plus one if the output keeps it.
  std::vector<int> users(problem.extents.size(), 0);
  for (const auto& modes : operands) {
    for (Mode mode : modes) ++users[mode];
  }
  for (Mode mode : problem.output) ++users[mode];

  Simplified simplified;
  auto contract = [&](std::vector<int> positions) {
    std::sort(positions.begin(), positions.end());
    std::vector<Mode> involved;
    for (int position : positions) {
      for (Mode mode : operands[position]) {
        if (!contains(involved, mode)) involved.push_back(mode);
        --users[mode];
      }
    }
    std::vector<Mode> result;
    for (Mode mode : involved) {
      if (users[mode] > 0) result.push_back(mode);
    }
    for (Mode mode : result) ++users[mode];
    for (auto it = positions.rbegin(); it != positions.rend(); ++it) {
      operands.erase(operands.begin() + *it);
    }
    operands.push_back(std::move(result));
    simplified.steps.push_back(positions);
  };

  // With one operand the whole problem is one step; leave it to the search.
  bool changed = operands.size() > 1;
  while (changed && operands.size() > 1) {
    changed = false;
    for (int position = 0; position < static_cast<int>(operands.size()) && !changed; ++position) {
      const bool sums_alone = std::any_of(operands[position].begin(), operands[position].end(),
                                          [&](Mode mode) { return users[mode] == 1; });
      if (sums_alone) {
        contract({position});
        changed = true;
      }
    }
    const int count = static_cast<int>(operands.size());
    for (int first = 0; first < count && merge_subsets && !changed; ++first) {
      for (int second = 0; second < count && !changed; ++second) {
        if (first != second && is_subset(operands[first], operands[second])) {
          contract({first, second});
          changed = true;
        }
      }
    }
  }

  simplified.remaining.extents = problem.extents;
  simplified.remaining.labels = problem.labels;
  simplified.remaining.output = problem.output;
  for (auto& modes : operands) {
    ProblemOperand operand;
    operand.rank = static_cast<int>(modes.size());
    operand.axes.resize(modes.size());
    std::iota(operand.axes.begin(), operand.axes.end(), 0);
    operand.modes = std::move(modes);
    simplified.remaining.inputs.push_back(std::move(operand));
  }
  return simplified;
}

}  // namespace einstream::detail
