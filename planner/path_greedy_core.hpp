// The greedy contraction search shared by greedy_path and random_greedy_path:
// one run, with the knobs random-greedy varies from run to run.
#pragma once

#include <limits>
#include <random>

#include "planner/path.hpp"

namespace einstream::detail {

struct GreedyParameters {
  // Largest intermediate wanted, in elements (0: no cap; the output is
  // exempt). Candidates over it are taken only when no other remains.
  double memory_cap = 0;
  // Weight of the inputs in the score size(result) - alpha (size(a) + size(b)):
  // 1 is opt_einsum's 'memory-removed'; cotengra's 'costmod' varies it, since
  // a smaller alpha favours small results and a larger one big removals.
  double alpha = 1;
  // Boltzmann temperature relative to the best score's magnitude (opt_einsum's
  // rel_temperature); 0 always takes the best candidate.
  double temperature = 0;
  // How many of the best candidates the Boltzmann choice samples from.
  int branch_count = 8;
  // Give up (GreedyOutcome::abandoned) once the running FLOPs exceed this:
  // random-greedy stops runs that can no longer beat its best.
  double flops_bound = std::numeric_limits<double>::infinity();
};

// A path with its cost, counted exactly as evaluate_path counts it.
struct GreedyOutcome {
  LinearPath path;
  double flops = 0;
  // Largest result of any step, the output included (evaluate_path's value).
  double largest_intermediate = 0;
  // Largest result of any step but the last: what the memory cap limits.
  double largest_before_output = 0;
  // The run stopped early at GreedyParameters::flops_bound; path is partial.
  bool abandoned = false;
};

// Ranges from which random-greedy and the hyper-optimizer draw a greedy run's
// knobs: cotengra's 'greedy' hyper-parameter space, the temperature
// log-uniform (log10 bounds), alpha uniform. On random 3- and 4-regular
// networks of 80-200 operands, narrower ranges (alpha fixed at 1, or
// temperature <= 0.1) found paths as cheap or up to 10^0.3 dearer for 128
// random-greedy runs.
constexpr double kGreedyLogTemperatureMin = -3.0;
constexpr double kGreedyLogTemperatureMax = 0.0;
constexpr double kGreedyAlphaMin = 0.1;
constexpr double kGreedyAlphaMax = 4.0;
constexpr int kGreedyBranchCount = 8;

// A uniform double in [0, 1) from the top 53 bits: the same on every standard
// library, which std::uniform_real_distribution is not.
double unit_interval(std::mt19937_64& random);

// One greedy run. `random` may be null when parameters.temperature is 0.
GreedyOutcome greedy_search(const Problem& problem, const GreedyParameters& parameters,
                            std::mt19937_64* random);

}  // namespace einstream::detail
