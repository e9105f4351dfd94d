// The GPUs this build of einstream can see. Declared without CUDA headers so
// the CLI and the host-only build use it alike; implemented in
// cuda/devices.cpp (CUDA builds) or src/devices_none.cpp (host-only builds),
// and public as einstream::devices() (include/einstream/devices.hpp). The
// PCI bus id of one device, device_bus_id, is declared in
// include/einstream/nccl_ranks.hpp, for einstream/mpi.hpp to call.
#pragma once

#include <vector>

#include "einstream/devices.hpp"

namespace einstream::detail {

using einstream::DeviceInfo;

// Whether this build was compiled with the CUDA toolkit.
bool cuda_enabled();

// Every visible device; empty when the build has no CUDA or the machine has no
// GPU (no driver, or no device). Throws CudaError for any other CUDA failure.
std::vector<DeviceInfo> list_devices();

}  // namespace einstream::detail
