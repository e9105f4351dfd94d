// einstream::devices(): the public face of detail::list_devices(), which
// each build (CUDA or host-only) implements.
#include "src/devices.hpp"

namespace einstream {

std::vector<DeviceInfo> devices() { return detail::list_devices(); }

}  // namespace einstream
