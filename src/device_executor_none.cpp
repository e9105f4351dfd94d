// Host-only builds: the CUDA backend is absent.
#include "einstream/error.hpp"
#include "src/device_executor.hpp"

namespace einstream::detail {

bool cuda_backend_available() { return false; }

std::uint64_t device_workspace_bytes(const Program&) { return 0; }

struct DeviceExecutor::State {};

DeviceExecutor::DeviceExecutor(int, bool) {
  throw Error(
      "backend 'cuda': this build of einstream has no CUDA backend (configure with "
      "-DEINSTREAM_ENABLE_CUDA=ON on a machine with the CUDA toolkit)");
}
DeviceExecutor::~DeviceExecutor() = default;

void DeviceExecutor::run(const Program&, const std::vector<TensorDesc>&,
                         const std::vector<const void*>&, const TensorDesc&, void*, Scalar, Scalar,
                         const MemoryLimit&) {}

std::uint64_t DeviceExecutor::last_device_bytes() const { return 0; }
std::uint64_t DeviceExecutor::last_bytes_to_device() const { return 0; }
std::uint64_t DeviceExecutor::last_bytes_to_host() const { return 0; }
void DeviceExecutor::set_profile(bool) {}
void DeviceExecutor::fill_timing(ExecutionReport&) const {}

}  // namespace einstream::detail
