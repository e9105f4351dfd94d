// What one execution tells the caller (Options::log, Options::progress):
// its start, its progress as blocks finish, no more often than
// Options::progress_interval_seconds, and its end with times, bytes and
// rates. Each backend's run makes one and hands hook() to run_block_loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "einstream/plan.hpp"
#include "einstream/report.hpp"
#include "src/block_loop.hpp"

namespace einstream::detail {

class ExecutionLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  // `where` names the backend in messages ("host", "cuda device 0");
  // `bytes_moved` reads the bytes copied between host and device so far
  // (empty: none are). `now` is the clock (tests pass their own). Reads
  // the clock once: the execution starts now.
  ExecutionLog(const Options& options, std::string where, std::int64_t blocks_total,
               std::function<std::uint64_t()> bytes_moved = {}, Now now = Clock::now);

  // Whether anyone listens (a log at info or a progress callback).
  bool active() const;
  // The info message that the execution starts.
  void start();
  // For run_block_loop: block_done's reports, or empty when nobody listens.
  BlockProgress hook();
  // After block `done` of `total`: a progress report when the interval has
  // passed since the last one (the last block's report is finish()'s).
  void block_done(std::int64_t done, std::int64_t total);
  // The final progress report and the end messages: info (time, blocks,
  // bytes moved and rates), debug (transfers and stream times of `report`).
  void finish(const ExecutionReport& report);

 private:
  Progress progress(std::int64_t done, bool finished) const;
  void report_progress(const Progress& progress);

  const Options& options_;
  std::string where_;
  std::int64_t blocks_total_;
  std::function<std::uint64_t()> bytes_moved_;
  Now now_;
  Clock::time_point start_;
  Clock::time_point last_report_;
};

}  // namespace einstream::detail
