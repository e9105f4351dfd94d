// Random-greedy contraction path, after opt_einsum's RandomGreedy and
// cotengra's hyper-greedy: repeat the greedy search with Boltzmann-sampled
// choices and keep the cheapest path. The first run is the plain greedy, so
// the result is never worse than greedy_path. Each later run draws its own
// temperature (log-uniform, as cotengra samples it: a few runs near the greedy
// choice, a few far from it) and its own alpha in
//   score = size(result) - alpha (size(first) + size(second)),
// cotengra's 'costmod', which trades small results against large removals.
//
// Runs are compared as (over the memory cap?, FLOPs, largest intermediate);
// once the best run respects the cap, a run whose FLOPs pass the best is
// stopped early, since it can no longer win.
#include <cmath>
#include <limits>
#include <random>

#include "planner/path.hpp"
#include "planner/path_budget.hpp"
#include "planner/path_greedy_core.hpp"

namespace einstream::detail {

namespace {

bool over_cap(const GreedyOutcome& outcome, double memory_cap) {
  return memory_cap > 0 && outcome.largest_before_output > memory_cap;
}

bool cheaper(const GreedyOutcome& a, const GreedyOutcome& b, double memory_cap) {
  const bool a_over = over_cap(a, memory_cap);
  const bool b_over = over_cap(b, memory_cap);
  if (a_over != b_over) return !a_over;
  if (a.flops != b.flops) return a.flops < b.flops;
  return a.largest_intermediate < b.largest_intermediate;
}

}  // namespace

// Stops after options.trials runs or options.seconds of wall time, whichever
// comes first (seconds <= 0: no time limit; at least one run). Equal seeds
// give equal paths whenever the run count, not the clock, ends the search.
LinearPath random_greedy_path(const Problem& problem, const PathSearchOptions& options,
                              bool* stopped_at_budget) {
  SearchDeadline deadline(options.seconds);
  std::mt19937_64 random(options.seed);

  GreedyParameters parameters;
  parameters.memory_cap = options.memory_cap;
  parameters.branch_count = kGreedyBranchCount;
  GreedyOutcome best = greedy_search(problem, parameters, nullptr);

  for (int trial = 1; trial < options.trials; ++trial) {
    if (deadline.passed()) break;
    // Both knobs are drawn before the run so that a run stopped early leaves
    // the sequence of later runs unchanged.
    const double log_temperature =
        kGreedyLogTemperatureMin +
        (kGreedyLogTemperatureMax - kGreedyLogTemperatureMin) * unit_interval(random);
    parameters.temperature = std::pow(10.0, log_temperature);
    parameters.alpha =
        kGreedyAlphaMin + (kGreedyAlphaMax - kGreedyAlphaMin) * unit_interval(random);
    std::mt19937_64 run_random(random());
    parameters.flops_bound =
        over_cap(best, options.memory_cap) ? std::numeric_limits<double>::infinity() : best.flops;
    GreedyOutcome outcome = greedy_search(problem, parameters, &run_random);
    if (!outcome.abandoned && cheaper(outcome, best, options.memory_cap)) best = std::move(outcome);
  }
  if (stopped_at_budget != nullptr) *stopped_at_budget = deadline.was_passed();
  return best.path;
}

}  // namespace einstream::detail
