// ExecutionReport's two renderings: the readable lines of to_string and the
// Chrome trace of to_chrome_trace.
#include "einstream/report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "einstream/plan.hpp"

namespace einstream {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ExecutionReport cuda_report() {
  ExecutionReport report;
  report.backend = Backend::cuda;
  report.blocks = 12;
  report.seconds = 2.5;
  report.bytes_to_device = 8'000'000'000;
  report.bytes_to_host = 1'000'000'000;
  return report;
}

TEST(Report, StreamTimesAndOverlapAppearWhenMeasured) {
  ExecutionReport report = cuda_report();
  report.h2d_seconds = 0.4;
  report.compute_seconds = 1.25;
  report.d2h_seconds = 0.1;
  report.overlap = 0.9;
  const std::string text = to_string(report);
  EXPECT_TRUE(contains(text, "execution: cuda backend, 12 block(s)")) << text;
  EXPECT_TRUE(contains(text, "H2D 0.4000 s at 20 GB/s")) << text;
  EXPECT_TRUE(contains(text, "compute 1.2500 s")) << text;
  EXPECT_TRUE(contains(text, "D2H 0.1000 s at 10 GB/s")) << text;
  EXPECT_TRUE(contains(text, "overlap 90%")) << text;
  EXPECT_FALSE(contains(text, "direct DMA")) << text;
}

TEST(Report, StreamLineIsLeftOutWhenNothingWasMeasured) {
  ExecutionReport report = cuda_report();
  const std::string text = to_string(report);
  EXPECT_FALSE(contains(text, "H2D")) << text;
  EXPECT_FALSE(contains(text, "overlap")) << text;
  EXPECT_FALSE(contains(text, "direct DMA")) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
}

TEST(Report, ComputeAloneHasNoBandwidth) {
  ExecutionReport report;
  report.backend = Backend::cuda;
  report.compute_seconds = 0.5;
  const std::string text = to_string(report);
  EXPECT_TRUE(
      contains(text, "streams busy: H2D 0.0000 s, compute 0.5000 s, D2H 0.0000 s; overlap 0%"))
      << text;
  EXPECT_FALSE(contains(text, "inf")) << text;
  EXPECT_FALSE(contains(text, "nan")) << text;
}

// The host backend has no device and no link: its report says where the
// time went instead of listing zero bytes.
TEST(Report, HostBackendReportsComputeNotZeroTransfers) {
  ExecutionReport report;
  report.backend = Backend::host;
  report.blocks = 3;
  report.seconds = 0.25;
  report.compute_seconds = 0.2;
  const std::string text = to_string(report);
  EXPECT_TRUE(contains(text, "execution: host backend, 3 block(s)")) << text;
  EXPECT_TRUE(contains(text, "compute 0.2000 s on the calling thread")) << text;
  EXPECT_FALSE(contains(text, "host -> device")) << text;
  EXPECT_FALSE(contains(text, "streams busy")) << text;
}

TEST(Report, DirectAndStagedBytesAppearWhenSet) {
  ExecutionReport report = cuda_report();
  report.bytes_direct = 6'000'000'000;
  report.bytes_staged = 3'000'000'000;
  const std::string text = to_string(report);
  EXPECT_TRUE(contains(text, "direct DMA 6 GB, through staging 3 GB")) << text;
  EXPECT_FALSE(contains(text, "streams busy")) << text;
}

TEST(Report, SeveralDevicesSayHowTheirPartialsWereCombined) {
  ExecutionReport report = cuda_report();
  EXPECT_FALSE(contains(to_string(report), "devices")) << to_string(report);
  report.devices = {cuda_report(), cuda_report()};
  EXPECT_TRUE(contains(to_string(report), "2 devices, each writing its own output blocks"))
      << to_string(report);
  report.combine_seconds = 0.125;
  report.combined_with = "nccl";
  EXPECT_TRUE(contains(to_string(report), "2 devices, partial sums combined with NCCL in 0.1250 s"))
      << to_string(report);
  report.combined_with = "host";
  EXPECT_TRUE(contains(to_string(report), "partial sums combined on the host in 0.1250 s"))
      << to_string(report);
}

// Spans on every kind of track, in the shuffled order a real timeline
// interleaves them, at random times.
std::vector<TraceSpan> random_timeline(std::mt19937& random) {
  const std::vector<std::string> tracks = {"host thread 10", "D2H stream",   "host thread 2",
                                           "compute stream", "host staging", "H2D stream",
                                           "somewhere else", "host thread 1"};
  std::uniform_int_distribution<std::size_t> pick(0, tracks.size() - 1);
  std::uniform_real_distribution<double> seconds(0.0, 3.0);
  std::vector<TraceSpan> timeline;
  for (int index = 0; index < 200; ++index) {
    // The first pass guarantees every track appears.
    const std::string& track = index < static_cast<int>(tracks.size())
                                   ? tracks[static_cast<std::size_t>(index)]
                                   : tracks[pick(random)];
    timeline.push_back(
        {track, "block " + std::to_string(index), seconds(random), seconds(random) * 1e-3});
  }
  return timeline;
}

TEST(ChromeTrace, IsJsonWithOneNamedThreadPerTrackInThePreferredOrder) {
  const unsigned seed = 7;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  ExecutionReport report;
  report.timeline = random_timeline(random);

  const nlohmann::json trace = nlohmann::json::parse(to_chrome_trace(report));
  EXPECT_EQ(trace.at("displayTimeUnit"), "ms");
  std::map<int, std::string> thread_names;
  std::map<int, int> sort_indices;
  int process_names = 0;
  for (const nlohmann::json& event : trace.at("traceEvents")) {
    if (event.at("ph") != "M") continue;
    EXPECT_EQ(event.at("pid"), 1);
    const int thread_id = event.at("tid");
    if (event.at("name") == "thread_name") {
      EXPECT_TRUE(thread_names.emplace(thread_id, event.at("args").at("name")).second)
          << "thread " << thread_id << " named twice";
    } else if (event.at("name") == "thread_sort_index") {
      sort_indices.emplace(thread_id, event.at("args").at("sort_index"));
    } else if (event.at("name") == "process_name") {
      EXPECT_EQ(event.at("args").at("name"), "einstream");
      ++process_names;
    }
  }
  EXPECT_EQ(process_names, 1);
  const std::map<int, std::string> expected = {
      {1, "H2D stream"},    {2, "compute stream"}, {3, "D2H stream"},     {4, "host staging"},
      {5, "host thread 1"}, {6, "host thread 2"},  {7, "host thread 10"}, {8, "somewhere else"}};
  EXPECT_EQ(thread_names, expected);
  for (const auto& [thread_id, sort_index] : sort_indices) EXPECT_EQ(thread_id, sort_index);
  EXPECT_EQ(sort_indices.size(), expected.size());
}

TEST(ChromeTrace, EverySpanIsACompleteEventOnItsTrackInMicroseconds) {
  for (const unsigned seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    ExecutionReport report;
    report.timeline = random_timeline(random);

    const nlohmann::json trace = nlohmann::json::parse(to_chrome_trace(report));
    std::map<std::string, int> thread_of_track;
    std::vector<nlohmann::json> complete_events;
    for (const nlohmann::json& event : trace.at("traceEvents")) {
      if (event.at("name") == "thread_name") {
        thread_of_track[event.at("args").at("name")] = event.at("tid");
      } else if (event.at("ph") == "X") {
        complete_events.push_back(event);
      }
    }
    ASSERT_EQ(complete_events.size(), report.timeline.size());
    const std::map<std::string, std::string> category_of_track = {
        {"H2D stream", "h2d"},      {"compute stream", "compute"}, {"D2H stream", "d2h"},
        {"host staging", "host"},   {"host thread 1", "host"},     {"host thread 2", "host"},
        {"host thread 10", "host"}, {"somewhere else", "other"}};
    for (std::size_t index = 0; index < complete_events.size(); ++index) {
      const TraceSpan& span = report.timeline[index];
      const nlohmann::json& event = complete_events[index];
      SCOPED_TRACE(span.name + " on " + span.track);
      EXPECT_EQ(event.at("name"), span.name);
      EXPECT_EQ(event.at("pid"), 1);
      EXPECT_EQ(event.at("tid"), thread_of_track.at(span.track));
      EXPECT_EQ(event.at("cat"), category_of_track.at(span.track));
      // Written with 3 decimals: nanosecond resolution.
      EXPECT_NEAR(event.at("ts").get<double>(), span.start * 1e6, 0.0005 + 1e-9 * span.start * 1e6);
      EXPECT_NEAR(event.at("dur").get<double>(), span.seconds * 1e6, 0.0005);
    }
  }
}

TEST(ChromeTrace, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string name = "say \"hi\" \\ to\nblock\t3\x01 end";
  const std::string track = "odd \"track\"\\\r";
  ExecutionReport report;
  report.timeline = {{track, name, 0.25, 0.5}};
  const std::string text = to_chrome_trace(report);
  EXPECT_TRUE(contains(text, R"("say \"hi\" \\ to\nblock\t3\u0001 end")")) << text;
  const nlohmann::json trace = nlohmann::json::parse(text);
  bool found_span = false;
  bool found_track = false;
  for (const nlohmann::json& event : trace.at("traceEvents")) {
    if (event.at("ph") == "X") {
      found_span = true;
      EXPECT_EQ(event.at("name"), name);
      EXPECT_EQ(event.at("ts").get<double>(), 250000.0);
      EXPECT_EQ(event.at("dur").get<double>(), 500000.0);
    } else if (event.at("name") == "thread_name") {
      found_track = true;
      EXPECT_EQ(event.at("args").at("name"), track);
    }
  }
  EXPECT_TRUE(found_span);
  EXPECT_TRUE(found_track);
}

TEST(ChromeTrace, UnusableTimesStillGiveValidJson) {
  ExecutionReport report;
  report.timeline = {{"compute stream", "nan", std::nan(""), 1e-3},
                     {"compute stream", "negative", 1e-3, -1e-9},
                     {"compute stream", "infinite", 1e-3, HUGE_VAL}};
  const nlohmann::json trace = nlohmann::json::parse(to_chrome_trace(report));
  for (const nlohmann::json& event : trace.at("traceEvents")) {
    if (event.at("ph") != "X") continue;
    EXPECT_GE(event.at("dur").get<double>(), 0) << event;
    EXPECT_TRUE(std::isfinite(event.at("ts").get<double>())) << event;
  }
}

TEST(ChromeTrace, EmptyTimelineNamesOnlyTheProcess) {
  const nlohmann::json trace = nlohmann::json::parse(to_chrome_trace(ExecutionReport{}));
  ASSERT_EQ(trace.at("traceEvents").size(), 1u);
  EXPECT_EQ(trace.at("traceEvents")[0].at("name"), "process_name");
}

}  // namespace
}  // namespace einstream
