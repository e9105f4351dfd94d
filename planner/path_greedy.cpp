// Greedy contraction path, after opt_einsum's 'greedy': at each step contract
// the pair of operands that share a mode and minimize
//   size(result) - size(first) - size(second),
// breaking ties by lower FLOPs, then by position. Pairs sharing no mode (outer
// products) are only taken once no connected pair remains, smallest first.
//
// This is O(n^3) over n operands, fine for the tens of operands einsum users
// write by hand; large networks need the planner's faster algorithms.
#include <algorithm>
#include <limits>

#include "planner/path.hpp"

namespace einstream::detail {

namespace {

struct Candidate {
  double score = std::numeric_limits<double>::infinity();
  double flops = std::numeric_limits<double>::infinity();
  int first = -1;
  int second = -1;

  bool better_than(const Candidate& other) const {
    if (score != other.score) return score < other.score;
    return flops < other.flops;
  }
};

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

}  // namespace

LinearPath greedy_path(const Problem& problem) {
  const int count = static_cast<int>(problem.inputs.size());
  if (count == 1) return {{0}};

  std::vector<std::vector<Mode>> operands;
  for (const ProblemOperand& input : problem.inputs) {
    std::vector<Mode> modes;
    for (Mode mode : input.modes) {
      if (!contains(modes, mode)) modes.push_back(mode);
    }
    operands.push_back(std::move(modes));
  }
  auto size_of = [&](const std::vector<Mode>& modes) {
    double size = 1;
    for (Mode mode : modes) size *= static_cast<double>(problem.extents[mode]);
    return size;
  };
  // How many operands (plus the output) use each mode, so a mode that only
  // the two contracted operands use can be summed in the step.
  std::vector<int> users(problem.extents.size(), 0);
  for (const auto& modes : operands) {
    for (Mode mode : modes) ++users[mode];
  }
  for (Mode mode : problem.output) ++users[mode];

  LinearPath path;
  while (operands.size() > 1) {
    Candidate best;
    bool connected = false;
    const int remaining = static_cast<int>(operands.size());
    for (int first = 0; first < remaining; ++first) {
      for (int second = first + 1; second < remaining; ++second) {
        const auto& a = operands[first];
        const auto& b = operands[second];
        std::vector<Mode> involved = a;
        bool shares = false;
        for (Mode mode : b) {
          if (contains(a, mode)) {
            shares = true;
          } else {
            involved.push_back(mode);
          }
        }
        if (connected && !shares) continue;
        std::vector<Mode> result;
        for (Mode mode : involved) {
          const int uses = users[mode] - (contains(a, mode) ? 1 : 0) - (contains(b, mode) ? 1 : 0);
          if (uses > 0) result.push_back(mode);
        }
        Candidate candidate;
        candidate.first = first;
        candidate.second = second;
        if (shares) {
          candidate.score = size_of(result) - size_of(a) - size_of(b);
        } else {
          // Outer products: join the smallest operands first.
          candidate.score = size_of(result);
        }
        candidate.flops = size_of(involved) * (involved.size() > result.size() ? 2.0 : 1.0);
        if (shares && !connected) {
          connected = true;
          best = candidate;
        } else if (candidate.better_than(best)) {
          best = candidate;
        }
      }
    }

    const auto& a = operands[best.first];
    const auto& b = operands[best.second];
    std::vector<Mode> result;
    for (const auto* modes : {&a, &b}) {
      for (Mode mode : *modes) {
        const int uses = users[mode] - (contains(a, mode) ? 1 : 0) - (contains(b, mode) ? 1 : 0);
        if (uses > 0 && !contains(result, mode)) result.push_back(mode);
      }
    }
    for (Mode mode : a) --users[mode];
    for (Mode mode : b) --users[mode];
    for (Mode mode : result) ++users[mode];
    path.push_back({best.first, best.second});
    operands.erase(operands.begin() + best.second);
    operands.erase(operands.begin() + best.first);
    operands.push_back(std::move(result));
  }
  return path;
}

}  // namespace einstream::detail
