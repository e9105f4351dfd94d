#include "planner/slice_path.hpp"

#include <exception>
#include <optional>
#include <utility>

#include "einstream/error.hpp"
#include "planner/path_budget.hpp"
#include "planner/slice_finder.hpp"

namespace einstream::detail {

namespace {

// The finder's first cap is this share of the budget in elements (a block's
// arena holds the operands of a step and its result at once, besides the
// inputs); each further attempt divides it by kCapStep.
constexpr double kFirstCapShare = 0.25;
constexpr double kCapStep = 4;
constexpr int kCapAttempts = 3;

bool fits(const SlicePlan& plan, const SliceOptions& options) {
  return plan.device_bytes <= options.budget;
}

// Keeps the faster of `candidate` and `best` (the fewer FLOPs on a tie).
void keep(std::optional<PathSlices>& best, PathSlices candidate) {
  if (!best || candidate.slice.seconds < best->slice.seconds ||
      (candidate.slice.seconds == best->slice.seconds &&
       candidate.slice.flops < best->slice.flops)) {
    best = std::move(candidate);
  }
}

}  // namespace

PathSlices plan_path_and_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                                const std::vector<std::vector<std::int64_t>>& input_strides,
                                const std::vector<std::int64_t>& output_strides,
                                const SliceOptions& options, const SlicePathOptions& finder) {
  const SlicePlan whole = evaluate_slices(problem, path, dtype, input_strides, output_strides,
                                          options, problem.extents);
  if (fits(whole, options)) {
    PathSlices result;
    result.path = path;
    result.slice = finder.plan_when_fitting
                       ? plan_slices(problem, path, dtype, input_strides, output_strides, options)
                       : whole;
    return result;
  }
  std::optional<PathSlices> best;
  std::exception_ptr failure;
  try {
    best = PathSlices{
        path, plan_slices(problem, path, dtype, input_strides, output_strides, options), false};
  } catch (const MemoryError&) {
    failure = std::current_exception();
  }
  if (finder.keep_path) {
    if (!best) std::rethrow_exception(failure);
    best->slice.unsliced_flops = path.flops;
    best->stopped_at_budget = best->slice.stopped_at_budget;
    return *std::move(best);
  }
  SearchDeadline deadline(finder.seconds);
  bool stopped = false;
  const LinearPath linear = path.linear();
  double cap =
      kFirstCapShare * static_cast<double>(options.budget) / static_cast<double>(size_of(dtype));
  for (int attempt = 0; attempt < kCapAttempts && cap >= 1; ++attempt, cap /= kCapStep) {
    if (attempt > 0 && deadline.passed()) break;
    SliceFinderOptions finding;
    finding.memory_cap = cap;
    finding.trials = finder.trials;
    finding.seed = finder.seed;
    finding.seconds = finder.seconds > 0 ? finder.seconds / kCapAttempts : 0;
    const SlicedPath found = find_slices(problem, linear, finding);
    stopped = stopped || found.stopped_at_budget;
    if (!found.fits || found.blocks == problem.extents) continue;
    const ContractionPath chosen = evaluate_path(problem, found.path);
    const SlicePlan exact = evaluate_slices(problem, chosen, dtype, input_strides, output_strides,
                                            options, found.blocks);
    if (fits(exact, options)) keep(best, PathSlices{chosen, exact, false});
    try {
      keep(best,
           PathSlices{chosen,
                      plan_slices(problem, chosen, dtype, input_strides, output_strides, options),
                      false});
    } catch (const MemoryError&) {
      // The finder's tree needs more than the budget even sliced: the others stand.
    }
    if (fits(exact, options)) break;
  }
  if (!best) std::rethrow_exception(failure);
  best->slice.unsliced_flops = std::min(path.flops, best->path.flops);
  stopped = stopped || best->slice.stopped_at_budget;
  best->stopped_at_budget = best->slice.stopped_at_budget = stopped;
  return *std::move(best);
}

}  // namespace einstream::detail
