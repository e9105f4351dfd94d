// find_path: runs the chosen search, with and without simplification, and
// for `automatic` several searches, keeping the cheapest valid path, all
// within one time budget.
//
// The budget: greedy runs first on every form of the problem, untimed, so
// there is always a path to fall back to. The timed searches then run one
// after another, each given an equal share of the time still left, so time a
// quick search leaves over goes to the later ones. Under `automatic`, the
// exact searches (optimal, dp) together get at most kAutoExactShare of the
// budget: they either finish fast or, being exponential, would not finish in
// any budget a user waits for, and plans are made on every call.
#include <algorithm>
#include <chrono>
#include <utility>

#include "einstream/error.hpp"
#include "planner/path.hpp"
#include "planner/path_budget.hpp"
#include "planner/simplify.hpp"

namespace einstream::detail {

namespace {

// Operand counts up to which the exact searches are cheap enough for auto:
// optimal's branch and bound stays in milliseconds to about 8 operands, dp on
// sparse networks to about 30. Counted per form of the problem (as given, or
// after simplification), since that is what the search runs on. Between the
// two auto runs random-greedy beside dp; beyond dp's range, hyper.
constexpr int kAutoOptimalOperands = 8;
constexpr int kAutoDpOperands = 30;
// Under auto, the most of the budget the exact searches may take together.
constexpr double kAutoExactShare = 0.25;

// Largest intermediate before the output: what the memory cap limits.
double largest_before_output(const ContractionPath& path) {
  double largest = 0;
  for (std::size_t step = 0; step + 1 < path.steps.size(); ++step) {
    largest = std::max(largest, path.steps[step].result_size);
  }
  return largest;
}

class Best {
 public:
  Best(const Problem& problem, double memory_cap) : problem_(problem), memory_cap_(memory_cap) {}

  void offer(const LinearPath& linear) {
    ContractionPath candidate = evaluate_path(problem_, linear);
    if (!has_ || better(candidate, path_)) {
      path_ = std::move(candidate);
      has_ = true;
    }
  }

  ContractionPath take() { return std::move(path_); }
  // The best offered so far (offer() must have been called).
  const ContractionPath& best() const { return path_; }

 private:
  bool fits(const ContractionPath& path) const {
    return memory_cap_ <= 0 || largest_before_output(path) <= memory_cap_;
  }
  bool better(const ContractionPath& candidate, const ContractionPath& incumbent) const {
    if (fits(candidate) != fits(incumbent)) return fits(candidate);
    if (candidate.flops != incumbent.flops) return candidate.flops < incumbent.flops;
    return candidate.largest_intermediate < incumbent.largest_intermediate;
  }

  const Problem& problem_;
  double memory_cap_;
  ContractionPath path_;
  bool has_ = false;
};

LinearPath concat(const LinearPath& first, const LinearPath& second) {
  LinearPath path = first;
  path.insert(path.end(), second.begin(), second.end());
  return path;
}

bool is_exact(PathAlgorithm algorithm) {
  return algorithm == PathAlgorithm::optimal || algorithm == PathAlgorithm::dp;
}

// The searches `algorithm` runs on a form of `operands` operands, greedy
// (the untimed floor) excluded.
std::vector<PathAlgorithm> timed_searches(PathAlgorithm algorithm, int operands) {
  if (algorithm != PathAlgorithm::automatic) {
    if (algorithm == PathAlgorithm::greedy) return {};
    return {algorithm};
  }
  std::vector<PathAlgorithm> searches;
  if (operands > kAutoDpOperands) searches.push_back(PathAlgorithm::hyper);
  if (operands > kAutoOptimalOperands && operands <= kAutoDpOperands) {
    searches.push_back(PathAlgorithm::random_greedy);
  }
  if (operands <= kAutoOptimalOperands) searches.push_back(PathAlgorithm::optimal);
  if (operands <= kAutoDpOperands) searches.push_back(PathAlgorithm::dp);
  return searches;
}

// `known`: the best path found on `problem` so far, which dp improves on where
// the budget stops it.
LinearPath timed_search(const Problem& problem, PathAlgorithm algorithm,
                        const PathSearchOptions& options, const LinearPath& known,
                        bool* stopped_at_budget) {
  switch (algorithm) {
    case PathAlgorithm::optimal:
      return optimal_path(problem, options, stopped_at_budget);
    case PathAlgorithm::dp:
      return dp_path(problem, options, stopped_at_budget, &known);
    case PathAlgorithm::random_greedy:
      return random_greedy_path(problem, options, stopped_at_budget);
    case PathAlgorithm::hyper:
      return hyper_path(problem, options, stopped_at_budget);
    default:
      break;
  }
  throw Error("find_path: no timed search for this PathAlgorithm value");
}

void record_stop(std::vector<BudgetStop>& stops, PathAlgorithm algorithm, double seconds) {
  for (BudgetStop& stop : stops) {
    if (stop.algorithm == algorithm) {
      stop.seconds = std::max(stop.seconds, seconds);
      return;
    }
  }
  stops.push_back({algorithm, seconds});
}

}  // namespace

ContractionPath find_path(const Problem& problem, PathAlgorithm algorithm,
                          const PathSearchOptions& options) {
  if (problem.inputs.empty()) throw Error("find_path: the problem has no operands");
  if (algorithm == PathAlgorithm::naive) return evaluate_path(problem, naive_path(problem));
  const auto start = std::chrono::steady_clock::now();
  const bool timed = options.seconds > 0;

  // The searches run on the problem as given and on its simplified forms
  // (reductions alone; reductions and subset merges) where those differ.
  // A form is the steps simplification took and the problem left after them.
  // Each form also keeps the best path of its remaining problem found so far.
  struct Form {
    LinearPath steps;
    const Problem* remaining = nullptr;
    Best known;
  };
  std::vector<Simplified> variants;
  for (bool merge_subsets : {false, true}) {
    Simplified simplified = simplify(problem, merge_subsets);
    if (simplified.steps.empty()) continue;
    if (!variants.empty() && variants.back().steps == simplified.steps) continue;
    variants.push_back(std::move(simplified));
  }
  std::vector<Form> forms;
  forms.push_back({{}, &problem, Best(problem, options.memory_cap)});
  for (const Simplified& variant : variants) {
    forms.push_back(
        {variant.steps, &variant.remaining, Best(variant.remaining, options.memory_cap)});
  }

  Best best(problem, options.memory_cap);
  // Greedy first, on every form: the floor every timed search falls back to.
  std::vector<std::pair<Form*, PathAlgorithm>> runs;
  for (Form& form : forms) {
    if (form.remaining->inputs.size() == 1 && !form.steps.empty()) {
      best.offer(form.steps);  // simplification alone finished the job
      continue;
    }
    const LinearPath greedy = greedy_path(*form.remaining, options);
    form.known.offer(greedy);
    best.offer(concat(form.steps, greedy));
    const int operands = static_cast<int>(form.remaining->inputs.size());
    for (PathAlgorithm search : timed_searches(algorithm, operands)) {
      runs.emplace_back(&form, search);
    }
  }
  // Run the timed searches algorithm by algorithm (the sampling ones before
  // the exact ones), each over every form.
  auto order = [](PathAlgorithm search) {
    if (search == PathAlgorithm::random_greedy || search == PathAlgorithm::hyper) return 0;
    return search == PathAlgorithm::optimal ? 1 : 2;
  };
  std::stable_sort(runs.begin(), runs.end(),
                   [&](const auto& a, const auto& b) { return order(a.second) < order(b.second); });

  // Under auto, the exact searches' own budget, shared among them the same way.
  const bool cap_exact = algorithm == PathAlgorithm::automatic;
  double exact_seconds_left = kAutoExactShare * options.seconds;
  std::size_t exact_runs_left = 0;
  for (const auto& run : runs) exact_runs_left += is_exact(run.second) ? 1 : 0;

  std::vector<BudgetStop> stops;
  for (std::size_t run = 0; run < runs.size(); ++run) {
    const auto& [form, search] = runs[run];
    const std::size_t exact_runs = exact_runs_left;
    if (is_exact(search)) --exact_runs_left;
    PathSearchOptions share = options;
    if (timed) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double left = options.seconds - elapsed;
      share.seconds = left / static_cast<double>(runs.size() - run);
      if (cap_exact && is_exact(search)) {
        share.seconds =
            std::min(share.seconds, exact_seconds_left / static_cast<double>(exact_runs));
      }
      if (share.seconds <= 0) {
        // Out of time before the search could start (a share of 0 would
        // mean no limit).
        record_stop(stops, search, 0);
        continue;
      }
    }
    bool stopped = false;
    const auto search_start = std::chrono::steady_clock::now();
    const LinearPath path =
        timed_search(*form->remaining, search, share, form->known.best().linear(), &stopped);
    if (is_exact(search)) {
      exact_seconds_left -=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - search_start).count();
    }
    form->known.offer(path);
    best.offer(concat(form->steps, path));
    if (stopped) record_stop(stops, search, share.seconds);
  }
  ContractionPath path = best.take();
  path.budget_stops = std::move(stops);
  return path;
}

}  // namespace einstream::detail
