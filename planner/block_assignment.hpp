// Block assignment: how a plan's blocks are shared among workers (the
// pipelines of several devices in one process, MPI ranks, or both). Each
// worker takes one contiguous range of the loop order, so a block that the
// next block reuses (a resident operand, a streamed block whose sliced
// modes do not change) stays with one worker; the ranges are balanced by
// each block's predicted work and the workers' relative speeds.
#pragma once

#include <cstdint>
#include <vector>

#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Positions [begin, end) of the plan's loop order (0 = its first block).
struct BlockRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

struct BlockAssignment {
  // One per worker, in worker order: consecutive, covering every block
  // (a worker may get none when there are fewer blocks than workers).
  std::vector<BlockRange> ranges;
  // Whether the blocks that sum into one output block (a sliced summed
  // mode) are split between workers. Then each worker accumulates its
  // partial sums (alpha 1, beta 0) and the partial outputs are combined
  // (out = alpha * sum of partials + beta * out); otherwise every output
  // block is written by the one worker that owns it.
  bool partial_sums = false;
};

// Splits `plan`'s blocks over workers whose relative speeds are `speeds`
// (positive; one per worker). A block's work is taken as its elements
// (the product of its level extents: edge blocks are smaller). Range
// boundaries fall where an output block starts whenever the loop order
// keeps each output block's sum contiguous (sliced summed modes innermost)
// and there are at least as many output blocks as workers with work, so
// partial sums are needed only when there is no other way to use every
// worker. Throws Error for no workers or a speed that is not positive.
BlockAssignment assign_blocks(const Problem& problem, const SlicePlan& plan,
                              const std::vector<double>& speeds);

}  // namespace einstream::detail
