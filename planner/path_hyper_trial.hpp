// One trial of the hyper-optimizing search: a contraction tree built with one
// draw of the hyper-parameters, by one of two methods.
//   greedy:    one greedy run with cotengra's greedy knobs (costmod as alpha,
//              temperature) over the whole network;
//   bisection: recursive partitioning of the operand graph (cotengra's
//              divisive 'kahypar' method with METIS): split the operands into
//              a few parts of small cut, build each part the same way, and
//              join the parts' results exactly; groups of at most `cutoff`
//              operands are joined exactly (up to kExactJoinMaxTensors) or by
//              greedy.
#pragma once

#include <cstdint>
#include <random>

#include "planner/path_greedy_core.hpp"
#include "planner/path_hyper_tree.hpp"
#include "planner/path_partition.hpp"

namespace einstream::detail {

enum class TrialMethod { greedy, bisection };

struct TrialParameters {
  TrialMethod method = TrialMethod::greedy;
  // The greedy run (method greedy) or the greedy joins of large groups
  // (method bisection); memory_cap applies to both methods' joins.
  GreedyParameters greedy;
  // Bisection: parts per split, their allowed imbalance, the largest group
  // joined without splitting, and which partitioner splits.
  int parts = 2;
  double imbalance = 0.1;
  int cutoff = 8;
  Partitioner partitioner = Partitioner::metis;
};

// The tree of one trial. `problem` is the one `network` and `graph` describe;
// `random` drives the greedy choices and the partitioner's seeds.
PathTree run_trial(const Problem& problem, const TreeNetwork& network, const OperandGraph& graph,
                   const TrialParameters& parameters, std::mt19937_64& random);

}  // namespace einstream::detail
