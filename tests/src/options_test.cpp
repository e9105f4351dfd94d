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

TEST(MemoryLimit, OneLetterSuffixesAreBinary) {
  EXPECT_EQ(parsed_bytes("4G"), 4ull << 30);
  EXPECT_EQ(parsed_bytes("4g"), 4ull << 30);
  EXPECT_EQ(parsed_bytes("4K"), 4096u);
  EXPECT_EQ(parsed_bytes("4M"), 4ull << 20);
  EXPECT_EQ(parsed_bytes("4T"), 4ull << 40);
  EXPECT_EQ(parsed_bytes("1.5 G"), 3ull << 29);
}

TEST(MemoryLimit, PlainIntegersFromOneKiBOnAreBytes) {
  EXPECT_EQ(parsed_bytes("1000000"), 1000000u);
  EXPECT_EQ(parsed_bytes("1e9"), 1000000000u);
  EXPECT_EQ(parsed_bytes("1024"), 1024u);
  EXPECT_EQ(parsed_bytes("2B"), 2u);
  EXPECT_EQ(parsed_bytes("1B"), 1u);
}

// Below 1 KiB a bare integer is more likely a mistaken share of the device
// ("2", "90") than a budget of a few bytes: refused, naming both spellings.
TEST(MemoryLimit, BareIntegersBelowOneKiBAreAmbiguousAndRefused) {
  for (const char* text : {"2", "90", "512", "1023", "1e2", " 64 "}) {
    try {
      MemoryLimit::parse(text);
      ADD_FAILURE() << "no exception for '" << text << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("ambiguous"), std::string::npos) << message;
      EXPECT_NE(message.find("below 1024"), std::string::npos) << message;
      EXPECT_NE(message.find("%' for a percentage"), std::string::npos) << message;
      EXPECT_NE(message.find("B' for bytes"), std::string::npos) << message;
    }
  }
  try {
    MemoryLimit::parse("90");
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("write '90%' for a percentage or '90B' for bytes"),
              std::string::npos)
        << error.what();
  }
}

TEST(MemoryLimit, NumbersInUnitIntervalAreFractionsOfDeviceMemory) {
  const MemoryLimit half = MemoryLimit::parse("0.5");
  EXPECT_EQ(half.kind, MemoryLimit::Kind::fraction);
  EXPECT_EQ(half.resolve(1000), 500u);
  for (const char* text : {"1.0", "1.", "100%", " 100 % "}) {
    const MemoryLimit all = MemoryLimit::parse(text);
    EXPECT_EQ(all.kind, MemoryLimit::Kind::fraction) << text;
    EXPECT_EQ(all.resolve(80ull << 30), 80ull << 30) << text;
  }
}

TEST(MemoryLimit, PercentagesAreFractionsOfDeviceMemory) {
  const MemoryLimit ninety = MemoryLimit::parse("90%");
  EXPECT_EQ(ninety.kind, MemoryLimit::Kind::fraction);
  EXPECT_EQ(ninety.resolve(1000), 900u);
  EXPECT_EQ(MemoryLimit::parse("12.5%").resolve(800), 100u);
  for (const char* text : {"0%", "100.5%", "150%", "-5%", "%"}) {
    EXPECT_THROW(MemoryLimit::parse(text), Error) << text;
  }
}

// A bare "1" could mean one byte or the whole device; neither guess is safe.
TEST(MemoryLimit, BareOneIsAmbiguousAndRefused) {
  for (const char* text : {"1", "1e0", " 1 "}) {
    try {
      MemoryLimit::parse(text);
      ADD_FAILURE() << "no exception for '" << text << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("ambiguous"), std::string::npos) << message;
      EXPECT_NE(message.find("'1.0' or '100%'"), std::string::npos) << message;
      EXPECT_NE(message.find("'1B'"), std::string::npos) << message;
    }
  }
}

// Regression: 1e30 used to convert a double past 2^64 to uint64 (undefined
// behaviour) and report "got 0 bytes".
TEST(MemoryLimit, SizesBeyondSixtyFourBitsAreOutOfRange) {
  for (const char* text : {"1e30", "1e20", "18446744073709551616", "18446744073709551616B",
                           "16777216TiB", "1e30GiB", "17179869184G", "1e400"}) {
    try {
      MemoryLimit::parse(text);
      ADD_FAILURE() << "no exception for '" << text << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("out of range"), std::string::npos) << message;
      EXPECT_EQ(message.find("got 0 bytes"), std::string::npos) << message;
    }
  }
  // The largest representable size is accepted and resolves without overflow.
  EXPECT_EQ(parsed_bytes("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(parsed_bytes("16777215TiB"), 16777215ull << 40);
}

TEST(MemoryLimit, MalformedSizesAreErrorsThatShowTheSyntax) {
  for (const char* text :
       {"",     "  ",  "abc",   "-1",   "0",           "1.5",     "4XB", "0GiB",
        "GiB",  "nan", "-2GiB", "0x10", "0X10",        "0x10GiB", "inf", "infinity",
        "+inf", "1e",  ".",     "0.4B", "4 GiB extra", "2.5"}) {
    try {
      MemoryLimit::parse(text);
      ADD_FAILURE() << "no exception for '" << text << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("GiB"), std::string::npos) << message;
      EXPECT_NE(message.find(std::string("invalid memory limit '") + text + "'"), std::string::npos)
          << message;
    }
  }
}

TEST(MemoryLimit, FactoriesRejectEmptyBudgets) {
  EXPECT_THROW(MemoryLimit::from_bytes(0), Error);
  EXPECT_THROW(MemoryLimit::from_fraction(0.0), Error);
  EXPECT_THROW(MemoryLimit::from_fraction(1.01), Error);
  EXPECT_EQ(MemoryLimit::from_bytes(123).resolve(1), 123u);
  // Stored as a double, the largest byte count rounds to 2^64; resolve()
  // saturates instead of converting an out-of-range double.
  EXPECT_EQ(MemoryLimit::from_bytes(~std::uint64_t{0}).resolve(0), ~std::uint64_t{0});
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
