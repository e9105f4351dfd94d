// CUDA backend for problems over the device budget: runs a SlicePlan block
// by block with transfers overlapped with compute. Declared without CUDA
// headers; implemented in cuda/streaming_executor.cpp (host-only builds:
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
  // block extents (edge blocks are shorter) and sizes every buffer.
  StreamingExecutor(int device, bool allow_tf32, const Problem& problem,
                    const ContractionPath& path, std::vector<TensorDesc> inputs, TensorDesc output,
                    SlicePlan plan);
  ~StreamingExecutor();
  StreamingExecutor(const StreamingExecutor&) = delete;
  StreamingExecutor& operator=(const StreamingExecutor&) = delete;

  // out = alpha * einsum + beta * out from host operands. Throws MemoryError
  // before anything is allocated when the exact need exceeds the limit.
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           const MemoryLimit& memory_limit);

  // Exact device bytes one run allocates.
  std::uint64_t device_bytes() const;

  // What the last run moved, and the host threads' gather/scatter time.
  struct Counters {
    std::uint64_t bytes_to_device = 0;
    std::uint64_t bytes_to_host = 0;
    double staging_seconds = 0;
  };
  const Counters& last_counters() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Bytes the CUDA backend needs besides arena and operands for `program`'s
// kind of work (cuBLAS and reduce workspaces), for the slicing planner.
std::uint64_t streaming_fixed_bytes(const Program& program);

}  // namespace einstream::detail
