// The GPUs einstream can run on, for choosing Options::device:
//
//   for (const einstream::DeviceInfo& gpu : einstream::devices())
//     std::printf("%d %s %llu bytes\n", gpu.index, gpu.name.c_str(),
//                 static_cast<unsigned long long>(gpu.total_memory));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace einstream {

struct DeviceInfo {
  int index = 0;  // the CUDA device ordinal, as Options::device takes it
  std::string name;
  std::uint64_t total_memory = 0;  // bytes
  std::uint64_t free_memory = 0;   // bytes free when devices() asked
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
};

// Every device this build can see, in ordinal order. Empty, without
// throwing, when einstream was built without CUDA or the machine has no GPU
// (no driver, or no device). Throws CudaError for any other CUDA failure.
std::vector<DeviceInfo> devices();

}  // namespace einstream
