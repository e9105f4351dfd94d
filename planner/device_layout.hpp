// DeviceLayout: where every byte of a block-pipelined execution lives in its
// one device allocation, computed when planning from plain data, so the
// plan knows its exact device need before anything runs and the executor
// only carves the allocation as told.
//
// The allocation, each buffer 256-byte aligned, in this order: the arena of
// the largest block Program, the largest reduce workspace (from the reduce
// ops' launch plans, computed when lowering), the GEMM library's
// workspace, then per input either its memory span (resident: copied once,
// in the caller's layout), `buffering` packed block slots (streamed) or
// nothing (in place: the caller's device memory), then the output likewise.
// Block shapes (every level's full block and its shorter last one) are
// lowered once each: streamed operands packed on the device, resident and
// in-place ones in the caller's layout.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/program.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Every device buffer starts on this boundary.
constexpr std::uint64_t kDeviceBufferAlignment = 256;

inline std::uint64_t device_buffer_aligned(std::uint64_t bytes) {
  return (bytes + kDeviceBufferAlignment - 1) / kDeviceBufferAlignment * kDeviceBufferAlignment;
}

// Bytes from the lowest to the highest addressed element of any tensor
// `desc` describes, inclusive (0 when it has no elements): what a resident
// copy of it occupies and moves.
std::uint64_t span_bytes(const TensorDesc& desc);

// One distinct block shape of a SlicePlan.
struct BlockShape {
  std::vector<std::int64_t> level_extents;  // one per sliced mode, in loop order
  Program program;                          // lowered at these extents
  // The caller's axis extents of each input and of the output at the block.
  std::vector<std::vector<std::int64_t>> input_extents;
  std::vector<std::int64_t> output_extents;
};

// Every distinct block shape of `plan`, each lowered once (one shape, the
// whole problem, when nothing is sliced).
std::vector<BlockShape> block_shapes(const Problem& problem, const ContractionPath& path,
                                     const SlicePlan& plan, const std::vector<TensorDesc>& inputs,
                                     const TensorDesc& output);

// What the backend needs besides the arena and what the Programs' own launch
// plans say (the reduce workspace: reduce_workspace_bytes(program)), as
// plain data: the GEMM library's workspace when a Program has a GEMM.
struct WorkspaceNeeds {
  std::uint64_t gemm_bytes = 0;
};

// A resident operand's span, or a streamed one's slots; nothing for one
// used in place (the caller's device memory).
struct OperandLayout {
  bool streamed = false;
  bool in_place = false;
  std::uint64_t offset = 0;  // of the span, or of slot 0
  std::uint64_t bytes = 0;   // the span's, or one slot's (aligned)
  int slots = 0;             // streamed: block buffers
};

struct DeviceLayout {
  std::uint64_t arena_bytes = 0;   // at offset 0
  std::uint64_t reduce_bytes = 0;  // at reduce_offset()
  std::uint64_t gemm_bytes = 0;    // at gemm_offset()
  std::vector<OperandLayout> inputs;
  OperandLayout output;
  std::uint64_t total = 0;  // the one allocation

  std::uint64_t reduce_offset() const { return device_buffer_aligned(arena_bytes); }
  std::uint64_t gemm_offset() const {
    return reduce_offset() + device_buffer_aligned(reduce_bytes);
  }
};

// The layout of an execution of `plan` over `shapes` (block_shapes' result)
// with `buffering` slots per streamed buffer.
DeviceLayout device_layout(const SlicePlan& plan, const std::vector<BlockShape>& shapes,
                           const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                           const WorkspaceNeeds& needs, int buffering);

}  // namespace einstream::detail
