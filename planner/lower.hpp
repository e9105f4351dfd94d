// Lowering: a contraction path over a Problem -> a Program of permute,
// reduce, GEMM and elementwise ops with exact arena memory.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/device_traits.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

// `input_strides[i]` holds input i's strides, one per axis of the caller's
// tensor; `output_strides` one per output mode. Each pairwise step becomes
// TTGT (transpose-transpose-GEMM-transpose) with the transposes skipped
// wherever a layout can be read or written directly as a strided batched
// GEMM operand; steps without a summed mode become elementwise products.
// Permute and reduce ops get their CUDA launch plans for `device`.
Program lower(const Problem& problem, const ContractionPath& path, DataType dtype,
              const std::vector<std::vector<std::int64_t>>& input_strides,
              const std::vector<std::int64_t>& output_strides,
              const DeviceTraits& device = DeviceTraits{});

}  // namespace einstream::detail
