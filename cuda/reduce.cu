// reduce: result[i] = epilogue(sum over r of source[i, r]). The source's
// leading axes are the result's (kept axes, equal extents, possibly another
// order in memory), its trailing axes are summed.
//
// Strategy. The launch is planned on the host when the Program is lowered
// (planner/reduce_plan: merging, the variant, the grid, the splits and their
// workspace); this file holds the kernels and launches a given plan. Kept
// axes are merged among themselves and summed axes among themselves (never
// across the boundary); summed axes are first sorted by stride, since the
// order of a sum is free. The merged shape picks one of:
//   (a) thread per output: each thread sums its output's whole (or split)
//       range, threads along the kept axis with the smallest source stride,
//       so reads coalesce when that axis is unit-stride (ijk->jk). With too
//       few outputs to fill the GPU the block also splits each sum over
//       threadIdx.y and combines through shared memory.
//   (b) transposing tile: the source's unit-stride axis p is kept but the
//       result's unit-stride axis q is another kept axis (ijk->ki). A block
//       owns a kTile x kTile tile of (p, q) outputs, reads along p, stages
//       the sums in shared memory and writes along q: both sides coalesce.
//   (c) group per output: the unit-stride source axis is summed (ijk->ij,
//       full sums); a warp (short sums) or a whole block (long sums, CUB
//       BlockReduce) walks each output's sum with consecutive lanes.
//   (d) split sums: when (a) or (c) launches too few threads to fill the GPU
//       (very few outputs, huge sums), each sum is cut into up to kMaxSplits
//       ranges over gridDim.y; partial sums go to the caller's workspace and
//       a second small kernel (a warp per output) adds them and applies the
//       epilogue. This is the only case with a non-zero workspace.
// Every thread walks its sum with a mixed-radix cursor (no division per
// element) and keeps kSumUnroll loads in flight. f32 and c64 accumulate in
// double (free on a memory-bound kernel), f64 and c128 in double, f16 and
// bf16 in float (their 8 or 11 bits leave float's 24 a wide margin, and
// float keeps the partials and the shuffles half the size); the final
// combine is a shuffle or block tree, and the result is rounded once, after
// the epilogue.
//
// Bytes: each source element is read once and each result element written
// once (read too when beta != 0); (d) adds 4-16 bytes per partial, at most
// DeviceTraits::fill_threads partials. Target (H100): >= 70% of device-to-device copy
// bandwidth for large reductions, e.g. a 1 GiB f32 ijk->ki in ~0.4 ms
// (cuTENSOR 0.396 ms, PyTorch ~2.3 ms).
#include "cuda/reduce.hpp"

#include <cuda/std/complex>

#include <algorithm>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <string>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "cuda/elementwise.hpp"
#include "einstream/error.hpp"
#include "planner/reduce_plan.hpp"

namespace einstream::detail {
namespace {

// Tiling constants and the axis structs the kernels take are planner/
// reduce_plan's: the planner sizes the launches they run.
using namespace reduce_tiling;

template <typename T>
struct AccumulatorOf {
  using type = double;
};
template <typename R>
struct AccumulatorOf<cuda::std::complex<R>> {
  using type = cuda::std::complex<double>;
};
template <>
struct AccumulatorOf<__half> {
  using type = float;
};
template <>
struct AccumulatorOf<__nv_bfloat16> {
  using type = float;
};

static_assert(sizeof(AccumulatorOf<float>::type) == reduce_accumulator_bytes(DataType::f32) &&
                  sizeof(AccumulatorOf<cuda::std::complex<double>>::type) ==
                      reduce_accumulator_bytes(DataType::c128) &&
                  sizeof(AccumulatorOf<__half>::type) == reduce_accumulator_bytes(DataType::f16) &&
                  sizeof(AccumulatorOf<__nv_bfloat16>::type) ==
                      reduce_accumulator_bytes(DataType::bf16),
              "the planner sizes (d)'s workspace in these accumulators");

// An element as a term of the sum: exact (float and double hold every f16,
// bf16 and f32 value).
template <typename Acc, typename T>
__device__ __forceinline__ Acc term(T value) {
  return static_cast<Acc>(load_compute(value));
}

// A sum handed to the epilogue in T's compute type (f32 sums round from
// double here; f16/bf16 sums stay float until the epilogue's one rounding).
template <typename T, typename Acc>
__device__ __forceinline__ Compute<T> to_compute(Acc value) {
  return static_cast<Compute<T>>(value);
}

// Most indices fit 32 bits, where division is several times cheaper.
__device__ __forceinline__ std::int64_t divide(std::int64_t n, std::int64_t d) {
  if (((n | d) >> 32) == 0) {
    return static_cast<std::int64_t>(static_cast<std::uint32_t>(n) / static_cast<std::uint32_t>(d));
  }
  return n / d;
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

// Walks a sum's flat indices first, first + step, ... as source offsets.
// kMaxRank is 1 for sums over one merged axis (the common case: fewer
// registers), kMaxSummedAxes otherwise. Coordinates past the end of the sum
// are never dereferenced: callers bound the walk by count.
template <int kMaxRank>
struct SumCursor {
  std::int64_t coordinate[kMaxRank];
  std::int64_t offset = 0;

  __device__ SumCursor(const SummedAxes& summed, std::int64_t flat) {
#pragma unroll
    for (int axis = 0; axis < kMaxRank; ++axis) {
      coordinate[axis] = 0;
      if (axis < summed.rank) {
        const std::int64_t outer = divide(flat, summed.extent[axis]);
        coordinate[axis] = flat - outer * summed.extent[axis];
        flat = outer;
        offset += coordinate[axis] * summed.stride[axis];
      }
    }
  }

  __device__ __forceinline__ void advance(const SummedAxes& summed) {
    bool carry = false;
#pragma unroll
    for (int axis = 0; axis < kMaxRank; ++axis) {
      if (axis < summed.rank && (axis < summed.step_rank || carry)) {
        coordinate[axis] += summed.step_digit[axis] + (carry ? 1 : 0);
        offset += summed.step_offset[axis] + (carry ? summed.stride[axis] : 0);
        carry = coordinate[axis] >= summed.extent[axis];
        if (carry) {
          coordinate[axis] -= summed.extent[axis];
          offset -= summed.wrap_offset[axis];
        }
      }
    }
  }
};

// Sums source[offset(r)] for r = first, first + step, ... < end, where
// summed.step_digit encodes `step`; kSumUnroll independent accumulators keep
// that many loads in flight.
template <int kMaxRank, typename T, typename Acc>
__device__ Acc sum_strided(const T* __restrict__ source, const SummedAxes& summed,
                           std::int64_t first, std::int64_t end, std::int64_t step) {
  Acc partial[kSumUnroll];
#pragma unroll
  for (int u = 0; u < kSumUnroll; ++u) partial[u] = Acc(0);
  SumCursor<kMaxRank> cursor(summed, first);
  std::int64_t r = first;
  for (; r + (kSumUnroll - 1) * step < end; r += kSumUnroll * step) {
    T values[kSumUnroll];
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) {
      values[u] = source[cursor.offset];
      cursor.advance(summed);
    }
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) partial[u] += term<Acc>(values[u]);
  }
  for (; r < end; r += step) {
    partial[0] += term<Acc>(source[cursor.offset]);
    cursor.advance(summed);
  }
#pragma unroll
  for (int width = kSumUnroll / 2; width > 0; width /= 2) {
#pragma unroll
    for (int u = 0; u < width; ++u) partial[u] += partial[u + width];
  }
  return partial[0];
}

__device__ __forceinline__ float shuffle_down(float value, int delta) {
  return __shfl_down_sync(0xffffffffu, value, delta);
}
__device__ __forceinline__ double shuffle_down(double value, int delta) {
  return __shfl_down_sync(0xffffffffu, value, delta);
}
__device__ __forceinline__ cuda::std::complex<double> shuffle_down(cuda::std::complex<double> value,
                                                                   int delta) {
  return {__shfl_down_sync(0xffffffffu, value.real(), delta),
          __shfl_down_sync(0xffffffffu, value.imag(), delta)};
}

// Lane 0 gets the warp's total.
template <typename Acc>
__device__ Acc warp_sum(Acc value) {
#pragma unroll
  for (int delta = kWarpThreads / 2; delta > 0; delta /= 2) value += shuffle_down(value, delta);
  return value;
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

// (a), and (d) over it: blockDim (x outputs, y sum slices), gridDim.y splits.
template <int kMaxRank, typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_thread_per_output(const T* __restrict__ source, T* result,
                             typename AccumulatorOf<T>::type* partials, KeptAxes kept,
                             SummedAxes summed, std::int64_t outputs, std::int64_t sum_length,
                             std::int64_t split_length, DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  __shared__ alignas(16) unsigned char slice_storage[kBlockThreads * sizeof(Acc)];
  Acc* slice_sums = reinterpret_cast<Acc*>(slice_storage);
  const std::int64_t begin = blockIdx.y * split_length;
  const std::int64_t end = min(sum_length, begin + split_length);
  const int x = threadIdx.x, y = threadIdx.y;
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * blockDim.x; block_first < outputs;
       block_first += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t output = block_first + x;
    Offsets offsets;
    Acc value(0);
    if (output < outputs) {
      offsets = kept_offsets(kept, output);
      value = sum_strided<kMaxRank, T, Acc>(source + offsets.source, summed, begin + y, end,
                                            blockDim.y);
    }
    if (blockDim.y > 1) {
      slice_sums[y * blockDim.x + x] = value;
      __syncthreads();
      if (y == 0) {
        for (unsigned row = 1; row < blockDim.y; ++row) value += slice_sums[row * blockDim.x + x];
      }
      __syncthreads();
    }
    if (y == 0 && output < outputs)
      store_sum(result, partials, output, offsets.result, value, epilogue);
  }
}

// (b): one kTile x kTile tile of (p, q) outputs per block iteration.
template <int kMaxRank, typename T>
__global__ void __launch_bounds__(kTile* kTileRows)
    reduce_transpose_tile(const T* __restrict__ source, T* result, KeptAxes others, TileAxes tile,
                          SummedAxes summed, std::int64_t tile_count, std::int64_t sum_length,
                          DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
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
    for (; r + kTileSumUnroll <= sum_length; r += kTileSumUnroll) {
      std::int64_t step_offset[kTileSumUnroll];
#pragma unroll
      for (int u = 0; u < kTileSumUnroll; ++u) {
        step_offset[u] = cursor.offset;
        cursor.advance(summed);
      }
      T values[kTileSumUnroll][kTileRowsPerThread];
#pragma unroll
      for (int u = 0; u < kTileSumUnroll; ++u) {
#pragma unroll
        for (int row = 0; row < kTileRowsPerThread; ++row) {
          values[u][row] =
              row_valid[row] ? source[row_offset[row] + step_offset[u]] : zero_element<T>();
        }
      }
#pragma unroll
      for (int u = 0; u < kTileSumUnroll; ++u) {
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

// (c), and (d) over it: kGroup consecutive threads (a warp or the block) per
// output, gridDim.y splits.
template <int kGroup, int kMaxRank, typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_group_per_output(const T* __restrict__ source, T* result,
                            typename AccumulatorOf<T>::type* partials, KeptAxes kept,
                            SummedAxes summed, std::int64_t outputs, std::int64_t sum_length,
                            std::int64_t split_length, DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  constexpr int kGroupsPerBlock = kBlockThreads / kGroup;
  using BlockReduce = cub::BlockReduce<Acc, kBlockThreads>;
  __shared__ typename BlockReduce::TempStorage block_storage;
  const int group = threadIdx.x / kGroup;
  const int lane = threadIdx.x % kGroup;
  const std::int64_t begin = blockIdx.y * split_length;
  const std::int64_t end = min(sum_length, begin + split_length);
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * kGroupsPerBlock; block_first < outputs;
       block_first += std::int64_t{gridDim.x} * kGroupsPerBlock) {
    const std::int64_t output = block_first + group;
    Offsets offsets;
    Acc value(0);
    if (output < outputs) {
      offsets = kept_offsets(kept, output);
      value =
          sum_strided<kMaxRank, T, Acc>(source + offsets.source, summed, begin + lane, end, kGroup);
    }
    if constexpr (kGroup == kWarpThreads) {
      value = warp_sum(value);
    } else {
      value = BlockReduce(block_storage).Sum(value);
      __syncthreads();  // block_storage is reused by the next output
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

template <int kMaxRank, typename T>
void launch(const ReducePlan& plan, const T* source, T* result, void* workspace,
            const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  using Acc = typename AccumulatorOf<T>::type;
  Acc* partials = plan.splits > 1 ? static_cast<Acc*>(workspace) : nullptr;
  const dim3 grid(grid_dimension(plan.grid_x), grid_dimension(plan.splits));
  const dim3 block(static_cast<unsigned>(plan.block_x), static_cast<unsigned>(plan.block_y));
  switch (plan.variant) {
    case ReduceVariant::transpose_tile:
      reduce_transpose_tile<kMaxRank, T><<<grid_dimension(plan.grid_x), block, 0, stream>>>(
          source, result, plan.kept, plan.tile, plan.summed, plan.tile_count, plan.sum_length,
          epilogue);
      break;
    case ReduceVariant::thread_per_output:
      reduce_thread_per_output<kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, plan.summed,
                                       plan.outputs, plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::warp_per_output:
      reduce_group_per_output<kWarpThreads, kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, plan.summed,
                                       plan.outputs, plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::block_per_output:
      reduce_group_per_output<kBlockThreads, kMaxRank, T>
          <<<grid, block, 0, stream>>>(source, result, partials, plan.kept, plan.summed,
                                       plan.outputs, plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::none:
    case ReduceVariant::fill_zero:
      return;  // reduce() handles both
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
