#include "cuda/stream_timeline.hpp"

#include <algorithm>

#include "cuda/check.hpp"

namespace einstream::detail {

namespace {

const char* track_name(int track) {
  switch (track) {
    case StreamTimeline::kH2D:
      return "H2D stream";
    case StreamTimeline::kCompute:
      return "compute stream";
    default:
      return "D2H stream";
  }
}

}  // namespace

StreamTimeline::StreamTimeline(int pairs) {
  try {
    EINSTREAM_CUDA_CHECK(cudaEventCreate(&origin_));
    for (int index = 0; index < pairs; ++index) {
      Pair pair;
      EINSTREAM_CUDA_CHECK(cudaEventCreate(&pair.begin));
      pool_.push_back(pair);
      EINSTREAM_CUDA_CHECK(cudaEventCreate(&pool_.back().end));
    }
  } catch (...) {
    for (Pair& pair : pool_) {
      if (pair.begin != nullptr) cudaEventDestroy(pair.begin);
      if (pair.end != nullptr) cudaEventDestroy(pair.end);
    }
    if (origin_ != nullptr) cudaEventDestroy(origin_);
    throw;
  }
  span_of_pair_.assign(pool_.size(), -1);
}

StreamTimeline::~StreamTimeline() {
  for (Pair& pair : pool_) {
    cudaEventDestroy(pair.begin);
    cudaEventDestroy(pair.end);
  }
  cudaEventDestroy(origin_);
}

void StreamTimeline::start(cudaStream_t stream, bool keep_spans) {
  keep_spans_ = keep_spans;
  spans_.clear();
  host_spans_.clear();
  in_flight_.clear();
  free_.clear();
  for (int pair = static_cast<int>(pool_.size()); pair-- > 0;) free_.push_back(pair);
  EINSTREAM_CUDA_CHECK(cudaEventRecord(origin_, stream));
  EINSTREAM_CUDA_CHECK(cudaEventSynchronize(origin_));
  host_origin_ = std::chrono::steady_clock::now();
}

int StreamTimeline::open(Track track, cudaStream_t stream, const std::string& name) {
  if (free_.empty()) {
    const int oldest = in_flight_.front();
    in_flight_.pop_front();
    harvest(oldest);
    free_.push_back(oldest);
  }
  const int pair = free_.back();
  free_.pop_back();
  Span span;
  span.track = track;
  if (keep_spans_) span.name = name;
  span_of_pair_[pair] = static_cast<int>(spans_.size());
  spans_.push_back(std::move(span));
  EINSTREAM_CUDA_CHECK(cudaEventRecord(pool_[pair].begin, stream));
  return pair;
}

void StreamTimeline::close(int pair, cudaStream_t stream) {
  EINSTREAM_CUDA_CHECK(cudaEventRecord(pool_[pair].end, stream));
  in_flight_.push_back(pair);
}

void StreamTimeline::harvest(int pair) {
  EINSTREAM_CUDA_CHECK(cudaEventSynchronize(pool_[pair].end));
  float begin_ms = 0, end_ms = 0;
  EINSTREAM_CUDA_CHECK(cudaEventElapsedTime(&begin_ms, origin_, pool_[pair].begin));
  EINSTREAM_CUDA_CHECK(cudaEventElapsedTime(&end_ms, origin_, pool_[pair].end));
  Span& span = spans_[span_of_pair_[pair]];
  span.start = begin_ms * 1e-3;
  span.stop = end_ms * 1e-3;
}

void StreamTimeline::host_span(const std::string& track, const std::string& name,
                               std::chrono::steady_clock::time_point begin,
                               std::chrono::steady_clock::time_point end) {
  if (!keep_spans_) return;
  TraceSpan span;
  span.track = track;
  span.name = name;
  span.start = std::chrono::duration<double>(begin - host_origin_).count();
  span.seconds = std::chrono::duration<double>(end - begin).count();
  const std::lock_guard<std::mutex> lock(host_mutex_);
  host_spans_.push_back(std::move(span));
}

void StreamTimeline::finish(ExecutionReport& report) {
  while (!in_flight_.empty()) {
    harvest(in_flight_.front());
    free_.push_back(in_flight_.front());
    in_flight_.pop_front();
  }
  // Busy time per stream (a stream's spans never overlap each other), and
  // the union of all of them.
  double busy[kTracks] = {0, 0, 0};
  std::vector<std::pair<double, double>> intervals;
  intervals.reserve(spans_.size());
  for (const Span& span : spans_) {
    busy[span.track] += span.stop - span.start;
    intervals.emplace_back(span.start, span.stop);
  }
  std::sort(intervals.begin(), intervals.end());
  double any_busy = 0, covered_to = -1e300;
  for (const auto& [start, stop] : intervals) {
    const double from = std::max(start, covered_to);
    if (stop > from) any_busy += stop - from;
    covered_to = std::max(covered_to, stop);
  }
  report.h2d_seconds = busy[kH2D];
  report.compute_seconds = busy[kCompute];
  report.d2h_seconds = busy[kD2H];
  const double sum = busy[kH2D] + busy[kCompute] + busy[kD2H];
  const double largest = std::max({busy[kH2D], busy[kCompute], busy[kD2H]});
  report.overlap = sum - largest > 0 ? std::clamp((sum - any_busy) / (sum - largest), 0.0, 1.0) : 0;
  report.timeline.clear();
  if (!keep_spans_) return;
  for (const Span& span : spans_) {
    report.timeline.push_back(
        {track_name(span.track), span.name, span.start, span.stop - span.start});
  }
  for (TraceSpan& span : host_spans_) report.timeline.push_back(std::move(span));
  host_spans_.clear();
  std::stable_sort(report.timeline.begin(), report.timeline.end(),
                   [](const TraceSpan& a, const TraceSpan& b) { return a.start < b.start; });
}

}  // namespace einstream::detail
