// Host memory for the streaming bench: ordinary or pinned buffers, filled
// in parallel with values every memory mode reproduces.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "bench/cuda/streaming/problem.hpp"
#include "cuda/resources.hpp"

namespace streaming_bench {

constexpr std::size_t kPageBytes = 4096;

// Runs body(begin, end) over [0, count) on the host threads (fills of up
// to 90 GB must take seconds).
void parallel_for(std::int64_t count, const std::function<void(std::int64_t, std::int64_t)>& body);

// Uniform in [-1, 1) from a counter-based hash (splitmix64's finalizer), so
// threads fill disjoint ranges independently and every mode sees the same
// values.
double uniform_at(std::uint64_t seed, std::uint64_t index);

template <typename T>
void fill_uniform(T* values, std::int64_t count, std::uint64_t seed) {
  parallel_for(count, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t index = begin; index < end; ++index) {
      values[index] = static_cast<T>(uniform_at(seed, static_cast<std::uint64_t>(index)));
    }
  });
}

void fill_zero(void* data, std::size_t bytes);

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
double available_host_bytes();

struct AlignedDelete {
  void operator()(std::byte* pointer) const {
    ::operator delete[](pointer, std::align_val_t{kPageBytes});
  }
};

// One host allocation: ordinary (page-aligned operator new, pages not yet
// touched) or pinned (cudaMallocHost).
class HostBuffer {
 public:
  HostBuffer(std::size_t bytes, bool pinned) {
    if (pinned) {
      pinned_ = std::make_unique<einstream::detail::PinnedBuffer>(std::max<std::size_t>(bytes, 1));
    } else {
      pageable_.reset(static_cast<std::byte*>(
          ::operator new[](std::max<std::size_t>(bytes, 1), std::align_val_t{kPageBytes})));
    }
  }
  void* get() const { return pinned_ ? pinned_->get() : pageable_.get(); }

 private:
  std::unique_ptr<std::byte[], AlignedDelete> pageable_;
  std::unique_ptr<einstream::detail::PinnedBuffer> pinned_;
};

// A problem's inputs (filled with uniform values) and output (zeroed, so
// every pageable page is resident before the timing starts).
struct ProblemBuffers {
  std::vector<HostBuffer> inputs;
  std::unique_ptr<HostBuffer> output;
  double fill_seconds = 0;  // allocating (pinned: page-locking) and filling

  ProblemBuffers(const OocProblem& problem, bool pinned);
  std::vector<const void*> input_pointers() const;
};

}  // namespace streaming_bench
