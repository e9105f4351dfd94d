// The reduce kernels' variant (e) (planner/reduce_plan): a reduction whose
// merged kept or summed axes outnumber the tuned kernels' lists (tensor
// networks of many short modes), correct for any launchable view.
// cuda/reduce's reduce() launches it for a plan of that variant.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/epilogue.hpp"
#include "planner/reduce_plan.hpp"

namespace einstream::detail {

// Launches `plan` (variant many_axes) on `stream`: `source` and `result`
// point at element (0, ..., 0) of the planned layouts. Needs no workspace.
void reduce_many_axes(const ReducePlan& plan, const void* source, void* result,
                      const Epilogue& epilogue, cudaStream_t stream);

}  // namespace einstream::detail
