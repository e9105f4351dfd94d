// How one thread of the reduce kernels (cuda/reduce.cu) walks its share of a
// sum: the accumulator types, the mixed-radix cursor over the summed axes,
// vector loads, and the unrolled loops that keep kSumUnroll loads in flight.
//
// A walk visits flat sum indices first, first + step, ... < end. The cursor
// turns each into a source offset with additions and carries only (the
// step is written in the summed axes' mixed radix by planner/reduce_plan).
// With loads of kWidth > 1 elements the plan guarantees that axis 0 is the
// unit-stride run, that its extent, `first`, `step` and `end` are multiples
// of kWidth, and that the launch checked the base pointer's alignment: each
// visited index then starts kWidth contiguous elements of one run.
#pragma once

#include <cuda/std/complex>

#include <cstdint>

#include "cuda/element.cuh"
#include "planner/reduce_plan.hpp"

namespace einstream::detail::reduce_walk {

using reduce_tiling::kSumUnroll;
using reduce_tiling::kWarpThreads;

// f32 and c64 accumulate in double, f64 and c128 in double, f16 and bf16 in
// float (see cuda/reduce.cu).
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

// An element as a term of the sum: exact (float and double hold every f16,
// bf16 and f32 value).
template <typename Acc, typename T>
__device__ __forceinline__ Acc term(T value) {
  return static_cast<Acc>(load_compute(value));
}

// kWidth elements loaded as one (16-byte at most) transaction.
template <typename T, int kWidth>
struct alignas(sizeof(T) * kWidth) Vector {
  T element[kWidth];
};

template <int kWidth, typename T>
__device__ __forceinline__ Vector<T, kWidth> load_vector(const T* __restrict__ at) {
  return *reinterpret_cast<const Vector<T, kWidth>*>(at);
}

template <typename Acc, typename T, int kWidth>
__device__ __forceinline__ Acc vector_sum(const Vector<T, kWidth>& values) {
  Acc sum = term<Acc>(values.element[0]);
#pragma unroll
  for (int e = 1; e < kWidth; ++e) sum += term<Acc>(values.element[e]);
  return sum;
}

// Most indices fit 32 bits, where division is several times cheaper.
__device__ __forceinline__ std::int64_t divide(std::int64_t n, std::int64_t d) {
  if (((n | d) >> 32) == 0) {
    return static_cast<std::int64_t>(static_cast<std::uint32_t>(n) / static_cast<std::uint32_t>(d));
  }
  return n / d;
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

  // Axis 0 first and alone: the plans keep steps shorter than axis 0 where
  // they can, so most advances end there and the outer axes cost a branch.
  __device__ __forceinline__ void advance(const SummedAxes& summed) {
    coordinate[0] += summed.step_digit[0];
    offset += summed.step_offset[0];
    bool carry = coordinate[0] >= summed.extent[0];
    if (carry) {
      coordinate[0] -= summed.extent[0];
      offset -= summed.wrap_offset[0];
    }
    if constexpr (kMaxRank > 1) {
      if (carry || summed.step_rank > 1) advance_outer(summed, carry);
    }
  }

  // Adds the step's digits above axis 0 and the carry out of axis 0; stops
  // at the first axis with neither.
  __device__ __forceinline__ void advance_outer(const SummedAxes& summed, bool carry) {
#pragma unroll
    for (int axis = 1; axis < kMaxRank; ++axis) {
      if (axis >= summed.rank || (axis >= summed.step_rank && !carry)) break;
      coordinate[axis] += summed.step_digit[axis] + (carry ? 1 : 0);
      offset += summed.step_offset[axis] + (carry ? summed.stride[axis] : 0);
      carry = coordinate[axis] >= summed.extent[axis];
      if (carry) {
        coordinate[axis] -= summed.extent[axis];
        offset -= summed.wrap_offset[axis];
      }
    }
  }
};

template <int kWidth, typename T>
__device__ __forceinline__ Vector<T, kWidth> zero_vector() {
  Vector<T, kWidth> zero;
#pragma unroll
  for (int e = 0; e < kWidth; ++e) zero.element[e] = zero_element<T>();
  return zero;
}

// The last fewer than kSumUnroll positions r, r + step, ... < end of a
// walk, loaded at once (zeros past the end), so a short sum keeps all of
// them in flight rather than one load at a time: a sum of 4 loads a lane
// (ij->i over 64 elements) would otherwise wait for each in turn. The
// cursor then points past the end, which nothing reads.
template <int kWidth, int kMaxRank, typename T>
__device__ __forceinline__ void load_tail(Vector<T, kWidth> (&values)[kSumUnroll],
                                          const T* __restrict__ source, const SummedAxes& summed,
                                          SumCursor<kMaxRank>& cursor, std::int64_t r,
                                          std::int64_t end, std::int64_t step) {
#pragma unroll
  for (int u = 0; u < kSumUnroll; ++u) {
    values[u] =
        r + u * step < end ? load_vector<kWidth>(source + cursor.offset) : zero_vector<kWidth, T>();
    if (u + 1 < kSumUnroll) cursor.advance(summed);
  }
}

// Sums the kWidth-element vectors at source[offset(r)] for r = first,
// first + step, ... < end, where summed.step_digit encodes `step`: every
// vector's elements go into one sum. kSumUnroll independent accumulators
// keep that many loads in flight.
template <int kWidth, int kMaxRank, typename T, typename Acc>
__device__ Acc sum_strided(const T* __restrict__ source, const SummedAxes& summed,
                           std::int64_t first, std::int64_t end, std::int64_t step) {
  Acc partial[kSumUnroll];
#pragma unroll
  for (int u = 0; u < kSumUnroll; ++u) partial[u] = Acc(0);
  SumCursor<kMaxRank> cursor(summed, first);
  std::int64_t r = first;
  for (; r + (kSumUnroll - 1) * step < end; r += kSumUnroll * step) {
    Vector<T, kWidth> values[kSumUnroll];
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) {
      values[u] = load_vector<kWidth>(source + cursor.offset);
      cursor.advance(summed);
    }
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) partial[u] += vector_sum<Acc>(values[u]);
  }
  if (r < end) {
    Vector<T, kWidth> values[kSumUnroll];
    load_tail(values, source, summed, cursor, r, end, step);
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) partial[u] += vector_sum<Acc>(values[u]);
  }
#pragma unroll
  for (int width = kSumUnroll / 2; width > 0; width /= 2) {
#pragma unroll
    for (int u = 0; u < width; ++u) partial[u] += partial[u + width];
  }
  return partial[0];
}

// The same walk where element e of each vector belongs to the e-th of kWidth
// neighbouring outputs (thread per output, (a)): sums[e] gets them. The
// loads stay kSumUnroll deep; the adds chain per output, which the loads'
// latency hides.
template <int kWidth, int kMaxRank, typename T, typename Acc>
__device__ void sum_columns(Acc (&sums)[kWidth], const T* __restrict__ source,
                            const SummedAxes& summed, std::int64_t first, std::int64_t end,
                            std::int64_t step) {
  SumCursor<kMaxRank> cursor(summed, first);
  std::int64_t r = first;
  for (; r + (kSumUnroll - 1) * step < end; r += kSumUnroll * step) {
    Vector<T, kWidth> values[kSumUnroll];
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) {
      values[u] = load_vector<kWidth>(source + cursor.offset);
      cursor.advance(summed);
    }
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) {
#pragma unroll
      for (int e = 0; e < kWidth; ++e) sums[e] += term<Acc>(values[u].element[e]);
    }
  }
  if (r < end) {
    Vector<T, kWidth> values[kSumUnroll];
    load_tail(values, source, summed, cursor, r, end, step);
#pragma unroll
    for (int u = 0; u < kSumUnroll; ++u) {
#pragma unroll
      for (int e = 0; e < kWidth; ++e) sums[e] += term<Acc>(values[u].element[e]);
    }
  }
}

__device__ __forceinline__ float shuffle_down(float value, int delta, int width) {
  return __shfl_down_sync(0xffffffffu, value, delta, width);
}
__device__ __forceinline__ double shuffle_down(double value, int delta, int width) {
  return __shfl_down_sync(0xffffffffu, value, delta, width);
}
__device__ __forceinline__ cuda::std::complex<double> shuffle_down(cuda::std::complex<double> value,
                                                                   int delta, int width) {
  return {__shfl_down_sync(0xffffffffu, value.real(), delta, width),
          __shfl_down_sync(0xffffffffu, value.imag(), delta, width)};
}

// The first lane of each aligned group of `lanes` (a power of two up to a
// warp) gets its group's total. Every lane of the warp must call it.
template <typename Acc>
__device__ Acc group_sum(Acc value, int lanes) {
  for (int delta = lanes / 2; delta > 0; delta /= 2) value += shuffle_down(value, delta, lanes);
  return value;
}

// Lane 0 gets the warp's total.
template <typename Acc>
__device__ Acc warp_sum(Acc value) {
#pragma unroll
  for (int delta = kWarpThreads / 2; delta > 0; delta /= 2) {
    value += shuffle_down(value, delta, kWarpThreads);
  }
  return value;
}

}  // namespace einstream::detail::reduce_walk
