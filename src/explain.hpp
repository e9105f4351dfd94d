// The text of Plan::explain(): opt_einsum's PathInfo table for einstream's
// plans. A header of costs (naive and optimized FLOPs, speedup, largest
// intermediate, slicing and its overhead, backend, memory limit, residency),
// then one row per contraction step: the pairwise contraction, its scaling,
// the kind of op it was lowered to, its FLOPs and the operands remaining.
// ExplainDetail::program appends the lowered Program's ops and buffers.
#pragma once

#include <string>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/device_scaling.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/program.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// What explain() renders: views of one Plan's planning results.
struct ExplainedPlan {
  const std::string& expression;
  const Problem& problem;
  const ContractionPath& path;
  // Wall time of parsing and the path search.
  double path_seconds = 0;
  const Options& options;
  Backend backend = Backend::host;
  const std::vector<TensorDesc>& inputs;
  const TensorDesc& output;
  // Whether the plan has a block plan (`slice`) to show.
  bool sliced = false;
  const SlicePlan& slice;
  const Program& program;
  // The scaling model's predictions on several devices (planner/
  // device_scaling), shown when not empty (CUDA plans).
  std::vector<DeviceScaling> scaling = {};
};

std::string render_explain(const ExplainedPlan& plan, ExplainDetail detail);

// FLOPs of evaluating `problem` as one einsum loop over all its modes,
// counted as opt_einsum's contract_path counts its naive cost: the product
// of every mode's extent times (max(1, operands - 1), plus 1 when some mode
// is shared by two operands). As log10, since a network's naive loop
// overflows a double.
double naive_flops_log10(const Problem& problem);

// opt_einsum's "scaling" of a step: the number of distinct modes in it.
int step_scaling(const PathStep& step);

// The kind of op `step` was lowered to in `program`: "GEMM", "batched GEMM",
// "elementwise", "reduce", "permute", or "view" when it needed no op.
std::string step_kind(const Program& program, int step);

}  // namespace einstream::detail
