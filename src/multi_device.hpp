// Several devices of one host for one Plan: a CUDA executor per listed
// device (the first is the Plan's own), each running its share of the
// blocks (planner/block_assignment: contiguous ranges of the loop order) on
// a host thread of its own. Where each device owns whole output blocks of
// a streamed output (no sliced summed mode is split between devices), each
// writes its blocks straight into the caller's output; otherwise each sums
// its share into a partial output in host memory, and the partials are
// then summed and added to beta * out on the host. An output in device
// memory is copied to the host and back around that. The memory limit
// applies per device. Every device plans the same blocks (the same problem
// under the same budget); a device whose plan differs is refused.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "einstream/plan.hpp"
#include "src/cuda_executor.hpp"

namespace einstream::detail {

class MultiDeviceExecutor {
 public:
  // `first` runs share 0 and must outlive this; the others are made here
  // for devices[1...] with `options` but that device. Throws Error when a
  // device's plan differs from the first's.
  MultiDeviceExecutor(CudaExecutor& first, const std::vector<int>& devices, const Options& options,
                      const Problem& problem, const ContractionPath& path,
                      const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                      const SliceOptions& slicing);
  ~MultiDeviceExecutor();

  // out = alpha * einsum + beta * out, the output in host or device
  // memory. The report sums the blocks and bytes of the devices, takes the
  // longest stream times, holds each device's own report in `devices`, and,
  // when profiling, their timelines with tracks named "device N: ...".
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           ExecutionReport& report);

  // Plan::execute_share for these devices: device d runs share first + d of
  // `workers` (first + device count <= workers), and `partial` (host
  // memory, overwritten) receives alpha times the sum of their terms.
  void run_share(const std::vector<const void*>& inputs, void* partial, Scalar alpha, int first,
                 int workers, ExecutionReport& report);

 private:
  // What device `index` does with its executor and report.
  using DeviceJob = std::function<void(int index, CudaExecutor& executor, ExecutionReport& report)>;
  // Runs `job` on every device at once (device 0 on the calling thread),
  // then rethrows the first failure; fills `reports`, timing each job.
  void run_devices(const DeviceJob& job, std::vector<ExecutionReport>& reports);
  // run() into a host output.
  void run_on_host(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
                   ExecutionReport& report);

  CudaExecutor& first_;
  const Problem& problem_;
  std::vector<int> devices_;
  std::vector<std::unique_ptr<CudaExecutor>> others_;
  TensorDesc output_;
  // Whether the devices write their own output blocks straight into the
  // caller's output (no partials).
  bool direct_ = false;
};

}  // namespace einstream::detail
