// ExecutionReport: what one Plan::execute did — where it ran, in how many
// blocks, how many bytes crossed the host-device link, how long it took.
#pragma once

#include <cstdint>
#include <string>

namespace einstream {

enum class Backend;

struct ExecutionReport {
  Backend backend{};
  // Blocks the problem was cut into (1 when it ran whole).
  std::int64_t blocks = 1;
  // Bytes copied host -> device and device -> host (0 for device operands
  // and on the host backend).
  std::uint64_t bytes_to_device = 0;
  std::uint64_t bytes_to_host = 0;
  // Device memory the execution allocated (0 on the host backend).
  std::uint64_t device_bytes = 0;
  // Wall time of execute(), and the part host threads spent gathering and
  // scattering blocks between the caller's memory and pinned staging.
  double seconds = 0;
  double staging_seconds = 0;
  // FLOPs executed (counted as opt_einsum counts them; slicing's
  // recomputation included).
  double flops = 0;

  double flops_per_second() const { return seconds > 0 ? flops / seconds : 0; }
  double link_bytes_per_second() const {
    return seconds > 0 ? static_cast<double>(bytes_to_device + bytes_to_host) / seconds : 0;
  }
};

// A few readable lines.
std::string to_string(const ExecutionReport& report);

}  // namespace einstream
