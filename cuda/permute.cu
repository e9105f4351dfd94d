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
//     - word-tiled: the tiled variant for elements under 8 bytes (f32, f16,
//       bf16) whose unit-stride axes are whole 8-byte words and whose other
//       strides are whole words, on word-aligned pointers (the plan holds
//       both launches; the pointers pick). Tiles are 32 x 32 words (64 x 64
//       f32, 128 x 128 f16): each thread loads 2 x 2 (f32) or 4 x 4 (f16)
//       blocks of elements as words along the source run, transposes them
//       in registers and stores words along the result run, so every access
//       is 8 bytes as f64's are (whose element tiles reach 94-97% of a
//       copy, where f32's reached 80% and f16's 55%), and the offset tables
//       are read once per word, not per element. The shared tile is
//       XOR-swizzled rather than padded (the kernel's comment says how).
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
#include <type_traits>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/divisor.cuh"
#include "cuda/element.cuh"
#include "einstream/error.hpp"
#include "planner/permute_plan.hpp"

namespace einstream::detail {
namespace {

// Tiling constants are planner/permute_plan's: the planner sizes the
// launches they run.
using namespace permute_tiling;

// ------------------------------------------------------------ kernel data
// Axes walked by one linear index, innermost first (a kernel parameter: the
// arrays live in the constant bank and are indexed by unrolled constants).
// kCapacity is kMaxRank for every variant but many_axes' kMaxManyRank.
template <typename Index, int kCapacity = kMaxRank>
struct AxisList {
  int rank;
  Divisor<Index> extents[kCapacity];
  Index source_strides[kCapacity];
  Index result_strides[kCapacity];
};

// The source and result offsets of `linear` over `axes`. The outermost axis
// takes what is left, so it needs no division. Unrolled in full up to
// kMaxRank; the many-axes list, by four.
template <typename Index, int kCapacity>
__device__ __forceinline__ void locate(const AxisList<Index, kCapacity>& axes, Index linear,
                                       Index& source_offset, Index& result_offset) {
  Index source = 0;
  Index result = 0;
#pragma unroll(kCapacity <= kMaxRank ? kCapacity : 4)
  for (int axis = 0; axis < kCapacity; ++axis) {
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
template <typename T, typename Index, int kVector, int kCapacity>
__global__ void __launch_bounds__(kStridedThreads)
    permute_strided_kernel(const Packet<T, kVector>* __restrict__ source,
                           Packet<T, kVector>* __restrict__ result, AxisList<Index, kCapacity> axes,
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

// ------------------------------------------------------------ word-tiled variant
// The tiled variant in words of kVector elements (planner/permute_plan: a
// word is kTileWordBytes), for pointers aligned to a word. `axes` counts
// words: a tile is kTile words along each run, kTile * kVector elements a
// side. A thread loads a kVector x kVector block of elements as kVector
// words along the source run (its rows, `source_step` words apart in the
// source), transposes it in registers and stores it to shared memory as
// kVector words along the result run; after the barrier it stores such
// words, `result_step` words apart in the result, for kVector consecutive
// elements of the source run. Every access is a word (8 bytes), and the
// offsets come from the tables once per block of elements, not per element.
//
// Shared memory: tile[b][a ^ (b / kVector)], b the element along the source
// run, a the word along the result run. A warp storing its blocks writes,
// for one a and one element of its block, the rows kVector * lane + j: the
// swizzle spreads them over every bank (rows of kTile words start on bank
// 0). A warp reading for the stores takes one row, its columns permuted.
// Blocks an SM at least. Left alone, ptxas gives words of 4 elements 89
// registers, which fit only two blocks an SM (the shared tile allows six);
// three take 72 without spilling (four, 64, spill). Words of 2 take 40
// with no minimum (0); asking for one block lets ptxas take 150, for six
// makes f32 spill.
constexpr int min_word_tiled_blocks(int vector) { return vector >= 4 ? 3 : 0; }

template <typename T, typename Index, int kVector>
__global__ void __launch_bounds__(kTileThreads, min_word_tiled_blocks(kVector))
    permute_word_tiled_kernel(const Packet<T, kVector>* __restrict__ source,
                              Packet<T, kVector>* __restrict__ result, TiledAxes<Index> axes,
                              Index source_step, Index result_step, DeviceEpilogue<T> epilogue) {
  using Word = Packet<T, kVector>;
  static_assert(kTileRows % kVector == 0, "a warp's rows share their element of the word");
  constexpr int kRows = kTile * kVector;               // elements along the source run
  constexpr int kBlocksPerThread = kTile / kTileRows;  // a-words each warp loads
  constexpr int kStoresPerThread = kRows / kTileRows;  // rows each warp stores
  __shared__ alignas(Word) unsigned char tile_storage[kRows * kTile * sizeof(Word)];
  Word(*tile)[kTile] = reinterpret_cast<Word(*)[kTile]>(tile_storage);
  __shared__ Index a_source[kTile], a_result[kTile], b_source[kTile], b_result[kTile];

  const int lane = static_cast<int>(threadIdx.x);
  const int row = static_cast<int>(threadIdx.y);
  for (Index tile_index = static_cast<Index>(blockIdx.x); tile_index < axes.tile_count;
       tile_index += static_cast<Index>(gridDim.x)) {
    const Index rest = axes.result_run_tiles.quotient(tile_index);
    const Index a_first = (tile_index - rest * axes.result_run_tiles.divisor) * kTile;
    const Index outer = axes.source_run_tiles.quotient(rest);
    const Index b_first = (rest - outer * axes.source_run_tiles.divisor) * kTile;
    Index source_base;
    Index result_base;
    locate(axes.outer, outer, source_base, result_base);
    const Index a_left = axes.result_run_extent - a_first;
    const Index b_left = axes.source_run_extent - b_first;
    const int a_count = a_left < kTile ? static_cast<int>(a_left) : kTile;  // words
    const int b_count = b_left < kTile ? static_cast<int>(b_left) : kTile;  // words
    if (row == 0 && lane < a_count) {
      locate(axes.result_run, a_first + lane, a_source[lane], a_result[lane]);
    } else if (row == 1 && lane < b_count) {
      locate(axes.source_run, b_first + lane, b_source[lane], b_result[lane]);
    }
    __syncthreads();

    if (lane < b_count) {
      // A warp reads kVector source rows of a block: consecutive lanes,
      // consecutive source words.
      const Index lane_source = source_base + b_source[lane];
      Word loaded[kBlocksPerThread][kVector] = {};
#pragma unroll
      for (int k = 0; k < kBlocksPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a < a_count) {
          const Index first = lane_source + a_source[a];
#pragma unroll
          for (int i = 0; i < kVector; ++i) loaded[k][i] = source[first + i * source_step];
        }
      }
#pragma unroll
      for (int k = 0; k < kBlocksPerThread; ++k) {
        const int a = row + k * kTileRows;
        if (a >= a_count) continue;
#pragma unroll
        for (int j = 0; j < kVector; ++j) {
          Word transposed;
#pragma unroll
          for (int i = 0; i < kVector; ++i) transposed.lanes[i] = loaded[k][i].lanes[j];
          tile[lane * kVector + j][a ^ lane] = transposed;
        }
      }
    }
    __syncthreads();

    if (lane < a_count) {
      // A warp writes one tile row: consecutive lanes, consecutive result words.
      const Index lane_result = result_base + a_result[lane];
#pragma unroll
      for (int k = 0; k < kStoresPerThread; ++k) {
        const int b = row + k * kTileRows;
        const int b_word = b / kVector;
        if (b_word < b_count) {
          // b % kVector is row % kVector: kTileRows is a whole number of words.
          Word* destination = result + lane_result + b_result[b_word] + (b % kVector) * result_step;
          store_packet(destination, tile[b][lane ^ b_word], epilogue);
        }
      }
    }
    // The tables and the tile are rewritten by the next iteration.
    __syncthreads();
  }
}

// ------------------------------------------------------------ launch (host)
template <typename Index, int kCapacity = kMaxRank>
AxisList<Index, kCapacity> make_axis_list(const std::vector<PermuteAxis>& axes) {
  if (axes.size() > static_cast<std::size_t>(kCapacity)) {
    throw Error("permute: " + std::to_string(axes.size()) + " axes do not fit a kernel list of " +
                std::to_string(kCapacity));
  }
  AxisList<Index, kCapacity> list{};
  list.rank = static_cast<int>(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) {
    list.extents[i] = Divisor<Index>::make(axes[i].extent);
    list.source_strides[i] = static_cast<Index>(axes[i].source_stride);
    list.result_strides[i] = static_cast<Index>(axes[i].result_stride);
  }
  return list;
}

template <typename T, typename Index, int kVector, int kCapacity = kMaxRank>
void launch_strided(const T* source, T* result, const StridedLaunch& launch,
                    const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  if (launch.blocks > std::numeric_limits<std::int32_t>::max()) {
    throw Error("permute: " + std::to_string(launch.items * kVector) +
                " elements exceed the strided kernel's grid");
  }
  permute_strided_kernel<T, Index, kVector, kCapacity>
      <<<static_cast<unsigned>(launch.blocks), kStridedThreads, 0, stream>>>(
          reinterpret_cast<const Packet<T, kVector>*>(source),
          reinterpret_cast<Packet<T, kVector>*>(result),
          make_axis_list<Index, kCapacity>(launch.axes), static_cast<Index>(launch.items),
          epilogue);
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

bool aligned_to(const void* source, const void* result, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(source) % bytes == 0 &&
         reinterpret_cast<std::uintptr_t>(result) % bytes == 0;
}

// Packets where the plan allows them and both pointers are 16-byte aligned
// (the one check the planner cannot make), single elements otherwise.
template <typename T, typename Index>
void permute_strided(const PermutePlan& plan, const T* source, T* result,
                     const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  constexpr int kVector = sizeof(T) < kVectorBytes ? kVectorBytes / static_cast<int>(sizeof(T)) : 1;
  if constexpr (kVector > 1) {
    if (plan.vector > 1 && aligned_to(source, result, kVectorBytes)) {
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

template <typename Index>
TiledAxes<Index> make_tiled_axes(const TiledLaunch& launch) {
  TiledAxes<Index> tiled{};
  tiled.result_run = make_axis_list<Index>(launch.result_run);
  tiled.source_run = make_axis_list<Index>(launch.source_run);
  tiled.outer = make_axis_list<Index>(launch.outer);
  tiled.result_run_extent = static_cast<Index>(launch.result_run_extent);
  tiled.source_run_extent = static_cast<Index>(launch.source_run_extent);
  tiled.result_run_tiles = Divisor<Index>::make(launch.result_run_tiles);
  tiled.source_run_tiles = Divisor<Index>::make(launch.source_run_tiles);
  tiled.tile_count = static_cast<Index>(launch.tile_count);
  return tiled;
}

template <typename T, typename Index, int kVector>
void launch_word_tiled(const TiledLaunch& launch, const T* source, T* result,
                       const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  permute_word_tiled_kernel<T, Index, kVector>
      <<<static_cast<unsigned>(launch.blocks), dim3(kTile, kTileRows), 0, stream>>>(
          reinterpret_cast<const Packet<T, kVector>*>(source),
          reinterpret_cast<Packet<T, kVector>*>(result), make_tiled_axes<Index>(launch),
          static_cast<Index>(launch.source_step), static_cast<Index>(launch.result_step), epilogue);
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
}

// Word tiles where the plan has them and both pointers are aligned to a
// word; false (nothing launched) for element tiles. Kernels exist for 32-bit
// indices and elements under kTileWordBytes, the only plans with words.
template <typename T, typename Index>
bool permute_word_tiled(const PermutePlan& plan, const T* source, T* result,
                        const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  if (plan.tile_vector <= 1 ||
      !aligned_to(source, result, sizeof(T) * static_cast<std::size_t>(plan.tile_vector))) {
    return false;
  }
  if constexpr (std::is_same_v<Index, std::int32_t>) {
    if constexpr (2 * sizeof(T) <= kTileWordBytes) {
      if (plan.tile_vector == 2) {
        launch_word_tiled<T, Index, 2>(plan.word_tiled, source, result, epilogue, stream);
        return true;
      }
    }
    if constexpr (4 * sizeof(T) <= kTileWordBytes) {
      if (plan.tile_vector == 4) {
        launch_word_tiled<T, Index, 4>(plan.word_tiled, source, result, epilogue, stream);
        return true;
      }
    }
  }
  throw Error("permute: no tiled kernel for words of " + std::to_string(plan.tile_vector) +
              " elements of " + std::to_string(sizeof(T)) + " bytes with " +
              (plan.index32 ? "32" : "64") + "-bit indices");
}

template <typename T, typename Index>
void permute_tiled(const TiledLaunch& launch, const T* source, T* result,
                   const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  const TiledAxes<Index> tiled = make_tiled_axes<Index>(launch);
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
    if (permute_word_tiled<T, Index>(plan, source, result, epilogue, stream)) return;
    permute_tiled<T, Index>(plan.tiled, source, result, epilogue, stream);
  } else if (plan.variant == PermuteVariant::many_axes) {
    launch_strided<T, Index, 1, kMaxManyRank>(source, result, plan.elements, epilogue, stream);
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
