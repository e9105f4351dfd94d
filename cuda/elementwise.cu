// elementwise: result[i] = epilogue(first[i] * second[i]) over the result's
// index space (zero strides broadcast: outer products, Hadamard products
// with batch modes), and fill_zero: result[i] = epilogue(0).
//
// Strategy. Axes that stay adjacent in all layouts are merged first; the
// merged shape picks one of:
//   - contiguous: all layouts are one unit-stride run and the pointers are
//     16-byte aligned: 16-byte vector loads and stores (8 f16 or bf16,
//     4 f32, 2 f64 or c64, 1 c128 per access), a grid-stride loop with a
//     scalar tail.
//   - vector rows: the innermost merged axis is unit-stride in the result,
//     unit-stride or broadcast in each operand and a whole number of 16-byte
//     vectors (outer strides and pointers aligned to match): vectors of the
//     flat index space, a broadcast operand loaded an element per vector
//     (outer products i,j->ij and bi,bj->bij, bij,bj->bij); rows of at
//     least kChunkRowMinVectors vectors are walked in chunks a block each,
//     the outer offsets decomposed once per chunk.
//   - rows: the innermost merged axis is long (>= kRowMinExtent): a block
//     walks one row chunk with consecutive threads on consecutive elements;
//     the outer coordinates are decomposed once per chunk, not per element.
//   - flat: anything else (short inner axes): every element decomposes its
//     flat index, with 32-bit division where the index fits.
// fill_zero with nothing to read and a contiguous view is a cudaMemsetAsync
// (all-zero bits are 0 in every supported type); otherwise the flat kernel.
// f16 and bf16 multiply in float (ComputeOf) and round once, after the
// epilogue.
//
// Bytes: first and second are read once per result element (broadcast
// operands are mostly served from cache), the result written once (read too
// when beta != 0). Target (H100): a contiguous Hadamard product near
// device-to-device copy bandwidth (~2.9 TB/s read + write); broadcast and
// strided products at >= 70% of it when the inner axis is long.
#include "cuda/elementwise.hpp"

#include <cuda/std/complex>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/divisor.cuh"
#include "cuda/element.cuh"
#include "einstream/error.hpp"
#include "src/axis_merge.hpp"

namespace einstream::detail {
namespace {

// ---- launch shape ------------------------------------------------------------
constexpr int kBlockThreads = 256;
// Axes after merging for the row and flat kernels; views with more (tensor
// networks of many short modes) take the flat kernels with kMaxLaunchAxes.
constexpr int kMaxAxes = 12;
constexpr int kVectorBytes = 16;
constexpr int kFlatElementsPerThread = 4;  // independent elements in flight per thread
// A row chunk is kBlockThreads x (elements per thread): 8 on long rows (more
// loads in flight), fewer on short ones so no thread of a chunk idles.
constexpr int kRowElementsPerThread = 8;
constexpr std::int64_t kRowMinExtent = 128;
// Vector rows this long (in 16-byte vectors) take row chunks of 4 or 8
// vectors a thread; shorter ones the flat vector kernel, which keeps four
// vectors in flight per thread whatever the row length.
constexpr std::int64_t kChunkRowMinVectors = std::int64_t{kBlockThreads} * 4;
constexpr std::int64_t kMaxGridBlocks = std::int64_t{1} << 20;  // kernels stride over the rest

// Up to three layouts over one merged index space, innermost axis first (a
// kernel parameter; kCapacity is kMaxAxes, or kMaxLaunchAxes for many axes).
template <int kCapacity = kMaxAxes>
struct StridedAxes {
  int rank = 0;
  std::int64_t extent[kCapacity] = {};
  std::int64_t stride[3][kCapacity] = {};  // result, first, second
};

struct ElementOffsets {
  std::int64_t of[3] = {0, 0, 0};
};

__device__ __forceinline__ std::int64_t divide(std::int64_t n, std::int64_t d) {
  if (((n | d) >> 32) == 0) {
    return static_cast<std::int64_t>(static_cast<std::uint32_t>(n) / static_cast<std::uint32_t>(d));
  }
  return n / d;
}

// Offsets of a flat index over axes [first_axis, rank) (the index is below
// their extents' product, so the outermost axis takes what is left, with no
// division).
template <int kLayouts, int kCapacity>
__device__ ElementOffsets decompose(const StridedAxes<kCapacity>& axes, std::int64_t index,
                                    int first_axis) {
  ElementOffsets offsets;
  for (int axis = first_axis; axis < axes.rank; ++axis) {
    std::int64_t coordinate = index;
    if (axis + 1 < axes.rank) {
      const std::int64_t outer = divide(index, axes.extent[axis]);
      coordinate = index - outer * axes.extent[axis];
      index = outer;
    }
#pragma unroll
    for (int layout = 0; layout < kLayouts; ++layout) {
      offsets.of[layout] += coordinate * axes.stride[layout][axis];
    }
  }
  return offsets;
}

// The vector-rows kernel's divisors, for index spaces below 2^31 vectors:
// the vectors of a row and each outer extent, as multiply-high and shift.
struct RowDivisors {
  Divisor<std::int32_t> row_vectors;
  Divisor<std::int32_t> extent[kMaxAxes];
};

// decompose() over axes [1, rank) of a row index below 2^31, by `divisors`.
__device__ ElementOffsets decompose_row(const StridedAxes<>& axes, const RowDivisors& divisors,
                                        std::int32_t row) {
  ElementOffsets offsets;
  for (int axis = 1; axis < axes.rank; ++axis) {
    std::int32_t coordinate = row;
    if (axis + 1 < axes.rank) {
      const std::int32_t outer = divisors.extent[axis].quotient(row);
      coordinate = row - outer * divisors.extent[axis].divisor;
      row = outer;
    }
#pragma unroll
    for (int layout = 0; layout < 3; ++layout) {
      offsets.of[layout] += coordinate * axes.stride[layout][axis];
    }
  }
  return offsets;
}

// The product in T's compute type. For f16 and bf16 it is float's, exact
// (two 11- or 8-bit significands fit float's 24) unless a bf16 product
// leaves float's range, where the rounded bf16 result is as far out.
template <typename T>
__device__ __forceinline__ Compute<T> product_of(T first, T second) {
  return load_compute(first) * load_compute(second);
}

template <typename T>
struct alignas(kVectorBytes) Pack {
  static constexpr int kCount = kVectorBytes / sizeof(T);
  T value[kCount];
};

template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
    multiply_contiguous(const T* __restrict__ first, const T* __restrict__ second, T* result,
                        std::int64_t count, DeviceEpilogue<T> epilogue) {
  using Vector = Pack<T>;
  const std::int64_t vectors = count / Vector::kCount;
  const std::int64_t thread = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const std::int64_t threads = std::int64_t{gridDim.x} * blockDim.x;
  const Vector* first_vectors = reinterpret_cast<const Vector*>(first);
  const Vector* second_vectors = reinterpret_cast<const Vector*>(second);
  Vector* result_vectors = reinterpret_cast<Vector*>(result);
  for (std::int64_t v = thread; v < vectors; v += threads) {
    const Vector a = first_vectors[v];
    const Vector b = second_vectors[v];
    Vector previous;
    if (epilogue.read_previous) previous = result_vectors[v];
    Vector product;
#pragma unroll
    for (int e = 0; e < Vector::kCount; ++e) {
      product.value[e] = epilogue(product_of(a.value[e], b.value[e]), &previous.value[e]);
    }
    result_vectors[v] = product;
  }
  const std::int64_t tail = vectors * Vector::kCount + thread;
  if (tail < count) result[tail] = epilogue(product_of(first[tail], second[tail]), result + tail);
}

// Rows: the innermost axis (extent row_extent) is walked by consecutive
// threads; each block iteration takes one chunk of one row.
template <typename T, int kPerThread>
__global__ void __launch_bounds__(kBlockThreads)
    multiply_rows(const T* __restrict__ first, const T* __restrict__ second, T* result,
                  StridedAxes<> axes, std::int64_t chunks_per_row, std::int64_t chunk_count,
                  DeviceEpilogue<T> epilogue) {
  constexpr std::int64_t kChunk = std::int64_t{kBlockThreads} * kPerThread;
  const std::int64_t row_extent = axes.extent[0];
  for (std::int64_t chunk = blockIdx.x; chunk < chunk_count; chunk += gridDim.x) {
    const std::int64_t row = divide(chunk, chunks_per_row);
    const std::int64_t row_first = (chunk - row * chunks_per_row) * kChunk + threadIdx.x;
    const ElementOffsets base = decompose<3>(axes, row, 1);
    // Addresses step by a block's width; all loads go out before any store.
    const T* first_row = first + base.of[1] + row_first * axes.stride[1][0];
    const T* second_row = second + base.of[2] + row_first * axes.stride[2][0];
    T* result_row = result + base.of[0] + row_first * axes.stride[0][0];
    const std::int64_t first_step = kBlockThreads * axes.stride[1][0];
    const std::int64_t second_step = kBlockThreads * axes.stride[2][0];
    const std::int64_t result_step = kBlockThreads * axes.stride[0][0];
    T a[kPerThread], b[kPerThread];
#pragma unroll
    for (int u = 0; u < kPerThread; ++u) {
      if (row_first + u * kBlockThreads < row_extent) {
        a[u] = first_row[u * first_step];
        b[u] = second_row[u * second_step];
      }
    }
#pragma unroll
    for (int u = 0; u < kPerThread; ++u) {
      if (row_first + u * kBlockThreads < row_extent) {
        T* destination = result_row + u * result_step;
        *destination = epilogue(product_of(a[u], b[u]), destination);
      }
    }
  }
}

// Vector rows: the innermost axis is unit-stride in the result and
// unit-stride or broadcast (stride 0) in each operand, a whole number of
// 16-byte vectors long (outer strides and pointers aligned to match): each
// thread takes kFlatElementsPerThread vectors a block apart of the flat
// index space of vectors, loads the unit-stride operands as vectors and a
// broadcast one as one element, and stores whole vectors. Outer products
// (i,j->ij), batched ones (bi,bj->bij) and broadcast Hadamard products
// (bij,bj->bij) write 16 bytes a store rather than an element.
// kNarrow: fewer than 2^31 vectors, decomposed by `divisors` (a multiply
// and a shift per axis rather than a division).
template <typename T, bool kNarrow>
__global__ void __launch_bounds__(kBlockThreads)
    multiply_vector_rows(const T* __restrict__ first, const T* __restrict__ second, T* result,
                         StridedAxes<> axes, RowDivisors divisors, std::int64_t vectors,
                         DeviceEpilogue<T> epilogue) {
  using Vector = Pack<T>;
  constexpr std::int64_t kSpan = std::int64_t{kBlockThreads} * kFlatElementsPerThread;
  const std::int64_t row_vectors = axes.extent[0] / Vector::kCount;
  const bool first_broadcast = axes.stride[1][0] == 0, second_broadcast = axes.stride[2][0] == 0;
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * kSpan; block_first < vectors;
       block_first += std::int64_t{gridDim.x} * kSpan) {
    Vector a[kFlatElementsPerThread], b[kFlatElementsPerThread];
    std::int64_t result_offset[kFlatElementsPerThread];
#pragma unroll
    for (int u = 0; u < kFlatElementsPerThread; ++u) {
      const std::int64_t index = block_first + u * kBlockThreads + threadIdx.x;
      if (index < vectors) {
        std::int64_t column;
        ElementOffsets offsets;
        if constexpr (kNarrow) {
          const std::int32_t narrow = static_cast<std::int32_t>(index);
          const std::int32_t row = divisors.row_vectors.quotient(narrow);
          column = std::int64_t{narrow - row * divisors.row_vectors.divisor} * Vector::kCount;
          offsets = decompose_row(axes, divisors, row);
        } else {
          const std::int64_t row = divide(index, row_vectors);
          column = (index - row * row_vectors) * Vector::kCount;
          offsets = decompose<3>(axes, row, 1);
        }
        if (first_broadcast) {
          a[u].value[0] = first[offsets.of[1]];
        } else {
          a[u] = *reinterpret_cast<const Vector*>(first + offsets.of[1] + column);
        }
        if (second_broadcast) {
          b[u].value[0] = second[offsets.of[2]];
        } else {
          b[u] = *reinterpret_cast<const Vector*>(second + offsets.of[2] + column);
        }
        result_offset[u] = offsets.of[0] + column;
      }
    }
#pragma unroll
    for (int u = 0; u < kFlatElementsPerThread; ++u) {
      if (block_first + u * kBlockThreads + threadIdx.x < vectors) {
        Vector* destination = reinterpret_cast<Vector*>(result + result_offset[u]);
        Vector previous;
        if (epilogue.read_previous) previous = *destination;
        Vector product;
#pragma unroll
        for (int e = 0; e < Vector::kCount; ++e) {
          const T x = first_broadcast ? a[u].value[0] : a[u].value[e];
          const T y = second_broadcast ? b[u].value[0] : b[u].value[e];
          product.value[e] = epilogue(product_of(x, y), &previous.value[e]);
        }
        *destination = product;
      }
    }
  }
}

// Vector row chunks: vector rows (as above) of at least
// kChunkRowMinVectors vectors. A block takes one chunk of one row, kPerThread
// vectors a block apart per thread, so the row's outer offsets are
// decomposed once per chunk and a broadcast element is loaded once per
// thread, not per vector (no integer division per vector).
template <typename T, int kPerThread>
__global__ void __launch_bounds__(kBlockThreads)
    multiply_vector_row_chunks(const T* __restrict__ first, const T* __restrict__ second, T* result,
                               StridedAxes<> axes, std::int64_t chunks_per_row,
                               std::int64_t chunk_count, DeviceEpilogue<T> epilogue) {
  using Vector = Pack<T>;
  constexpr std::int64_t kChunk = std::int64_t{kBlockThreads} * kPerThread;
  const std::int64_t row_vectors = axes.extent[0] / Vector::kCount;
  const bool first_broadcast = axes.stride[1][0] == 0, second_broadcast = axes.stride[2][0] == 0;
  for (std::int64_t chunk = blockIdx.x; chunk < chunk_count; chunk += gridDim.x) {
    const std::int64_t row = divide(chunk, chunks_per_row);
    const std::int64_t first_vector = (chunk - row * chunks_per_row) * kChunk + threadIdx.x;
    const ElementOffsets base = decompose<3>(axes, row, 1);
    const T* first_row = first + base.of[1] + first_vector * Vector::kCount;
    const T* second_row = second + base.of[2] + first_vector * Vector::kCount;
    T* result_row = result + base.of[0] + first_vector * Vector::kCount;
    constexpr std::int64_t kStep = std::int64_t{kBlockThreads} * Vector::kCount;
    // A broadcast operand's one element of this row.
    const T first_element = first_broadcast ? first[base.of[1]] : T();
    const T second_element = second_broadcast ? second[base.of[2]] : T();
    Vector a[kPerThread], b[kPerThread];
#pragma unroll
    for (int u = 0; u < kPerThread; ++u) {
      if (first_vector + u * kBlockThreads < row_vectors) {
        if (!first_broadcast) a[u] = *reinterpret_cast<const Vector*>(first_row + u * kStep);
        if (!second_broadcast) b[u] = *reinterpret_cast<const Vector*>(second_row + u * kStep);
      }
    }
#pragma unroll
    for (int u = 0; u < kPerThread; ++u) {
      if (first_vector + u * kBlockThreads < row_vectors) {
        Vector* destination = reinterpret_cast<Vector*>(result_row + u * kStep);
        Vector previous;
        if (epilogue.read_previous) previous = *destination;
        Vector product;
#pragma unroll
        for (int e = 0; e < Vector::kCount; ++e) {
          const T x = first_broadcast ? first_element : a[u].value[e];
          const T y = second_broadcast ? second_element : b[u].value[e];
          product.value[e] = epilogue(product_of(x, y), &previous.value[e]);
        }
        *destination = product;
      }
    }
  }
}

// Flat: each thread takes kFlatElementsPerThread elements a block apart.
template <typename T, int kCapacity>
__global__ void __launch_bounds__(kBlockThreads)
    multiply_flat(const T* __restrict__ first, const T* __restrict__ second, T* result,
                  StridedAxes<kCapacity> axes, std::int64_t count, DeviceEpilogue<T> epilogue) {
  constexpr std::int64_t kSpan = std::int64_t{kBlockThreads} * kFlatElementsPerThread;
  for (std::int64_t block_first = std::int64_t{blockIdx.x} * kSpan; block_first < count;
       block_first += std::int64_t{gridDim.x} * kSpan) {
    T a[kFlatElementsPerThread], b[kFlatElementsPerThread];
    std::int64_t result_offset[kFlatElementsPerThread];
#pragma unroll
    for (int u = 0; u < kFlatElementsPerThread; ++u) {
      const std::int64_t index = block_first + u * kBlockThreads + threadIdx.x;
      if (index < count) {
        const ElementOffsets offsets = decompose<3>(axes, index, 0);
        a[u] = first[offsets.of[1]];
        b[u] = second[offsets.of[2]];
        result_offset[u] = offsets.of[0];
      }
    }
#pragma unroll
    for (int u = 0; u < kFlatElementsPerThread; ++u) {
      if (block_first + u * kBlockThreads + threadIdx.x < count) {
        T* destination = result + result_offset[u];
        *destination = epilogue(product_of(a[u], b[u]), destination);
      }
    }
  }
}

template <typename T, int kCapacity>
__global__ void __launch_bounds__(kBlockThreads)
    fill_flat(T* result, StridedAxes<kCapacity> axes, std::int64_t count,
              DeviceEpilogue<T> epilogue) {
  for (std::int64_t index = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; index < count;
       index += std::int64_t{gridDim.x} * blockDim.x) {
    T* destination = result + decompose<1>(axes, index, 0).of[0];
    *destination = epilogue(Compute<T>(0), destination);
  }
}

void check_layout(const TensorLayout& layout, const char* function, const char* name) {
  if (layout.extents.size() != layout.strides.size()) {
    throw Error(std::string(function) + ": the " + name + " layout has " +
                std::to_string(layout.extents.size()) + " extents but " +
                std::to_string(layout.strides.size()) + " strides");
  }
  for (std::size_t axis = 0; axis < layout.extents.size(); ++axis) {
    if (layout.extents[axis] < 0) {
      throw Error(std::string(function) + ": the " + name + " layout has a negative extent");
    }
  }
}

void check_result_strides(const TensorLayout& layout, const char* function) {
  for (std::size_t axis = 0; axis < layout.strides.size(); ++axis) {
    if (layout.strides[axis] < 0) {
      throw Error(std::string(function) + ": result axis " + std::to_string(axis) +
                  " has negative stride " + std::to_string(layout.strides[axis]) +
                  "; result strides must be non-negative");
    }
  }
}

// `merged` as kernel axes, innermost first.
template <int kCapacity>
StridedAxes<kCapacity> strided_axes(const MergedAxes& merged, const char* function) {
  if (merged.rank() > kCapacity) {
    throw Error(std::string(function) + ": " + std::to_string(merged.rank()) +
                " axes remain after merging; at most " + std::to_string(kCapacity) +
                " are supported");
  }
  StridedAxes<kCapacity> axes;
  axes.rank = merged.rank();
  for (int axis = 0; axis < merged.rank(); ++axis) {
    const int inner_first = merged.rank() - 1 - axis;
    axes.extent[inner_first] = merged.extents[axis];
    for (std::size_t layout = 0; layout < merged.strides.size(); ++layout) {
      axes.stride[layout][inner_first] = merged.strides[layout][axis];
    }
  }
  return axes;
}

unsigned grid_for(std::int64_t work_items, std::int64_t items_per_block) {
  return static_cast<unsigned>(std::max<std::int64_t>(
      1, std::min((work_items + items_per_block - 1) / items_per_block, kMaxGridBlocks)));
}

bool aligned(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer) % kVectorBytes == 0;
}

// Whether multiply_vector_rows takes `axes` of T: see the kernel.
template <typename T>
bool vector_rows(const StridedAxes<>& axes, const void* first, const void* second,
                 const void* result) {
  constexpr std::int64_t kCount = Pack<T>::kCount;
  if (kCount == 1 || axes.rank < 1 || axes.extent[0] % kCount != 0 || axes.stride[0][0] != 1) {
    return false;
  }
  const void* pointers[3] = {result, first, second};
  for (int layout = 0; layout < 3; ++layout) {
    const std::int64_t inner = axes.stride[layout][0];
    if (inner == 0) continue;  // a broadcast operand: its element is loaded alone
    if (inner != 1 || !aligned(pointers[layout])) return false;
    for (int axis = 1; axis < axes.rank; ++axis) {
      if (axes.stride[layout][axis] % kCount != 0) return false;
    }
  }
  return true;
}

// More than kMaxAxes merged axes: the flat kernel over a list of every axis.
void multiply_many_axes(DataType dtype, const void* first, const void* second, void* result,
                        const MergedAxes& merged, std::int64_t count, const Epilogue& epilogue,
                        cudaStream_t stream) {
  const StridedAxes<kMaxLaunchAxes> axes = strided_axes<kMaxLaunchAxes>(merged, "multiply");
  dispatch_element_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    multiply_flat<T, kMaxLaunchAxes>
        <<<grid_for(count, std::int64_t{kBlockThreads} * kFlatElementsPerThread), kBlockThreads, 0,
           stream>>>(static_cast<const T*>(first), static_cast<const T*>(second),
                     static_cast<T*>(result), axes, count, device_epilogue<T>(epilogue));
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace

void multiply(DataType dtype, const void* first, const TensorLayout& first_layout,
              const void* second, const TensorLayout& second_layout, void* result,
              const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream) {
  check_layout(first_layout, "multiply", "first");
  check_layout(second_layout, "multiply", "second");
  check_layout(result_layout, "multiply", "result");
  if (first_layout.extents != result_layout.extents ||
      second_layout.extents != result_layout.extents) {
    throw Error("multiply: the first (" + to_string(first_layout) + "), second (" +
                to_string(second_layout) + ") and result (" + to_string(result_layout) +
                ") layouts need equal extents; broadcast with zero strides");
  }
  check_result_strides(result_layout, "multiply");
  const std::int64_t count = result_layout.element_count();
  if (count == 0) return;
  const MergedAxes merged = merge_axes(
      result_layout.extents, {result_layout.strides, first_layout.strides, second_layout.strides});
  if (merged.rank() > kMaxAxes) {
    multiply_many_axes(dtype, first, second, result, merged, count, epilogue, stream);
    return;
  }
  const StridedAxes<> axes = strided_axes<kMaxAxes>(merged, "multiply");
  const bool contiguous = axes.rank == 1 && axes.stride[0][0] == 1 && axes.stride[1][0] == 1 &&
                          axes.stride[2][0] == 1 && aligned(first) && aligned(second) &&
                          aligned(result);
  dispatch_element_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const DeviceEpilogue<T> device = device_epilogue<T>(epilogue);
    const T* typed_first = static_cast<const T*>(first);
    const T* typed_second = static_cast<const T*>(second);
    T* typed_result = static_cast<T*>(result);
    if (contiguous) {
      const std::int64_t vectors = count / Pack<T>::kCount;
      // The scalar tail (< kCount elements) rides on the first threads.
      multiply_contiguous<T>
          <<<grid_for(std::max<std::int64_t>(vectors, 1), kBlockThreads), kBlockThreads, 0,
             stream>>>(typed_first, typed_second, typed_result, count, device);
    } else if (vector_rows<T>(axes, first, second, result) &&
               axes.extent[0] / Pack<T>::kCount >= kChunkRowMinVectors) {
      const std::int64_t row_vectors = axes.extent[0] / Pack<T>::kCount;
      auto launch_chunks = [&](auto per_thread) {
        constexpr int kPerThread = decltype(per_thread)::value;
        constexpr std::int64_t kChunk = std::int64_t{kBlockThreads} * kPerThread;
        const std::int64_t chunks_per_row = (row_vectors + kChunk - 1) / kChunk;
        const std::int64_t chunk_count = chunks_per_row * (count / axes.extent[0]);
        multiply_vector_row_chunks<T, kPerThread>
            <<<grid_for(chunk_count, 1), kBlockThreads, 0, stream>>>(
                typed_first, typed_second, typed_result, axes, chunks_per_row, chunk_count, device);
      };
      if (row_vectors >= std::int64_t{kBlockThreads} * kRowElementsPerThread) {
        launch_chunks(std::integral_constant<int, kRowElementsPerThread>{});
      } else {
        launch_chunks(std::integral_constant<int, 4>{});
      }
    } else if (vector_rows<T>(axes, first, second, result)) {
      const std::int64_t vectors = count / Pack<T>::kCount;
      const unsigned grid = grid_for(vectors, std::int64_t{kBlockThreads} * kFlatElementsPerThread);
      RowDivisors divisors{};  // the wide kernel ignores it
      if (vectors < std::numeric_limits<std::int32_t>::max()) {
        divisors.row_vectors = Divisor<std::int32_t>::make(axes.extent[0] / Pack<T>::kCount);
        for (int axis = 1; axis < axes.rank; ++axis) {
          divisors.extent[axis] = Divisor<std::int32_t>::make(axes.extent[axis]);
        }
        multiply_vector_rows<T, true><<<grid, kBlockThreads, 0, stream>>>(
            typed_first, typed_second, typed_result, axes, divisors, vectors, device);
      } else {
        multiply_vector_rows<T, false><<<grid, kBlockThreads, 0, stream>>>(
            typed_first, typed_second, typed_result, axes, divisors, vectors, device);
      }
    } else if (axes.rank >= 1 && axes.extent[0] >= kRowMinExtent) {
      auto launch_rows = [&](auto per_thread) {
        constexpr int kPerThread = decltype(per_thread)::value;
        constexpr std::int64_t kChunk = std::int64_t{kBlockThreads} * kPerThread;
        const std::int64_t chunks_per_row = (axes.extent[0] + kChunk - 1) / kChunk;
        const std::int64_t chunk_count = chunks_per_row * (count / axes.extent[0]);
        multiply_rows<T, kPerThread><<<grid_for(chunk_count, 1), kBlockThreads, 0, stream>>>(
            typed_first, typed_second, typed_result, axes, chunks_per_row, chunk_count, device);
      };
      const std::int64_t row = axes.extent[0];
      if (row >= std::int64_t{kBlockThreads} * kRowElementsPerThread) {
        launch_rows(std::integral_constant<int, kRowElementsPerThread>{});
      } else if (row >= std::int64_t{kBlockThreads} * 4) {
        launch_rows(std::integral_constant<int, 4>{});
      } else if (row >= std::int64_t{kBlockThreads} * 2) {
        launch_rows(std::integral_constant<int, 2>{});
      } else {
        launch_rows(std::integral_constant<int, 1>{});
      }
    } else {
      multiply_flat<T, kMaxAxes>
          <<<grid_for(count, std::int64_t{kBlockThreads} * kFlatElementsPerThread), kBlockThreads,
             0, stream>>>(typed_first, typed_second, typed_result, axes, count, device);
    }
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  });
}

void fill_zero(DataType dtype, void* result, const TensorLayout& result_layout,
               const Epilogue& epilogue, cudaStream_t stream) {
  check_layout(result_layout, "fill_zero", "result");
  check_result_strides(result_layout, "fill_zero");
  const std::int64_t count = result_layout.element_count();
  if (count == 0) return;
  // Any number of axes: a fill is rare enough (a summed extent of 0) that
  // one kernel list holds them all.
  const StridedAxes<kMaxLaunchAxes> axes = strided_axes<kMaxLaunchAxes>(
      merge_axes(result_layout.extents, {result_layout.strides}), "fill_zero");
  dispatch_element_type(dtype, [](auto) {});  // rejects unsupported types before a memset
  const bool reads_previous = epilogue.apply && !epilogue.beta_is_zero();
  if (!reads_previous && (axes.rank == 0 || (axes.rank == 1 && axes.stride[0][0] == 1))) {
    EINSTREAM_CUDA_CHECK(
        cudaMemsetAsync(result, 0, static_cast<std::size_t>(count) * size_of(dtype), stream));
    return;
  }
  dispatch_element_type(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_flat<T, kMaxLaunchAxes><<<grid_for(count, kBlockThreads), kBlockThreads, 0, stream>>>(
        static_cast<T*>(result), axes, count, device_epilogue<T>(epilogue));
    EINSTREAM_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace einstream::detail
