// find_path: runs the chosen search, with and without simplification, and
// for `automatic` several searches, keeping the cheapest valid path.
#include <algorithm>
#include <chrono>

#include "einstream/error.hpp"
#include "planner/path.hpp"
#include "planner/simplify.hpp"

namespace einstream::detail {

namespace {

// Operand counts up to which the exact searches are cheap enough for auto:
// optimal's branch and bound stays in milliseconds to about 8 operands, dp on
// sparse networks to about 30.
constexpr int kAutoOptimalOperands = 8;
constexpr int kAutoDpOperands = 30;

LinearPath search(const Problem& problem, PathAlgorithm algorithm,
                  const PathSearchOptions& options) {
  switch (algorithm) {
    case PathAlgorithm::naive:
      return naive_path(problem);
    case PathAlgorithm::greedy:
      return greedy_path(problem, options);
    case PathAlgorithm::optimal:
      return optimal_path(problem, options);
    case PathAlgorithm::dp:
      return dp_path(problem, options);
    case PathAlgorithm::random_greedy:
      return random_greedy_path(problem, options);
    case PathAlgorithm::automatic:
      break;
  }
  throw Error("find_path: no search for this PathAlgorithm value");
}

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

}  // namespace

ContractionPath find_path(const Problem& problem, PathAlgorithm algorithm,
                          const PathSearchOptions& options) {
  if (problem.inputs.empty()) throw Error("find_path: the problem has no operands");
  if (algorithm == PathAlgorithm::naive) return evaluate_path(problem, naive_path(problem));

  // The searches run on the problem as given and on its simplified forms
  // (reductions alone; reductions and subset merges) where those differ.
  std::vector<Simplified> variants;
  for (bool merge_subsets : {false, true}) {
    Simplified simplified = simplify(problem, merge_subsets);
    if (simplified.steps.empty()) continue;
    if (!variants.empty() && variants.back().steps == simplified.steps) continue;
    variants.push_back(std::move(simplified));
  }

  int operands = static_cast<int>(problem.inputs.size());
  for (const Simplified& variant : variants) {
    operands = std::min(operands, static_cast<int>(variant.remaining.inputs.size()));
  }
  std::vector<PathAlgorithm> searches;
  if (algorithm != PathAlgorithm::automatic) {
    searches = {algorithm};
  } else {
    searches = {PathAlgorithm::greedy};
    if (operands <= kAutoOptimalOperands) searches.push_back(PathAlgorithm::optimal);
    if (operands <= kAutoDpOperands) searches.push_back(PathAlgorithm::dp);
    if (operands > kAutoOptimalOperands) searches.push_back(PathAlgorithm::random_greedy);
  }

  // Each search runs once per form: share the time budget between them.
  PathSearchOptions per_run = options;
  per_run.seconds = options.seconds / static_cast<double>(1 + variants.size());

  Best best(problem, options.memory_cap);
  for (PathAlgorithm search_algorithm : searches) {
    best.offer(search(problem, search_algorithm, per_run));
    for (const Simplified& variant : variants) {
      if (variant.remaining.inputs.size() == 1) {
        best.offer(variant.steps);  // simplification alone finished the job
      } else {
        best.offer(concat(variant.steps, search(variant.remaining, search_algorithm, per_run)));
      }
    }
  }
  return best.take();
}

}  // namespace einstream::detail
