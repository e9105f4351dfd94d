// Restores the calling thread's current device on the way out: code that
// drives another device from the caller's thread (NCCL's reductions) must
// not leave the caller's later CUDA calls (cudaMalloc, say) on it.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/check.hpp"

namespace einstream::detail {

class CurrentDeviceGuard {
 public:
  CurrentDeviceGuard() { EINSTREAM_CUDA_CHECK(cudaGetDevice(&device_)); }
  ~CurrentDeviceGuard() { cudaSetDevice(device_); }
  CurrentDeviceGuard(const CurrentDeviceGuard&) = delete;
  CurrentDeviceGuard& operator=(const CurrentDeviceGuard&) = delete;

 private:
  int device_ = 0;
};

}  // namespace einstream::detail
