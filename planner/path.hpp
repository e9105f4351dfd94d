// Contraction paths: the order in which operands are contracted pairwise, and
// its cost counted as opt_einsum counts it.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

// A path in opt_einsum's linear format: each step lists the positions (in the
// current operand list) of the operands it contracts, in ascending order; they
// are removed and the result is appended at the end.
using LinearPath = std::vector<std::vector<int>>;

struct PathStep {
  // Positions in the current operand list (linear format), ascending.
  std::vector<int> operands;
  // Modes of each contracted operand (without repeats), in operand order.
  std::vector<std::vector<Mode>> operand_modes;
  // Modes of the result, in the order the result is laid out. The last step's
  // result is the Problem's output.
  std::vector<Mode> result;
  // (Product of the extents of every mode in the step) x (2 if the step sums
  // a mode, else 1), as opt_einsum's flop_count for two terms.
  double flops = 0;
  // Elements of the result.
  double result_size = 0;
};

// A search that its time budget (PathSearchOptions::seconds) cut short.
struct BudgetStop {
  PathAlgorithm algorithm = PathAlgorithm::automatic;
  // The time the search was given, in seconds.
  double seconds = 0;
};

struct ContractionPath {
  std::vector<PathStep> steps;
  double flops = 0;
  double largest_intermediate = 0;
  // The searches that stopped at their time budget, one entry per algorithm,
  // in the order they ran; empty when every search finished. When optimal or
  // dp is listed, the path is the best found within the budget (greedy's at
  // worst), not a proven optimum; when random-greedy is, it ran fewer than
  // PathSearchOptions::trials times.
  std::vector<BudgetStop> budget_stops;

  LinearPath linear() const;
  bool stopped_at_budget() const { return !budget_stops.empty(); }
};

// Checks that `linear` is a valid path for `problem` (every operand consumed
// exactly once, positions in range, one result left) and computes each step's
// result modes and cost. Throws Error for an invalid path.
ContractionPath evaluate_path(const Problem& problem, const LinearPath& linear);

// Checks `given` (opt_einsum's format, over `operands` operands; a step's
// positions in any order, a step of any number of operands): throws Error
// naming the step that names no operand, one twice, one out of range, or
// comes after the last, and when the steps leave more than one operand.
// One operand and no step is valid.
void check_given_path(const LinearPath& given, int operands);

// The path Options::given_path gives, checked (check_given_path) and
// costed: each step of three or more operands becomes the cheapest order of
// pairs over its operands (best_join: exact up to kExactJoinMaxTensors,
// greedy beyond), the others stay as given. A one-operand problem with no
// step gets the step (0).
ContractionPath given_path(const Problem& problem, const LinearPath& given);

// Left to right: ((0,1), then that result with the next operand, ...).
LinearPath naive_path(const Problem& problem);

// Limits and knobs shared by the path searches.
struct PathSearchOptions {
  // Largest intermediate allowed, in elements (the output itself is exempt);
  // 0 means no cap. Paths over the cap are rejected where a path under it
  // exists; otherwise the search ignores the cap.
  double memory_cap = 0;
  // random-greedy: number of greedy runs; hyper: number of trials.
  int trials = 128;
  // Wall-time budget of the whole search in seconds (<= 0: no limit, and
  // optimal or dp may then run for hours on a large network). optimal, dp
  // and random-greedy stop when it runs out and return the best path found so
  // far, never worse than greedy's; greedy itself is not timed, since it is
  // the floor the others fall back to. hyper stops sampling at half of it
  // and reconfiguring at all of it.
  double seconds = 1.0;
  // random-greedy and hyper: seed of the sampling; equal seeds give equal
  // paths (where the trial count, not the budget, ends the search).
  std::uint64_t seed = 0;
};

// The timed searches below set *stopped_at_budget (where given) to whether
// options.seconds ran out before they finished.

// Exhaustive search with branch-and-bound pruning over all pairwise orders
// (outer products included): the exact minimum of evaluate_path(...).flops.
// Meant for up to about 12 operands. Stopped by the budget, it returns the
// cheapest path found so far, greedy's if none beat it.
LinearPath optimal_path(const Problem& problem, const PathSearchOptions& options,
                        bool* stopped_at_budget = nullptr);

// Dynamic programming over connected subgraphs (Pfeifer, Haegeman and
// Verstraete 2014, as opt_einsum's 'dp'): exact minimum FLOPs among paths
// that avoid outer products where the network is connected, with a cost cap
// that grows until a path is found. Meant for up to about 30-40 operands.
// Stopped by the budget, it returns the cheapest of greedy's path and `known`
// (where given), each with the subtrees replaced for which its unfinished
// table holds a cheaper tree of the same operands.
LinearPath dp_path(const Problem& problem, const PathSearchOptions& options,
                   bool* stopped_at_budget = nullptr, const LinearPath* known = nullptr);

// Many greedy runs with Boltzmann-sampled choices (the first run is the plain
// greedy), keeping the cheapest; reproducible for a given seed when the trial
// count, not the budget, ends the search. Stopping at the budget before
// options.trials runs counts as stopped_at_budget.
LinearPath random_greedy_path(const Problem& problem, const PathSearchOptions& options,
                              bool* stopped_at_budget = nullptr);

// The hyper-optimizing search (after cotengra's HyperOptimizer): options.trials
// trials, each a greedy run with random temperature and cost weighting or a
// recursive bisection of the operand graph (METIS where the build has it)
// with random part counts and imbalance, run in parallel on host threads;
// then small subtrees of the best few trees are re-optimized exactly. The
// first trial is the plain greedy. Reproducible for a given seed when the
// trial count, not the budget, ends the sampling; stopping at the budget
// counts as stopped_at_budget. planner/path_hyper.hpp has the knobs.
LinearPath hyper_path(const Problem& problem, const PathSearchOptions& options,
                      bool* stopped_at_budget = nullptr);

// Repeatedly contracts the pair of operands sharing a mode whose result is
// smallest relative to its inputs (opt_einsum's greedy score: size of the
// result minus the sizes of the two inputs), then joins disconnected parts by
// outer products of the smallest operands.
LinearPath greedy_path(const Problem& problem);

// greedy_path honouring options.memory_cap.
LinearPath greedy_path(const Problem& problem, const PathSearchOptions& options);

// The path `algorithm` finds, with its cost. Except for naive, each search
// also runs after simplify() (reductions alone, subset merges) and the
// cheaper result is kept (under the memory cap where one fits). automatic
// runs optimal while the operands are few, dp and random-greedy while they
// are moderate, and hyper beyond (counted on each form it searches), always
// beside greedy, and keeps the cheapest. All of it shares options.seconds; the
// searches the budget cut short are listed in the result's budget_stops.
ContractionPath find_path(const Problem& problem, PathAlgorithm algorithm,
                          const PathSearchOptions& options = {});

}  // namespace einstream::detail
