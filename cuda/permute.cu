// permute: result[i] = epilogue(source[i]) over the result's index space.
//
// What it computes. Both views are strided: the source's strides are
// arbitrary (zero broadcasts, a sum of strides reads a diagonal, negative
// reads reversed), the result's are non-negative and distinct, possibly with
// gaps that must stay untouched. One kernel family therefore serves the
// Program's permutes, diagonals, broadcasts and strided copies.
//
// Strategy (planning on the host, as cuTT and librett do, once per op when
// the Program is lowered: planner/permute_plan; this file holds the kernels
// and launches a given plan):
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
//       (8 f16 or bf16, 4 f32, 2 f64 or c64, 1 c128); otherwise a single
//       element.
//     - tiled: the innermost mode moves (the source's unit-stride axis is not
//       the result's innermost). A block stages a kTile x kTile tile of the
//       (result run, source run) plane in shared memory (kWideTile x kTile
//       for elements of 4 bytes or fewer: 8 KiB a tile whatever the type, as
//       32 x 32 f32 tiles reached only 70-75% of a copy on the H200 where
//       f64's reached 95-104%), padded by one
//       element against bank conflicts: warps read tile rows along the
//       source's unit stride and write tile columns along the result's.
//       When those axes are short (16^6), the next axes in each view's memory
//       order fold into the run until it spans a tile, so every warp still
//       moves a 128-byte (f32) line (64 bytes for f16/bf16: two sectors).
//       Each block builds per-tile offset tables
//       for both runs in shared memory; the remaining axes come from the
//       tile index through precomputed divisors.
//  3. 32-bit indexing whenever every count and offset fits (multiply-high
//     division), 64-bit otherwise: tensors past 2^31 elements work.
//
// Bytes: each source element read once and each result element written once,
// 2 * count * sizeof(T); with beta != 0 the result is read too (3x).
// Elements move as their bits; only an epilogue (alpha/beta on the caller's
// output) computes, in ComputeOf<T> (float for f16/bf16), rounding once.
// Target (issue 14, H200): at least 90% of the device-to-device copy
// bandwidth measured in the same run for rank 3-5 permutations of >= 256 MiB
// where the innermost mode moves, 80% for rank 6 with small modes (16^6);
// about a copy's when it does not move. bench/cuda/permute_bench.cpp
// measures both, and both tile widths.
#include "cuda/permute.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "einstream/error.hpp"
#include "planner/permute_plan.hpp"

namespace einstream::detail {
namespace {

// Tiling constants are planner/permute_plan's: the planner sizes the
// launches they run.
using namespace permute_tiling;

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
      value.lanes[lane] = epilogue.element(value.lanes[lane], &previous.lanes[lane]);
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

// kTileA (kTile or kWideTile) elements along the result run by kTile along
// the source run. Each warp reads kTileA / kTileRows tile rows (a lane per
// source element) and writes kTileA / kTile column strips of kTile /
// kTileRows columns (a lane per result element).
template <typename T, typename Index, int kTileA>
__global__ void __launch_bounds__(kTileThreads)
    permute_tiled_kernel(const T* __restrict__ source, T* __restrict__ result,
                         TiledAxes<Index> axes, DeviceEpilogue<T> epilogue) {
  static_assert(kTileA % kTile == 0 && kTileA / kTile < kTileRows, "table rows fit the block");
  constexpr int kLoadsPerThread = kTileA / kTileRows;
  constexpr int kStrips = kTileA / kTile;
  // Raw storage: a __shared__ array of a complex type would need a
  // constructor. tile[a][b]: a along the result run, b along the source run.
  __shared__ alignas(T) unsigned char tile_storage[kTileA * (kTile + 1) * sizeof(T)];
  T(*tile)[kTile + 1] = reinterpret_cast<T(*)[kTile + 1]>(tile_storage);
  __shared__ Index a_source[kTileA], a_result[kTileA], b_source[kTile], b_result[kTile];

  const int lane = static_cast<int>(threadIdx.x);
  const int row = static_cast<int>(threadIdx.y);
  for (Index tile_index = static_cast<Index>(blockIdx.x); tile_index < axes.tile_count;
       tile_index += static_cast<Index>(gridDim.x)) {
    // Tiles along the result run vary fastest: neighbouring blocks write
    // neighbouring result lines.
    const Index rest = axes.result_run_tiles.quotient(tile_index);
    const Index a_first = (tile_index - rest * axes.result_run_tiles.divisor) * kTileA;
    const Index outer = axes.source_run_tiles.quotient(rest);
    const Index b_first = (rest - outer * axes.source_run_tiles.divisor) * kTile;
    Index source_base;
    Index result_base;
    locate(axes.outer, outer, source_base, result_base);
    const Index a_left = axes.result_run_extent - a_first;
    const Index b_left = axes.source_run_extent - b_first;
    const int a_count = a_left < kTileA ? static_cast<int>(a_left) : kTileA;
    const int b_count = b_left < kTile ? static_cast<int>(b_left) : kTile;
    // Warps 0 .. kStrips - 1 fill the result run's table, warp kStrips the
    // source run's.
    if (row < kStrips) {
      const int a = row * kTile + lane;
      if (a < a_count) locate(axes.result_run, a_first + a, a_source[a], a_result[a]);
    } else if (row == kStrips && lane < b_count) {
      locate(axes.source_run, b_first + lane, b_source[lane], b_result[lane]);
    }
    __syncthreads();

    if (lane < b_count) {
      // A warp reads one tile row: consecutive lanes, consecutive source elements.
      const Index row_source = source_base + b_source[lane];
      T values[kLoadsPerThread] = {};
#pragma unroll
      for (int k = 0; k < kLoadsPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a < a_count) values[k] = source[row_source + a_source[a]];
      }
#pragma unroll
      for (int k = 0; k < kLoadsPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a < a_count) tile[a][lane] = values[k];
      }
    }
    __syncthreads();

#pragma unroll
    for (int strip = 0; strip < kStrips; ++strip) {
      const int a = strip * kTile + lane;
      if (a >= a_count) continue;
      // A warp writes one tile column: consecutive lanes, consecutive result elements.
      const Index column_result = result_base + a_result[a];
#pragma unroll
      for (int k = 0; k < kTileElementsPerThread; ++k) {
        const int b = row + k * kTileRows;
        if (b < b_count) {
          T* destination = result + column_result + b_result[b];
          *destination = epilogue.element(tile[a][b], destination);
        }
      }
    }
    // The tables and the tile are rewritten by the next iteration.
    __syncthreads();
  }
}

// ------------------------------------------------------------ launch (host)
template <typename Index>
AxisList<Index> make_axis_list(const std::vector<PermuteAxis>& axes) {
  AxisList<Index> list{};
  list.rank = static_cast<int>(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) {
    list.extents[i] = Divisor<Index>::make(axes[i].extent);
    list.source_strides[i] = static_cast<Index>(axes[i].source_stride);
    list.result_strides[i] = static_cast<Index>(axes[i].result_stride);
  }
  return list;
}

template <typename T, typename Index, int kVector>
void launch_strided(const T* source, T* result, const StridedLaunch& launch,
                    const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  if (launch.blocks > std::numeric_limits<std::int32_t>::max()) {
    throw Error("permute: " + std::to_string(launch.items * kVector) +
                " elements exceed the strided kernel's grid");
  }
  permute_strided_kernel<T, Index, kVector>
      <<<static_cast<unsigned>(launch.blocks), kStridedThreads, 0, stream>>>(
          reinterpret_cast<const Packet<T, kVector>*>(source),
          reinterpret_cast<Packet<T, kVector>*>(result), make_axis_list<Index>(launch.axes),
          static_cast<Index>(launch.items), epilogue);
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

bool aligned_for_packets(const void* source, const void* result) {
  return reinterpret_cast<std::uintptr_t>(source) % kVectorBytes == 0 &&
         reinterpret_cast<std::uintptr_t>(result) % kVectorBytes == 0;
}

// Packets where the plan allows them and both pointers are 16-byte aligned
// (the one check the planner cannot make), single elements otherwise.
template <typename T, typename Index>
void permute_strided(const PermutePlan& plan, const T* source, T* result,
                     const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  constexpr int kVector = sizeof(T) < kVectorBytes ? kVectorBytes / static_cast<int>(sizeof(T)) : 1;
  if constexpr (kVector > 1) {
    if (plan.vector > 1 && aligned_for_packets(source, result)) {
      if (plan.vector != kVector) {
        throw Error("permute: the plan's packets of " + std::to_string(plan.vector) +
                    " elements do not match the kernel's " + std::to_string(kVector));
      }
      launch_strided<T, Index, kVector>(source, result, plan.packets, epilogue, stream);
      return;
    }
  }
  launch_strided<T, Index, 1>(source, result, plan.elements, epilogue, stream);
}

template <typename T, typename Index>
void permute_tiled(const TiledLaunch& launch, const T* source, T* result,
                   const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  TiledAxes<Index> tiled{};
  tiled.result_run = make_axis_list<Index>(launch.result_run);
  tiled.source_run = make_axis_list<Index>(launch.source_run);
  tiled.outer = make_axis_list<Index>(launch.outer);
  tiled.result_run_extent = static_cast<Index>(launch.result_run_extent);
  tiled.source_run_extent = static_cast<Index>(launch.source_run_extent);
  tiled.result_run_tiles = Divisor<Index>::make(launch.result_run_tiles);
  tiled.source_run_tiles = Divisor<Index>::make(launch.source_run_tiles);
  tiled.tile_count = static_cast<Index>(launch.tile_count);
  const dim3 threads(kTile, kTileRows);
  const auto blocks = static_cast<unsigned>(launch.blocks);
  if (launch.result_tile == kWideTile) {
    permute_tiled_kernel<T, Index, kWideTile>
        <<<blocks, threads, 0, stream>>>(source, result, tiled, epilogue);
  } else if (launch.result_tile == kTile) {
    permute_tiled_kernel<T, Index, kTile>
        <<<blocks, threads, 0, stream>>>(source, result, tiled, epilogue);
  } else {
    throw Error("permute: no tiled kernel for tiles " + std::to_string(launch.result_tile) +
                " long along the result run");
  }
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

template <typename T, typename Index>
void launch_permute(const PermutePlan& plan, const T* source, T* result,
                    const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  if (plan.variant == PermuteVariant::tiled) {
    permute_tiled<T, Index>(plan.tiled, source, result, epilogue, stream);
  } else {
    permute_strided<T, Index>(plan, source, result, epilogue, stream);
  }
}

}  // namespace

void permute(const PermutePlan& plan, const void* source, void* result, const Epilogue& epilogue,
             cudaStream_t stream) {
  if (!plan.error.empty()) throw Error(plan.error);
  if (plan.variant == PermuteVariant::none) return;  // zero-element views launch nothing
  dispatch_element_type(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* typed_source = static_cast<const T*>(source);
    T* typed_result = static_cast<T*>(result);
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    if (plan.index32) {
      launch_permute<T, std::int32_t>(plan, typed_source, typed_result, device, stream);
    } else {
      launch_permute<T, std::int64_t>(plan, typed_source, typed_result, device, stream);
    }
  });
}

void permute(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
             const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream) {
  permute(plan_permute(dtype, source_layout, result_layout), source, result, epilogue, stream);
}

}  // namespace einstream::detail
