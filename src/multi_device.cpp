#include "src/multi_device.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "einstream/error.hpp"
#include "planner/block_assignment.hpp"
#include "planner/device_layout.hpp"
#include "src/device_memory.hpp"

namespace einstream::detail {

namespace {

bool same_blocks(const SlicePlan& a, const SlicePlan& b) {
  if (a.block_count != b.block_count || a.sliced.size() != b.sliced.size()) return false;
  for (std::size_t level = 0; level < a.sliced.size(); ++level) {
    if (a.sliced[level].mode != b.sliced[level].mode ||
        a.sliced[level].block != b.sliced[level].block) {
      return false;
    }
  }
  return true;
}

// A partial output: zeroed by its executor, in the output's layout.
struct Partial {
  std::vector<unsigned char> bytes;
  void* origin = nullptr;
};

// A buffer for `desc`'s span, its element (0, ..., 0) where negative
// strides leave room below it.
Partial partial_for(const TensorDesc& desc) {
  Partial partial;
  const TensorSpan span = desc.span();
  if (span.elements == 0) return partial;
  const std::size_t element = size_of(desc.dtype);
  partial.bytes.resize(static_cast<std::size_t>(span.elements) * element);
  partial.origin = partial.bytes.data() + static_cast<std::size_t>(span.origin) * element;
  return partial;
}

bool distinct(const std::vector<int>& devices) {
  return std::set<int>(devices.begin(), devices.end()).size() == devices.size();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void merge(const std::vector<ExecutionReport>& devices, ExecutionReport& report) {
  report.blocks = 0;
  for (std::size_t index = 0; index < devices.size(); ++index) {
    const ExecutionReport& device = devices[index];
    report.blocks += device.blocks;
    report.bytes_to_device += device.bytes_to_device;
    report.bytes_to_host += device.bytes_to_host;
    report.bytes_direct += device.bytes_direct;
    report.bytes_staged += device.bytes_staged;
    report.staging_seconds += device.staging_seconds;
    report.device_bytes = std::max(report.device_bytes, device.device_bytes);
    report.h2d_seconds = std::max(report.h2d_seconds, device.h2d_seconds);
    report.compute_seconds = std::max(report.compute_seconds, device.compute_seconds);
    report.d2h_seconds = std::max(report.d2h_seconds, device.d2h_seconds);
    report.overlap = std::max(report.overlap, device.overlap);
    for (TraceSpan span : device.timeline) {
      span.track = "device " + std::to_string(index) + ": " + span.track;
      report.timeline.push_back(std::move(span));
    }
  }
  std::stable_sort(report.timeline.begin(), report.timeline.end(),
                   [](const TraceSpan& a, const TraceSpan& b) { return a.start < b.start; });
  report.devices = devices;
}

}  // namespace

MultiDeviceExecutor::MultiDeviceExecutor(CudaExecutor& first, const std::vector<int>& devices,
                                         const Options& options, const Problem& problem,
                                         const ContractionPath& path,
                                         const std::vector<TensorDesc>& inputs,
                                         const TensorDesc& output, const SliceOptions& slicing)
    : first_(first), problem_(problem), devices_(devices), output_(output) {
  const int pipelines = static_cast<int>(devices.size());
  first.share_host_threads(pipelines);
  for (std::size_t index = 1; index < devices.size(); ++index) {
    Options on_device = options;
    on_device.device = devices[index];
    others_.push_back(
        std::make_unique<CudaExecutor>(on_device, problem, path, inputs, output, slicing));
    others_.back()->share_host_threads(pipelines);
    if (!same_blocks(others_.back()->host_plan(), first.host_plan())) {
      throw Error("backend 'cuda': device " + std::to_string(devices[index]) +
                  " plans other blocks than device " + std::to_string(devices[0]) +
                  " under the same memory limit; list devices of one kind in Options::devices");
    }
  }
  // The executors divide the host plan's blocks with these same ranges.
  const SlicePlan& plan = first.host_plan();
  const BlockAssignment assignment =
      assign_blocks(problem, plan, std::vector<double>(devices.size(), 1.0));
  direct_ = !assignment.partial_sums && plan.output == Residency::streamed;
  // NCCL refuses a GPU twice in one communicator. A streamed output is one
  // no device holds whole: its partial could exceed the device's memory.
  nccl_ = nccl_built() && devices.size() >= 2 && distinct(devices) &&
          plan.output == Residency::resident && output.element_count() > 0;
}

MultiDeviceExecutor::~MultiDeviceExecutor() = default;

void MultiDeviceExecutor::run_devices(const DeviceJob& job, std::vector<ExecutionReport>& reports) {
  const int count = static_cast<int>(devices_.size());
  reports.assign(static_cast<std::size_t>(count), ExecutionReport{});
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(count));
  const auto on_device = [&](int index) {
    CudaExecutor& executor = index == 0 ? first_ : *others_[static_cast<std::size_t>(index - 1)];
    ExecutionReport& report = reports[static_cast<std::size_t>(index)];
    try {
      const auto start = std::chrono::steady_clock::now();
      job(index, executor, report);
      report.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } catch (...) {
      failures[static_cast<std::size_t>(index)] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int index = 1; index < count; ++index) threads.emplace_back(on_device, index);
  on_device(0);
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

void MultiDeviceExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                              Scalar beta, ExecutionReport& report) {
  const int count = static_cast<int>(devices_.size());
  if (!direct_ && use_nccl()) {
    std::vector<ExecutionReport> reports;
    run_into_device_partials(inputs, alpha, 0, count, reports);
    const auto combine = std::chrono::steady_clock::now();
    const void* sum = sum_device_partials();
    // accumulate copies device spans through the host: the sum's span
    // down, and a device output's span down and back.
    const bool output_on_device = is_device_memory(output);
    accumulate(output_, sum, output, beta);
    merge(reports, report);
    report.combine_seconds = seconds_since(combine);
    const std::size_t bytes = static_cast<std::size_t>(span_bytes(output_));
    report.bytes_to_host += output_on_device ? 2 * bytes : bytes;
    if (output_on_device) report.bytes_to_device += bytes;
    report.combined_with = "nccl";
    return;
  }
  if (!is_device_memory(output)) {
    run_on_host(inputs, output, alpha, beta, report);
    return;
  }
  // The devices write host memory: the output's whole span (gaps between
  // its elements included, so they come back as they were) goes to the
  // host and back.
  Partial copy = partial_for(output_);
  const std::size_t element = size_of(output_.dtype);
  const std::size_t origin = static_cast<std::size_t>(output_.span().origin) * element;
  const std::size_t bytes = copy.bytes.size();
  char* span_begin = static_cast<char*>(output) - origin;
  copy_device_to_host(copy.bytes.data(), span_begin, bytes);
  run_on_host(inputs, copy.origin, alpha, beta, report);
  const auto back = std::chrono::steady_clock::now();
  copy_host_to_device(span_begin, copy.bytes.data(), bytes);
  report.combine_seconds += seconds_since(back);
  report.bytes_to_device += bytes;
  report.bytes_to_host += bytes;
}

void MultiDeviceExecutor::run_on_host(const std::vector<const void*>& inputs, void* output,
                                      Scalar alpha, Scalar beta, ExecutionReport& report) {
  const int count = static_cast<int>(devices_.size());
  std::vector<Partial> partials;
  if (!direct_) {
    for (int index = 0; index < count; ++index) partials.push_back(partial_for(output_));
  }
  std::vector<ExecutionReport> reports;
  run_devices(
      [&](int index, CudaExecutor& executor, ExecutionReport& device_report) {
        if (direct_) {
          executor.run(inputs, output, alpha, beta, device_report, std::make_pair(index, count),
                       false);
        } else {
          executor.run(inputs, partials[static_cast<std::size_t>(index)].origin, alpha, Scalar(1.0),
                       device_report, std::make_pair(index, count));
        }
      },
      reports);
  if (direct_) {
    merge(reports, report);
    return;
  }
  const auto combine = std::chrono::steady_clock::now();
  for (int index = 1; index < count; ++index) {
    accumulate(output_, partials[index].origin, partials[0].origin, 1.0);
  }
  accumulate(output_, partials[0].origin, output, beta);
  merge(reports, report);
  report.combine_seconds = seconds_since(combine);
  report.combined_with = "host";
}

void MultiDeviceExecutor::run_into_device_partials(const std::vector<const void*>& inputs,
                                                   Scalar alpha, int first, int workers,
                                                   std::vector<ExecutionReport>& reports) {
  // Once, before the first combine is timed (ncclCommInitAll takes far
  // longer than a reduce).
  if (!reduce_) reduce_ = std::make_unique<NcclReduce>(devices_);
  const std::size_t origin =
      static_cast<std::size_t>(output_.span().origin) * size_of(output_.dtype);
  run_devices(
      [&](int index, CudaExecutor& executor, ExecutionReport& device_report) {
        void* target =
            static_cast<char*>(device_partials_[static_cast<std::size_t>(index)]->get()) + origin;
        executor.run(inputs, target, alpha, Scalar(1.0), device_report,
                     std::make_pair(first + index, workers));
      },
      reports);
}

bool MultiDeviceExecutor::use_nccl() {
  if (!nccl_ || !device_partials_.empty()) return nccl_;
  const std::size_t bytes = static_cast<std::size_t>(span_bytes(output_));
  // Last device first: each allocation makes its device current on this
  // thread, and device 0 (the plan's own, which runs on this thread) ends
  // current.
  std::vector<std::unique_ptr<DeviceAllocation>> partials(devices_.size());
  try {
    for (std::size_t index = devices_.size(); index-- > 0;) {
      partials[index] = std::make_unique<DeviceAllocation>(bytes, devices_[index]);
    }
  } catch (const MemoryError&) {
    nccl_ = false;  // no room beside the plan's memory: the host path, now and later
    return false;
  }
  device_partials_ = std::move(partials);
  return true;
}

void* MultiDeviceExecutor::sum_device_partials() {
  std::vector<void*> spans;
  for (const std::unique_ptr<DeviceAllocation>& partial : device_partials_) {
    spans.push_back(partial->get());
  }
  // Whole spans: the executors zeroed the gaps, so summing them is harmless.
  reduce_->sum_into_first(spans, output_.span().elements, output_.dtype);
  return static_cast<char*>(spans.front()) +
         static_cast<std::size_t>(output_.span().origin) * size_of(output_.dtype);
}

void MultiDeviceExecutor::run_share(const std::vector<const void*>& inputs, void* partial,
                                    Scalar alpha, int first, int workers, ExecutionReport& report) {
  const int count = static_cast<int>(devices_.size());
  if (is_device_memory(partial)) {
    throw Error(
        "execute_share: with several devices the partial must be in host memory (each "
        "device sums its share into host memory); pass a host buffer or list one device");
  }
  const SlicePlan& plan = first_.host_plan();
  const bool direct =
      !assign_blocks(problem_, plan, std::vector<double>(static_cast<std::size_t>(workers), 1.0))
           .partial_sums &&
      plan.output == Residency::streamed;
  // Direct: each device writes its own output blocks into the zeroed
  // partial. Otherwise device 0 sums into `partial` (its executor zeroes
  // it) and the others into partials of their own, added to it after.
  const TensorSpan span = output_.span();
  const std::size_t element = size_of(output_.dtype);
  if (!direct && use_nccl()) {
    std::vector<ExecutionReport> reports;
    run_into_device_partials(inputs, alpha, first, workers, reports);
    const auto combine = std::chrono::steady_clock::now();
    const void* sum = sum_device_partials();
    // The whole span, as the host path's device 0 zeroes it whole.
    const std::size_t origin = static_cast<std::size_t>(span.origin) * element;
    copy_device_to_host(static_cast<char*>(partial) - origin,
                        static_cast<const char*>(sum) - origin,
                        static_cast<std::size_t>(span_bytes(output_)));
    merge(reports, report);
    report.combine_seconds = seconds_since(combine);
    report.bytes_to_host += span_bytes(output_);
    report.combined_with = "nccl";
    return;
  }
  if (direct && span.elements > 0) {
    std::memset(static_cast<char*>(partial) - static_cast<std::size_t>(span.origin) * element, 0,
                static_cast<std::size_t>(span.elements) * element);
  }
  std::vector<Partial> others;
  if (!direct) {
    for (int index = 1; index < count; ++index) others.push_back(partial_for(output_));
  }
  std::vector<ExecutionReport> reports;
  run_devices(
      [&](int index, CudaExecutor& executor, ExecutionReport& device_report) {
        const auto share = std::make_pair(first + index, workers);
        if (direct) {
          executor.run(inputs, partial, alpha, Scalar(0.0), device_report, share, false);
        } else {
          void* target = index == 0 ? partial : others[static_cast<std::size_t>(index - 1)].origin;
          executor.run(inputs, target, alpha, Scalar(1.0), device_report, share);
        }
      },
      reports);
  const auto combine = std::chrono::steady_clock::now();
  for (const Partial& other : others) accumulate(output_, other.origin, partial, 1.0);
  merge(reports, report);
  report.combine_seconds = seconds_since(combine);
  if (!direct) report.combined_with = "host";
}

}  // namespace einstream::detail
