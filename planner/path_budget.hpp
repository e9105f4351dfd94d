// The wall-time budget that the timed path searches (optimal, dp,
// random-greedy, hyper) watch: PathSearchOptions::seconds from the moment the search
// starts.
#pragma once

#include <chrono>
#include <cstdint>

namespace einstream::detail {

class SearchDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // seconds <= 0 (or past kUnlimitedSeconds, where the clock would overflow):
  // no limit.
  explicit SearchDeadline(double seconds)
      : limited_(seconds > 0 && seconds < kUnlimitedSeconds),
        end_(limited_ ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds))
                      : Clock::time_point::max()) {}

  // Reads the clock on every call. Once passed, stays passed.
  bool passed() {
    if (limited_ && !passed_) passed_ = Clock::now() >= end_;
    return passed_;
  }

  // For hot loops: reads the clock only every kStride calls, so a check costs
  // a counter increment; the search overruns by at most kStride units of work
  // (each well under a microsecond in the loops that call this).
  bool passed_sampled() {
    if (passed_) return true;
    if (!limited_ || ++calls_ % kStride != 0) return false;
    return passed();
  }

  // Whether an earlier check found the deadline passed; reads no clock.
  bool was_passed() const { return passed_; }

 private:
  static constexpr std::uint32_t kStride = 256;
  static constexpr double kUnlimitedSeconds = 1e9;

  bool limited_;
  Clock::time_point end_;
  bool passed_ = false;
  std::uint32_t calls_ = 0;
};

}  // namespace einstream::detail
