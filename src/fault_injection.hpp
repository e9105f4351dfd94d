// Test-only fault injection: makes the k-th pass through a named site fail by
// throwing einstream::Error, so tests can check that every failure leaves the
// library in a documented state (inputs untouched, no partial output file,
// the thread pool and the Plan usable afterwards).
//
// Compiled in always and cheap when unused: a disarmed site costs one relaxed
// atomic load. Each site has its own countdown; arming sets it to k, each pass
// decrements it, and the pass that takes it from 1 to 0 fails. The site is
// then disarmed, so one arming fails exactly one pass. Sites may be passed
// from several threads at once (the thread pool's workers).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace einstream::detail {

enum class FaultSite {
  thread_pool_task,  // ThreadPool::parallel_for running one chunk of a body
  npy_write,         // write_npy writing to its temporary file
};
constexpr int kFaultSiteCount = 2;

// "thread pool task dispatch", "npy file write".
const char* to_string(FaultSite site);

class FaultInjection {
 public:
  // Makes the k-th pass through `site` from now fail (k >= 1; 0 disarms) and
  // resets its pass count.
  static void arm(FaultSite site, std::int64_t k);
  static void disarm(FaultSite site) { arm(site, 0); }
  static void disarm_all();
  // Passes through `site` while it was armed, since the last arm(): arming
  // with a k beyond reach counts the passes an operation makes, the range a
  // sweep over k must cover.
  static std::int64_t passes(FaultSite site);

  // At the site: true for the pass that must fail. The site throws, naming
  // itself (see message()), so its error carries its own context.
  static bool fails_now(FaultSite site) {
    if (countdown(site).load(std::memory_order_relaxed) == 0) return false;
    return count_pass(site);
  }
  // Throws Error(message(site)) when this pass must fail.
  static void check(FaultSite site);
  // "injected fault: <site>", the text every injected failure contains.
  static std::string message(FaultSite site);

 private:
  static std::atomic<std::int64_t>& countdown(FaultSite site);
  static bool count_pass(FaultSite site);
};

}  // namespace einstream::detail
