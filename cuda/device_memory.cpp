#include "src/device_memory.hpp"

#include <cuda_runtime_api.h>

#include <string>

#include "cuda/check.hpp"

namespace einstream::detail {

DeviceAllocation::DeviceAllocation(std::size_t bytes, int device) : bytes_(bytes), device_(device) {
  if (bytes_ == 0) return;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(device_));
  const cudaError_t status = cudaMalloc(&pointer_, bytes_);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error state
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw MemoryError("cannot allocate " + std::to_string(bytes_) + " bytes on device " +
                          std::to_string(device_) + " (" + std::to_string(free_bytes) +
                          " bytes free)",
                      bytes_, free_bytes);
  }
  EINSTREAM_CUDA_CHECK(status);
}

DeviceAllocation::~DeviceAllocation() {
  if (pointer_ != nullptr) cudaFree(pointer_);
}

void DeviceAllocation::copy_from_host(const void* host, std::size_t bytes) {
  if (bytes == 0) return;
  EINSTREAM_CUDA_CHECK(cudaMemcpy(pointer_, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceAllocation::copy_to_host(void* host, std::size_t bytes) const {
  if (bytes == 0) return;
  EINSTREAM_CUDA_CHECK(cudaMemcpy(host, pointer_, bytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_host(void* host, const void* device, std::size_t bytes) {
  if (bytes == 0) return;
  EINSTREAM_CUDA_CHECK(cudaMemcpy(host, device, bytes, cudaMemcpyDefault));
}

void copy_host_to_device(void* device, const void* host, std::size_t bytes) {
  if (bytes == 0) return;
  EINSTREAM_CUDA_CHECK(cudaMemcpy(device, host, bytes, cudaMemcpyDefault));
}

void synchronize_device(int device) {
  EINSTREAM_CUDA_CHECK(cudaSetDevice(device));
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
}

bool is_device_memory(const void* pointer) {
  if (pointer == nullptr) return false;
  // Without a device (a CUDA build on a machine without a GPU) no pointer
  // is device memory, and cudaPointerGetAttributes would fail.
  static const bool any_device = [] {
    int count = 0;
    const bool listed = cudaGetDeviceCount(&count) == cudaSuccess;
    cudaGetLastError();
    return listed && count > 0;
  }();
  if (!any_device) return false;
  cudaPointerAttributes attributes{};
  EINSTREAM_CUDA_CHECK(cudaPointerGetAttributes(&attributes, pointer));
  return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
}

}  // namespace einstream::detail
