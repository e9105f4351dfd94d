// StreamTimeline: what an execution's CUDA streams and host threads did, and
// when. Copies and compute are bracketed by pairs of timing events recorded
// on their stream; host work is timed with the steady clock; both are put on
// one time axis whose origin is an event recorded (and waited for) when the
// execution starts, so a span's start is seconds since then on either clock.
//
// The events come from a pool created once: a pair is recycled when the
// pool runs dry by waiting for the oldest pair still in flight, which in a
// pipeline a few blocks deep has long finished, so recording never allocates
// or stalls inside the block loop. finish() totals the busy time of each
// stream and the time at least one was busy (for the overlap ratio) and,
// when spans are kept, hands them to the report's timeline.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "einstream/report.hpp"

namespace einstream::detail {

class StreamTimeline {
 public:
  enum Track { kH2D = 0, kCompute = 1, kD2H = 2 };
  static constexpr int kTracks = 3;

  // `pairs`: event pairs in the pool.
  explicit StreamTimeline(int pairs = 256);
  ~StreamTimeline();
  StreamTimeline(const StreamTimeline&) = delete;
  StreamTimeline& operator=(const StreamTimeline&) = delete;

  // Starts a timeline: the origin is recorded on `stream` (idle) and waited
  // for. keep_spans: whether spans (and their names) go to the report.
  void start(cudaStream_t stream, bool keep_spans);
  bool keeps_spans() const { return keep_spans_; }

  // Opens a span of work about to be enqueued on `stream`; close() after
  // enqueuing it. `name` is read only when spans are kept.
  int open(Track track, cudaStream_t stream, const std::string& name = {});
  void close(int span, cudaStream_t stream);

  // Host work that already ran, as one span of `track` on the steady clock.
  // Thread-safe: the staging pool's threads report their chunks here.
  void host_span(const std::string& track, const std::string& name,
                 std::chrono::steady_clock::time_point begin,
                 std::chrono::steady_clock::time_point end);
  // Waits for every open span, then fills the report's stream times,
  // overlap and (when kept) timeline.
  void finish(ExecutionReport& report);

 private:
  struct Pair {
    cudaEvent_t begin = nullptr;
    cudaEvent_t end = nullptr;
  };
  struct Span {
    int track = 0;
    std::string name;
    double start = 0, stop = 0;
  };
  // Reads a closed pair's times (waiting for it) into its span.
  void harvest(int pair);

  std::vector<Pair> pool_;
  std::vector<int> free_;
  std::deque<int> in_flight_;      // closed pairs, oldest first
  std::vector<int> span_of_pair_;  // index in spans_ of each pair's span
  std::vector<Span> spans_;        // GPU spans
  cudaEvent_t origin_ = nullptr;
  std::chrono::steady_clock::time_point host_origin_;
  bool keep_spans_ = false;
  mutable std::mutex host_mutex_;
  std::vector<TraceSpan> host_spans_;
};

}  // namespace einstream::detail
