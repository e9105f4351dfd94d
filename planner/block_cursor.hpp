// BlockCursor: the one walk over a SlicePlan's blocks that every executor of
// sliced plans (the host backend's and the CUDA streaming executor) shares.
#pragma once

#include <cstdint>
#include <vector>

#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Walks a SlicePlan's blocks in its loop order, the innermost level fastest:
// the one block iteration every executor of sliced plans shares.
class BlockCursor {
 public:
  BlockCursor(const Problem& problem, const SlicePlan& plan);

  // First index of the current block per mode (0 for modes not sliced).
  const std::vector<std::int64_t>& start() const { return start_; }
  // Extent of the current block per loop level (the last block of a level
  // may be shorter).
  const std::vector<std::int64_t>& level_extents() const { return level_extents_; }
  // Block index per loop level.
  const std::vector<std::int64_t>& index() const { return index_; }
  // Whether this is the first (last) block of every sliced summed mode:
  // the output block starts (finishes) accumulating.
  bool first_of_sum() const { return first_of_sum_; }
  bool last_of_sum() const { return last_of_sum_; }

  // Element offset of the current block in a tensor with these strides:
  // input `operand` (its caller's axes) or, with operand -1, the output.
  std::int64_t offset(int operand, const std::vector<std::int64_t>& strides) const;

  // Moves to the next block; false after the last one.
  bool next();
  // Moves to the block at `position` of the loop order (0 = the first; the
  // innermost level counts fastest). Throws Error outside [0, blocks).
  void seek(std::int64_t position);

 private:
  void update();

  const Problem& problem_;
  const SlicePlan& plan_;
  std::vector<bool> summed_;  // per level
  std::vector<std::int64_t> index_, level_extents_, start_;
  bool first_of_sum_ = true, last_of_sum_ = true;
};

}  // namespace einstream::detail
