// DevicePlan: a block plan completed for one device, as plain data: the
// slice plan, every block shape lowered once and the exact device layout.
// Building it is the last planning stage of a CUDA plan with host operands;
// the executor then only allocates and carves what it says.
#pragma once

#include <vector>

#include "einstream/tensor.hpp"
#include "planner/device_layout.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

struct DevicePlan {
  SlicePlan slice;  // slice.device_bytes == layout.total
  std::vector<BlockShape> shapes;
  DeviceLayout layout;
};

// Blocks for `options.budget`, laid out exactly. The slicing search models
// memory from the full block's Program; the exact layout also counts the
// edge blocks' arenas and workspaces and packed streamed operands, so while
// it is over the budget the search runs again under the budget less the
// excess (a few times at most). The GEMM library's workspace
// (`needs.gemm_bytes`) is sized to what the budget leaves, down to none:
// when the problem does not fit unsliced with all of it, the plan without
// one is made too and the faster of the two that fit is kept. Where the
// budget leaves room, streamed buffers get `deep_buffering` slots instead
// of options.buffering: a block's copy can then start while the blocks
// before it are in use, which absorbs jitter in the host threads and the
// link. Operands options.in_place_* marks take no device bytes. When no
// plan fits, the last one is returned (layout.total over the budget): the
// executor refuses it with a MemoryError naming the need; MemoryError is
// thrown when not even the operands fit. `needs` also sizes the search's
// per-Program workspace unless options.workspace_of is set.
DevicePlan plan_device(const Problem& problem, const ContractionPath& path,
                       const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                       SliceOptions options, const WorkspaceNeeds& needs, int deep_buffering);

// `model`'s blocks (the same sliced modes, block sizes and loop order) with
// the operands `in_place_inputs` / `in_place_output` mark used in place:
// the plan of a share of the blocks (planner/block_assignment) when a
// worker's operands are in device memory, so that every worker's shares
// partition the same blocks whatever its operands' places. Its layout needs
// no more device bytes than `model`'s (in-place operands take none); the
// GEMM workspace stays `model`'s.
DevicePlan plan_device_like(const DevicePlan& model, const Problem& problem,
                            const ContractionPath& path, const std::vector<TensorDesc>& inputs,
                            const TensorDesc& output, const std::vector<bool>& in_place_inputs,
                            bool in_place_output);

}  // namespace einstream::detail
