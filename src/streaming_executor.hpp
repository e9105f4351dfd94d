// CUDA backend for host operands: runs a SlicePlan block by block with
// transfers overlapped with compute (the whole problem is the one-block case). Declared without
// CUDA headers; implemented in cuda/streaming_executor.cpp (host-only builds:
// src/streaming_executor_none.cpp, where construction throws).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

class StreamingExecutor {
 public:
  // `problem` must outlive the executor. Lowers one Program per distinct
  // block extents (edge blocks are shorter) and sizes every buffer; creates
  // no CUDA object (streams, events, cuBLAS handle and host threads are made
  // at the first run). Reads the device, TF32, profiling and host
  // registration options; `budget` is the memory limit, resolved when
  // planning. An unsliced plan is the one-block case: every operand
  // resident, pageable ones crossing through a pinned ring.
  StreamingExecutor(const Options& options, const Problem& problem, const ContractionPath& path,
                    std::vector<TensorDesc> inputs, TensorDesc output, SlicePlan plan,
                    std::uint64_t budget);
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

  // Exact device bytes one run allocates.
  std::uint64_t device_bytes() const;

  // Before the first run: `buffering` slots per streamed buffer instead of
  // the plan's, if the exact need stays within the budget; says whether it did.
  bool deepen(int buffering);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Bytes the CUDA backend needs besides arena and operands for `program`'s
// kind of work (cuBLAS and reduce workspaces), for the slicing planner.
std::uint64_t streaming_fixed_bytes(const Program& program);

}  // namespace einstream::detail
