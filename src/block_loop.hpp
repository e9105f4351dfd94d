// The one block loop: every backend runs every plan as a walk over its
// SlicePlan's blocks (the whole problem is the one-block case), acting on
// the walk's events through a small interface. The loop decides what
// happens when; the backend decides how (the host backend reads the
// caller's tensors in place, the CUDA backend copies, overlaps and
// synchronizes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/block_assignment.hpp"
#include "planner/device_layout.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Where the current block starts in each caller tensor: element offsets
// (in the caller's strides) of the block's element (0, ..., 0).
struct BlockOffsets {
  std::vector<std::int64_t> inputs;
  std::int64_t output = 0;
};

// What a backend does at each event of the walk. Called in this order:
// upload_residents once; then per block, load_input for each streamed input
// whose block changed since the previous block (its sliced modes' block
// indices), start_output when a streamed output block starts, compute, and
// store_output when a streamed output block is finished; finish once after
// the last block. A backend throws to stop the walk.
class BlockBackend {
 public:
  virtual ~BlockBackend() = default;
  // Resident operands cross once, before the first block; `read_output`:
  // the output's current values are needed (beta is not zero).
  virtual void upload_residents(bool read_output) = 0;
  // Streamed input `operand`'s block at `offset` (its caller's layout),
  // of `shape`'s extents, is needed by the next compute.
  virtual void load_input(int operand, std::int64_t offset, const BlockShape& shape) = 0;
  // A streamed output block starts at `offset`; `read`: it accumulates
  // onto the caller's values (beta is not zero), so they are needed.
  virtual void start_output(std::int64_t offset, const BlockShape& shape, bool read) = 0;
  // Runs `shape`'s Program on the block at `offsets`:
  // out = alpha * block + beta * out.
  virtual void compute(const BlockShape& shape, const BlockOffsets& offsets, Scalar alpha,
                       Scalar beta) = 0;
  // The streamed output block at `offset` is complete.
  virtual void store_output(std::int64_t offset, const BlockShape& shape) = 0;
  // After the last block: a resident output goes back; everything is done
  // when this returns.
  virtual void finish() = 0;
};

// Called after each block's compute with the blocks run so far and the
// plan's block count (SlicePlan::block_count): progress reports hang here.
using BlockProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Walks `plan`'s blocks in its loop order and drives `backend`:
// out = alpha * einsum + beta * out, the output's blocks of a sliced summed
// mode accumulating (beta = 1 after the first). `shapes` holds every
// distinct block shape of the plan (planner/device_layout's block_shapes);
// the strides are the caller's; `progress`, when set, hears of each block.
// With `range`, only the blocks at those positions of the loop order run
// (a worker's share, planner/block_assignment): a range's first block
// starts its output block (beta applies, a streamed block is loaded) and
// its last one finishes it (a streamed block is stored), so a range that
// cuts an output block's sum leaves a partial sum there, which the caller
// combines: run such ranges with alpha on zeroed outputs and beta = 1, then
// out = sum of the partials + beta * out. Returns the number of blocks run.
std::int64_t run_block_loop(const Problem& problem, const SlicePlan& plan,
                            const std::vector<BlockShape>& shapes,
                            const std::vector<std::vector<std::int64_t>>& input_strides,
                            const std::vector<std::int64_t>& output_strides, Scalar alpha,
                            Scalar beta, BlockBackend& backend, const BlockProgress& progress = {},
                            std::optional<BlockRange> range = std::nullopt);

}  // namespace einstream::detail
