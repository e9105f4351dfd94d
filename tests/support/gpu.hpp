// CUDA test support: skip cleanly without a GPU, and RAII device buffers.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "cuda/check.hpp"
#include "src/devices.hpp"

namespace einstream::testing {

inline bool gpu_available() {
  static const bool available = !detail::list_devices().empty();
  return available;
}

// Skips the current test, with the reason, when no GPU is visible.
#define EINSTREAM_REQUIRE_GPU()                                                    \
  do {                                                                             \
    if (!::einstream::testing::gpu_available()) {                                  \
      GTEST_SKIP() << "no CUDA device visible: CUDA tests run on the GPU machine"; \
    }                                                                              \
  } while (0)

// Device memory holding `bytes`, freed on destruction.
class DeviceMemory {
 public:
  explicit DeviceMemory(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ > 0) EINSTREAM_CUDA_CHECK(cudaMalloc(&pointer_, bytes_));
  }
  ~DeviceMemory() {
    if (pointer_ != nullptr) cudaFree(pointer_);
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  void* get() const { return pointer_; }
  std::size_t bytes() const { return bytes_; }

  template <typename T>
  void upload(const std::vector<T>& values) {
    EINSTREAM_CUDA_CHECK(
        cudaMemcpy(pointer_, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  template <typename T>
  std::vector<T> download(std::size_t count) const {
    std::vector<T> values(count);
    EINSTREAM_CUDA_CHECK(
        cudaMemcpy(values.data(), pointer_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return values;
  }

 private:
  void* pointer_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace einstream::testing
