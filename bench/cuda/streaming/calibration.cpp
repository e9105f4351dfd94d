#include "bench/cuda/streaming/calibration.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "bench/cuda/streaming/host_memory.hpp"
#include "bench/cuda/streaming/timing.hpp"
#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/resources.hpp"
#include "src/device_memory.hpp"
#include "src/staging/thread_pool.hpp"

namespace streaming_bench {
namespace {

class TimingEvent {
 public:
  TimingEvent() { EINSTREAM_CUDA_CHECK(cudaEventCreate(&event_)); }
  ~TimingEvent() { cudaEventDestroy(event_); }
  TimingEvent(const TimingEvent&) = delete;
  TimingEvent& operator=(const TimingEvent&) = delete;
  void record(cudaStream_t stream) { EINSTREAM_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  cudaEvent_t get() const { return event_; }
  // Seconds from `start` to this event, waiting for this event.
  double seconds_since(const TimingEvent& start) const {
    EINSTREAM_CUDA_CHECK(cudaEventSynchronize(event_));
    float milliseconds = 0;
    EINSTREAM_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.event_, event_));
    return milliseconds * 1e-3;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// The warm-up, then `amount` over the median of kCalibrationSamples timings.
double median_rate(double amount, const std::function<double()>& seconds_of_one, Json& samples) {
  seconds_of_one();  // warm-up
  std::vector<double> seconds;
  for (int sample = 0; sample < kCalibrationSamples; ++sample) {
    seconds.push_back(seconds_of_one());
    samples.push_back(seconds.back());
  }
  return amount / median(seconds);
}

}  // namespace

void measure_host_copy(Calibration& calibration) {
  std::unique_ptr<std::byte[], AlignedDelete> source(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  std::unique_ptr<std::byte[], AlignedDelete> target(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  fill_zero(source.get(), kCopyBytes);
  fill_zero(target.get(), kCopyBytes);
  einstream::detail::ThreadPool pool;
  calibration.samples["host_copy_seconds"] = Json::array();
  calibration.host_copy = median_rate(
      static_cast<double>(kCopyBytes),
      [&] {
        const auto start = std::chrono::steady_clock::now();
        pool.parallel_for(static_cast<std::int64_t>(kCopyBytes >> 20),
                          [&](std::int64_t begin, std::int64_t end) {
                            std::memcpy(target.get() + (begin << 20), source.get() + (begin << 20),
                                        static_cast<std::size_t>(end - begin) << 20);
                          });
        return seconds_since(start);
      },
      calibration.samples["host_copy_seconds"]);
}

void measure_link(int device, Calibration& calibration) {
  einstream::detail::DeviceAllocation to_device(kCopyBytes, device);
  einstream::detail::DeviceAllocation from_device(kCopyBytes, device);
  einstream::detail::PinnedBuffer pinned_source(kCopyBytes);
  einstream::detail::PinnedBuffer pinned_target(kCopyBytes);
  std::unique_ptr<std::byte[], AlignedDelete> pageable(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  fill_zero(pinned_source.get(), kCopyBytes);
  fill_zero(pinned_target.get(), kCopyBytes);
  fill_zero(pageable.get(), kCopyBytes);
  EINSTREAM_CUDA_CHECK(cudaMemset(from_device.get(), 0, kCopyBytes));
  einstream::detail::Stream stream;
  einstream::detail::Stream other_stream;
  TimingEvent start;
  TimingEvent stop;
  TimingEvent other_done;

  const auto timed_copy = [&](void* target, const void* source, cudaMemcpyKind kind) {
    start.record(stream.get());
    EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(target, source, kCopyBytes, kind, stream.get()));
    stop.record(stream.get());
    return stop.seconds_since(start);
  };
  const double bytes = static_cast<double>(kCopyBytes);
  calibration.samples["h2d_pinned_seconds"] = Json::array();
  calibration.h2d_pinned = median_rate(
      bytes,
      [&] { return timed_copy(to_device.get(), pinned_source.get(), cudaMemcpyHostToDevice); },
      calibration.samples["h2d_pinned_seconds"]);
  calibration.samples["d2h_pinned_seconds"] = Json::array();
  calibration.d2h_pinned = median_rate(
      bytes,
      [&] { return timed_copy(pinned_target.get(), from_device.get(), cudaMemcpyDeviceToHost); },
      calibration.samples["d2h_pinned_seconds"]);
  // Pageable copies are staged by the driver on the calling thread: time them
  // by the wall clock, as a caller sees them.
  calibration.samples["h2d_pageable_seconds"] = Json::array();
  calibration.h2d_pageable = median_rate(
      bytes,
      [&] {
        const auto begin = std::chrono::steady_clock::now();
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(to_device.get(), pageable.get(), kCopyBytes,
                                             cudaMemcpyHostToDevice, stream.get()));
        stream.synchronize();
        return seconds_since(begin);
      },
      calibration.samples["h2d_pageable_seconds"]);
  calibration.samples["both_directions_seconds"] = Json::array();
  calibration.both_directions = median_rate(
      2 * bytes,
      [&] {
        start.record(stream.get());
        EINSTREAM_CUDA_CHECK(cudaStreamWaitEvent(other_stream.get(), start.get(), 0));
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(to_device.get(), pinned_source.get(), kCopyBytes,
                                             cudaMemcpyHostToDevice, stream.get()));
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(pinned_target.get(), from_device.get(), kCopyBytes,
                                             cudaMemcpyDeviceToHost, other_stream.get()));
        other_done.record(other_stream.get());
        EINSTREAM_CUDA_CHECK(cudaStreamWaitEvent(stream.get(), other_done.get(), 0));
        stop.record(stream.get());
        return stop.seconds_since(start);
      },
      calibration.samples["both_directions_seconds"]);
}

void measure_gemm(int device, DataType dtype, Calibration& calibration) {
  const std::int64_t count = std::int64_t{kGemmOrder} * kGemmOrder;
  const std::size_t bytes = static_cast<std::size_t>(count) * einstream::size_of(dtype);
  einstream::detail::DeviceAllocation a(bytes, device);
  einstream::detail::DeviceAllocation b(bytes, device);
  einstream::detail::DeviceAllocation c(bytes, device);
  {
    // Random operands: GEMMs on zeros draw less power and clock higher.
    HostBuffer values(bytes, false);
    if (dtype == DataType::f32) {
      fill_uniform(static_cast<float*>(values.get()), count, 1);
    } else {
      fill_uniform(static_cast<double*>(values.get()), count, 1);
    }
    EINSTREAM_CUDA_CHECK(cudaMemcpy(a.get(), values.get(), bytes, cudaMemcpyHostToDevice));
    EINSTREAM_CUDA_CHECK(cudaMemcpy(b.get(), values.get(), bytes, cudaMemcpyHostToDevice));
  }
  einstream::detail::Stream stream;
  einstream::detail::CublasHandle handle;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(handle.get(), stream.get()));
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(handle.get(), CUBLAS_PEDANTIC_MATH));
  TimingEvent start;
  TimingEvent stop;
  const auto gemm = [&] {
    start.record(stream.get());
    if (dtype == DataType::f32) {
      const float one = 1, zero = 0;
      EINSTREAM_CUBLAS_CHECK(cublasSgemm(
          handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, kGemmOrder, kGemmOrder, kGemmOrder, &one,
          static_cast<const float*>(a.get()), kGemmOrder, static_cast<const float*>(b.get()),
          kGemmOrder, &zero, static_cast<float*>(c.get()), kGemmOrder));
    } else {
      const double one = 1, zero = 0;
      EINSTREAM_CUBLAS_CHECK(cublasDgemm(
          handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, kGemmOrder, kGemmOrder, kGemmOrder, &one,
          static_cast<const double*>(a.get()), kGemmOrder, static_cast<const double*>(b.get()),
          kGemmOrder, &zero, static_cast<double*>(c.get()), kGemmOrder));
    }
    stop.record(stream.get());
    return stop.seconds_since(start);
  };
  const std::string key = std::string("gemm_") + einstream::to_string(dtype) + "_seconds";
  calibration.samples[key] = Json::array();
  calibration.gemm_rate[dtype] =
      median_rate(2.0 * kGemmOrder * kGemmOrder * kGemmOrder, gemm, calibration.samples[key]);
}

}  // namespace streaming_bench
