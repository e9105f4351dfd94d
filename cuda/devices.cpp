#include "src/devices.hpp"

#include <cuda_runtime_api.h>

#include "cuda/check.hpp"
#include "einstream/nccl_ranks.hpp"

namespace einstream::detail {

bool cuda_enabled() { return true; }

std::vector<DeviceInfo> list_devices() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  // No driver or no device is a normal answer on a CPU-only machine, not an
  // error; clear the sticky error state so later calls start clean.
  if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    return {};
  }
  EINSTREAM_CUDA_CHECK(status);

  std::vector<DeviceInfo> devices;
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    EINSTREAM_CUDA_CHECK(cudaGetDeviceProperties(&properties, index));
    DeviceInfo info;
    info.index = index;
    info.name = properties.name;
    info.total_memory = properties.totalGlobalMem;
    info.compute_capability_major = properties.major;
    info.compute_capability_minor = properties.minor;
    int previous = 0;
    EINSTREAM_CUDA_CHECK(cudaGetDevice(&previous));
    EINSTREAM_CUDA_CHECK(cudaSetDevice(index));
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    EINSTREAM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    EINSTREAM_CUDA_CHECK(cudaSetDevice(previous));
    info.free_memory = free_bytes;
    devices.push_back(info);
  }
  return devices;
}

std::string device_bus_id(int device) {
  // "dddd:bb:dd.f" and its terminator fit; the runtime writes at most `length`.
  char bus_id[32] = {};
  if (cudaDeviceGetPCIBusId(bus_id, static_cast<int>(sizeof bus_id), device) != cudaSuccess) {
    cudaGetLastError();  // no driver, no device, no such ordinal: no id, and no sticky error
    return "";
  }
  return bus_id;
}

}  // namespace einstream::detail
