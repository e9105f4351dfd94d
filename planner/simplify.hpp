// Simplification before path search: the steps every good path takes first.
//
//   - an operand carrying modes that nothing else needs (no other operand, not
//     the output) sums them out alone, in a single-operand step;
//   - an operand whose modes are a subset of another's is merged into it
//     (a Hadamard-like step that never grows the other operand).
//
// The search then runs on the operands that remain. Since these steps usually
// but not always lower the cost, find_path keeps the cheaper of the searches
// with and without them.
#pragma once

#include "planner/path.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

struct Simplified {
  // Steps in linear format, to run first.
  LinearPath steps;
  // The operands left after `steps`, in the order the linear format leaves
  // them, each with unique modes; a path for this Problem continues `steps`.
  Problem remaining;
};

// With merge_subsets false, only the single-operand reductions are taken:
// the search then chooses where Hadamard-like merges go, which is sometimes
// cheaper (e.g. joining two vectors before either meets a matrix).
Simplified simplify(const Problem& problem, bool merge_subsets = true);

}  // namespace einstream::detail
