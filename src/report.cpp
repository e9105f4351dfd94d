#include "einstream/report.hpp"

#include <cstdio>

#include "einstream/plan.hpp"

namespace einstream {

std::string to_string(const ExecutionReport& report) {
  char text[512];
  std::snprintf(
      text, sizeof text,
      "execution: %s backend, %lld block(s), %.4f s, %.3g GFLOP/s\n"
      "  host -> device %.4g GB, device -> host %.4g GB, link %.3g GB/s, device memory "
      "%.4g GB, staging threads %.4f s\n",
      to_string(report.backend), static_cast<long long>(report.blocks), report.seconds,
      report.flops_per_second() * 1e-9, static_cast<double>(report.bytes_to_device) * 1e-9,
      static_cast<double>(report.bytes_to_host) * 1e-9, report.link_bytes_per_second() * 1e-9,
      static_cast<double>(report.device_bytes) * 1e-9, report.staging_seconds);
  return text;
}

}  // namespace einstream
