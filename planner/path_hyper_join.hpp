// Joining a few subtrees of a PathTree into one: exactly, by a DP over every
// subset (for the handful of tensors a partition part or a reconfigured
// subtree holds), or by one greedy run (for larger groups).
#pragma once

#include <random>
#include <utility>
#include <vector>

#include "planner/path_greedy_core.hpp"
#include "planner/path_hyper_tree.hpp"

namespace einstream::detail {

// Most tensors exact_join takes: its DP visits 3^k / 2 splits (29524 at 10).
constexpr int kExactJoinMaxTensors = 10;
// Most tensors exact_join joins over every split, outer products included;
// larger connected groups are split into connected halves only.
constexpr int kExhaustiveJoinTensors = 7;

// An order of pairwise steps over k tensors in SSA numbering: slots 0..k-1
// are the tensors, step s makes slot k+s from the two slots it names.
struct JoinOrder {
  std::vector<std::pair<int, int>> steps;
  // FLOPs of the steps, counted as PathTree counts them.
  double flops = 0;
};

// The cheapest order contracting the results of `nodes` (disjoint subtrees
// of `tree`) into one, with no intermediate but the last over memory_cap
// (> 0): among all orders up to kExhaustiveJoinTensors tensors (or where the
// group is not connected), among those without outer products above. False (order untouched) where
// it does not apply: more than kExactJoinMaxTensors tensors or 64 distinct modes, or no order fits
// the cap.
bool exact_join(const PathTree& tree, const std::vector<int>& nodes, double memory_cap,
                JoinOrder* order);

// Appends the steps of `order` over `nodes` to the tree; returns the last.
int apply_join(PathTree& tree, const std::vector<int>& nodes, const JoinOrder& order);

// Joins `nodes` by one greedy run (with the parameters' temperature and
// alpha; `random` may be null when the temperature is 0); returns the root
// of the joined subtree.
int greedy_join(PathTree& tree, const std::vector<int>& nodes, const GreedyParameters& parameters,
                std::mt19937_64* random);

// exact_join where it applies, else greedy_join.
int best_join(PathTree& tree, const std::vector<int>& nodes, const GreedyParameters& parameters,
              std::mt19937_64* random);

}  // namespace einstream::detail
