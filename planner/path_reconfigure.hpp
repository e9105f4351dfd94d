// Subtree reconfiguration (cotengra's subtree_reconfigure): walk the steps of
// a tree from the costliest down, grow each into a subtree of a few tensors,
// and replace it by the cheapest order of those tensors (exact_join) where
// that is cheaper. A subtree's tensors and result stay the same, so the rest
// of the tree keeps its cost: each replacement lowers the total.
#pragma once

#include <random>

#include "planner/path_budget.hpp"
#include "planner/path_hyper_tree.hpp"

namespace einstream::detail {

struct ReconfigureOptions {
  // Tensors of each re-optimized subtree (3 .. kExactJoinMaxTensors).
  int subtree_tensors = 8;
  // As PathSearchOptions::memory_cap: no new intermediate over it, and a
  // subtree with one over it is replaced by one within it where one exists.
  double memory_cap = 0;
  // Sweeps over the tree; it stops earlier once a sweep changes nothing.
  int max_sweeps = 32;
  // Where given, a subtree grows by a random tensor of its frontier rather
  // than the one its costliest step formed (cotengra's 'random' subtree
  // search): it forms subtrees the fixed growth never does, so sweeps that
  // have settled find more.
  std::mt19937_64* random = nullptr;
};

// Improves `tree` (complete) in place. It never adds an intermediate over
// the memory cap, and never raises the cost but to replace a subtree holding
// one over the cap by one that fits.
// Returns false when the deadline stopped it before a sweep found nothing
// left to improve.
bool reconfigure(PathTree& tree, const ReconfigureOptions& options, SearchDeadline& deadline);

}  // namespace einstream::detail
