#include "planner/device_plan.hpp"

#include <algorithm>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

// Attempts at an exact fit before the last plan is handed over as it is.
constexpr int kFitAttempts = 4;

// Blocks for options.budget under these workspace needs, laid out exactly:
// while the exact layout is over the budget, the search runs again under
// the budget less the excess.
DevicePlan fit(const Problem& problem, const ContractionPath& path,
               const std::vector<TensorDesc>& inputs, const TensorDesc& output,
               SliceOptions options, const WorkspaceNeeds& needs) {
  if (!options.workspace_of) {
    options.workspace_of = [needs](const Program& program) {
      return device_buffer_aligned(reduce_workspace_bytes(program)) +
             (has_gemm(program) ? needs.gemm_bytes : 0);
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
  return plan;
}

bool fits(const DevicePlan& plan, std::uint64_t budget) { return plan.layout.total <= budget; }

// The plan without a GEMM workspace, then given what its budget leaves of
// one (`needs.gemm_bytes` at most).
DevicePlan lean(const Problem& problem, const ContractionPath& path,
                const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                const SliceOptions& options, const WorkspaceNeeds& needs) {
  WorkspaceNeeds none = needs;
  none.gemm_bytes = 0;
  DevicePlan plan = fit(problem, path, inputs, output, options, none);
  if (fits(plan, options.budget)) {
    const std::uint64_t left =
        (options.budget - plan.layout.total) / kDeviceBufferAlignment * kDeviceBufferAlignment;
    WorkspaceNeeds sized = needs;
    sized.gemm_bytes = std::min(needs.gemm_bytes, left);
    plan.layout =
        device_layout(plan.slice, plan.shapes, inputs, output, sized, plan.slice.buffering);
  }
  return plan;
}

}  // namespace

DevicePlan plan_device(const Problem& problem, const ContractionPath& path,
                       const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                       SliceOptions options, const WorkspaceNeeds& needs, int deep_buffering) {
  const std::uint64_t budget = options.budget;
  // The GEMM library's workspace is sized to what the budget leaves: the
  // whole one when the problem fits with it unsliced; otherwise the plan
  // without one (given what its budget leaves) is also made, and the faster
  // prediction of the two that fit wins. A small budget thus still runs
  // where the operands and the arena fit.
  DevicePlan plan;
  bool planned = false;
  try {
    plan = fit(problem, path, inputs, output, options, needs);
    planned = true;
  } catch (const MemoryError&) {
    if (needs.gemm_bytes == 0) throw;
  }
  const bool uses_gemm = planned ? plan.layout.gemm_bytes > 0 : needs.gemm_bytes > 0;
  if (uses_gemm && (!planned || !fits(plan, budget) || !plan.slice.sliced.empty())) {
    DevicePlan without = lean(problem, path, inputs, output, options, needs);
    if (!planned || !fits(plan, budget) ||
        (fits(without, budget) && without.slice.seconds < plan.slice.seconds)) {
      plan = std::move(without);
    }
  }
  if (fits(plan, budget) && !plan.slice.sliced.empty() && deep_buffering > plan.slice.buffering) {
    WorkspaceNeeds laid = needs;
    laid.gemm_bytes = plan.layout.gemm_bytes;
    DeviceLayout deeper =
        device_layout(plan.slice, plan.shapes, inputs, output, laid, deep_buffering);
    if (deeper.total <= budget) {
      plan.slice.buffering = deep_buffering;
      plan.layout = std::move(deeper);
    }
  }
  plan.slice.device_bytes = plan.layout.total;
  return plan;
}

DevicePlan plan_device_like(const DevicePlan& model, const Problem& problem,
                            const ContractionPath& path, const std::vector<TensorDesc>& inputs,
                            const TensorDesc& output, const std::vector<bool>& in_place_inputs,
                            bool in_place_output) {
  DevicePlan plan;
  plan.slice = model.slice;
  for (std::size_t index = 0; index < in_place_inputs.size() && index < inputs.size(); ++index) {
    if (in_place_inputs[index]) plan.slice.inputs[index] = Residency::in_place;
  }
  if (in_place_output) plan.slice.output = Residency::in_place;
  plan.shapes = block_shapes(problem, path, plan.slice, inputs, output);
  WorkspaceNeeds needs;
  needs.gemm_bytes = model.layout.gemm_bytes;
  plan.layout = device_layout(plan.slice, plan.shapes, inputs, output, needs, plan.slice.buffering);
  plan.slice.device_bytes = plan.layout.total;
  return plan;
}

}  // namespace einstream::detail
