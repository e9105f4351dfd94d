// A strided block as a few equal 2-D copies: rows of contiguous bytes at a
// fixed pitch on the strided side, packed on the other. The CUDA streaming
// executor DMAs blocks of page-locked caller memory this way
// (cudaMemcpy2DAsync per copy) instead of gathering them through staging.
// Pure C++17, so the decomposition is tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace einstream::detail {

struct PitchedCopies {
  std::int64_t width = 0;   // bytes per row, contiguous on both sides
  std::int64_t height = 1;  // rows per copy
  std::int64_t pitch = 0;   // bytes between rows on the strided side
  // The copies, in C order over these axes; strides in bytes on the strided
  // side. Copy k lands at k * width * height on the packed side.
  std::vector<std::int64_t> outer_extents;
  std::vector<std::int64_t> outer_strides;

  std::int64_t count() const;
  // Byte offset of copy `index` on the strided side.
  std::int64_t offset(std::int64_t index) const;
};

// The copies for the view of `extents` and `strides` (elements). Empty when
// the view does not decompose well: its innermost contiguous run is shorter
// than `min_row_bytes`, a stride is negative or zero on an axis longer than
// one, rows would overlap, or it needs more than `max_copies` copies. Then
// the caller gathers through staging instead.
std::optional<PitchedCopies> pitched_copies(const std::vector<std::int64_t>& extents,
                                            const std::vector<std::int64_t>& strides,
                                            std::size_t element_bytes, std::int64_t min_row_bytes,
                                            std::int64_t max_copies);

}  // namespace einstream::detail
