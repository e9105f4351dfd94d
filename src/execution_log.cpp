#include "src/execution_log.hpp"

#include <cstdio>
#include <utility>

#include "src/log.hpp"

namespace einstream::detail {

namespace {

std::string blocks_text(std::int64_t blocks) {
  return std::to_string(blocks) + (blocks == 1 ? " block" : " blocks");
}

// ", 1.2 GB moved (5.0 GB/s)", or nothing when no byte crossed.
std::string moved_text(std::uint64_t bytes, double seconds) {
  if (bytes == 0) return "";
  std::string text = ", " + format_bytes(static_cast<double>(bytes)) + " moved";
  if (seconds > 0) text += " (" + format_si(static_cast<double>(bytes) / seconds, "B/s") + ")";
  return text;
}

}  // namespace

ExecutionLog::ExecutionLog(const Options& options, std::string where, std::int64_t blocks_total,
                           std::function<std::uint64_t()> bytes_moved, Now now)
    : options_(options),
      where_(std::move(where)),
      blocks_total_(blocks_total),
      bytes_moved_(std::move(bytes_moved)),
      now_(std::move(now)),
      start_(now_()),
      last_report_(start_) {}

bool ExecutionLog::active() const {
  return logs(options_, LogLevel::info) || static_cast<bool>(options_.progress);
}

void ExecutionLog::start() {
  log(options_, LogLevel::info, "execute on " + where_ + ": " + blocks_text(blocks_total_));
}

BlockProgress ExecutionLog::hook() {
  if (!active()) return {};
  return [this](std::int64_t done, std::int64_t total) { block_done(done, total); };
}

Progress ExecutionLog::progress(std::int64_t done, bool finished) const {
  Progress progress;
  progress.blocks_done = done;
  progress.blocks_total = blocks_total_;
  progress.bytes_moved = bytes_moved_ ? bytes_moved_() : 0;
  progress.seconds = std::chrono::duration<double>(now_() - start_).count();
  progress.finished = finished;
  return progress;
}

void ExecutionLog::report_progress(const Progress& progress) {
  if (options_.progress) options_.progress(progress);
  if (progress.finished || !logs(options_, LogLevel::info)) return;
  char percent[32];
  std::snprintf(percent, sizeof percent, " (%.1f%%)",
                100.0 * static_cast<double>(progress.blocks_done) /
                    static_cast<double>(progress.blocks_total > 0 ? progress.blocks_total : 1));
  log(options_, LogLevel::info,
      "execute: " + std::to_string(progress.blocks_done) + "/" +
          blocks_text(progress.blocks_total) + percent + " in " + format_seconds(progress.seconds) +
          moved_text(progress.bytes_moved, progress.seconds));
}

void ExecutionLog::block_done(std::int64_t done, std::int64_t total) {
  blocks_total_ = total;
  if (done >= total) return;  // finish() reports the end
  const Clock::time_point now = now_();
  if (std::chrono::duration<double>(now - last_report_).count() <
      options_.progress_interval_seconds) {
    return;
  }
  last_report_ = now;
  report_progress(progress(done, false));
}

void ExecutionLog::finish(const ExecutionReport& report) {
  const Progress done = progress(blocks_total_, true);
  report_progress(done);
  if (logs(options_, LogLevel::info)) {
    std::string text = "execute on " + where_ + ": done in " + format_seconds(done.seconds) + ", " +
                       blocks_text(blocks_total_) + moved_text(done.bytes_moved, done.seconds);
    if (report.flops > 0 && done.seconds > 0) {
      text += ", " + format_si(report.flops / done.seconds, "FLOP/s");
    }
    log(options_, LogLevel::info, text);
  }
  if (!logs(options_, LogLevel::debug)) return;
  if (report.bytes_to_device + report.bytes_to_host == 0) {
    log(options_, LogLevel::debug,
        "execute: " + format_seconds(report.compute_seconds) + " computing, no host-device copies");
    return;
  }
  char streams[160];
  std::snprintf(streams, sizeof streams, "; streams busy: H2D %s, compute %s, D2H %s, overlap %.2f",
                format_seconds(report.h2d_seconds).c_str(),
                format_seconds(report.compute_seconds).c_str(),
                format_seconds(report.d2h_seconds).c_str(), report.overlap);
  log(options_, LogLevel::debug,
      "execute transfers: " + format_bytes(static_cast<double>(report.bytes_to_device)) +
          " to device, " + format_bytes(static_cast<double>(report.bytes_to_host)) + " to host (" +
          format_bytes(static_cast<double>(report.bytes_staged)) + " staged in " +
          format_seconds(report.staging_seconds) + ", " +
          format_bytes(static_cast<double>(report.bytes_direct)) + " direct)" + streams);
}

}  // namespace einstream::detail
