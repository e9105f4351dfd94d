// Test support: the minimum FLOPs over every pairwise contraction order of a
// Problem (outer products included), by plain enumeration. The oracle for the
// path searches; exponential, so keep it to about 7 operands.
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "planner/problem.hpp"

namespace einstream::testing {

namespace brute_force_detail {

using detail::Mode;
using detail::Problem;

inline double size_of(const Problem& problem, const std::vector<Mode>& modes) {
  double size = 1;
  for (Mode mode : modes) size *= static_cast<double>(problem.extents[mode]);
  return size;
}

inline bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

// Cheapest completion of contracting `operands` (unique modes each), with
// intermediates capped at `memory_cap` elements (0: no cap; the output is
// exempt). Infinity when the cap forbids every order.
// With allow_outer false, only pairs sharing a mode are contracted (dp's
// search space); infinity when that leaves no way to finish.
inline double cheapest(const Problem& problem, const std::vector<std::vector<Mode>>& operands,
                       double memory_cap, bool allow_outer = true) {
  if (operands.size() == 1) return 0;
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t first = 0; first < operands.size(); ++first) {
    for (std::size_t second = first + 1; second < operands.size(); ++second) {
      const bool share = std::any_of(operands[first].begin(), operands[first].end(),
                                     [&](Mode mode) { return contains(operands[second], mode); });
      if (!allow_outer && !share) continue;
      std::vector<std::vector<Mode>> rest;
      for (std::size_t k = 0; k < operands.size(); ++k) {
        if (k != first && k != second) rest.push_back(operands[k]);
      }
      std::vector<Mode> involved = operands[first];
      for (Mode mode : operands[second]) {
        if (!contains(involved, mode)) involved.push_back(mode);
      }
      std::vector<Mode> result;
      for (Mode mode : involved) {
        bool needed = contains(problem.output, mode);
        for (const auto& other : rest) needed = needed || contains(other, mode);
        if (needed) result.push_back(mode);
      }
      const bool last = rest.empty();
      if (!last && memory_cap > 0 && size_of(problem, result) > memory_cap) continue;
      const double step = size_of(problem, involved) * (involved.size() > result.size() ? 2.0 : 1.0);
      rest.push_back(result);
      best = std::min(best, step + cheapest(problem, rest, memory_cap, allow_outer));
    }
  }
  return best;
}

}  // namespace brute_force_detail

// Minimum total FLOPs (as evaluate_path counts them) over every pairwise
// order (only those without outer products when allow_outer is false); for
// one operand, the cost of its single step.
inline double brute_force_min_flops(const detail::Problem& problem, double memory_cap = 0,
                                    bool allow_outer = true) {
  std::vector<std::vector<detail::Mode>> operands;
  for (const auto& input : problem.inputs) {
    std::vector<detail::Mode> unique;
    for (detail::Mode mode : input.modes) {
      if (!brute_force_detail::contains(unique, mode)) unique.push_back(mode);
    }
    operands.push_back(unique);
  }
  if (operands.size() == 1) {
    const auto& modes = operands[0];
    const bool sums = std::any_of(modes.begin(), modes.end(), [&](detail::Mode mode) {
      return !brute_force_detail::contains(problem.output, mode);
    });
    return brute_force_detail::size_of(problem, modes) * (sums ? 2.0 : 1.0);
  }
  return brute_force_detail::cheapest(problem, operands, memory_cap, allow_outer);
}

}  // namespace einstream::testing
