#include "src/cli/stderr_log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "einstream/error.hpp"

namespace einstream::cli {

namespace {

// Carriage return, then erase to the end of the line (ANSI EL).
constexpr const char* kClearLine = "\r\033[K";

std::string progress_text(const Progress& progress) {
  char text[160];
  const double percent = progress.blocks_total > 0
                             ? 100.0 * static_cast<double>(progress.blocks_done) /
                                   static_cast<double>(progress.blocks_total)
                             : 0.0;
  int length =
      std::snprintf(text, sizeof text, "einstream: %lld/%lld blocks (%.0f%%), %.1f s",
                    static_cast<long long>(progress.blocks_done),
                    static_cast<long long>(progress.blocks_total), percent, progress.seconds);
  if (progress.bytes_moved > 0 && progress.seconds > 0 && length > 0) {
    const double bytes = static_cast<double>(progress.bytes_moved);
    std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length),
                  ", %.2f GB moved, %.2f GB/s", bytes / 1e9, bytes / 1e9 / progress.seconds);
  }
  return text;
}

}  // namespace

std::optional<LogLevel> log_level_from_environment(const char* value) {
  if (value == nullptr || *value == '\0') return std::nullopt;
  try {
    return log_level_from_string(value);
  } catch (const Error& error) {
    throw Error(std::string("EINSTREAM_LOG='") + value + "': " + error.what());
  }
}

StderrLog::StderrLog(std::ostream& stream, bool terminal, double line_after_seconds)
    : stream_(stream), terminal_(terminal), line_after_seconds_(line_after_seconds) {}

void StderrLog::clear_line() {
  if (!line_shown_) return;
  stream_ << kClearLine << std::flush;
  line_shown_ = false;
}

void StderrLog::message(LogLevel level, const std::string& text) {
  clear_line();
  stream_ << "einstream " << to_string(level) << ": " << text << '\n' << std::flush;
}

void StderrLog::progress(const Progress& progress) {
  if (!terminal_) return;
  if (progress.finished) {
    clear_line();
    return;
  }
  if (progress.seconds < line_after_seconds_) return;
  stream_ << (line_shown_ ? kClearLine : "\r") << progress_text(progress) << std::flush;
  line_shown_ = true;
}

StderrLog& stderr_log() {
  static StderrLog log(std::cerr, isatty(STDERR_FILENO) != 0);
  return log;
}

void log_from_environment(Options& options) {
  const std::optional<LogLevel> level = log_level_from_environment(std::getenv("EINSTREAM_LOG"));
  if (!level) return;
  options.log_level = *level;
  options.log = [](LogLevel at, const std::string& text) { stderr_log().message(at, text); };
}

void show_progress_line(Options& options) {
  options.progress = [](const Progress& progress) { stderr_log().progress(progress); };
}

}  // namespace einstream::cli
