#include "einstream/report.hpp"

#include <algorithm>
#include <cstdio>

#include "einstream/plan.hpp"

namespace einstream {

namespace {

// printf-style formatting of one value, sized to fit: no field can truncate
// the report however large the numbers.
template <typename Value>
std::string formatted(const char* format, Value value) {
  const int length = std::snprintf(nullptr, 0, format, value);
  std::string text(static_cast<std::size_t>(std::max(length, 0)), '\0');
  std::snprintf(text.data(), text.size() + 1, format, value);
  return text;
}

std::string gigabytes(std::uint64_t bytes) {
  return formatted("%.4g GB", static_cast<double>(bytes) * 1e-9);
}

// "0.1234 s at 12.3 GB/s": a stream's busy time and the rate its copies ran
// at while busy (the link's real rate, unlike bytes / wall time).
std::string busy_copying(double seconds, std::uint64_t bytes) {
  std::string text = formatted("%.4f s", seconds);
  if (seconds > 0 && bytes > 0) {
    text += formatted(" at %.3g GB/s", static_cast<double>(bytes) / seconds * 1e-9);
  }
  return text;
}

}  // namespace

std::string to_string(const ExecutionReport& report) {
  std::string text = "execution: " + std::string(to_string(report.backend)) + " backend, " +
                     std::to_string(report.blocks) + " block(s), " +
                     formatted("%.4f s", report.seconds) + ", " +
                     formatted("%.3g GFLOP/s", report.flops_per_second() * 1e-9) + "\n";
  // The host backend has no device and no link: its line says where the
  // time went instead of listing zeros.
  if (report.backend == Backend::host) {
    text += "  compute " + formatted("%.4f s", report.compute_seconds) +
            " on the calling thread (no device, nothing crosses a link)\n";
    return text;
  }
  text += "  host -> device " + gigabytes(report.bytes_to_device) + ", device -> host " +
          gigabytes(report.bytes_to_host) + ", link " +
          formatted("%.3g GB/s", report.link_bytes_per_second() * 1e-9) + ", device memory " +
          gigabytes(report.device_bytes) + ", staging threads " +
          formatted("%.4f s", report.staging_seconds) + "\n";
  // Stream times exist only where the CUDA backend measured them; a line of
  // zeros would suggest it did and found nothing.
  if (report.h2d_seconds != 0 || report.compute_seconds != 0 || report.d2h_seconds != 0) {
    text += "  streams busy: H2D " + busy_copying(report.h2d_seconds, report.bytes_to_device) +
            ", compute " + formatted("%.4f s", report.compute_seconds) + ", D2H " +
            busy_copying(report.d2h_seconds, report.bytes_to_host) + "; overlap " +
            formatted("%.0f%%", report.overlap * 100.0) + "\n";
  }
  if (report.bytes_direct != 0 || report.bytes_staged != 0) {
    text += "  direct DMA " + gigabytes(report.bytes_direct) + ", through staging " +
            gigabytes(report.bytes_staged) + "\n";
  }
  if (report.graph_replayed) text += "  compute replayed from a CUDA graph\n";
  if (!report.devices.empty()) {
    text += "  " + std::to_string(report.devices.size()) + " devices, ";
    if (report.combined_with.empty()) {
      text += "each writing its own output blocks\n";
    } else {
      const std::string how = report.combined_with == "nccl"   ? "with NCCL"
                              : report.combined_with == "host" ? "on the host"
                                                               : "with " + report.combined_with;
      text += "partial sums combined " + how + " in " +
              formatted("%.4f s", report.combine_seconds) + "\n";
    }
  }
  return text;
}

}  // namespace einstream
