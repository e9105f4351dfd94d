// reduce: result[i] = sum over r of source[i, r], where the source's
// leading axes match the result's and its trailing axes are summed.
//
// Layouts are strided (the source's strides may be zero, summed for
// diagonals, or negative); the result's axis order may differ from the
// source's kept axes only through its strides, so a reduction that also
// transposes (ijk->ki) is one pass. See cuda/reduce.cu for the strategy.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

// Device workspace reduce() needs for these layouts (0 when it needs none),
// computed on the host without touching the device. The caller owns it.
std::size_t reduce_workspace_bytes(DataType dtype, const TensorLayout& source_layout,
                                   const TensorLayout& result_layout);

// Launches on `stream`; `workspace` holds at least reduce_workspace_bytes().
// An empty sum (a summed extent of 0) gives 0. Throws Error for layouts that
// do not match (source rank = result rank + summed axes, kept extents equal).
void reduce(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
            const TensorLayout& result_layout, const Epilogue& epilogue, void* workspace,
            std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace einstream::detail
