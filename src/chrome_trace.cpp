// to_chrome_trace: an ExecutionReport's timeline in the Chrome Trace Event
// Format (the JSON that Perfetto and chrome://tracing open). Each track
// becomes a thread of one process, named and ordered by metadata events, and
// each span a complete ("X") event. The library does not link a JSON library,
// so the little writing it needs (string escaping, numbers) is done here.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "einstream/report.hpp"

namespace einstream {

namespace {

constexpr int kProcessId = 1;
constexpr const char* kProcessName = "einstream";
constexpr const char* kHostThreadPrefix = "host thread ";

// Where a track sorts: the CUDA streams in the order data flows through them,
// then the calling thread's staging, then the pool's threads by number, then
// anything else in order of first appearance.
struct TrackRank {
  int group = 0;
  long long number = 0;  // the N of "host thread N"
};

TrackRank rank_of(const std::string& track) {
  if (track == "H2D stream") return {0, 0};
  if (track == "compute stream") return {1, 0};
  if (track == "D2H stream") return {2, 0};
  if (track == "host staging") return {3, 0};
  const std::string prefix = kHostThreadPrefix;
  if (track.size() > prefix.size() && track.compare(0, prefix.size(), prefix) == 0) {
    const std::string digits = track.substr(prefix.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        digits.size() <= 18) {
      return {4, std::atoll(digits.c_str())};
    }
  }
  return {5, 0};
}

// The event category, so a trace viewer can filter copies from compute.
const char* category_of(const std::string& track) {
  switch (rank_of(track).group) {
    case 0:
      return "h2d";
    case 1:
      return "compute";
    case 2:
      return "d2h";
    case 3:
    case 4:
      return "host";
    default:
      return "other";
  }
}

// A JSON string literal, quotes included. Bytes from 0x80 up pass through:
// track and span names are the library's own ASCII (or the caller's UTF-8).
std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\b':
        quoted += "\\b";
        break;
      case '\f':
        quoted += "\\f";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
          quoted += escape;
        } else {
          quoted += c;
        }
    }
  }
  quoted += '"';
  return quoted;
}

// Seconds as microseconds with nanosecond resolution. JSON has no NaN or
// infinity, so a non-finite time (a broken measurement) is written as 0
// rather than making the whole file unreadable.
std::string microseconds(double seconds) {
  const double value = std::isfinite(seconds) ? seconds * 1e6 : 0.0;
  const int length = std::snprintf(nullptr, 0, "%.3f", value);
  std::string text(static_cast<std::size_t>(std::max(length, 0)), '\0');
  std::snprintf(text.data(), text.size() + 1, "%.3f", value);
  return text;
}

std::string metadata_event(const char* name, int thread_id, const std::string& args) {
  return std::string("{\"name\":\"") + name +
         "\",\"ph\":\"M\",\"pid\":" + std::to_string(kProcessId) +
         ",\"tid\":" + std::to_string(thread_id) + ",\"args\":" + args + "}";
}

}  // namespace

std::string to_chrome_trace(const ExecutionReport& report) {
  // Distinct tracks in order of first appearance, then stably into the
  // preferred order; a track's thread id is its position from 1 (0 is left to
  // the process's own metadata).
  std::vector<std::string> tracks;
  for (const TraceSpan& span : report.timeline) {
    if (std::find(tracks.begin(), tracks.end(), span.track) == tracks.end()) {
      tracks.push_back(span.track);
    }
  }
  std::stable_sort(tracks.begin(), tracks.end(), [](const std::string& a, const std::string& b) {
    const TrackRank rank_a = rank_of(a);
    const TrackRank rank_b = rank_of(b);
    if (rank_a.group != rank_b.group) return rank_a.group < rank_b.group;
    return rank_a.number < rank_b.number;
  });
  auto thread_id_of = [&tracks](const std::string& track) {
    return static_cast<int>(std::find(tracks.begin(), tracks.end(), track) - tracks.begin()) + 1;
  };

  std::vector<std::string> events;
  events.push_back(
      metadata_event("process_name", 0, "{\"name\":" + json_string(kProcessName) + "}"));
  for (const std::string& track : tracks) {
    const int thread_id = thread_id_of(track);
    events.push_back(
        metadata_event("thread_name", thread_id, "{\"name\":" + json_string(track) + "}"));
    events.push_back(metadata_event("thread_sort_index", thread_id,
                                    "{\"sort_index\":" + std::to_string(thread_id) + "}"));
  }
  for (const TraceSpan& span : report.timeline) {
    // A viewer drops or misdraws negative durations; clock jitter can produce
    // a tiny one for an empty span.
    events.push_back("{\"name\":" + json_string(span.name) + ",\"cat\":\"" +
                     category_of(span.track) +
                     "\",\"ph\":\"X\",\"pid\":" + std::to_string(kProcessId) +
                     ",\"tid\":" + std::to_string(thread_id_of(span.track)) +
                     ",\"ts\":" + microseconds(span.start) +
                     ",\"dur\":" + microseconds(std::max(span.seconds, 0.0)) + "}");
  }

  // One event per line: diffable, and readable without a viewer.
  std::string trace = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  for (std::size_t index = 0; index < events.size(); ++index) {
    trace += events[index];
    trace += index + 1 < events.size() ? ",\n" : "\n";
  }
  trace += "]}\n";
  return trace;
}

}  // namespace einstream
