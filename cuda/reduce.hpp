// reduce: result[i] = sum over r of source[i, r], where the source's
// leading axes match the result's and its trailing axes are summed.
//
// Layouts are strided (the source's strides may be zero, summed for
// diagonals, or negative); the result's axis order may differ from the
// source's kept axes only through its strides, so a reduction that also
// transposes (ijk->ki) is one pass. The launch is planned on the host
// (planner/reduce_plan, once per op when lowering); see cuda/reduce.cu for
// the kernels.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/reduce_plan.hpp"
#include "planner/tensor_layout.hpp"

namespace einstream::detail {

// Launches `plan` on `stream` (no synchronization, no allocation): `source`
// and `result` point at element (0, ..., 0) of the layouts it was planned
// for, and `workspace` holds at least plan.workspace_bytes. An empty sum (a
// summed extent of 0) gives 0. Throws Error for a plan with an error (its
// message) or too small a workspace, CudaError if a launch fails.
void reduce(const ReducePlan& plan, const void* source, void* result, const Epilogue& epilogue,
            void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

// The same for layouts rather than a plan (kernel tests and benchmarks):
// plans, then launches. Throws Error for layouts that do not match (source
// rank = result rank + summed axes, kept extents equal).
std::size_t reduce_workspace_bytes(DataType dtype, const TensorLayout& source_layout,
                                   const TensorLayout& result_layout);
void reduce(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
            const TensorLayout& result_layout, const Epilogue& epilogue, void* workspace,
            std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace einstream::detail
