// The GPUs this build of einstream can see. Declared without CUDA headers so
// the CLI and the host-only build use it alike; implemented in
// cuda/devices.cpp (CUDA builds) or src/devices_none.cpp (host-only builds).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace einstream::detail {

struct DeviceInfo {
  int index = 0;
  std::string name;
  std::uint64_t total_memory = 0;  // bytes
  std::uint64_t free_memory = 0;   // bytes, when queried
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
};

// Whether this build was compiled with the CUDA toolkit.
bool cuda_enabled();

// Every visible device; empty when the build has no CUDA or the machine has no
// GPU (no driver, or no device). Throws CudaError for any other CUDA failure.
std::vector<DeviceInfo> list_devices();

}  // namespace einstream::detail
