// What einstream tells a caller while it works: log messages at four
// levels, and progress reports during an execution. Both are set on
// Options (Options::log, Options::log_level, Options::progress) and called
// on the thread that builds or executes the Plan.
//
//   einstream::Options options;
//   options.log_level = einstream::LogLevel::debug;
//   options.log = [](einstream::LogLevel level, const std::string& message) {
//     std::fprintf(stderr, "einstream %s: %s\n", einstream::to_string(level), message.c_str());
//   };
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace einstream {

// Each level includes the ones before it: error < warn < info < debug.
//   info:  each execution's start, its progress (about once a second) and
//          its end (time, bytes moved, rates);
//   debug: the plan (path search, slicing, residency, workspace) and each
//          execution's transfers and stream times.
enum class LogLevel { error, warn, info, debug };

// "error"/"warn"/"info"/"debug"; the parser throws Error naming the
// accepted values.
const char* to_string(LogLevel level);
LogLevel log_level_from_string(const std::string& name);

// Receives every message at or below Options::log_level. A callback that
// throws stops the planning or execution that called it (execute() leaves
// the output partly written, as after any failure).
using LogCallback = std::function<void(LogLevel level, const std::string& message)>;

// Where an execution stands.
struct Progress {
  std::int64_t blocks_done = 0;
  std::int64_t blocks_total = 0;
  // Bytes copied between host and device so far (0 on the host backend,
  // which reads the operands in place).
  std::uint64_t bytes_moved = 0;
  // Seconds since the execution started.
  double seconds = 0;
  // The last report of an execution: every block is done.
  bool finished = false;
};

// Called during each execution, at most once per
// Options::progress_interval_seconds and once when it finishes.
using ProgressCallback = std::function<void(const Progress& progress)>;

}  // namespace einstream
