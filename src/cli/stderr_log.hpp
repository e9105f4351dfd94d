// The CLI's log and progress on stderr. EINSTREAM_LOG=error|warn|info|debug
// sends the library's messages at that level and below to stderr, as
// "einstream <level>: <message>" lines; `einstream run` on a terminal also
// keeps one progress line there while an execution runs longer than a
// second, rewritten in place and cleared at the end (never when stderr is
// not a terminal, so logs and pipes get no control characters).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "einstream/plan.hpp"

namespace einstream::cli {

// The level EINSTREAM_LOG's `value` names; nullopt when it is unset (null)
// or empty. Throws Error naming the variable and the accepted levels.
std::optional<LogLevel> log_level_from_environment(const char* value);

// Writes log messages and a progress line to one stream (stderr): a
// message clears the progress line first, so the two never mix.
class StderrLog {
 public:
  // `terminal`: whether `stream` is a terminal (only then is a progress
  // line drawn); `line_after_seconds`: how long an execution runs before
  // its progress line appears.
  StderrLog(std::ostream& stream, bool terminal, double line_after_seconds = 1.0);

  void message(LogLevel level, const std::string& text);
  // Draws, rewrites or (when the execution finished) clears the line.
  void progress(const Progress& progress);

 private:
  void clear_line();

  std::ostream& stream_;
  bool terminal_;
  double line_after_seconds_;
  bool line_shown_ = false;
};

// The process's StderrLog on std::cerr (isatty(stderr) decides `terminal`).
StderrLog& stderr_log();

// Sets options.log and log_level from EINSTREAM_LOG (the environment's
// value), to stderr_log(); leaves them unset when it is unset.
void log_from_environment(Options& options);

// `einstream run`: options.progress draws stderr_log()'s progress line.
void show_progress_line(Options& options);

}  // namespace einstream::cli
