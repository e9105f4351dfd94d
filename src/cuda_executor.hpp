// The CUDA backend's executor: every CUDA plan runs on the one block loop
// (src/block_loop) through cuda/block_pipeline, whatever its operands'
// places: host operands resident or streamed through pinned staging, device
// operands used in place, in any mix. The whole problem is the one-block
// case. Declared without CUDA headers; implemented in cuda/cuda_executor.cpp
// (host-only builds: src/cuda_executor_none.cpp, where construction throws).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/device_plan.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Whether the CUDA backend can run here: built with CUDA and a device visible.
bool cuda_backend_available();

// What the CUDA backend's kernels need besides the arena (reduce
// workspaces, cuBLAS's workspace), as plain data for the planner.
WorkspaceNeeds cuda_workspace_needs();

class CudaExecutor {
 public:
  // `problem` and `path` must outlive the executor. Plans the blocks for
  // operands in host memory now (planner/device_plan, under
  // `slicing.budget`: the memory limit, resolved when planning); the plan
  // for another placement of the operands (some in device memory) is made
  // the first time an execution passes one. Creates no CUDA object: streams,
  // events, the cuBLAS handle and host threads are made at the first run.
  // Reads the device, TF32, profiling and host registration options.
  CudaExecutor(const Options& options, const Problem& problem, const ContractionPath& path,
               std::vector<TensorDesc> inputs, TensorDesc output, SliceOptions slicing);
  ~CudaExecutor();
  CudaExecutor(const CudaExecutor&) = delete;
  CudaExecutor& operator=(const CudaExecutor&) = delete;

  // out = alpha * einsum + beta * out; inputs and output may each be host
  // or device pointers. Throws MemoryError before anything is allocated
  // when the exact need exceeds the limit. Fills the report's blocks, FLOPs,
  // bytes each way (direct and staged), device bytes, staging time, stream
  // times, overlap and (when profiling) timeline.
  // With `share` (worker, workers), only that worker's share of the blocks
  // runs (planner/block_assignment), onto `output` as it is: the caller
  // zeroes it and passes beta = 1 for a partial sum. Shares always divide
  // the host plan's blocks (device operands then used in place within
  // them), so the shares of workers whose operands sit in different places
  // still partition one set of blocks.
  // With `share` and not `partial`, the share writes its own output blocks
  // straight into `output` with alpha and beta (no zeroing): for workers
  // that own whole output blocks of a streamed output (the assignment needs
  // no partial sums), so the other workers' blocks are left alone.
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           ExecutionReport& report, std::optional<std::pair<int, int>> share = std::nullopt,
           bool partial = true);

  // Gives this executor's staging pool its share of the host threads when
  // `pipelines` executors (several devices' pipelines) stage at once: the
  // default count over `pipelines`, at least one. Takes effect at the next
  // run.
  void share_host_threads(int pipelines);

  // The plan for operands in host memory, and the exact device bytes an
  // execution of it allocates.
  const SlicePlan& host_plan() const;
  std::uint64_t device_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace einstream::detail
