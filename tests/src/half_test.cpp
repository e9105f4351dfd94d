// float16 and bfloat16: every bit pattern round-trips through float, and
// float rounds to the nearest representable value, ties to even.
#include "einstream/half.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "einstream/tensor.hpp"

namespace einstream {
namespace {

bool is_nan_half(std::uint16_t bits) { return (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu); }
bool is_nan_bfloat(std::uint16_t bits) { return (bits & 0x7f80u) == 0x7f80u && (bits & 0x7fu); }

TEST(Half, EveryFloat16RoundTripsThroughFloat) {
  for (std::uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const auto half = float16::from_bits(static_cast<std::uint16_t>(bits));
    const float value = half;
    if (is_nan_half(half.bits)) {
      EXPECT_TRUE(std::isnan(value)) << bits;
      EXPECT_TRUE(is_nan_half(float16(value).bits)) << bits;
      continue;
    }
    EXPECT_EQ(float16(value).bits, half.bits) << "bits 0x" << std::hex << bits;
  }
}

TEST(Half, Float16DecodesKnownValues) {
  EXPECT_EQ(float(float16::from_bits(0x3c00)), 1.0f);
  EXPECT_EQ(float(float16::from_bits(0xc000)), -2.0f);
  EXPECT_EQ(float(float16::from_bits(0x7bff)), 65504.0f);
  EXPECT_EQ(float(float16::from_bits(0x0400)), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(float(float16::from_bits(0x0001)), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(float(float16::from_bits(0x7c00)), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(float(float16::from_bits(0x8000))));
}

// Between two neighbouring finite values a < b (in magnitude, same sign), the
// midpoint goes to the one with an even mantissa, and anything off the
// midpoint to the nearer one. Midpoints are exact in float.
TEST(Half, Float16RoundsToNearestTiesToEven) {
  for (std::uint32_t bits = 0; bits < 0x7bffu; ++bits) {
    for (std::uint32_t sign : {0u, 0x8000u}) {
      const auto low = float16::from_bits(static_cast<std::uint16_t>(bits | sign));
      const auto high = float16::from_bits(static_cast<std::uint16_t>((bits + 1) | sign));
      const float a = low;
      const float b = high;
      const float middle = (a + b) / 2;
      const std::uint16_t even = (bits & 1u) ? high.bits : low.bits;
      ASSERT_EQ(float16(middle).bits, even) << "between 0x" << std::hex << bits << " and next";
      ASSERT_EQ(float16(std::nextafter(middle, a)).bits, low.bits) << std::hex << bits;
      ASSERT_EQ(float16(std::nextafter(middle, b)).bits, high.bits) << std::hex << bits;
    }
  }
}

TEST(Half, Float16OverflowsToInfinityAndKeepsNan) {
  EXPECT_EQ(float16(65519.0f).bits, 0x7bffu);  // below the midpoint to 2^16
  EXPECT_EQ(float16(65520.0f).bits, 0x7c00u);  // the midpoint rounds to even: infinity
  EXPECT_EQ(float16(1e10f).bits, 0x7c00u);
  EXPECT_EQ(float16(-1e10f).bits, 0xfc00u);
  EXPECT_EQ(float16(std::numeric_limits<float>::infinity()).bits, 0x7c00u);
  EXPECT_TRUE(is_nan_half(float16(std::numeric_limits<float>::quiet_NaN()).bits));
  EXPECT_EQ(float16(std::ldexp(1.0f, -26)).bits, 0x0000u);  // under half the smallest subnormal
  EXPECT_EQ(float16(std::ldexp(3.0f, -26)).bits, 0x0001u);
}

TEST(Half, EveryBfloat16RoundTripsThroughFloat) {
  for (std::uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const auto value = bfloat16::from_bits(static_cast<std::uint16_t>(bits));
    const float wide = value;
    if (is_nan_bfloat(value.bits)) {
      EXPECT_TRUE(std::isnan(wide));
      EXPECT_TRUE(is_nan_bfloat(bfloat16(wide).bits));
      continue;
    }
    EXPECT_EQ(bfloat16(wide).bits, value.bits) << "bits 0x" << std::hex << bits;
  }
}

TEST(Half, Bfloat16RoundsToNearestTiesToEven) {
  for (std::uint32_t bits = 0; bits < 0x7f7fu; ++bits) {
    const auto low = bfloat16::from_bits(static_cast<std::uint16_t>(bits));
    const auto high = bfloat16::from_bits(static_cast<std::uint16_t>(bits + 1));
    const float a = low;
    const float b = high;
    const float middle = a + (b - a) / 2;  // (a + b) / 2 overflows near the top
    const std::uint16_t even = (bits & 1u) ? high.bits : low.bits;
    ASSERT_EQ(bfloat16(middle).bits, even) << std::hex << bits;
    ASSERT_EQ(bfloat16(std::nextafter(middle, a)).bits, low.bits) << std::hex << bits;
    ASSERT_EQ(bfloat16(std::nextafter(middle, b)).bits, high.bits) << std::hex << bits;
  }
  EXPECT_EQ(bfloat16(std::numeric_limits<float>::max()).bits, 0x7f80u);  // rounds to infinity
  EXPECT_EQ(float(bfloat16(1.0f)), 1.0f);
}

TEST(Half, DataTypesOfTheStorageTypes) {
  static_assert(data_type_of<float16>() == DataType::f16);
  static_assert(data_type_of<bfloat16>() == DataType::bf16);
  EXPECT_EQ(size_of(data_type_of<float16>()), sizeof(float16));
  EXPECT_EQ(size_of(data_type_of<bfloat16>()), sizeof(bfloat16));
}

}  // namespace
}  // namespace einstream
