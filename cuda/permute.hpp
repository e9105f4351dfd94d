// permute: result[i] = source[i] over the result's index space, both strided.
//
// The source strides are arbitrary (zero for broadcasting, a sum of strides
// for a diagonal over repeated modes, negative for reversed views); the
// result's are non-negative and never map two indices to one element. This
// one kernel family therefore covers the Program's permutes, diagonals and
// strided copies. See cuda/permute.cu for the strategy.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

// Launches on `stream` (no synchronization, no allocation). `source` and
// `result` point at element (0, ..., 0) of their views; layouts have equal
// extents. Throws Error for mismatched layouts or a rank over the supported
// maximum after merging axes, CudaError if the launch fails.
void permute(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
             const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream);

}  // namespace einstream::detail
