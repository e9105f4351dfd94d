// Tests for the CLI's log and progress line on stderr (src/cli/stderr_log):
// EINSTREAM_LOG's parsing, the lines written, and the progress line drawn
// only on a terminal, after the threshold (set to 0 here: no wall time is
// measured), and cleared at the end.
#include "src/cli/stderr_log.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "einstream/einstream.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::cli {
namespace {

TEST(CliLog, EinstreamLogNamesALevelOrIsUnset) {
  EXPECT_EQ(log_level_from_environment(nullptr), std::nullopt);
  EXPECT_EQ(log_level_from_environment(""), std::nullopt);
  EXPECT_EQ(log_level_from_environment("debug"), LogLevel::debug);
  EXPECT_EQ(log_level_from_environment("info"), LogLevel::info);
  EXPECT_EQ(log_level_from_environment("warn"), LogLevel::warn);
  EXPECT_EQ(log_level_from_environment("error"), LogLevel::error);
  try {
    log_level_from_environment("DEBUG2");
    ADD_FAILURE() << "expected Error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(),
                 "EINSTREAM_LOG='DEBUG2': unknown log level 'DEBUG2': expected error, warn, info "
                 "or debug");
  }
}

Progress at(std::int64_t done, std::int64_t total, double seconds, bool finished = false) {
  Progress progress;
  progress.blocks_done = done;
  progress.blocks_total = total;
  progress.seconds = seconds;
  progress.bytes_moved = static_cast<std::uint64_t>(done) * 1000000000u;
  progress.finished = finished;
  return progress;
}

TEST(CliLog, ProgressLineIsRewrittenInPlaceClearedForMessagesAndAtTheEnd) {
  std::ostringstream stream;
  StderrLog log(stream, true, 1.0);
  log.progress(at(1, 4, 0.5));  // under a second: nothing yet
  EXPECT_EQ(stream.str(), "");
  log.progress(at(2, 4, 1.0));
  log.message(LogLevel::info, "hello");
  log.progress(at(3, 4, 1.5));
  log.progress(at(4, 4, 2.0, true));
  EXPECT_EQ(stream.str(),
            "\reinstream: 2/4 blocks (50%), 1.0 s, 2.00 GB moved, 2.00 GB/s"
            "\r\033[Keinstream info: hello\n"
            "\reinstream: 3/4 blocks (75%), 1.5 s, 3.00 GB moved, 2.00 GB/s"
            "\r\033[K");
}

TEST(CliLog, NoProgressLineWhenStderrIsNotATerminal) {
  std::ostringstream stream;
  StderrLog log(stream, false, 0.0);
  log.progress(at(1, 2, 5.0));
  log.message(LogLevel::debug, "plan: x");
  log.progress(at(2, 2, 6.0, true));
  EXPECT_EQ(stream.str(), "einstream debug: plan: x\n");
}

// A sliced host execution drives the line through Options::progress, every
// block reported (interval 0, threshold 0), and its result is correct.
TEST(CliLog, ExecutionDrivesTheProgressLineToItsEnd) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<double> a(4 * 600), b(600 * 3), c(4 * 3, 0);
  for (double& value : a) value = uniform(random);
  for (double& value : b) value = uniform(random);
  std::ostringstream stream;
  StderrLog log(stream, true, 0.0);
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(4 * 3 * 8 + 4 * 150 * 8 * 2 * 2);
  options.progress_interval_seconds = 0;
  options.progress = [&log](const Progress& progress) { log.progress(progress); };
  einsum("ij,jk->ik", {view(a.data(), {4, 600}), view(b.data(), {600, 3})}, view(c.data(), {4, 3}),
         options);
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 3; ++k) {
      double expected = 0;
      for (int j = 0; j < 600; ++j) expected += a[i * 600 + j] * b[j * 3 + k];
      EXPECT_NEAR(c[i * 3 + k], expected, 1e-12);
    }
  }
  const std::string text = stream.str();
  EXPECT_NE(text.find("einstream: 1/"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K") << text;  // cleared at the end
}

// The CLI itself, stderr redirected to a file (not a terminal): EINSTREAM_LOG
// sends the plan and the execution there as lines, with no progress line.
class CliLogCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ =
        std::filesystem::path(::testing::TempDir()) /
        ("einstream_cli_log_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::string file(const std::string& name) const { return (directory_ / name).string(); }

  // Status and stderr of the CLI run as "EINSTREAM_LOG=<level> einstream <arguments>".
  std::pair<int, std::string> run(const std::string& level, const std::string& arguments) const {
    const std::string command = "EINSTREAM_LOG='" + level + "' '" + EINSTREAM_CLI + "' " +
                                arguments + " >/dev/null 2>'" + file("stderr.txt") + "'";
    const int raw = std::system(command.c_str());
    std::ifstream err(file("stderr.txt"));
    const std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, text};
  }

  std::filesystem::path directory_;
};

TEST_F(CliLogCommand, DebugLevelLogsThePlanAndTheExecutionToStderrAsLines) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::vector<unsigned char> a = testing::random_tensor(DataType::f64, 6, random);
  const std::vector<unsigned char> b = testing::random_tensor(DataType::f64, 6, random);
  write_npy(file("a.npy"), TensorDesc(DataType::f64, {2, 3}), a.data());
  write_npy(file("b.npy"), TensorDesc(DataType::f64, {3, 2}), b.data());
  const auto [status, err] = run("debug", "run 'ij,jk->ik' " + file("a.npy") + " " + file("b.npy") +
                                              " --backend host -o " + file("c.npy"));
  ASSERT_EQ(status, 0) << err;
  EXPECT_NE(err.find("einstream debug: plan 'ij,jk->ik': path auto found in "), std::string::npos)
      << err;
  EXPECT_NE(err.find("einstream debug: plan: backend host"), std::string::npos) << err;
  EXPECT_NE(err.find("einstream info: execute on host: 1 block\n"), std::string::npos) << err;
  EXPECT_NE(err.find("einstream info: execute on host: done in "), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;  // no progress line off a terminal
  const NpyArray c = read_npy(file("c.npy"));
  const auto* x = reinterpret_cast<const double*>(a.data());
  const auto* y = reinterpret_cast<const double*>(b.data());
  const auto* z = reinterpret_cast<const double*>(c.data.data());
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      double expected = 0;
      for (int j = 0; j < 3; ++j) expected += x[i * 3 + j] * y[j * 2 + k];
      EXPECT_NEAR(z[i * 2 + k], expected, 1e-12);
    }
  }
}

TEST_F(CliLogCommand, WarnLevelIsSilentAndAnUnknownLevelIsNamed) {
  const std::vector<double> a = {1, 2, 3, 4};
  write_npy(file("a.npy"), TensorDesc(DataType::f64, {2, 2}), a.data());
  const std::string arguments =
      "run 'ij->ji' " + file("a.npy") + " --backend host -o " + file("t.npy");
  const auto [quiet_status, quiet] = run("warn", arguments);
  EXPECT_EQ(quiet_status, 0) << quiet;
  EXPECT_EQ(quiet, "");
  const auto [status, err] = run("loud", arguments);
  EXPECT_NE(status, 0);
  EXPECT_NE(err.find("EINSTREAM_LOG='loud': unknown log level 'loud': expected error, warn, info "
                     "or debug"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace einstream::cli
