// CUDA backend entry point, declared without CUDA headers so Plan can hold
// one in any build. Implemented in cuda/executor.cpp; in host-only builds
// (src/device_executor_none.cpp) construction throws Error.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "einstream/plan.hpp"
#include "einstream/report.hpp"
#include "einstream/tensor.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

// Whether the CUDA backend can run here: built with CUDA and a device visible.
bool cuda_backend_available();

// Device memory an execution needs besides the operands: the Program's arena
// plus kernel and cuBLAS workspaces. Exact: it is what run() allocates.
std::uint64_t device_workspace_bytes(const Program& program);

// Executes a Program on one device. Owns the device, stream, cuBLAS handle
// and the device memory of the last execution (kept for the next, so a Plan
// executed repeatedly allocates once).
class DeviceExecutor {
 public:
  DeviceExecutor(int device, bool allow_tf32);
  ~DeviceExecutor();
  DeviceExecutor(const DeviceExecutor&) = delete;
  DeviceExecutor& operator=(const DeviceExecutor&) = delete;

  // out = alpha * einsum + beta * out. Inputs and output may each be host or
  // device pointers; host ones are copied in (and the output back) once.
  // Returns when the result is in `output`. Throws MemoryError when the
  // execution needs more than `memory_budget` bytes of device memory, before
  // anything is allocated or written.
  void run(const Program& program, const std::vector<TensorDesc>& input_descs,
           const std::vector<const void*>& inputs, const TensorDesc& output_desc, void* output,
           Scalar alpha, Scalar beta, const MemoryLimit& memory_limit);

  // Device bytes the last run() allocated (workspace plus staged operands),
  // and the bytes it copied each way.
  std::uint64_t last_device_bytes() const;
  std::uint64_t last_bytes_to_device() const;
  std::uint64_t last_bytes_to_host() const;

  // With profiling on, each run times its copies and compute with CUDA
  // events; fill_timing() copies the last run's stream times and timeline
  // into a report (and does nothing with profiling off).
  void set_profile(bool profile);
  void fill_timing(ExecutionReport& report) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace einstream::detail
