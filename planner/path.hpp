// Contraction paths: the order in which operands are contracted pairwise, and
// its cost counted as opt_einsum counts it.
#pragma once

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

struct ContractionPath {
  std::vector<PathStep> steps;
  double flops = 0;
  double largest_intermediate = 0;

  LinearPath linear() const;
};

// Checks that `linear` is a valid path for `problem` (every operand consumed
// exactly once, positions in range, one result left) and computes each step's
// result modes and cost. Throws Error for an invalid path.
ContractionPath evaluate_path(const Problem& problem, const LinearPath& linear);

// Left to right: ((0,1), then that result with the next operand, ...).
LinearPath naive_path(const Problem& problem);

// Repeatedly contracts the pair of operands sharing a mode whose result is
// smallest relative to its inputs (opt_einsum's greedy score: size of the
// result minus the sizes of the two inputs), then joins disconnected parts by
// outer products of the smallest operands.
LinearPath greedy_path(const Problem& problem);

// The path chosen by `algorithm` (automatic picks greedy), with its cost.
ContractionPath find_path(const Problem& problem, PathAlgorithm algorithm);

}  // namespace einstream::detail
