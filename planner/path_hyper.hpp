// The hyper-optimizing path search (PathAlgorithm::hyper), after cotengra's
// HyperOptimizer, with the knobs tests and benchmarks turn. path.hpp declares
// the form find_path uses.
#pragma once

#include "planner/path.hpp"
#include "planner/path_partition.hpp"

namespace einstream::detail {

struct HyperOptions {
  // Which partitioner the bisection trials use (METIS falls back to the
  // built-in one in a build without it).
  Partitioner partitioner = Partitioner::metis;
  // Host threads running trials (0: the hardware's, at most kMaxThreads).
  // The path does not depend on it.
  int threads = 0;
  // Share of the trials that are bisection trials (the rest are greedy).
  double bisection_share = 0.75;
  // Re-optimize subtrees of the best trees exactly after sampling.
  bool reconfigure = true;
};

// Most threads hyper_path starts.
constexpr int kHyperMaxThreads = 8;

LinearPath hyper_path(const Problem& problem, const PathSearchOptions& options,
                      const HyperOptions& hyper, bool* stopped_at_budget = nullptr);

}  // namespace einstream::detail
