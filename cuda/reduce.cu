// reduce: result[i] = epilogue(sum over r of source[i, r]). The source's
// leading axes are the result's (kept axes, equal extents, possibly another
// order in memory), its trailing axes are summed.
//
// Strategy. The launch is planned on the host when the Program is lowered
// (planner/reduce_plan: merging, the variant, the grid, the load width, the
// splits and their workspace); this file holds the kernels and launches a
// given plan. Kept axes are merged among themselves and summed axes among
// themselves (never across the boundary); summed axes are first made
// non-negative and sorted by stride, since the order of a sum is free. The
// merged shape picks one of:
//   (a) thread per output: each thread sums its output's whole (or split)
//       range, threads along the kept axis with the smallest source stride,
//       so reads coalesce when that axis is unit-stride (ijk->jk, ij->j).
//       There a thread owns a 16-byte vector of neighbouring outputs and
//       loads one vector per summed position (a warp reads 512 B of a row).
//       With too few outputs to fill the GPU the block also splits each sum
//       over threadIdx.y and combines through shared memory.
//   (b) transposing tile: the source's unit-stride axis p is kept but the
//       result's unit-stride axis q is another kept axis (ijk->ki). A block
//       owns a kTile x kTile tile of (p, q) outputs, reads along p, stages
//       the sums in shared memory and writes along q: both sides coalesce.
//   (c) group per output: the unit-stride source axis is summed (ijk->ij,
//       full sums, aibjcde->ij once c, d, e merge into one run); a group of
//       4 to 32 lanes of a warp (short sums: a warp holds several rows) or
//       a whole block (long sums, few outputs, CUB BlockReduce) walks each
//       output's sum, each lane loading 16-byte vectors of the run. The
//       group is as wide as leaves each lane kSumUnroll loads in flight.
//   (d) split sums: when (a) or (c) launches too few threads to fill the GPU
//       (very few outputs, huge sums), each sum is cut into up to kMaxSplits
//       ranges over gridDim.y; partial sums go to the caller's workspace and
//       a second small kernel (a warp per output) adds them and applies the
//       epilogue. This is the only case with a non-zero workspace. (One pass
//       with a last-block-done counter would need the counters zeroed
//       before each launch, a memset as costly as this second kernel.)
// Vectors need the plan's stride checks and, at launch, a source pointer
// aligned to them; otherwise the plan's scalar launch runs the same kernel
// one element a load. Every thread walks its sum with a mixed-radix cursor
// (no division per element) and keeps kSumUnroll loads in flight. f32 and
// c64 accumulate in double (free on a memory-bound kernel), f64 and c128 in
// double, f16 and bf16 in float (their 8 or 11 bits leave float's 24 a wide
// margin, and float keeps the partials and the shuffles half the size); the
// final combine is a shuffle or block tree, and the result is rounded once,
// after the epilogue.
//
// Bytes: each source element is read once and each result element written
// once (read too when beta != 0); (d) adds 4-16 bytes per partial, at most
// DeviceTraits::fill_threads partials. Target (H200, issue 14): >= 90% of
// device-to-device copy bandwidth on every class (bytes read over the
// copy's), >= 80% for sums over several short modes (aibjcde->ij); e.g. a
// 1 GiB f32 ijk->ij in <= 0.3 ms.
#include "cuda/reduce.hpp"

#include <cuda/std/complex>

#include <algorithm>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <string>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "cuda/elementwise.hpp"
#include "cuda/reduce_many_axes.hpp"
#include "cuda/reduce_walk.cuh"
#include "einstream/error.hpp"
#include "planner/reduce_plan.hpp"

namespace einstream::detail {
namespace {

// Tiling constants and the axis structs the kernels take are planner/
// reduce_plan's: the planner sizes the launches they run.
using namespace reduce_tiling;

using namespace reduce_walk;

// Cursors are built for one summed axis, for a few (a unit-stride run and
// the two outer axes of aibjcde->ij: about 30 registers fewer than the
// general cursor, so more threads and loads in flight an SM), and for
// kMaxSummedAxes.
constexpr int kFewSummedAxes = 3;

static_assert(sizeof(AccumulatorOf<float>::type) == reduce_accumulator_bytes(DataType::f32) &&
                  sizeof(AccumulatorOf<cuda::std::complex<double>>::type) ==
                      reduce_accumulator_bytes(DataType::c128) &&
                  sizeof(AccumulatorOf<__half>::type) == reduce_accumulator_bytes(DataType::f16) &&
                  sizeof(AccumulatorOf<__nv_bfloat16>::type) ==
                      reduce_accumulator_bytes(DataType::bf16),
              "the planner sizes (d)'s workspace in these accumulators");

// A sum handed to the epilogue in T's compute type (f32 sums round from
// double here; f16/bf16 sums stay float until the epilogue's one rounding).
template <typename T, typename Acc>
__device__ __forceinline__ Compute<T> to_compute(Acc value) {
  return static_cast<Compute<T>>(value);
}

struct Offsets {
  std::int64_t source = 0;
  std::int64_t result = 0;
};

__device__ Offsets kept_offsets(const KeptAxes& kept, std::int64_t output) {
  Offsets offsets;
  for (int axis = 0; axis < kept.rank; ++axis) {
    const std::int64_t outer = divide(output, kept.extent[axis]);
    const std::int64_t coordinate = output - outer * kept.extent[axis];
    output = outer;
    offsets.source += coordinate * kept.source_stride[axis];
    offsets.result += coordinate * kept.result_stride[axis];
  }
  return offsets;
}

// Stores an output's sum, or its split's partial when partials are in use
// (partials[output * splits + split], so the finalize warp reads a row).
template <typename T, typename Acc>
__device__ __forceinline__ void store_sum(T* result, Acc* partials, std::int64_t output,
                                          std::int64_t result_offset, Acc value,
                                          const DeviceEpilogue<T>& epilogue) {
  if (partials != nullptr) {
    partials[output * gridDim.y + blockIdx.y] = value;
  } else {
    result[result_offset] = epilogue(to_compute<T>(value), result + result_offset);
  }
}

// The kWidth sums of one thread of (a): its outputs' whole sums, or those of
// its slice y of blockDim.y (combined in the block afterwards).
template <int kWidth, int kMaxRank, typename T, typename Acc>
__device__ __forceinline__ void sum_thread_outputs(Acc (&sums)[kWidth], const T* source,
                                                   const SummedAxes& summed, std::int64_t first,
                                                   std::int64_t end, std::int64_t step) {
  if constexpr (kWidth == 1) {
    sums[0] = sum_strided<1, kMaxRank, T, Acc>(source, summed, first, end, step);
  } else {
    sum_columns<kWidth, kMaxRank, T, Acc>(sums, source, summed, first, end, step);
  }
}

// (a), and (d) over it: blockDim (x outputs, y sum slices), gridDim.y splits.
// Thread x owns the kWidth outputs from (block_first + x) * kWidth on, which
// neighbour along kept axis 0 (unit source stride when kWidth > 1; its
// extent is a multiple of kWidth, so they share every other coordinate).
template <int kWidth, int kMaxRank, typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_thread_per_output(const T* __restrict__ source, T* result,
                             typename AccumulatorOf<T>::type* partials, KeptAxes kept,
                             SummedAxes summed, std::int64_t outputs, std::int64_t sum_length,
                             std::int64_t split_length, DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  __shared__ alignas(16) unsigned char slice_storage[kBlockThreads * kWidth * sizeof(Acc)];
  Acc* slice_sums = reinterpret_cast<Acc*>(slice_storage);
  const std::int64_t begin = blockIdx.y * split_length;
  const std::int64_t end = min(sum_length, begin + split_length);
  const std::int64_t owners = outputs / kWidth;
  const int x = threadIdx.x, y = threadIdx.y;
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * blockDim.x; block_first < owners;
       block_first += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t output = (block_first + x) * kWidth;
    Offsets offsets;
    Acc value[kWidth];
#pragma unroll
    for (int e = 0; e < kWidth; ++e) value[e] = Acc(0);
    if (output < outputs) {
      offsets = kept_offsets(kept, output);
      sum_thread_outputs<kWidth, kMaxRank, T, Acc>(value, source + offsets.source, summed,
                                                   begin + y, end, blockDim.y);
    }
    if (blockDim.y > 1) {
      Acc* mine = slice_sums + (y * blockDim.x + x) * kWidth;
#pragma unroll
      for (int e = 0; e < kWidth; ++e) mine[e] = value[e];
      __syncthreads();
      if (y == 0) {
        for (unsigned row = 1; row < blockDim.y; ++row) {
#pragma unroll
          for (int e = 0; e < kWidth; ++e) value[e] += mine[row * blockDim.x * kWidth + e];
        }
      }
      __syncthreads();
    }
    if (y == 0 && output < outputs) {
#pragma unroll
      for (int e = 0; e < kWidth; ++e) {
        store_sum(result, partials, output + e, offsets.result + e * kept.result_stride[0],
                  value[e], epilogue);
      }
    }
  }
}

// (b): one kTile x kTile tile of (p, q) outputs per block iteration.
template <int kMaxRank, typename T>
__global__ void __launch_bounds__(kTile* kTileRows)
    reduce_transpose_tile(const T* __restrict__ source, T* result, KeptAxes others, TileAxes tile,
                          SummedAxes summed, std::int64_t tile_count, std::int64_t sum_length,
                          DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  // A warp reads kTile elements of a row at a time: 64 bytes of f16/bf16,
  // half of f32's, so 2-byte types keep twice the loads in flight.
  constexpr int kUnroll = sizeof(T) < 4 ? 2 * kTileSumUnroll : kTileSumUnroll;
  // One pad column keeps the transposed reads off a single bank.
  __shared__ alignas(16) unsigned char tile_storage[kTile * (kTile + 1) * sizeof(Acc)];
  Acc(*staged)[kTile + 1] = reinterpret_cast<Acc(*)[kTile + 1]>(tile_storage);
  const int x = threadIdx.x, y = threadIdx.y;
  for (std::int64_t t = blockIdx.x; t < tile_count; t += gridDim.x) {
    const std::int64_t p_tile = t % tile.p_tiles;
    const std::int64_t q_tile = (t / tile.p_tiles) % tile.q_tiles;
    const Offsets base = kept_offsets(others, t / tile.p_tiles / tile.q_tiles);
    const std::int64_t p = p_tile * kTile + x;

    // Read along p: a warp loads kTile consecutive source elements.
    std::int64_t row_offset[kTileRowsPerThread];
    bool row_valid[kTileRowsPerThread];
    Acc sum[kTileRowsPerThread];
#pragma unroll
    for (int row = 0; row < kTileRowsPerThread; ++row) {
      const std::int64_t q = q_tile * kTile + y + row * kTileRows;
      row_valid[row] = p < tile.p_extent && q < tile.q_extent;
      row_offset[row] = row_valid[row]
                            ? base.source + p * tile.p_source_stride + q * tile.q_source_stride
                            : base.source;
      sum[row] = Acc(0);
    }
    SumCursor<kMaxRank> cursor(summed, 0);
    std::int64_t r = 0;
    for (; r + kUnroll <= sum_length; r += kUnroll) {
      std::int64_t step_offset[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        step_offset[u] = cursor.offset;
        cursor.advance(summed);
      }
      T values[kUnroll][kTileRowsPerThread];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
        for (int row = 0; row < kTileRowsPerThread; ++row) {
          values[u][row] =
              row_valid[row] ? source[row_offset[row] + step_offset[u]] : zero_element<T>();
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
        for (int row = 0; row < kTileRowsPerThread; ++row) sum[row] += term<Acc>(values[u][row]);
      }
    }
    for (; r < sum_length; ++r) {
#pragma unroll
      for (int row = 0; row < kTileRowsPerThread; ++row) {
        if (row_valid[row]) sum[row] += term<Acc>(source[row_offset[row] + cursor.offset]);
      }
      cursor.advance(summed);
    }
#pragma unroll
    for (int row = 0; row < kTileRowsPerThread; ++row) staged[y + row * kTileRows][x] = sum[row];
    __syncthreads();

    // Write along q: a warp stores kTile consecutive result elements.
#pragma unroll
    for (int row = 0; row < kTileRowsPerThread; ++row) {
      const std::int64_t q = q_tile * kTile + x;
      const std::int64_t p_out = p_tile * kTile + y + row * kTileRows;
      if (q < tile.q_extent && p_out < tile.p_extent) {
        const std::int64_t offset =
            base.result + q * tile.q_result_stride + p_out * tile.p_result_stride;
        result[offset] = epilogue(to_compute<T>(staged[x][y + row * kTileRows]), result + offset);
      }
    }
    __syncthreads();
  }
}

// (c), and (d) over it: `lanes` consecutive threads per output (a group of
// a warp, or the whole block when kBlockGroup), gridDim.y splits. Lane l
// reads the kWidth elements from flat index l * kWidth on, then every
// lanes * kWidth-th (the plan's cursor step).
template <bool kBlockGroup, int kWidth, int kMaxRank, typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_group_per_output(const T* __restrict__ source, T* result,
                            typename AccumulatorOf<T>::type* partials, KeptAxes kept,
                            SummedAxes summed, std::int64_t outputs, std::int64_t sum_length,
                            std::int64_t split_length, int group, DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  using BlockReduce = cub::BlockReduce<Acc, kBlockThreads>;
  __shared__ typename BlockReduce::TempStorage block_storage;
  const int lanes = kBlockGroup ? kBlockThreads : group;
  const int groups_per_block = kBlockThreads / lanes;
  const int group_index = threadIdx.x / lanes;
  const int lane = threadIdx.x % lanes;
  const std::int64_t begin = blockIdx.y * split_length;
  const std::int64_t end = min(sum_length, begin + split_length);
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * groups_per_block;
       block_first < outputs; block_first += std::int64_t{gridDim.x} * groups_per_block) {
    const std::int64_t output = block_first + group_index;
    Offsets offsets;
    Acc value(0);
    if (output < outputs) {
      offsets = kept_offsets(kept, output);
      value = sum_strided<kWidth, kMaxRank, T, Acc>(source + offsets.source, summed,
                                                    begin + lane * kWidth, end,
                                                    std::int64_t{lanes} * kWidth);
    }
    if constexpr (kBlockGroup) {
      value = BlockReduce(block_storage).Sum(value);
      __syncthreads();  // block_storage is reused by the next output
    } else {
      value = group_sum(value, lanes);
    }
    if (lane == 0 && output < outputs)
      store_sum(result, partials, output, offsets.result, value, epilogue);
  }
}

// (d)'s second pass: a warp per output adds its row of partials.
template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_finalize(const typename AccumulatorOf<T>::type* __restrict__ partials,
                    std::int64_t splits, T* result, KeptAxes kept, std::int64_t outputs,
                    DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  constexpr int kWarpsPerBlock = kBlockThreads / kWarpThreads;
  const int lane = threadIdx.x % kWarpThreads;
  for (std::int64_t output = std::int64_t{blockIdx.x} * kWarpsPerBlock + threadIdx.x / kWarpThreads;
       output < outputs; output += std::int64_t{gridDim.x} * kWarpsPerBlock) {
    Acc value(0);
    for (std::int64_t split = lane; split < splits; split += kWarpThreads) {
      value += partials[output * splits + split];
    }
    value = warp_sum(value);
    if (lane == 0) {
      const std::int64_t offset = kept_offsets(kept, output).result;
      result[offset] = epilogue(to_compute<T>(value), result + offset);
    }
  }
}

// ---- launch (host only) ---------------------------------------------------

unsigned grid_dimension(std::int64_t blocks) { return static_cast<unsigned>(blocks); }

// The plan's kernel with loads of kWidth elements, on the grid and cursor
// planned for that width (the plan's own, or plan.scalar's for width 1).
template <int kWidth, int kMaxRank, typename T>
void launch_kernel(const ReducePlan& plan, std::int64_t grid_x, const SummedAxes& summed,
                   const T* source, T* result, typename AccumulatorOf<T>::type* partials,
                   const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  const dim3 grid(grid_dimension(grid_x), grid_dimension(plan.splits));
  const dim3 block(static_cast<unsigned>(plan.block_x), static_cast<unsigned>(plan.block_y));
  switch (plan.variant) {
    case ReduceVariant::transpose_tile:
      reduce_transpose_tile<kMaxRank, T><<<grid_dimension(grid_x), block, 0, stream>>>(
          source, result, plan.kept, plan.tile, summed, plan.tile_count, plan.sum_length, epilogue);
      break;
    case ReduceVariant::thread_per_output:
      reduce_thread_per_output<kWidth, kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, summed, plan.outputs,
                                       plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::warp_per_output:
      reduce_group_per_output<false, kWidth, kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, summed, plan.outputs,
                                       plan.sum_length, plan.split_length, plan.group, epilogue);
      break;
    case ReduceVariant::block_per_output:
      reduce_group_per_output<true, kWidth, kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, summed, plan.outputs,
                                       plan.sum_length, plan.split_length, plan.group, epilogue);
      break;
    case ReduceVariant::none:
    case ReduceVariant::fill_zero:
    case ReduceVariant::many_axes:
      break;  // reduce() handles these
  }
}

template <int kMaxRank, typename T>
void launch(const ReducePlan& plan, const T* source, T* result, void* workspace,
            const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  using Acc = typename AccumulatorOf<T>::type;
  constexpr int kWidest = static_cast<int>(kVectorBytes / sizeof(T));
  if (plan.vector_width != 1 && plan.vector_width != kWidest) {
    throw Error("reduce: the plan loads vectors of " + std::to_string(plan.vector_width) +
                " elements, but the kernels are built for 1 or " + std::to_string(kWidest) +
                " of this data type; plan it with plan_reduce for the same data type");
  }
  Acc* partials = plan.splits > 1 ? static_cast<Acc*>(workspace) : nullptr;
  source += plan.source_offset;
  const bool aligned = reinterpret_cast<std::uintptr_t>(source) % (sizeof(T) * kWidest) == 0;
  if (plan.vector_width > 1 && aligned) {
    launch_kernel<kWidest, kMaxRank, T>(plan, plan.grid_x, plan.summed, source, result, partials,
                                        epilogue, stream);
  } else {
    launch_kernel<1, kMaxRank, T>(plan, plan.scalar.grid_x, plan.scalar.summed, source, result,
                                  partials, epilogue, stream);
  }
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
  if (partials != nullptr) {
    reduce_finalize<T><<<grid_dimension(plan.finalize_grid_x), kBlockThreads, 0, stream>>>(
        partials, plan.splits, result, plan.kept, plan.outputs, epilogue);
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  }
}

ReducePlan checked_plan(DataType dtype, const TensorLayout& source_layout,
                        const TensorLayout& result_layout) {
  ReducePlan plan = plan_reduce(dtype, source_layout, result_layout);
  if (!plan.error.empty()) throw Error(plan.error);
  return plan;
}

}  // namespace

void reduce(const ReducePlan& plan, const void* source, void* result, const Epilogue& epilogue,
            void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  if (!plan.error.empty()) throw Error(plan.error);
  if (plan.variant == ReduceVariant::none) return;
  if (plan.variant == ReduceVariant::fill_zero) {
    fill_zero(plan.dtype, result, plan.fill_layout, epilogue, stream);
    return;
  }
  if (plan.variant == ReduceVariant::many_axes) {
    reduce_many_axes(plan, source, result, epilogue, stream);
    return;
  }
  const std::uint64_t needed = plan.workspace_bytes;
  if (needed > 0 && (workspace == nullptr || workspace_bytes < needed)) {
    throw Error("reduce: these layouts need " + std::to_string(needed) +
                " bytes of workspace (ReducePlan::workspace_bytes), but " +
                std::to_string(workspace == nullptr ? 0 : workspace_bytes) + " were given");
  }
  dispatch_element_type(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    const T* typed_source = static_cast<const T*>(source);
    T* typed_result = static_cast<T*>(result);
    if (plan.summed.rank <= 1) {
      launch<1, T>(plan, typed_source, typed_result, workspace, device, stream);
    } else if (plan.summed.rank <= kFewSummedAxes) {
      launch<kFewSummedAxes, T>(plan, typed_source, typed_result, workspace, device, stream);
    } else {
      launch<kMaxSummedAxes, T>(plan, typed_source, typed_result, workspace, device, stream);
    }
  });
}

std::size_t reduce_workspace_bytes(DataType dtype, const TensorLayout& source_layout,
                                   const TensorLayout& result_layout) {
  return checked_plan(dtype, source_layout, result_layout).workspace_bytes;
}

void reduce(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
            const TensorLayout& result_layout, const Epilogue& epilogue, void* workspace,
            std::size_t workspace_bytes, cudaStream_t stream) {
  reduce(checked_plan(dtype, source_layout, result_layout), source, result, epilogue, workspace,
         workspace_bytes, stream);
}

}  // namespace einstream::detail
