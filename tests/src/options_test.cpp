#include <gtest/gtest.h>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"

namespace einstream {
namespace {

std::uint64_t parsed_bytes(const std::string& text) {
  const MemoryLimit limit = MemoryLimit::parse(text);
  EXPECT_EQ(limit.kind, MemoryLimit::Kind::bytes) << text;
  return limit.resolve(0);
}

TEST(MemoryLimit, SuffixesAreDecimalOrBinary) {
  EXPECT_EQ(parsed_bytes("4GiB"), 4ull << 30);
  EXPECT_EQ(parsed_bytes("512 MiB"), 512ull << 20);
  EXPECT_EQ(parsed_bytes("3KiB"), 3072u);
  EXPECT_EQ(parsed_bytes("1TiB"), 1ull << 40);
  EXPECT_EQ(parsed_bytes("2GB"), 2000000000u);
  EXPECT_EQ(parsed_bytes("1500000KB"), 1500000000u);
  EXPECT_EQ(parsed_bytes("7MB"), 7000000u);
  EXPECT_EQ(parsed_bytes("100B"), 100u);
  EXPECT_EQ(parsed_bytes("1.5gib"), 3ull << 29);
}

TEST(MemoryLimit, PlainIntegersAboveOneAreBytes) {
  EXPECT_EQ(parsed_bytes("1000000"), 1000000u);
  EXPECT_EQ(parsed_bytes("1e9"), 1000000000u);
}

TEST(MemoryLimit, NumbersInUnitIntervalAreFractionsOfDeviceMemory) {
  const MemoryLimit half = MemoryLimit::parse("0.5");
  EXPECT_EQ(half.kind, MemoryLimit::Kind::fraction);
  EXPECT_EQ(half.resolve(1000), 500u);
  const MemoryLimit all = MemoryLimit::parse("1");
  EXPECT_EQ(all.kind, MemoryLimit::Kind::fraction);
  EXPECT_EQ(all.resolve(80ull << 30), 80ull << 30);
}

TEST(MemoryLimit, MalformedSizesAreErrorsThatShowTheSyntax) {
  for (const char* text : {"", "abc", "-1", "0", "1.5", "4XB", "0GiB", "GiB", "nan", "-2GiB"}) {
    try {
      MemoryLimit::parse(text);
      ADD_FAILURE() << "no exception for '" << text << "'";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("GiB"), std::string::npos) << error.what();
    }
  }
}

TEST(MemoryLimit, FactoriesRejectEmptyBudgets) {
  EXPECT_THROW(MemoryLimit::from_bytes(0), Error);
  EXPECT_THROW(MemoryLimit::from_fraction(0.0), Error);
  EXPECT_THROW(MemoryLimit::from_fraction(1.01), Error);
  EXPECT_EQ(MemoryLimit::from_bytes(123).resolve(1), 123u);
}

TEST(MemoryLimit, PrintsReadably) {
  EXPECT_EQ(to_string(MemoryLimit::from_fraction(0.9)), "90% of device memory");
  EXPECT_EQ(to_string(MemoryLimit::from_bytes(2ull << 30)), "2 GiB");
  EXPECT_EQ(to_string(MemoryLimit::from_bytes(100)), "100 bytes");
}

TEST(Options, BackendAndPathNamesRoundTrip) {
  for (Backend backend : {Backend::automatic, Backend::host, Backend::cuda}) {
    EXPECT_EQ(backend_from_string(to_string(backend)), backend);
  }
  for (PathAlgorithm path :
       {PathAlgorithm::automatic, PathAlgorithm::naive, PathAlgorithm::greedy,
        PathAlgorithm::optimal, PathAlgorithm::dp, PathAlgorithm::random_greedy}) {
    EXPECT_EQ(path_algorithm_from_string(to_string(path)), path);
  }
  EXPECT_THROW(backend_from_string("gpu"), Error);
  EXPECT_THROW(path_algorithm_from_string("best"), Error);
}

}  // namespace
}  // namespace einstream
