// Replays every checked-in fuzz input (the seed corpus and the inputs that
// once crashed or gave a wrong result) through the fuzz targets, so the
// normal test suite, and the sanitizer build of it, keeps them fixed.
//
// A new crash input from scripts/fuzz.sh goes to tests/fuzz/regressions/<target>/
// under a name that says what it broke.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/targets.hpp"

namespace einstream::fuzz {
namespace {

using Target = std::string (*)(const std::uint8_t*, std::size_t);

// Inputs under tests/fuzz/<folder>/<target>/, in name order; dot files (such
// as .gitkeep) are not inputs.
std::vector<std::filesystem::path> inputs_in(const std::string& folder, const std::string& target) {
  const std::filesystem::path directory =
      std::filesystem::path(EINSTREAM_FUZZ_DIR) / folder / target;
  std::vector<std::filesystem::path> paths;
  if (!std::filesystem::is_directory(directory)) return paths;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Returns how many inputs were replayed.
std::size_t replay(const std::string& target_name, Target target) {
  std::size_t count = 0;
  for (const char* folder : {"corpus", "regressions"}) {
    for (const auto& path : inputs_in(folder, target_name)) {
      const std::vector<std::uint8_t> bytes = read_bytes(path);
      EXPECT_EQ(target(bytes.data(), bytes.size()), "") << "input " << path;
      ++count;
    }
  }
  return count;
}

TEST(FuzzRegressions, ParserInputsParseOrFailCleanly) {
  EXPECT_GT(replay("parse", parse_target), 0u) << "no inputs under " << EINSTREAM_FUZZ_DIR;
}

TEST(FuzzRegressions, NpyInputsReadOrFailCleanlyAndRoundTrip) {
  EXPECT_GT(replay("npy", npy_target), 0u) << "no inputs under " << EINSTREAM_FUZZ_DIR;
}

TEST(FuzzRegressions, PlanInputsMatchTheReference) {
  EXPECT_GT(replay("plan", plan_target), 0u) << "no inputs under " << EINSTREAM_FUZZ_DIR;
}

TEST(FuzzRegressions, NetworkFileInputsReadOrFailCleanlyAndRoundTrip) {
  EXPECT_GT(replay("network", network_target), 0u) << "no inputs under " << EINSTREAM_FUZZ_DIR;
}

}  // namespace
}  // namespace einstream::fuzz
