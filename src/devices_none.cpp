#include "src/devices.hpp"

namespace einstream::detail {

bool cuda_enabled() { return false; }

std::vector<DeviceInfo> list_devices() { return {}; }

}  // namespace einstream::detail
