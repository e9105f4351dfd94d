#include "src/fault_injection.hpp"

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

std::atomic<std::int64_t> pass_counts[kFaultSiteCount];

int index_of(FaultSite site) { return static_cast<int>(site); }

}  // namespace

const char* to_string(FaultSite site) {
  switch (site) {
    case FaultSite::thread_pool_task:
      return "thread pool task dispatch";
    case FaultSite::npy_write:
      return "npy file write";
    case FaultSite::cuda_runtime_call:
      return "CUDA runtime call";
    case FaultSite::cublas_call:
      return "cuBLAS call";
  }
  return "unknown site";
}

void FaultInjection::arm(FaultSite site, std::int64_t k) {
  if (k < 0) throw Error("FaultInjection::arm: k is " + std::to_string(k) + "; pass k >= 1, or 0");
  pass_counts[index_of(site)].store(0);
  countdowns_[index_of(site)].store(k);
}

void FaultInjection::disarm_all() {
  for (int site = 0; site < kFaultSiteCount; ++site) disarm(static_cast<FaultSite>(site));
}

std::int64_t FaultInjection::passes(FaultSite site) { return pass_counts[index_of(site)].load(); }

bool FaultInjection::count_pass(FaultSite site) {
  std::atomic<std::int64_t>& remaining = countdowns_[index_of(site)];
  std::int64_t previous = remaining.load();
  // Compare-and-swap rather than fetch_sub, so passes after the failing one
  // find the countdown at zero instead of driving it negative.
  while (previous > 0 && !remaining.compare_exchange_weak(previous, previous - 1)) {
  }
  if (previous <= 0) return false;
  pass_counts[index_of(site)].fetch_add(1);
  return previous == 1;
}

void FaultInjection::check(FaultSite site) {
  if (fails_now(site)) throw Error(message(site));
}

std::string FaultInjection::message(FaultSite site) {
  return std::string("injected fault: ") + to_string(site);
}

void throw_injected_cuda_error(FaultSite site, const char* call, const char* file, int line) {
  throw CudaError(std::string(call) + " failed: " + FaultInjection::message(site) +
                      " (the call was not made) at " + file + ":" + std::to_string(line),
                  call, file, line);
}

}  // namespace einstream::detail
