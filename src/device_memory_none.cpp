// Host-only builds: there is no device memory to allocate.
#include "einstream/error.hpp"
#include "src/device_memory.hpp"

namespace einstream::detail {

namespace {
[[noreturn]] void no_cuda() {
  throw Error(
      "device memory: this build of einstream has no CUDA backend "
      "(configure with -DEINSTREAM_ENABLE_CUDA=ON on a machine with the CUDA toolkit)");
}
}  // namespace

DeviceAllocation::DeviceAllocation(std::size_t bytes, int device) : bytes_(bytes), device_(device) {
  no_cuda();
}
DeviceAllocation::~DeviceAllocation() = default;
void DeviceAllocation::copy_from_host(const void*, std::size_t) { no_cuda(); }
void DeviceAllocation::copy_to_host(void*, std::size_t) const { no_cuda(); }
void copy_device_to_host(void*, const void*, std::size_t) { no_cuda(); }
void copy_host_to_device(void*, const void*, std::size_t) { no_cuda(); }
void synchronize_device(int) { no_cuda(); }
bool is_device_memory(const void*) { return false; }

}  // namespace einstream::detail
