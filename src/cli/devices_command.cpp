// einstream devices: the GPUs this build can use.
#include <cstdio>
#include <iostream>

#include "src/cli/commands.hpp"
#include "src/devices.hpp"

namespace einstream::cli {

namespace {

void print_devices() {
  if (!detail::cuda_enabled()) {
    std::cout << "this build of einstream has no CUDA support (EINSTREAM_ENABLE_CUDA=OFF): no "
                 "device can be used\n";
    return;
  }
  const std::vector<detail::DeviceInfo> devices = detail::list_devices();
  if (devices.empty()) {
    std::cout << "no CUDA device found (no GPU or no driver)\n";
    return;
  }
  for (const detail::DeviceInfo& device : devices) {
    std::printf("device %d: %s, compute capability %d.%d, %.1f GiB total, %.1f GiB free\n",
                device.index, device.name.c_str(), device.compute_capability_major,
                device.compute_capability_minor, device.total_memory / 1073741824.0,
                device.free_memory / 1073741824.0);
  }
}

}  // namespace

void add_devices_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("devices", "List the CUDA devices einstream can see");
  command->callback([] { run_guarded(print_devices); });
}

}  // namespace einstream::cli
