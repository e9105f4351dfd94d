// permute: result[i] = epilogue(source[i]) over the result's index space.
//
// What it computes. Both views are strided: the source's strides are
// arbitrary (zero broadcasts, a sum of strides reads a diagonal, negative
// reads reversed), the result's are non-negative and distinct, possibly with
// gaps that must stay untouched. One kernel family therefore serves the
// Program's permutes, diagonals, broadcasts and strided copies.
//
// Strategy (planning on the host, as cuTT and librett do, then one launch):
//  1. Sort the axes by result stride, so the result is walked in its own
//     memory order, and merge axes that stay adjacent in both layouts
//     (src/axis_merge). A permute of 16^6 with two modes moving together
//     loses one axis; a plain copy becomes rank 1.
//  2. Pick a variant by the innermost axes:
//     - strided: the result's innermost axis is also the source's unit-stride
//       axis (or the source has none: diagonals, broadcasts). One linear index
//       per item, decomposed over the axes with precomputed divisors. When
//       both views are contiguous along that axis, 16-byte aligned and every
//       other stride is a multiple of the vector, an item is a 16-byte packet
//       (4 f32, 2 f64 or c64, 1 c128); otherwise a single element.
//     - tiled: the innermost mode moves (the source's unit-stride axis is not
//       the result's innermost). A block stages a kTile x kTile tile of the
//       (result run, source run) plane in shared memory, padded by one
//       element against bank conflicts: warps read tile rows along the
//       source's unit stride and write tile columns along the result's.
//       When those axes are short (16^6), the next axes in each view's memory
//       order fold into the run until it spans a tile, so every warp still
//       moves a 128-byte (f32) line. Each block builds per-tile offset tables
//       for both runs in shared memory; the remaining axes come from the
//       tile index through precomputed divisors.
//  3. 32-bit indexing whenever every count and offset fits (multiply-high
//     division), 64-bit otherwise: tensors past 2^31 elements work.
//
// Bytes: each source element read once and each result element written once,
// 2 * count * sizeof(T); with beta != 0 the result is read too (3x).
// Target (H100): at least 70% of the device-to-device copy bandwidth measured
// in the same run for rank 3-6 permutations of >= 256 MiB where the innermost
// mode moves (cuTENSOR reaches 86-89%, PyTorch 8-12%); about a copy's when
// it does not move. bench/cuda/permute_bench.cpp measures both.
#include "cuda/permute.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "einstream/error.hpp"
#include "src/axis_merge.hpp"

namespace einstream::detail {
namespace {

// ------------------------------------------------------------ tuning
constexpr int kMaxRank = 16;  // axes after merging
// Strided variant: each thread keeps several independent loads in flight.
constexpr int kStridedThreads = 256;
constexpr int kStridedItemsPerThread = 4;
constexpr int kStridedItemsPerBlock = kStridedThreads * kStridedItemsPerThread;
constexpr int kVectorBytes = 16;
// Tiled variant: one warp spans a tile row (kTile is the warp size), and
// kTileRows warps each move kTile / kTileRows elements per phase.
constexpr int kTile = 32;
constexpr int kTileRows = 8;
constexpr int kTileThreads = kTile * kTileRows;
constexpr int kTileElementsPerThread = kTile / kTileRows;
// Runs shorter than this leave most of a tile idle; the strided variant
// serves them better.
constexpr std::int64_t kMinTileRun = 8;
// The tiled grid is capped; blocks loop over the remaining tiles.
constexpr std::int64_t kMaxTiledBlocks = std::int64_t{1} << 20;
// 32-bit indexing when every count and offset stays under this; the margin
// covers indices that run a block (or a grid stride) past the end.
constexpr std::int64_t kInt32IndexLimit =
    std::numeric_limits<std::int32_t>::max() - (std::int64_t{1} << 22);

static_assert(kTile == 32, "a tile row is one warp");
static_assert(kTile % kTileRows == 0, "every warp moves whole tile rows");

// ------------------------------------------------------------ division
template <typename Index>
struct Divisor;

// n / d as a multiply-high and a shift (Granlund-Montgomery, as CUTLASS's
// FastDivmod): a 32-bit division is a long instruction sequence on the GPU
// and the strided variant divides once per axis per item. Exact for
// 0 <= n < 2^31 and 1 <= d < 2^31.
template <>
struct Divisor<std::int32_t> {
  std::int32_t divisor;
  std::uint32_t multiplier;
  std::uint32_t shift;

  static Divisor make(std::int64_t d) {
    Divisor made{static_cast<std::int32_t>(d), 0u, 0u};
    if (d != 1) {
      std::uint32_t ceil_log2 = 0;
      while ((std::int64_t{1} << ceil_log2) < d) ++ceil_log2;
      const std::uint32_t p = 31 + ceil_log2;
      made.multiplier =
          static_cast<std::uint32_t>(((std::uint64_t{1} << p) + static_cast<std::uint64_t>(d) - 1) /
                                     static_cast<std::uint64_t>(d));
      made.shift = p - 32;
    }
    return made;
  }
  __device__ std::int32_t quotient(std::int32_t n) const {
    if (divisor == 1) return n;
    return static_cast<std::int32_t>(__umulhi(static_cast<std::uint32_t>(n), multiplier) >> shift);
  }
};

// Past 2^31 elements: plain division (tensors that large are rare and the
// bandwidth, not the index arithmetic, still dominates).
template <>
struct Divisor<std::int64_t> {
  std::int64_t divisor;

  static Divisor make(std::int64_t d) { return Divisor{d}; }
  __device__ std::int64_t quotient(std::int64_t n) const { return n / divisor; }
};

// ------------------------------------------------------------ kernel data
// Axes walked by one linear index, innermost first (a kernel parameter: the
// arrays live in the constant bank and are indexed by unrolled constants).
template <typename Index>
struct AxisList {
  int rank;
  Divisor<Index> extents[kMaxRank];
  Index source_strides[kMaxRank];
  Index result_strides[kMaxRank];
};

// The source and result offsets of `linear` over `axes`. The outermost axis
// takes what is left, so it needs no division.
template <typename Index>
__device__ __forceinline__ void locate(const AxisList<Index>& axes, Index linear,
                                       Index& source_offset, Index& result_offset) {
  Index source = 0;
  Index result = 0;
#pragma unroll
  for (int axis = 0; axis < kMaxRank; ++axis) {
    if (axis >= axes.rank) break;
    Index coordinate = linear;
    if (axis + 1 < axes.rank) {
      const Index quotient = axes.extents[axis].quotient(linear);
      coordinate = linear - quotient * axes.extents[axis].divisor;
      linear = quotient;
    }
    source += coordinate * axes.source_strides[axis];
    result += coordinate * axes.result_strides[axis];
  }
  source_offset = source;
  result_offset = result;
}

// kVector elements moved as one aligned access (16 bytes when kVector > 1).
template <typename T, int kVector>
struct alignas(sizeof(T) * kVector) Packet {
  T lanes[kVector];
};

template <typename T, int kVector>
__device__ __forceinline__ void store_packet(Packet<T, kVector>* destination,
                                             Packet<T, kVector> value,
                                             const DeviceEpilogue<T>& epilogue) {
  if (epilogue.apply) {
    // The previous value is read only when beta != 0: it may be NaN garbage.
    Packet<T, kVector> previous = value;
    if (epilogue.read_previous) previous = *destination;
#pragma unroll
    for (int lane = 0; lane < kVector; ++lane) {
      value.lanes[lane] = epilogue(value.lanes[lane], &previous.lanes[lane]);
    }
  }
  *destination = value;
}

// ------------------------------------------------------------ strided variant
// Items are numbered in the result's memory order, so a warp writes
// consecutive result packets; loads of all items are issued before any store.
template <typename T, typename Index, int kVector>
__global__ void __launch_bounds__(kStridedThreads)
    permute_strided_kernel(const Packet<T, kVector>* __restrict__ source,
                           Packet<T, kVector>* __restrict__ result, AxisList<Index> axes,
                           Index count, DeviceEpilogue<T> epilogue) {
  const Index first =
      static_cast<Index>(blockIdx.x) * kStridedItemsPerBlock + static_cast<Index>(threadIdx.x);
  Packet<T, kVector> values[kStridedItemsPerThread] = {};
  Index result_offsets[kStridedItemsPerThread] = {};
#pragma unroll
  for (int item = 0; item < kStridedItemsPerThread; ++item) {
    const Index linear = first + item * kStridedThreads;
    if (linear < count) {
      Index source_offset;
      locate(axes, linear, source_offset, result_offsets[item]);
      values[item] = source[source_offset];
    }
  }
#pragma unroll
  for (int item = 0; item < kStridedItemsPerThread; ++item) {
    if (first + item * kStridedThreads < count) {
      store_packet(result + result_offsets[item], values[item], epilogue);
    }
  }
}

// ------------------------------------------------------------ tiled variant
template <typename Index>
struct TiledAxes {
  AxisList<Index> result_run;  // tile columns: the result's unit-stride axis first
  AxisList<Index> source_run;  // tile rows: the source's unit-stride axis first
  AxisList<Index> outer;       // the rest, innermost (in the result) first
  Index result_run_extent;
  Index source_run_extent;
  Divisor<Index> result_run_tiles;
  Divisor<Index> source_run_tiles;
  Index tile_count;
};

template <typename T, typename Index>
__global__ void __launch_bounds__(kTileThreads)
    permute_tiled_kernel(const T* __restrict__ source, T* __restrict__ result,
                         TiledAxes<Index> axes, DeviceEpilogue<T> epilogue) {
  // Raw storage: a __shared__ array of a complex type would need a
  // constructor. tile[a][b]: a along the result run, b along the source run.
  __shared__ alignas(T) unsigned char tile_storage[kTile * (kTile + 1) * sizeof(T)];
  T(*tile)[kTile + 1] = reinterpret_cast<T(*)[kTile + 1]>(tile_storage);
  __shared__ Index a_source[kTile], a_result[kTile], b_source[kTile], b_result[kTile];

  const int lane = static_cast<int>(threadIdx.x);
  const int row = static_cast<int>(threadIdx.y);
  for (Index tile_index = static_cast<Index>(blockIdx.x); tile_index < axes.tile_count;
       tile_index += static_cast<Index>(gridDim.x)) {
    // Tiles along the result run vary fastest: neighbouring blocks write
    // neighbouring result lines.
    const Index rest = axes.result_run_tiles.quotient(tile_index);
    const Index a_first = (tile_index - rest * axes.result_run_tiles.divisor) * kTile;
    const Index outer = axes.source_run_tiles.quotient(rest);
    const Index b_first = (rest - outer * axes.source_run_tiles.divisor) * kTile;
    Index source_base;
    Index result_base;
    locate(axes.outer, outer, source_base, result_base);
    const Index a_left = axes.result_run_extent - a_first;
    const Index b_left = axes.source_run_extent - b_first;
    const int a_count = a_left < kTile ? static_cast<int>(a_left) : kTile;
    const int b_count = b_left < kTile ? static_cast<int>(b_left) : kTile;
    if (row == 0 && lane < a_count) {
      locate(axes.result_run, a_first + lane, a_source[lane], a_result[lane]);
    } else if (row == 1 && lane < b_count) {
      locate(axes.source_run, b_first + lane, b_source[lane], b_result[lane]);
    }
    __syncthreads();

    if (lane < b_count) {
      // A warp reads one tile row: consecutive lanes, consecutive source elements.
      const Index row_source = source_base + b_source[lane];
      T values[kTileElementsPerThread] = {};
#pragma unroll
      for (int k = 0; k < kTileElementsPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a < a_count) values[k] = source[row_source + a_source[a]];
      }
#pragma unroll
      for (int k = 0; k < kTileElementsPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a < a_count) tile[a][lane] = values[k];
      }
    }
    __syncthreads();

    if (lane < a_count) {
      // A warp writes one tile column: consecutive lanes, consecutive result elements.
      const Index column_result = result_base + a_result[lane];
#pragma unroll
      for (int k = 0; k < kTileElementsPerThread; ++k) {
        const int b = row + k * kTileRows;
        if (b < b_count) {
          T* destination = result + column_result + b_result[b];
          *destination = epilogue(tile[lane][b], destination);
        }
      }
    }
    // The tables and the tile are rewritten by the next iteration.
    __syncthreads();
  }
}

// ------------------------------------------------------------ host planning
struct Axis {
  std::int64_t extent;
  std::int64_t source_stride;
  std::int64_t result_stride;
};

template <typename Index>
AxisList<Index> make_axis_list(const std::vector<Axis>& axes) {
  AxisList<Index> list{};
  list.rank = static_cast<int>(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) {
    list.extents[i] = Divisor<Index>::make(axes[i].extent);
    list.source_strides[i] = static_cast<Index>(axes[i].source_stride);
    list.result_strides[i] = static_cast<Index>(axes[i].result_stride);
  }
  return list;
}

std::int64_t element_count(const std::vector<Axis>& axes) {
  std::int64_t count = 1;
  for (const Axis& axis : axes) count *= axis.extent;
  return count;
}

bool fits_32bit_index(const std::vector<Axis>& axes) {
  std::int64_t source_span = 0;
  std::int64_t result_span = 0;
  for (const Axis& axis : axes) {
    source_span += (axis.extent - 1) * std::llabs(axis.source_stride);
    result_span += (axis.extent - 1) * axis.result_stride;
  }
  return element_count(axes) <= kInt32IndexLimit && source_span <= kInt32IndexLimit &&
         result_span <= kInt32IndexLimit;
}

template <typename T, typename Index, int kVector>
void launch_strided(const T* source, T* result, const std::vector<Axis>& axes,
                    const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  const std::int64_t count = element_count(axes);
  const std::int64_t blocks = (count + kStridedItemsPerBlock - 1) / kStridedItemsPerBlock;
  if (blocks > std::numeric_limits<std::int32_t>::max()) {
    throw Error("permute: " + std::to_string(count) + " elements exceed the strided kernel's grid");
  }
  permute_strided_kernel<T, Index, kVector>
      <<<static_cast<unsigned>(blocks), kStridedThreads, 0, stream>>>(
          reinterpret_cast<const Packet<T, kVector>*>(source),
          reinterpret_cast<Packet<T, kVector>*>(result), make_axis_list<Index>(axes),
          static_cast<Index>(count), epilogue);
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

// 16-byte packets need both views contiguous along the innermost axis, every
// other stride a whole number of packets, and aligned pointers.
bool packs(const void* source, const void* result, const std::vector<Axis>& axes, int vector) {
  const Axis& inner = axes.front();
  if (inner.source_stride != 1 || inner.result_stride != 1 || inner.extent % vector != 0) {
    return false;
  }
  for (std::size_t i = 1; i < axes.size(); ++i) {
    if (axes[i].source_stride % vector != 0 || axes[i].result_stride % vector != 0) return false;
  }
  return reinterpret_cast<std::uintptr_t>(source) % kVectorBytes == 0 &&
         reinterpret_cast<std::uintptr_t>(result) % kVectorBytes == 0;
}

template <typename T, typename Index>
void permute_strided(const T* source, T* result, std::vector<Axis> axes,
                     const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  constexpr int kVector = sizeof(T) < kVectorBytes ? kVectorBytes / static_cast<int>(sizeof(T)) : 1;
  if constexpr (kVector > 1) {
    if (packs(source, result, axes, kVector)) {
      axes.front().extent /= kVector;
      for (std::size_t i = 1; i < axes.size(); ++i) {
        axes[i].source_stride /= kVector;
        axes[i].result_stride /= kVector;
      }
      launch_strided<T, Index, kVector>(source, result, axes, epilogue, stream);
      return;
    }
  }
  launch_strided<T, Index, 1>(source, result, axes, epilogue, stream);
}

// Folds axes not yet taken into a tile run, in the given order, until the
// run spans a tile; returns the run's extent.
std::int64_t fold_run(const std::vector<int>& order, std::vector<bool>& taken,
                      const std::vector<Axis>& axes, std::vector<Axis>& run) {
  std::int64_t extent = element_count(run);
  for (int axis : order) {
    if (extent >= kTile) break;
    if (taken[axis]) continue;
    taken[axis] = true;
    run.push_back(axes[axis]);
    extent *= axes[axis].extent;
  }
  return extent;
}

template <typename T, typename Index>
void launch_tiled(const T* source, T* result, const std::vector<Axis>& result_run,
                  const std::vector<Axis>& source_run, const std::vector<Axis>& outer,
                  const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  TiledAxes<Index> tiled{};
  tiled.result_run = make_axis_list<Index>(result_run);
  tiled.source_run = make_axis_list<Index>(source_run);
  tiled.outer = make_axis_list<Index>(outer);
  const std::int64_t result_run_extent = element_count(result_run);
  const std::int64_t source_run_extent = element_count(source_run);
  const std::int64_t result_run_tiles = (result_run_extent + kTile - 1) / kTile;
  const std::int64_t source_run_tiles = (source_run_extent + kTile - 1) / kTile;
  const std::int64_t tile_count = result_run_tiles * source_run_tiles * element_count(outer);
  tiled.result_run_extent = static_cast<Index>(result_run_extent);
  tiled.source_run_extent = static_cast<Index>(source_run_extent);
  tiled.result_run_tiles = Divisor<Index>::make(result_run_tiles);
  tiled.source_run_tiles = Divisor<Index>::make(source_run_tiles);
  tiled.tile_count = static_cast<Index>(tile_count);
  const unsigned blocks = static_cast<unsigned>(std::min(tile_count, kMaxTiledBlocks));
  permute_tiled_kernel<T, Index>
      <<<blocks, dim3(kTile, kTileRows), 0, stream>>>(source, result, tiled, epilogue);
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

// `axes` innermost (in the result's memory order) first.
template <typename T, typename Index>
void launch_permute(const T* source, T* result, const std::vector<Axis>& axes,
                    const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  const int rank = static_cast<int>(axes.size());
  int source_unit = -1;
  for (int i = 0; i < rank && source_unit < 0; ++i) {
    if (std::llabs(axes[i].source_stride) == 1) source_unit = i;
  }
  if (source_unit > 0) {
    // The innermost mode moves: build the two runs of the tile plane.
    std::vector<int> result_order(rank);
    std::iota(result_order.begin(), result_order.end(), 0);
    std::vector<int> source_order = result_order;
    // The source's memory order; broadcast axes last, as folding them in
    // would lengthen no contiguous read.
    const auto source_step = [&](int axis) {
      const std::int64_t stride = std::llabs(axes[axis].source_stride);
      return stride == 0 ? std::numeric_limits<std::int64_t>::max() : stride;
    };
    std::stable_sort(source_order.begin(), source_order.end(),
                     [&](int left, int right) { return source_step(left) < source_step(right); });
    std::vector<bool> taken(rank, false);
    taken[source_unit] = true;  // it heads the source run
    std::vector<Axis> result_run;
    std::vector<Axis> source_run{axes[source_unit]};
    const std::int64_t result_extent = fold_run(result_order, taken, axes, result_run);
    const std::int64_t source_extent = fold_run(source_order, taken, axes, source_run);
    if (std::min(result_extent, source_extent) >= kMinTileRun) {
      std::vector<Axis> outer;
      for (int i = 0; i < rank; ++i) {
        if (!taken[i]) outer.push_back(axes[i]);
      }
      launch_tiled<T, Index>(source, result, result_run, source_run, outer, epilogue, stream);
      return;
    }
  }
  permute_strided<T, Index>(source, result, axes, epilogue, stream);
}

void check_layouts(const TensorLayout& source_layout, const TensorLayout& result_layout) {
  const std::string shapes =
      " (source " + to_string(source_layout) + ", result " + to_string(result_layout) + ")";
  if (source_layout.extents.size() != source_layout.strides.size() ||
      result_layout.extents.size() != result_layout.strides.size()) {
    throw Error("permute: a layout has a different number of extents and strides" + shapes);
  }
  if (source_layout.rank() != result_layout.rank()) {
    throw Error("permute: the source has rank " + std::to_string(source_layout.rank()) +
                " but the result has rank " + std::to_string(result_layout.rank()) + shapes);
  }
  for (int axis = 0; axis < result_layout.rank(); ++axis) {
    if (source_layout.extents[axis] != result_layout.extents[axis] ||
        result_layout.extents[axis] < 0) {
      throw Error("permute: axis " + std::to_string(axis) +
                  " has different or negative extents in the source and the result" + shapes);
    }
    if (result_layout.strides[axis] < 0) {
      throw Error("permute: the result's stride on axis " + std::to_string(axis) +
                  " is negative; result strides must be non-negative" + shapes);
    }
  }
}

}  // namespace

void permute(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
             const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream) {
  check_layouts(source_layout, result_layout);
  const int rank = result_layout.rank();
  // Walk the result in its own memory order: outermost (largest stride) first.
  std::vector<int> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int left, int right) {
    return result_layout.strides[left] > result_layout.strides[right];
  });
  std::vector<std::int64_t> extents;
  std::vector<std::vector<std::int64_t>> strides(2);
  for (int axis : order) {
    extents.push_back(result_layout.extents[axis]);
    strides[0].push_back(result_layout.strides[axis]);
    strides[1].push_back(source_layout.strides[axis]);
  }
  const MergedAxes merged = merge_axes(extents, strides);
  if (merged.rank() > kMaxRank) {
    throw Error("permute: " + std::to_string(merged.rank()) +
                " axes remain after merging adjacent ones; at most " + std::to_string(kMaxRank) +
                " are supported (source " + to_string(source_layout) + ", result " +
                to_string(result_layout) + ")");
  }
  std::vector<Axis> axes;  // innermost first
  for (int i = merged.rank() - 1; i >= 0; --i) {
    axes.push_back({merged.extents[i], merged.strides[1][i], merged.strides[0][i]});
  }
  if (axes.empty()) axes.push_back({1, 0, 0});  // a scalar: one element

  dispatch_element_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (element_count(axes) == 0) return;  // zero-element views launch nothing
    const T* typed_source = static_cast<const T*>(source);
    T* typed_result = static_cast<T*>(result);
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    if (fits_32bit_index(axes)) {
      launch_permute<T, std::int32_t>(typed_source, typed_result, axes, device, stream);
    } else {
      launch_permute<T, std::int64_t>(typed_source, typed_result, axes, device, stream);
    }
  });
}

}  // namespace einstream::detail
