// reduce: result[i] = epilogue(sum over r of source[i, r]). The source's
// leading axes are the result's (kept axes, equal extents, possibly another
// order in memory), its trailing axes are summed.
//
// Strategy. Kept axes are merged among themselves and summed axes among
// themselves (never across the boundary); summed axes are first sorted by
// stride, since the order of a sum is free. The merged shape picks one of:
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
// double (free on a memory-bound kernel), f64 and c128 in double, and the
// final combine is a shuffle or block tree.
//
// Bytes: each source element is read once and each result element written
// once (read too when beta != 0); (d) adds 8-16 bytes per partial, at most
// kFillThreads partials. Target (H100): >= 70% of device-to-device copy
// bandwidth for large reductions, e.g. a 1 GiB f32 ijk->ki in ~0.4 ms
// (cuTENSOR 0.396 ms, PyTorch ~2.3 ms).
#include "cuda/reduce.hpp"

#include <cuda/std/complex>

#include <algorithm>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <string>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "cuda/elementwise.hpp"
#include "einstream/error.hpp"
#include "src/axis_merge.hpp"

namespace einstream::detail {
namespace {

// ---- launch shape and tiling ----------------------------------------------
constexpr int kBlockThreads = 256;
constexpr int kWarpThreads = 32;
constexpr int kMaxKeptAxes = 12;   // after merging
constexpr int kMaxSummedAxes = 8;  // after merging
constexpr int kSumUnroll = 8;      // independent loads in flight per thread
// Threads that keep an H100's memory system busy (132 SMs x 2048, rounded):
// a launch with fewer is split further, over the sum.
constexpr std::int64_t kFillThreads = std::int64_t{1} << 18;
// A split leaving a thread fewer elements than this costs more in partials
// and combines than it gains in parallelism.
constexpr std::int64_t kMinSumPerThread = 16;
constexpr std::int64_t kMaxSplits = 1024;         // gridDim.y of (d)
constexpr std::int64_t kMaxGridBlocks = 1 << 30;  // kernels stride over the rest
// (a): outputs along x when the block also splits the sum along y.
constexpr int kSlicedOutputs = 32;
constexpr int kSlicedRows = kBlockThreads / kSlicedOutputs;
// (b): tile of kTile (source-contiguous p) x kTile (result-contiguous q).
constexpr int kTile = 32;
constexpr int kTileRows = 8;  // blockDim.y; each thread owns kTile / kTileRows q rows
constexpr int kTileRowsPerThread = kTile / kTileRows;
constexpr int kTileSumUnroll = 4;             // x kTileRowsPerThread loads in flight
constexpr std::int64_t kTileMinExtent = 8;    // narrower p or q wastes most of a tile
constexpr std::int64_t kTileMinBlocks = 256;  // fewer tiles: (a) with splits fills better
// (c): a contiguous summed axis shorter than a warp leaves lanes idle; (a) then.
constexpr std::int64_t kGroupMinExtent = kWarpThreads;
constexpr std::int64_t kWarpSumLimit = 1024;  // longer sums get a block when outputs are few

template <typename T>
struct AccumulatorOf {
  using type = double;
};
template <typename R>
struct AccumulatorOf<cuda::std::complex<R>> {
  using type = cuda::std::complex<double>;
};

std::size_t accumulator_bytes(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
    case DataType::f64:
      return sizeof(double);
    case DataType::c64:
    case DataType::c128:
      return sizeof(cuda::std::complex<double>);
    default:
      break;
  }
  throw_unsupported_dtype(dtype);
}

// Kept axes, innermost first: an output index decomposes into coordinates.
struct KeptAxes {
  int rank = 0;
  std::int64_t extent[kMaxKeptAxes] = {};
  std::int64_t source_stride[kMaxKeptAxes] = {};
  std::int64_t result_stride[kMaxKeptAxes] = {};
};

// Summed axes, innermost first, and the cursor's step written in their
// mixed radix (so advancing needs additions and carries, no division or
// multiplication). Digits above step_rank are zero: advancing skips those
// axes unless a carry reaches them.
struct SummedAxes {
  int rank = 0;
  int step_rank = 0;
  std::int64_t extent[kMaxSummedAxes] = {};
  std::int64_t stride[kMaxSummedAxes] = {};
  std::int64_t step_digit[kMaxSummedAxes] = {};
  std::int64_t step_offset[kMaxSummedAxes] = {};  // step_digit * stride
  std::int64_t wrap_offset[kMaxSummedAxes] = {};  // extent * stride
};

// (b)'s two tiled axes; the other kept axes go in a KeptAxes.
struct TileAxes {
  std::int64_t p_extent = 0, q_extent = 0;
  std::int64_t p_source_stride = 0, q_source_stride = 0;
  std::int64_t p_result_stride = 0, q_result_stride = 0;
  std::int64_t p_tiles = 0, q_tiles = 0;
};

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
    for (int u = 0; u < kSumUnroll; ++u) partial[u] += static_cast<Acc>(values[u]);
  }
  for (; r < end; r += step) {
    partial[0] += static_cast<Acc>(source[cursor.offset]);
    cursor.advance(summed);
  }
#pragma unroll
  for (int width = kSumUnroll / 2; width > 0; width /= 2) {
#pragma unroll
    for (int u = 0; u < width; ++u) partial[u] += partial[u + width];
  }
  return partial[0];
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
    result[result_offset] = epilogue(static_cast<T>(value), result + result_offset);
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
          values[u][row] = row_valid[row] ? source[row_offset[row] + step_offset[u]] : T(0);
        }
      }
#pragma unroll
      for (int u = 0; u < kTileSumUnroll; ++u) {
#pragma unroll
        for (int row = 0; row < kTileRowsPerThread; ++row)
          sum[row] += static_cast<Acc>(values[u][row]);
      }
    }
    for (; r < sum_length; ++r) {
#pragma unroll
      for (int row = 0; row < kTileRowsPerThread; ++row) {
        if (row_valid[row]) sum[row] += static_cast<Acc>(source[row_offset[row] + cursor.offset]);
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
        result[offset] = epilogue(static_cast<T>(staged[x][y + row * kTileRows]), result + offset);
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
      result[offset] = epilogue(static_cast<T>(value), result + offset);
    }
  }
}

// ---- planning (host only) --------------------------------------------------

enum class ReduceVariant { thread_per_output, transpose_tile, warp_per_output, block_per_output };

struct ReducePlan {
  bool empty_result = false;
  bool empty_sum = false;
  ReduceVariant variant = ReduceVariant::thread_per_output;
  std::int64_t outputs = 0;
  std::int64_t sum_length = 0;
  KeptAxes kept;  // (b): the kept axes other than p and q
  std::vector<std::int64_t> summed_extents, summed_strides;  // innermost first
  TileAxes tile;
  std::int64_t tile_count = 0;
  unsigned block_x = kBlockThreads, block_y = 1;  // (a)
  std::int64_t splits = 1, split_length = 0;
  std::int64_t grid_x = 1;

  std::size_t workspace_bytes(DataType dtype) const {
    if (splits <= 1) return 0;
    return static_cast<std::size_t>(splits * outputs) * accumulator_bytes(dtype);
  }
};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t magnitude(std::int64_t stride) { return stride < 0 ? -stride : stride; }

void check_layout(const TensorLayout& layout, const char* name) {
  if (layout.extents.size() != layout.strides.size()) {
    throw Error(std::string("reduce: the ") + name + " layout has " +
                std::to_string(layout.extents.size()) + " extents but " +
                std::to_string(layout.strides.size()) + " strides");
  }
  for (std::int64_t extent : layout.extents) {
    if (extent < 0)
      throw Error(std::string("reduce: the ") + name + " layout has a negative extent");
  }
}

// Splits of a sum so that `threads` launched threads (each walking every
// `walkers`-th element of its range) become about kFillThreads.
void choose_splits(ReducePlan& plan, std::int64_t threads, std::int64_t walkers) {
  plan.splits = 1;
  if (threads < kFillThreads) {
    std::int64_t splits = ceil_div(kFillThreads, threads);
    splits = std::min(splits, plan.sum_length / (walkers * kMinSumPerThread));
    plan.splits = std::max<std::int64_t>(1, std::min(splits, kMaxSplits));
  }
  plan.split_length = ceil_div(plan.sum_length, plan.splits);
  plan.splits = ceil_div(plan.sum_length, plan.split_length);  // no empty splits
}

ReducePlan plan_reduce(const TensorLayout& source, const TensorLayout& result) {
  check_layout(source, "source");
  check_layout(result, "result");
  const int kept_rank = result.rank();
  if (source.rank() < kept_rank) {
    throw Error("reduce: the source has rank " + std::to_string(source.rank()) +
                " but the result has rank " + std::to_string(kept_rank) +
                "; the source needs the result's axes first, then the summed axes");
  }
  for (int axis = 0; axis < kept_rank; ++axis) {
    if (source.extents[axis] != result.extents[axis]) {
      throw Error("reduce: kept axis " + std::to_string(axis) + " has extent " +
                  std::to_string(source.extents[axis]) + " in the source but " +
                  std::to_string(result.extents[axis]) + " in the result");
    }
    if (result.strides[axis] < 0) {
      throw Error("reduce: result axis " + std::to_string(axis) + " has negative stride " +
                  std::to_string(result.strides[axis]) + "; result strides must be non-negative");
    }
  }
  ReducePlan plan;
  plan.outputs = result.element_count();
  plan.sum_length = 1;
  for (int axis = kept_rank; axis < source.rank(); ++axis) plan.sum_length *= source.extents[axis];
  plan.empty_result = plan.outputs == 0;
  plan.empty_sum = plan.sum_length == 0;
  if (plan.empty_result || plan.empty_sum) return plan;

  // Kept axes in the result's memory order (outermost first) merge wherever
  // the source agrees; summed axes in the source's order, sign aside.
  std::vector<int> kept_order(kept_rank);
  for (int axis = 0; axis < kept_rank; ++axis) kept_order[axis] = axis;
  std::stable_sort(kept_order.begin(), kept_order.end(),
                   [&](int a, int b) { return result.strides[a] > result.strides[b]; });
  std::vector<int> summed_order;
  for (int axis = kept_rank; axis < source.rank(); ++axis) summed_order.push_back(axis);
  std::stable_sort(summed_order.begin(), summed_order.end(), [&](int a, int b) {
    return magnitude(source.strides[a]) > magnitude(source.strides[b]);
  });
  std::vector<std::int64_t> extents, source_strides, result_strides;
  for (int axis : kept_order) {
    extents.push_back(source.extents[axis]);
    source_strides.push_back(source.strides[axis]);
    result_strides.push_back(result.strides[axis]);
  }
  const MergedAxes kept = merge_axes(extents, {source_strides, result_strides});
  extents.clear();
  source_strides.clear();
  for (int axis : summed_order) {
    extents.push_back(source.extents[axis]);
    source_strides.push_back(source.strides[axis]);
  }
  const MergedAxes summed = merge_axes(extents, {source_strides});
  if (kept.rank() > kMaxKeptAxes || summed.rank() > kMaxSummedAxes) {
    throw Error("reduce: " + std::to_string(kept.rank()) + " kept and " +
                std::to_string(summed.rank()) + " summed axes remain after merging; at most " +
                std::to_string(kMaxKeptAxes) + " and " + std::to_string(kMaxSummedAxes) +
                " are supported");
  }
  for (int axis = summed.rank() - 1; axis >= 0; --axis) {
    plan.summed_extents.push_back(summed.extents[axis]);
    plan.summed_strides.push_back(summed.strides[0][axis]);
  }

  // Innermost-first kept axes, ordered by a key (smallest first).
  struct Axis {
    std::int64_t extent, source_stride, result_stride;
  };
  std::vector<Axis> axes;
  for (int axis = kept.rank() - 1; axis >= 0; --axis) {
    axes.push_back({kept.extents[axis], kept.strides[0][axis], kept.strides[1][axis]});
  }
  const auto fill_kept = [&](const std::vector<Axis>& list) {
    plan.kept.rank = static_cast<int>(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      plan.kept.extent[i] = list[i].extent;
      plan.kept.source_stride[i] = list[i].source_stride;
      plan.kept.result_stride[i] = list[i].result_stride;
    }
  };
  int source_unit = -1, result_unit = -1;
  for (int i = 0; i < static_cast<int>(axes.size()); ++i) {
    if (source_unit < 0 && magnitude(axes[i].source_stride) == 1) source_unit = i;
    if (result_unit < 0 && axes[i].result_stride == 1) result_unit = i;
  }
  const bool summed_contiguous = !plan.summed_extents.empty() &&
                                 magnitude(plan.summed_strides[0]) == 1 &&
                                 plan.summed_extents[0] >= kGroupMinExtent;

  // (b)
  if (source_unit >= 0 && result_unit >= 0 && source_unit != result_unit &&
      axes[source_unit].extent >= kTileMinExtent && axes[result_unit].extent >= kTileMinExtent) {
    TileAxes tile;
    tile.p_extent = axes[source_unit].extent;
    tile.q_extent = axes[result_unit].extent;
    tile.p_source_stride = axes[source_unit].source_stride;
    tile.q_source_stride = axes[result_unit].source_stride;
    tile.p_result_stride = axes[source_unit].result_stride;
    tile.q_result_stride = axes[result_unit].result_stride;
    tile.p_tiles = ceil_div(tile.p_extent, kTile);
    tile.q_tiles = ceil_div(tile.q_extent, kTile);
    const std::int64_t tile_count =
        tile.p_tiles * tile.q_tiles * (plan.outputs / tile.p_extent / tile.q_extent);
    if (tile_count >= kTileMinBlocks || plan.sum_length <= kSumUnroll * kMinSumPerThread) {
      plan.variant = ReduceVariant::transpose_tile;
      plan.tile = tile;
      plan.tile_count = tile_count;
      std::vector<Axis> others;
      for (int i = 0; i < static_cast<int>(axes.size()); ++i) {
        if (i != source_unit && i != result_unit) others.push_back(axes[i]);
      }
      fill_kept(others);
      plan.grid_x = std::min(tile_count, kMaxGridBlocks);
      return plan;
    }
  }

  // (c) and (d) over it; also for a handful of outputs, whatever the strides,
  // since (a) would leave most lanes of its block idle.
  if (summed_contiguous || plan.outputs < kSlicedOutputs) {
    fill_kept(axes);
    const bool warp =
        plan.outputs * kWarpThreads >= kFillThreads || plan.sum_length <= kWarpSumLimit;
    plan.variant = warp ? ReduceVariant::warp_per_output : ReduceVariant::block_per_output;
    const std::int64_t group = warp ? kWarpThreads : kBlockThreads;
    const std::int64_t blocks = ceil_div(plan.outputs, kBlockThreads / group);
    plan.grid_x = std::min(blocks, kMaxGridBlocks);
    choose_splits(plan, plan.grid_x * kBlockThreads, group);
    return plan;
  }

  // (a) and (d) over it: threads along the smallest non-zero source stride.
  std::stable_sort(axes.begin(), axes.end(), [](const Axis& a, const Axis& b) {
    const auto key = [](const Axis& axis) {
      return axis.source_stride == 0 ? INT64_MAX : magnitude(axis.source_stride);
    };
    return key(a) < key(b);
  });
  fill_kept(axes);
  plan.variant = ReduceVariant::thread_per_output;
  if (plan.outputs < kFillThreads && plan.sum_length >= kSlicedRows * kMinSumPerThread) {
    plan.block_x = kSlicedOutputs;
    plan.block_y = kSlicedRows;
  }
  plan.grid_x = std::min(ceil_div(plan.outputs, plan.block_x), kMaxGridBlocks);
  choose_splits(plan, plan.grid_x * kBlockThreads, plan.block_y);
  return plan;
}

SummedAxes summed_axes(const ReducePlan& plan, std::int64_t step) {
  SummedAxes summed;
  summed.rank = static_cast<int>(plan.summed_extents.size());
  for (int axis = 0; axis < summed.rank; ++axis) {
    summed.extent[axis] = plan.summed_extents[axis];
    summed.stride[axis] = plan.summed_strides[axis];
    // Past the outermost axis the digits wrap; the walks never use a
    // position at or beyond the end of the sum, so that is harmless.
    summed.step_digit[axis] = step % summed.extent[axis];
    step /= summed.extent[axis];
    summed.step_offset[axis] = summed.step_digit[axis] * summed.stride[axis];
    summed.wrap_offset[axis] = summed.extent[axis] * summed.stride[axis];
    if (summed.step_digit[axis] != 0) summed.step_rank = axis + 1;
  }
  return summed;
}

unsigned grid_dimension(std::int64_t blocks) { return static_cast<unsigned>(blocks); }

template <int kMaxRank, typename T>
void launch(const ReducePlan& plan, const T* source, T* result, void* workspace,
            const DeviceEpilogue<T>& epilogue, cudaStream_t stream) {
  using Acc = typename AccumulatorOf<T>::type;
  Acc* partials = plan.splits > 1 ? static_cast<Acc*>(workspace) : nullptr;
  const dim3 grid(grid_dimension(plan.grid_x), grid_dimension(plan.splits));
  switch (plan.variant) {
    case ReduceVariant::transpose_tile:
      reduce_transpose_tile<kMaxRank, T>
          <<<grid_dimension(plan.grid_x), dim3(kTile, kTileRows), 0, stream>>>(
              source, result, plan.kept, plan.tile, summed_axes(plan, 1), plan.tile_count,
              plan.sum_length, epilogue);
      break;
    case ReduceVariant::thread_per_output:
      reduce_thread_per_output<kMaxRank, T><<<grid, dim3(plan.block_x, plan.block_y), 0, stream>>>(
          source, result, partials, plan.kept, summed_axes(plan, plan.block_y), plan.outputs,
          plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::warp_per_output:
      reduce_group_per_output<kWarpThreads, kMaxRank, T><<<grid, kBlockThreads, 0, stream>>>(
          source, result, partials, plan.kept, summed_axes(plan, kWarpThreads), plan.outputs,
          plan.sum_length, plan.split_length, epilogue);
      break;
    case ReduceVariant::block_per_output:
      reduce_group_per_output<kBlockThreads, kMaxRank, T><<<grid, kBlockThreads, 0, stream>>>(
          source, result, partials, plan.kept, summed_axes(plan, kBlockThreads), plan.outputs,
          plan.sum_length, plan.split_length, epilogue);
      break;
  }
  EINSTREAM_CUDA_CHECK(cudaGetLastError());
  if (partials != nullptr) {
    const std::int64_t blocks =
        std::min(ceil_div(plan.outputs, kBlockThreads / kWarpThreads), kMaxGridBlocks);
    reduce_finalize<T><<<grid_dimension(blocks), kBlockThreads, 0, stream>>>(
        partials, plan.splits, result, plan.kept, plan.outputs, epilogue);
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

std::size_t reduce_workspace_bytes(DataType dtype, const TensorLayout& source_layout,
                                   const TensorLayout& result_layout) {
  const std::size_t accumulator = accumulator_bytes(dtype);  // rejects unsupported types
  const ReducePlan plan = plan_reduce(source_layout, result_layout);
  if (plan.empty_result || plan.empty_sum) return 0;
  return plan.splits > 1 ? static_cast<std::size_t>(plan.splits * plan.outputs) * accumulator : 0;
}

void reduce(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
            const TensorLayout& result_layout, const Epilogue& epilogue, void* workspace,
            std::size_t workspace_bytes, cudaStream_t stream) {
  const ReducePlan plan = plan_reduce(source_layout, result_layout);
  if (plan.empty_result) return;
  if (plan.empty_sum) {
    fill_zero(dtype, result, result_layout, epilogue, stream);
    return;
  }
  const std::size_t needed = plan.workspace_bytes(dtype);
  if (needed > 0 && (workspace == nullptr || workspace_bytes < needed)) {
    throw Error("reduce: these layouts need " + std::to_string(needed) +
                " bytes of workspace (reduce_workspace_bytes), but " +
                std::to_string(workspace == nullptr ? 0 : workspace_bytes) + " were given");
  }
  dispatch_element_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    const T* typed_source = static_cast<const T*>(source);
    T* typed_result = static_cast<T*>(result);
    if (plan.summed_extents.size() <= 1) {
      launch<1, T>(plan, typed_source, typed_result, workspace, device, stream);
    } else {
      launch<kMaxSummedAxes, T>(plan, typed_source, typed_result, workspace, device, stream);
    }
  });
}

}  // namespace einstream::detail
