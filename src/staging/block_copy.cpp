#include "src/staging/block_copy.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "einstream/error.hpp"
#include "einstream/tensor.hpp"
#include "src/axis_merge.hpp"

namespace einstream::detail {
namespace {

// Below this many bytes, waking the pool costs more than the copy saves.
constexpr std::int64_t kMinParallelBytes = std::int64_t{1} << 20;
// Work units handed to the pool per thread: enough that uneven units (the
// last outer row, a shorter piece) do not leave a thread idle for long.
constexpr std::int64_t kUnitsPerThread = 8;
// A long innermost run is cut into pieces no shorter than this when the outer
// axes alone are too few to feed the pool (a fully contiguous block merges to
// a single run).
constexpr std::int64_t kMinPieceBytes = std::int64_t{64} << 10;
// Side of a transpose tile in bytes along each axis: two cache lines, so a
// tile of 4-byte elements is 32 x 32 and both sides of it stay in L1.
constexpr std::int64_t kTileBytes = 128;
// Contiguous runs at least this long are written with non-temporal stores.
constexpr std::size_t kStreamingStoreBytes = std::size_t{256} << 10;

// A contiguous copy. Long runs bypass the caches on the way out: the
// destination (a staging buffer the DMA engine reads next, or the caller's
// output) is not read again soon, and ordinary stores would first read every
// destination line from memory, a third more host-memory traffic in the copy
// that limits streaming from pageable memory.
void copy_bytes(unsigned char* destination, const unsigned char* source, std::size_t bytes) {
#if defined(__SSE2__)
  if (bytes >= kStreamingStoreBytes) {
    const std::size_t head = (16 - (reinterpret_cast<std::uintptr_t>(destination) & 15)) & 15;
    std::memcpy(destination, source, head);
    destination += head;
    source += head;
    bytes -= head;
    const std::size_t lines = bytes / 64;
    for (std::size_t line = 0; line < lines; ++line) {
      const auto* from = reinterpret_cast<const __m128i*>(source + line * 64);
      auto* to = reinterpret_cast<__m128i*>(destination + line * 64);
      const __m128i a = _mm_loadu_si128(from);
      const __m128i b = _mm_loadu_si128(from + 1);
      const __m128i c = _mm_loadu_si128(from + 2);
      const __m128i d = _mm_loadu_si128(from + 3);
      _mm_stream_si128(to, a);
      _mm_stream_si128(to + 1, b);
      _mm_stream_si128(to + 2, c);
      _mm_stream_si128(to + 3, d);
    }
    // Non-temporal stores are weakly ordered: fence them before whoever
    // waits on this copy (the DMA that follows) can see the buffer.
    _mm_sfence();
    std::memcpy(destination + lines * 64, source + lines * 64, bytes - lines * 64);
    return;
  }
#endif
  std::memcpy(destination, source, bytes);
}

// The merged copy in bytes: an odometer over outer axes around one innermost
// run. Offsets stay integers until a run is copied, so an odometer wrap never
// forms an out-of-range pointer.
struct CopyPlan {
  const unsigned char* source = nullptr;
  unsigned char* destination = nullptr;
  std::int64_t element_bytes = 0;
  std::vector<std::int64_t> outer_extents;
  std::vector<std::int64_t> outer_source_steps;
  std::vector<std::int64_t> outer_destination_steps;
  std::int64_t outer_count = 1;
  std::int64_t run_length = 1;
  std::int64_t run_source_step = 0;
  std::int64_t run_destination_step = 0;
  // A run strided on one side is copied as a panel with the outer axis that
  // is contiguous on that side (a transpose), tile by tile, so each cache line
  // read or written is used whole. panel_extent == 1 when there is none.
  std::int64_t panel_extent = 1;
  std::int64_t panel_source_step = 0;
  std::int64_t panel_destination_step = 0;
  // Each outer position is split into this many pieces of its run.
  std::int64_t pieces = 1;

  std::int64_t bytes() const { return outer_count * panel_extent * run_length * element_bytes; }
};

void check_arguments(const char* function, const std::vector<std::int64_t>& extents,
                     const std::vector<std::int64_t>& strides, std::size_t element_bytes) {
  const std::string where = std::string(function) + ": ";
  if (strides.size() != extents.size()) {
    throw Error(where + std::to_string(strides.size()) + " strides for " +
                std::to_string(extents.size()) + " extents; expected one stride per axis");
  }
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (extents[axis] < 0) {
      throw Error(where + "axis " + std::to_string(axis) + " has negative extent " +
                  std::to_string(extents[axis]));
    }
  }
  if (element_bytes == 0) throw Error(where + "element_bytes is 0; expected the element size");
}

CopyPlan plan_copy(const void* source, const std::vector<std::int64_t>& source_strides,
                   void* destination, const std::vector<std::int64_t>& destination_strides,
                   const std::vector<std::int64_t>& extents, std::size_t element_bytes) {
  CopyPlan plan;
  plan.source = static_cast<const unsigned char*>(source);
  plan.destination = static_cast<unsigned char*>(destination);
  plan.element_bytes = static_cast<std::int64_t>(element_bytes);
  const MergedAxes merged = merge_axes(extents, {source_strides, destination_strides});
  const int rank = merged.rank();
  if (rank == 0) {  // One element: a scalar, or all extents 1.
    plan.run_source_step = plan.element_bytes;
    plan.run_destination_step = plan.element_bytes;
    return plan;
  }
  plan.run_length = merged.extents[rank - 1];
  plan.run_source_step = merged.strides[0][rank - 1] * plan.element_bytes;
  plan.run_destination_step = merged.strides[1][rank - 1] * plan.element_bytes;
  for (int axis = 0; axis + 1 < rank; ++axis) {
    plan.outer_extents.push_back(merged.extents[axis]);
    plan.outer_source_steps.push_back(merged.strides[0][axis] * plan.element_bytes);
    plan.outer_destination_steps.push_back(merged.strides[1][axis] * plan.element_bytes);
    plan.outer_count *= merged.extents[axis];
  }
  const bool typed = plan.element_bytes <= 16 && (16 % plan.element_bytes) == 0;
  const bool source_strided = plan.run_source_step != plan.element_bytes;
  const bool destination_strided = plan.run_destination_step != plan.element_bytes;
  if (typed && source_strided != destination_strided) {
    const auto& strided_side_steps =
        source_strided ? plan.outer_source_steps : plan.outer_destination_steps;
    for (int axis = rank - 2; axis >= 0; --axis) {
      if (strided_side_steps[axis] != plan.element_bytes) continue;
      plan.panel_extent = plan.outer_extents[axis];
      plan.panel_source_step = plan.outer_source_steps[axis];
      plan.panel_destination_step = plan.outer_destination_steps[axis];
      plan.outer_count /= plan.panel_extent;
      plan.outer_extents.erase(plan.outer_extents.begin() + axis);
      plan.outer_source_steps.erase(plan.outer_source_steps.begin() + axis);
      plan.outer_destination_steps.erase(plan.outer_destination_steps.begin() + axis);
      break;
    }
  }
  return plan;
}

// Fixed-size memcpy compiles to one or two register moves, so this is the
// tight per-element loop without type-punning the user's bytes.
template <std::size_t kBytes>
void copy_elements(const unsigned char* source, std::int64_t source_step,
                   unsigned char* destination, std::int64_t destination_step, std::int64_t count) {
  // Indexed rather than bumped pointers: no pointer is formed one step past
  // the view, which for a negative stride would lie before the allocation.
  for (std::int64_t element = 0; element < count; ++element) {
    std::memcpy(destination + element * destination_step, source + element * source_step, kBytes);
  }
}

// A run of `length` elements for each of `panel_extent` panel positions, in
// square tiles: along the run the strided side touches one line per element,
// and the tile keeps those lines in cache until the panel axis has used them.
template <std::size_t kBytes>
void copy_panel(const CopyPlan& plan, const unsigned char* source, unsigned char* destination,
                std::int64_t length) {
  constexpr std::int64_t kTile = kTileBytes / static_cast<std::int64_t>(kBytes);
  for (std::int64_t panel_begin = 0; panel_begin < plan.panel_extent; panel_begin += kTile) {
    const std::int64_t panel_end = std::min(panel_begin + kTile, plan.panel_extent);
    for (std::int64_t run_begin = 0; run_begin < length; run_begin += kTile) {
      const std::int64_t run_count = std::min(kTile, length - run_begin);
      for (std::int64_t panel = panel_begin; panel < panel_end; ++panel) {
        copy_elements<kBytes>(
            source + panel * plan.panel_source_step + run_begin * plan.run_source_step,
            plan.run_source_step,
            destination + panel * plan.panel_destination_step +
                run_begin * plan.run_destination_step,
            plan.run_destination_step, run_count);
      }
    }
  }
}

// Copies units [begin, end): unit u is piece u % pieces of the run at outer
// position u / pieces. copy_run(source, destination, length) moves one run.
template <class CopyRun>
void walk_units(const CopyPlan& plan, std::int64_t begin, std::int64_t end, CopyRun copy_run) {
  const int outer_rank = static_cast<int>(plan.outer_extents.size());
  std::vector<std::int64_t> index(static_cast<std::size_t>(outer_rank));
  std::int64_t outer = begin / plan.pieces;
  std::int64_t piece = begin % plan.pieces;
  std::int64_t source_offset = 0;
  std::int64_t destination_offset = 0;
  for (int axis = outer_rank - 1; axis >= 0; --axis) {
    index[axis] = outer % plan.outer_extents[axis];
    outer /= plan.outer_extents[axis];
    source_offset += index[axis] * plan.outer_source_steps[axis];
    destination_offset += index[axis] * plan.outer_destination_steps[axis];
  }
  for (std::int64_t unit = begin; unit < end; ++unit) {
    if (plan.pieces == 1) {
      copy_run(plan.source + source_offset, plan.destination + destination_offset, plan.run_length);
    } else {
      const std::int64_t first = plan.run_length * piece / plan.pieces;
      const std::int64_t last = plan.run_length * (piece + 1) / plan.pieces;
      copy_run(plan.source + source_offset + first * plan.run_source_step,
               plan.destination + destination_offset + first * plan.run_destination_step,
               last - first);
      if (++piece < plan.pieces) continue;
      piece = 0;
    }
    for (int axis = outer_rank - 1; axis >= 0; --axis) {
      source_offset += plan.outer_source_steps[axis];
      destination_offset += plan.outer_destination_steps[axis];
      if (++index[axis] < plan.outer_extents[axis]) break;
      source_offset -= plan.outer_source_steps[axis] * plan.outer_extents[axis];
      destination_offset -= plan.outer_destination_steps[axis] * plan.outer_extents[axis];
      index[axis] = 0;
    }
  }
}

// Picks the run copy once per chunk, so the element-size switch stays out of
// the per-run loop.
void copy_units(const CopyPlan& plan, std::int64_t begin, std::int64_t end) {
  const std::int64_t element_bytes = plan.element_bytes;
  const std::int64_t source_step = plan.run_source_step;
  const std::int64_t destination_step = plan.run_destination_step;
  if (source_step == element_bytes && destination_step == element_bytes) {
    walk_units(plan, begin, end,
               [element_bytes](const unsigned char* source, unsigned char* destination,
                               std::int64_t length) {
                 copy_bytes(destination, source, static_cast<std::size_t>(length * element_bytes));
               });
    return;
  }
  auto typed = [&](auto bytes) {
    constexpr std::size_t kBytes = decltype(bytes)::value;
    if (plan.panel_extent > 1) {
      walk_units(
          plan, begin, end,
          [&plan](const unsigned char* source, unsigned char* destination, std::int64_t length) {
            copy_panel<kBytes>(plan, source, destination, length);
          });
      return;
    }
    walk_units(plan, begin, end,
               [source_step, destination_step](const unsigned char* source,
                                               unsigned char* destination, std::int64_t length) {
                 copy_elements<kBytes>(source, source_step, destination, destination_step, length);
               });
  };
  switch (element_bytes) {
    case 1:
      return typed(std::integral_constant<std::size_t, 1>());
    case 2:
      return typed(std::integral_constant<std::size_t, 2>());
    case 4:
      return typed(std::integral_constant<std::size_t, 4>());
    case 8:
      return typed(std::integral_constant<std::size_t, 8>());
    case 16:
      return typed(std::integral_constant<std::size_t, 16>());
    default:
      walk_units(plan, begin, end,
                 [=](const unsigned char* source, unsigned char* destination, std::int64_t length) {
                   for (std::int64_t element = 0; element < length; ++element) {
                     std::memcpy(destination + element * destination_step,
                                 source + element * source_step,
                                 static_cast<std::size_t>(element_bytes));
                   }
                 });
  }
}

void run_copy(CopyPlan& plan, ThreadPool* pool) {
  if (plan.bytes() == 0) return;
  if (pool == nullptr || pool->size() == 1 || plan.bytes() < kMinParallelBytes) {
    copy_units(plan, 0, plan.outer_count);
    return;
  }
  const std::int64_t target_units = pool->size() * kUnitsPerThread;
  if (plan.outer_count < target_units) {
    const std::int64_t unit_bytes = plan.panel_extent * plan.run_length * plan.element_bytes;
    const std::int64_t most_pieces =
        std::clamp<std::int64_t>(unit_bytes / kMinPieceBytes, 1, plan.run_length);
    const std::int64_t wanted_pieces = (target_units + plan.outer_count - 1) / plan.outer_count;
    plan.pieces = std::min(wanted_pieces, most_pieces);
  }
  pool->parallel_for(plan.outer_count * plan.pieces, [&plan](std::int64_t begin, std::int64_t end) {
    copy_units(plan, begin, end);
  });
}

}  // namespace

void gather_block(const void* source, const std::vector<std::int64_t>& extents,
                  const std::vector<std::int64_t>& source_strides, std::size_t element_bytes,
                  void* destination, ThreadPool* pool) {
  check_arguments("gather_block", extents, source_strides, element_bytes);
  CopyPlan plan = plan_copy(source, source_strides, destination, c_order_strides(extents), extents,
                            element_bytes);
  run_copy(plan, pool);
}

void scatter_block(const void* source, const std::vector<std::int64_t>& extents,
                   const std::vector<std::int64_t>& destination_strides, std::size_t element_bytes,
                   void* destination, ThreadPool* pool) {
  check_arguments("scatter_block", extents, destination_strides, element_bytes);
  const bool empty = std::find(extents.begin(), extents.end(), 0) != extents.end();
  for (std::size_t axis = 0; axis < extents.size() && !empty; ++axis) {
    // Two elements at one address would make the result depend on copy
    // order, and on which thread writes last. An empty view writes nothing.
    if (destination_strides[axis] == 0 && extents[axis] > 1) {
      throw Error("scatter_block: axis " + std::to_string(axis) + " has stride 0 and extent " +
                  std::to_string(extents[axis]) +
                  "; a scatter destination needs a distinct address per element");
    }
  }
  CopyPlan plan = plan_copy(source, c_order_strides(extents), destination, destination_strides,
                            extents, element_bytes);
  run_copy(plan, pool);
}

}  // namespace einstream::detail
