// Tests for the log and progress callbacks (include/einstream/log.hpp,
// src/execution_log, src/plan_log): what a caller hears while a Plan is
// built and executed. No wall time is asserted: the pace of progress
// reports is driven by a fake clock, or set to every block.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "einstream/einstream.hpp"
#include "src/execution_log.hpp"
#include "tests/support/against_reference.hpp"

namespace einstream {
namespace {

struct Heard {
  std::vector<std::pair<LogLevel, std::string>> messages;
  std::vector<Progress> progress;

  void listen(Options& options) {
    options.log = [this](LogLevel level, const std::string& message) {
      messages.emplace_back(level, message);
    };
    options.progress = [this](const Progress& report) { progress.push_back(report); };
  }
  // Messages at `level` containing `part`.
  int count(LogLevel level, const std::string& part) const {
    int found = 0;
    for (const auto& [at, message] : messages)
      found += at == level && message.find(part) != std::string::npos;
    return found;
  }
  std::string all() const {
    std::string text;
    for (const auto& [level, message] : messages)
      text += std::string(to_string(level)) + ": " + message + "\n";
    return text;
  }
};

TEST(LogLevel, RoundTripsThroughItsNamesAndRejectsOthersNamingThem) {
  for (LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
    EXPECT_EQ(log_level_from_string(to_string(level)), level);
  }
  try {
    log_level_from_string("verbose");
    ADD_FAILURE() << "expected Error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "unknown log level 'verbose': expected error, warn, info or debug");
  }
}

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  void advance(int milliseconds) { now += std::chrono::milliseconds(milliseconds); }
};

TEST(ExecutionLog, ReportsProgressAtMostOncePerIntervalThenTheEnd) {
  Heard heard;
  Options options;
  heard.listen(options);
  options.progress_interval_seconds = 1.0;
  FakeClock clock;
  std::uint64_t bytes = 0;
  detail::ExecutionLog log(
      options, "cuda device 0", 6, [&bytes] { return bytes; }, [&clock] { return clock.now; });
  log.start();
  const detail::BlockProgress hook = log.hook();
  ASSERT_TRUE(hook);
  // Blocks end at 0.4, 0.8, 1.2, 1.6, 2.4 and 2.5 s: progress after blocks
  // 3 (1.2 s) and 5 (2.4 s), then the end.
  const int ends[] = {400, 800, 1200, 1600, 2400, 2500};  // ms
  int now = 0;
  for (std::int64_t block = 1; block <= 6; ++block) {
    clock.advance(ends[block - 1] - now);
    now = ends[block - 1];
    bytes += 1000000;
    hook(block, 6);
  }
  ExecutionReport report;
  report.flops = 5e9;
  report.bytes_to_device = 5000000;
  report.bytes_to_host = 1000000;
  log.finish(report);

  ASSERT_EQ(heard.progress.size(), 3u);
  EXPECT_EQ(heard.progress[0].blocks_done, 3);
  EXPECT_EQ(heard.progress[0].bytes_moved, 3000000u);
  EXPECT_NEAR(heard.progress[0].seconds, 1.2, 1e-9);
  EXPECT_EQ(heard.progress[1].blocks_done, 5);
  EXPECT_FALSE(heard.progress[1].finished);
  EXPECT_EQ(heard.progress[2].blocks_done, 6);
  EXPECT_EQ(heard.progress[2].blocks_total, 6);
  EXPECT_TRUE(heard.progress[2].finished);

  EXPECT_EQ(heard.count(LogLevel::info, "execute on cuda device 0: 6 blocks"), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::info,
                        "execute: 3/6 blocks (50.0%) in 1.200 s, 3 MB moved "
                        "(2.5 MB/s)"),
            1)
      << heard.all();
  EXPECT_EQ(heard.count(LogLevel::info, "execute: 5/6 blocks"), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::info,
                        "execute on cuda device 0: done in 2.500 s, 6 blocks, "
                        "6 MB moved (2.4 MB/s), 2 GFLOP/s"),
            1)
      << heard.all();
  // Transfers are debug messages; the level is info.
  EXPECT_EQ(heard.count(LogLevel::debug, ""), 0) << heard.all();
}

TEST(ExecutionLog, ListensToNothingWithoutACallbackOrBelowInfo) {
  Options options;
  detail::ExecutionLog silent(options, "host", 4);
  EXPECT_FALSE(silent.active());
  EXPECT_FALSE(silent.hook());
  Heard heard;
  heard.listen(options);
  options.progress = {};
  options.log_level = LogLevel::warn;
  detail::ExecutionLog quiet(options, "host", 4);
  EXPECT_FALSE(quiet.hook());
  quiet.start();
  quiet.finish(ExecutionReport{});
  EXPECT_TRUE(heard.messages.empty()) << heard.all();
}

// A sliced plan on the host backend, every block reported: the plan at
// debug level, the execution's start, each block's progress and its end,
// and the result is still the reference's.
TEST(PlanLog, HostPlanAndExecutionAreReportedAndTheResultIsTheReferences) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  Heard heard;
  Options options;
  options.backend = Backend::host;
  options.log_level = LogLevel::debug;
  options.progress_interval_seconds = 0;
  options.memory_limit = MemoryLimit::from_bytes(4 * 4 * 8 + 4 * 1000 * 8 * 2 * 2);
  heard.listen(options);
  const testing::AgainstReference run = testing::plan_against_reference(
      "ij,jk->ik", {{4, 4000}, {4000, 4}}, DataType::f64, options, 1.0, 0.0, random);
  EXPECT_LE(run.error, 1e-12);

  EXPECT_EQ(heard.count(LogLevel::debug,
                        "plan 'ij,jk->ik': searching a path (auto) over 2 "
                        "operands and 3 modes, budget 1.000 s"),
            1)
      << heard.all();
  EXPECT_EQ(heard.count(LogLevel::debug, "plan 'ij,jk->ik': path auto found in "), 1)
      << heard.all();
  EXPECT_EQ(heard.count(LogLevel::debug, "plan: backend host, memory limit "), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::debug, "(j in "), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::debug, "input 0 streamed"), 1) << heard.all();
  ASSERT_GE(heard.progress.size(), 2u);
  const std::int64_t total = heard.progress.back().blocks_total;
  EXPECT_GT(total, 1);
  ASSERT_EQ(static_cast<std::int64_t>(heard.progress.size()), total);
  for (std::int64_t block = 0; block < total; ++block) {
    EXPECT_EQ(heard.progress[block].blocks_done, block + 1);
    EXPECT_EQ(heard.progress[block].finished, block + 1 == total);
    EXPECT_EQ(heard.progress[block].bytes_moved, 0u);  // the host reads in place
  }
  const std::string blocks = std::to_string(total) + " blocks";
  EXPECT_EQ(heard.count(LogLevel::info, "execute on host: " + blocks), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::info, "/" + blocks + " ("), total - 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::info, "execute on host: done in "), 1) << heard.all();
  EXPECT_EQ(heard.count(LogLevel::debug, "computing, no host-device copies"), 1) << heard.all();
}

TEST(PlanLog, WarnLevelHearsNothingFromASuccessfulPlanAndExecution) {
  std::mt19937 random(7);
  Heard heard;
  Options options;
  options.backend = Backend::host;
  heard.listen(options);
  options.progress = {};
  options.log_level = LogLevel::warn;
  const testing::AgainstReference run = testing::plan_against_reference(
      "ab,bc->ac", {{5, 6}, {6, 7}}, DataType::f32, options, 1.0, 0.0, random);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32));
  EXPECT_TRUE(heard.messages.empty()) << heard.all();
}

}  // namespace
}  // namespace einstream
