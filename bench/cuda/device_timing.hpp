// What the CUDA microbenchmarks share: filled device buffers (over
// detail::DeviceAllocation), CUDA-event timing on a stream, and the
// device-to-device copy every kernel is measured against.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "cuda/check.hpp"
#include "src/device_memory.hpp"

namespace einstream::detail::bench {

// `bytes` of device 0, every byte set to `fill` (a timing on zeros can
// flatter a kernel).
class DeviceBuffer {
 public:
  DeviceBuffer(std::size_t bytes, int fill) : memory_(bytes, 0) {
    if (bytes > 0) EINSTREAM_CUDA_CHECK(cudaMemset(memory_.get(), fill, bytes));
  }
  void* get() const { return memory_.get(); }

 private:
  DeviceAllocation memory_;
};

class EventTimer {
 public:
  EventTimer() {
    EINSTREAM_CUDA_CHECK(cudaEventCreate(&start_));
    EINSTREAM_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // Seconds the work `launch` puts on `stream` takes on the device.
  double seconds(cudaStream_t stream, const std::function<void()>& launch) {
    EINSTREAM_CUDA_CHECK(cudaEventRecord(start_, stream));
    launch();
    EINSTREAM_CUDA_CHECK(cudaEventRecord(stop_, stream));
    EINSTREAM_CUDA_CHECK(cudaEventSynchronize(stop_));
    float milliseconds = 0;
    EINSTREAM_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start_, stop_));
    return milliseconds * 1e-3;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

// Mean seconds of `repeats` calls of `body` (after one warm-up and a
// device synchronization) on the default stream: for work such as cuBLAS
// calls or Plan::execute that picks its own launches.
inline double seconds_per_call(const std::function<void()>& body, int repeats) {
  EventTimer timer;
  body();
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  return timer.seconds(nullptr, [&] {
    for (int repeat = 0; repeat < repeats; ++repeat) body();
  }) / repeats;
}

// Median seconds of `repeats` device-to-device copies of `bytes` from
// `from` to `to` (after one warm-up): the ceiling a kernel that reads and
// writes as many bytes is compared with.
inline double copy_seconds(const void* from, void* to, std::size_t bytes, cudaStream_t stream,
                           EventTimer& timer, int repeats) {
  std::vector<double> times;
  for (int repeat = 0; repeat <= repeats; ++repeat) {
    const double time = timer.seconds(stream, [&] {
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, stream));
    });
    if (repeat > 0) times.push_back(time);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace einstream::detail::bench
