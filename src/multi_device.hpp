// Several devices of one host for one Plan: a CUDA executor per listed
// device (the first is the Plan's own), each running its share of the
// blocks (planner/block_assignment: contiguous ranges of the loop order) on
// a host thread of its own. Where each device owns whole output blocks of
// a streamed output (no sliced summed mode is split between devices), each
// writes its blocks straight into the caller's output. Otherwise each sums
// its share into a partial output, and the partials are combined:
// - with NCCL, where the devices are distinct GPUs, the build has NCCL and
//   the output is resident on the devices (so a partial of its span takes
//   the place of the output buffer each plan already holds): each device
//   sums into a partial in its own memory, one ncclReduce sums them into
//   device 0's, and that is added to beta * out through the host
//   (accumulate);
// - else (a device listed twice, a build without NCCL, a streamed output)
//   in host memory: each device sums into a host partial, and the partials
//   are summed and added to beta * out on the host. An output in device
//   memory is copied to the host and back around that.
// ExecutionReport::combined_with says which ran. The memory limit applies
// per device (a device partial is memory beside it, the size of the
// output's span: a device without room for one falls back to the host
// path). Every device plans the same blocks (the same problem
// under the same budget); a device whose plan differs is refused.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "einstream/plan.hpp"
#include "src/cuda_executor.hpp"
#include "src/device_memory.hpp"
#include "src/nccl_reduce.hpp"

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
  // Device d sums share first + d of `workers` into its device partial
  // (use_nccl() made them; the communicators are made at the first call
  // and kept).
  // Fills `reports` as run_devices does.
  void run_into_device_partials(const std::vector<const void*>& inputs, Scalar alpha, int first,
                                int workers, std::vector<ExecutionReport>& reports);
  // Sums the device partials into device 0's with NCCL; returns it, at the
  // output's element (0, ..., 0).
  void* sum_device_partials();
  // Whether this run combines with NCCL: nccl_, and every device's partial
  // is allocated (made here at the first such run, kept). A device without
  // room for one (MemoryError: it lies outside the plan's memory limit)
  // sends this run and the later ones to the host path.
  bool use_nccl();

  CudaExecutor& first_;
  const Problem& problem_;
  std::vector<int> devices_;
  std::vector<std::unique_ptr<CudaExecutor>> others_;
  TensorDesc output_;
  // Whether the devices write their own output blocks straight into the
  // caller's output (no partials).
  bool direct_ = false;
  // Whether partials are summed with NCCL (see the header comment), the
  // communicators for that, and each device's partial (the output's span).
  bool nccl_ = false;
  std::unique_ptr<NcclReduce> reduce_;
  std::vector<std::unique_ptr<DeviceAllocation>> device_partials_;
};

}  // namespace einstream::detail
