// Device memory for code that must not include CUDA headers (the CLI's
// bench command, tests): allocation, copies and synchronization. Implemented
// in cuda/device_memory.cpp (CUDA builds) or src/device_memory_none.cpp,
// where every call throws Error saying the build has no CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/device_layout.hpp"
#include "src/memory_span.hpp"

namespace einstream::detail {

// Every buffer the CUDA backend carves from its one allocation starts on
// this boundary (the planner's device layout uses the same).
constexpr std::uint64_t kDeviceAlignment = kDeviceBufferAlignment;

inline std::uint64_t device_aligned(std::uint64_t bytes) { return device_buffer_aligned(bytes); }

class DeviceAllocation {
 public:
  // `bytes` on device `device`; throws MemoryError when the device is full,
  // CudaError for other CUDA failures.
  DeviceAllocation(std::size_t bytes, int device);
  ~DeviceAllocation();
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;

  void* get() const { return pointer_; }
  std::size_t bytes() const { return bytes_; }
  // The device ordinal the memory lives on.
  int device() const { return device_; }

  // Synchronous copies of the first `bytes` bytes.
  void copy_from_host(const void* host, std::size_t bytes);
  void copy_to_host(void* host, std::size_t bytes) const;

 private:
  void* pointer_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

// Synchronous copies between host memory and device memory of any device
// (the device is the pointer's own).
void copy_device_to_host(void* host, const void* device, std::size_t bytes);
void copy_host_to_device(void* device, const void* host, std::size_t bytes);

// Waits for all work on `device`.
void synchronize_device(int device);

// Whether `pointer` is device (or managed) memory of any device; false for
// host memory, null, and in builds without CUDA.
bool is_device_memory(const void* pointer);

}  // namespace einstream::detail
