// Host-side block copies between strided user tensors and packed buffers: the
// streaming executor gathers each block of a pageable operand into a pinned
// staging buffer before the upload, and scatters result blocks back after the
// download. Pure C++17; no CUDA header.
//
// Approach: merge_axes fuses the axes that are adjacent in both layouts and
// drops extent-1 axes, so the copy becomes an odometer over the outer axes
// around one innermost run. A run that is contiguous on both sides is one
// std::memcpy; otherwise it is a loop typed on element_bytes (4, 8, 16 bytes
// as fixed-size moves), tiled with the outer axis that is contiguous on the
// strided side when there is one (a transpose), so cache lines are used whole. The outer index
// space, and when there are too few outer positions to feed the pool, the innermost run too, are
// split over a ThreadPool. Each call moves elements() * element_bytes bytes each way; the target is
// host-memory copy bandwidth (several GB/s per thread for runs of a few KiB and up).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/staging/thread_pool.hpp"

namespace einstream::detail {

// Copies the strided view at `source` (pointing at element (0, ..., 0); strides
// in elements, of any sign, zero allowed for broadcast) into `destination`,
// packed in C order over `extents`. The two must not overlap. pool == nullptr
// runs on the calling thread. A view with a zero extent copies nothing.
void gather_block(const void* source, const std::vector<std::int64_t>& extents,
                  const std::vector<std::int64_t>& source_strides, std::size_t element_bytes,
                  void* destination, ThreadPool* pool);

// The inverse of gather_block: packed C-order `source` into the strided view
// at `destination`. Every element of the view must have its own address
// (strides distinct, none zero on an axis of extent > 1; the view is the
// caller's to guarantee, only the zero case is checked); elements of the
// destination outside the view are left untouched.
void scatter_block(const void* source, const std::vector<std::int64_t>& extents,
                   const std::vector<std::int64_t>& destination_strides, std::size_t element_bytes,
                   void* destination, ThreadPool* pool);

}  // namespace einstream::detail
