// Sending a message to the caller's Options::log: the one place the level
// filter lives, and the number formats the messages share.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "einstream/plan.hpp"

namespace einstream::detail {

// Whether a message at `level` reaches the caller: build it only then.
inline bool logs(const Options& options, LogLevel level) {
  return options.log && level <= options.log_level;
}

inline void log(const Options& options, LogLevel level, const std::string& message) {
  if (logs(options, level)) options.log(level, message);
}

// `value` with an SI prefix and `unit`, three significant digits: "812 B",
// "1.5 kB", "12.5 GB", "3.2 TFLOP/s".
inline std::string format_si(double value, const std::string& unit) {
  static const char* const kPrefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int prefix = 0;
  while (value >= 999.5 && prefix < 6) {
    value /= 1000;
    ++prefix;
  }
  char text[32];
  std::snprintf(text, sizeof text, prefix == 0 ? "%.0f " : "%.3g ", value);
  return text + std::string(kPrefixes[prefix]) + unit;
}

inline std::string format_bytes(double bytes) { return format_si(bytes, "B"); }

// "0.250 s", "12.5 ms", "3.1 us".
inline std::string format_seconds(double seconds) {
  char text[32];
  if (seconds >= 1 || seconds == 0) {
    std::snprintf(text, sizeof text, "%.3f s", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(text, sizeof text, "%.3g ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.3g us", seconds * 1e6);
  }
  return text;
}

}  // namespace einstream::detail
