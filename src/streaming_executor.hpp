// CUDA backend for host operands: runs a SlicePlan block by block with
// transfers overlapped with compute (the whole problem is the one-block case). Declared without
// CUDA headers; implemented in cuda/streaming_executor.cpp (host-only builds:
// src/streaming_executor_none.cpp, where construction throws).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/device_plan.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

class StreamingExecutor {
 public:
  // `problem` must outlive the executor. Runs `plan` (planner/device_plan:
  // its block shapes, lowered, and its exact device layout) as it is;
  // creates no CUDA object (streams, events, cuBLAS handle and host threads
  // are made at the first run). Reads the device, TF32, profiling and host
  // registration options; `budget` is the memory limit, resolved when
  // planning. An unsliced plan is the one-block case: every operand
  // resident, pageable ones crossing through a pinned ring.
  StreamingExecutor(const Options& options, const Problem& problem, std::vector<TensorDesc> inputs,
                    TensorDesc output, DevicePlan plan, std::uint64_t budget);
  ~StreamingExecutor();
  StreamingExecutor(const StreamingExecutor&) = delete;
  StreamingExecutor& operator=(const StreamingExecutor&) = delete;

  // out = alpha * einsum + beta * out from host operands (the caller, Plan,
  // sends device operands to the whole-problem executor). Throws MemoryError
  // before anything is allocated when the exact need exceeds the limit.
  // Fills the report's blocks, bytes each way (direct and staged), device
  // bytes, staging time, stream times, overlap and (when profiling) timeline.
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           ExecutionReport& report);

  // Exact device bytes one run allocates: the plan's layout.
  std::uint64_t device_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What the CUDA backend's kernels need besides the arena (reduce
// workspaces, cuBLAS's workspace), as plain data for the planner.
WorkspaceNeeds cuda_workspace_needs();

}  // namespace einstream::detail
