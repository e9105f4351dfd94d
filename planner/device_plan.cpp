#include "planner/device_plan.hpp"

#include <algorithm>

namespace einstream::detail {

namespace {

// Attempts at an exact fit before the last plan is handed over as it is.
constexpr int kFitAttempts = 4;

}  // namespace

DevicePlan plan_device(const Problem& problem, const ContractionPath& path,
                       const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                       SliceOptions options, const WorkspaceNeeds& needs, int deep_buffering) {
  if (!options.workspace_of) {
    options.workspace_of = [needs](const Program& program) {
      const std::uint64_t reduce = needs.reduce_bytes ? needs.reduce_bytes(program) : 0;
      return device_buffer_aligned(reduce) + (has_gemm(program) ? needs.gemm_bytes : 0);
    };
  }
  std::vector<std::vector<std::int64_t>> input_strides;
  for (const TensorDesc& desc : inputs) input_strides.push_back(desc.effective_strides());
  const std::vector<std::int64_t> output_strides = output.effective_strides();
  const std::uint64_t budget = options.budget;
  DevicePlan plan;
  for (int attempt = 0; attempt < kFitAttempts; ++attempt) {
    plan.slice = plan_slices(problem, path, output.dtype, input_strides, output_strides, options);
    plan.shapes = block_shapes(problem, path, plan.slice, inputs, output);
    plan.layout =
        device_layout(plan.slice, plan.shapes, inputs, output, needs, plan.slice.buffering);
    if (plan.layout.total <= budget) break;
    const std::uint64_t excess = plan.layout.total - budget;
    if (excess >= options.budget) break;
    options.budget -= excess;
  }
  if (plan.layout.total <= budget && !plan.slice.sliced.empty() &&
      deep_buffering > plan.slice.buffering) {
    DeviceLayout deeper =
        device_layout(plan.slice, plan.shapes, inputs, output, needs, deep_buffering);
    if (deeper.total <= budget) {
      plan.slice.buffering = deep_buffering;
      plan.layout = std::move(deeper);
    }
  }
  plan.slice.device_bytes = plan.layout.total;
  return plan;
}

}  // namespace einstream::detail
