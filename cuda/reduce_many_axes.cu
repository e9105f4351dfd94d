// Variant (e) of the reduce kernels: every merged axis in a kernel list of
// kMaxLaunchAxes. A thread per output when sums are short, else a block per
// output whose threads each take a contiguous range of the sum and combine
// through CUB's BlockReduce. A thread finds its range's first coordinates by
// division once, then steps with carries; it accumulates as the tuned
// kernels do (f32 in double, f16/bf16 in float) and the epilogue rounds once.
// Not tuned: no vectors, no split sums. The tuned variants cover the shapes
// with up to 12 kept and 8 summed merged axes.
#include "cuda/reduce_many_axes.hpp"

#include <cuda/std/complex>

#include <algorithm>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <string>

#include "cuda/check.hpp"
#include "cuda/element.cuh"
#include "cuda/reduce_walk.cuh"
#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

using reduce_tiling::kBlockThreads;
using reduce_walk::AccumulatorOf;
using reduce_walk::divide;
using reduce_walk::term;

// The kernel's lists (parameters: 1.5 and 1 KiB), innermost axis first.
struct ManyKept {
  int rank = 0;
  std::int64_t extent[kMaxLaunchAxes] = {};
  std::int64_t source_stride[kMaxLaunchAxes] = {};
  std::int64_t result_stride[kMaxLaunchAxes] = {};
};

struct ManySummed {
  int rank = 0;
  std::int64_t extent[kMaxLaunchAxes] = {};
  std::int64_t stride[kMaxLaunchAxes] = {};
};

__device__ void kept_offsets(const ManyKept& kept, std::int64_t output, std::int64_t& source_offset,
                             std::int64_t& result_offset) {
  source_offset = 0;
  result_offset = 0;
  for (int axis = 0; axis < kept.rank; ++axis) {
    const std::int64_t outer = divide(output, kept.extent[axis]);
    const std::int64_t coordinate = output - outer * kept.extent[axis];
    output = outer;
    source_offset += coordinate * kept.source_stride[axis];
    result_offset += coordinate * kept.result_stride[axis];
  }
}

// The sum of the flat summed indices [begin, end) from `source`.
template <typename Acc, typename T>
__device__ Acc sum_range(const T* __restrict__ source, const ManySummed& summed, std::int64_t begin,
                         std::int64_t end) {
  Acc value(0);
  if (begin >= end) return value;
  std::int64_t coordinate[kMaxLaunchAxes];
  std::int64_t offset = 0;
  std::int64_t rest = begin;
  for (int axis = 0; axis < summed.rank; ++axis) {
    const std::int64_t outer = divide(rest, summed.extent[axis]);
    coordinate[axis] = rest - outer * summed.extent[axis];
    rest = outer;
    offset += coordinate[axis] * summed.stride[axis];
  }
  for (std::int64_t index = begin; index < end; ++index) {
    value += term<Acc>(source[offset]);
    // The next index: carries past the last axis happen only after the last
    // element, whose offset is never read.
    for (int axis = 0; axis < summed.rank; ++axis) {
      offset += summed.stride[axis];
      if (++coordinate[axis] < summed.extent[axis]) break;
      offset -= summed.extent[axis] * summed.stride[axis];
      coordinate[axis] = 0;
    }
  }
  return value;
}

template <bool kBlockPerOutput, typename T>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_many_axes_kernel(const T* __restrict__ source, T* result, ManyKept kept,
                            ManySummed summed, std::int64_t outputs, std::int64_t sum_length,
                            DeviceEpilogue<T> epilogue) {
  using Acc = typename AccumulatorOf<T>::type;
  using BlockReduce = cub::BlockReduce<Acc, kBlockThreads>;
  __shared__ typename BlockReduce::TempStorage block_storage;
  const std::int64_t outputs_per_block = kBlockPerOutput ? 1 : kBlockThreads;
  const std::int64_t chunk =
      kBlockPerOutput ? (sum_length + kBlockThreads - 1) / kBlockThreads : sum_length;
  const std::int64_t begin = kBlockPerOutput ? std::int64_t{threadIdx.x} * chunk : 0;
  const std::int64_t end = min(sum_length, begin + chunk);
  // Block per output: every thread of a block takes the same outputs, so
  // all reach each BlockReduce.
  for (std::int64_t output =
           std::int64_t{blockIdx.x} * outputs_per_block + (kBlockPerOutput ? 0 : threadIdx.x);
       output < outputs; output += std::int64_t{gridDim.x} * outputs_per_block) {
    std::int64_t source_offset;
    std::int64_t result_offset;
    kept_offsets(kept, output, source_offset, result_offset);
    Acc value = sum_range<Acc>(source + source_offset, summed, begin, end);
    if constexpr (kBlockPerOutput) {
      value = BlockReduce(block_storage).Sum(value);
      __syncthreads();  // block_storage is reused by the next output
      if (threadIdx.x != 0) continue;
    }
    result[result_offset] = epilogue(static_cast<Compute<T>>(value), result + result_offset);
  }
}

ManyKept many_kept(const ManyAxesReduce& many) {
  ManyKept kept;
  kept.rank = static_cast<int>(many.kept_extents.size());
  for (int axis = 0; axis < kept.rank; ++axis) {
    kept.extent[axis] = many.kept_extents[axis];
    kept.source_stride[axis] = many.kept_source_strides[axis];
    kept.result_stride[axis] = many.kept_result_strides[axis];
  }
  return kept;
}

ManySummed many_summed(const ManyAxesReduce& many) {
  ManySummed summed;
  summed.rank = static_cast<int>(many.summed_extents.size());
  for (int axis = 0; axis < summed.rank; ++axis) {
    summed.extent[axis] = many.summed_extents[axis];
    summed.stride[axis] = many.summed_strides[axis];
  }
  return summed;
}

}  // namespace

void reduce_many_axes(const ReducePlan& plan, const void* source, void* result,
                      const Epilogue& epilogue, cudaStream_t stream) {
  const ManyAxesReduce& many = plan.many;
  if (plan.variant != ReduceVariant::many_axes ||
      many.kept_extents.size() > static_cast<std::size_t>(kMaxLaunchAxes) ||
      many.summed_extents.size() > static_cast<std::size_t>(kMaxLaunchAxes)) {
    throw Error("reduce_many_axes: the plan (" + to_string(plan) +
                ") is not a many-axes plan of at most " + std::to_string(kMaxLaunchAxes) +
                " kept and summed axes");
  }
  const ManyKept kept = many_kept(many);
  const ManySummed summed = many_summed(many);
  const auto grid = static_cast<unsigned>(plan.grid_x);
  dispatch_element_type(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* typed_source = static_cast<const T*>(source) + plan.source_offset;
    T* typed_result = static_cast<T*>(result);
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    if (many.block_per_output) {
      reduce_many_axes_kernel<true, T><<<grid, kBlockThreads, 0, stream>>>(
          typed_source, typed_result, kept, summed, plan.outputs, plan.sum_length, device);
    } else {
      reduce_many_axes_kernel<false, T><<<grid, kBlockThreads, 0, stream>>>(
          typed_source, typed_result, kept, summed, plan.outputs, plan.sum_length, device);
    }
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace einstream::detail
