// Test-only fault injection: makes the k-th pass through a named site fail by
// throwing einstream::Error (CudaError at the CUDA and cuBLAS sites), so tests
// can check that every failure leaves the library in a documented state
// (inputs untouched, no partial output file, no device memory leaked, the
// thread pool and the Plan usable afterwards).
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
  thread_pool_task,   // ThreadPool::parallel_for running one chunk of a body
  npy_write,          // write_npy writing to its temporary file
  cuda_runtime_call,  // a CUDA runtime call made through EINSTREAM_CUDA_CHECK
  cublas_call,        // a cuBLAS call made through EINSTREAM_CUBLAS_CHECK
};
constexpr int kFaultSiteCount = 4;

// "thread pool task dispatch", "npy file write", "CUDA runtime call",
// "cuBLAS call".
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
    if (countdowns_[static_cast<int>(site)].load(std::memory_order_relaxed) == 0) return false;
    return count_pass(site);
  }
  // Throws Error(message(site)) when this pass must fail.
  static void check(FaultSite site);
  // "injected fault: <site>", the text every injected failure contains.
  static std::string message(FaultSite site);

 private:
  static bool count_pass(FaultSite site);

  // Passes left before the failing one, per site; 0 when disarmed (static
  // storage starts zeroed). Inline, so a disarmed site costs its load and
  // nothing else.
  static inline std::atomic<std::int64_t> countdowns_[kFaultSiteCount];
};

// The CUDA and cuBLAS sites, in EINSTREAM_CUDA_CHECK and EINSTREAM_CUBLAS_CHECK
// (cuda/check.hpp, cuda/cublas_check.hpp): the failing pass skips the call and
// throws this CudaError as the macro does for a real failure, naming the call,
// file and line, with message(site) in its text. Skipping the call, rather
// than overriding what it returned, fails it without its effects (an
// allocation the caller never learns of would be a leak the test made).
[[noreturn]] void throw_injected_cuda_error(FaultSite site, const char* call, const char* file,
                                            int line);

// Whether the checked source text `expression` is a call (it holds a
// parenthesis) rather than a status already returned, as in
// `EINSTREAM_CUDA_CHECK(status)` after a call checked by hand: only calls
// pass through the CUDA sites, since failing the check of a call that
// succeeded would model nothing.
constexpr bool is_call_text(const char* expression) {
  for (; *expression != '\0'; ++expression) {
    if (*expression == '(') return true;
  }
  return false;
}

}  // namespace einstream::detail
