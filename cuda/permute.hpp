// permute: result[i] = source[i] over the result's index space, both strided.
//
// The source strides are arbitrary (zero for broadcasting, a sum of strides
// for a diagonal over repeated modes, negative for reversed views); the
// result's are non-negative and never map two indices to one element. This
// one kernel family therefore covers the Program's permutes, diagonals and
// strided copies. The launch is planned on the host (planner/permute_plan,
// once per op when lowering); see cuda/permute.cu for the kernels.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/permute_plan.hpp"
#include "planner/tensor_layout.hpp"

namespace einstream::detail {

// Launches `plan` on `stream` (no synchronization, no allocation). `source`
// and `result` point at element (0, ..., 0) of the views it was planned
// for; their alignment picks 16-byte packets or 8-byte tile words where the
// plan allows them.
// Throws Error for a plan with an error (its message), CudaError if the
// launch fails.
void permute(const PermutePlan& plan, const void* source, void* result, const Epilogue& epilogue,
             cudaStream_t stream);

// The same for layouts rather than a plan (kernel tests and benchmarks):
// plans, then launches. Layouts have equal extents; throws Error for
// mismatched layouts or a rank over the supported maximum after merging.
void permute(DataType dtype, const void* source, const TensorLayout& source_layout, void* result,
             const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream);

}  // namespace einstream::detail
