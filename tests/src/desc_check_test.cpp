// Descriptor checks where tensors enter: every size that later arithmetic
// uses (element count, byte count, byte span) must fit 64 bits, or the
// descriptor is refused with a ShapeError that names it.
#include "src/desc_check.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "einstream/error.hpp"
#include "planner/program.hpp"

namespace einstream::detail {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

void expect_refused(const TensorDesc& desc, const std::string& part) {
  try {
    check_desc(desc, "input 3");
    ADD_FAILURE() << "accepted " << to_string(desc);
  } catch (const ShapeError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("input 3"), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(DescCheck, AcceptsOrdinaryStridedAndEmptyTensors) {
  EXPECT_NO_THROW(check_desc(TensorDesc(DataType::f32, {2, 3}), "x"));
  EXPECT_NO_THROW(check_desc(TensorDesc(DataType::c128, {4, 5}, {-1, 8}), "x"));
  EXPECT_NO_THROW(check_desc(TensorDesc(DataType::f64, {}), "x"));
  // No elements, so nothing is addressed however large the other extent.
  EXPECT_NO_THROW(check_desc(TensorDesc(DataType::f64, {0, kMax}), "x"));
  EXPECT_EQ(checked_byte_count(TensorDesc(DataType::f64, {0, kMax}), "x"), 0);
  EXPECT_EQ(checked_byte_count(TensorDesc(DataType::c64, {3, 7}), "x"), 3 * 7 * 8);
}

TEST(DescCheck, RefusesElementCountsOver64Bits) {
  expect_refused(TensorDesc(DataType::f32, {kMax, 3}), "element count");
  expect_refused(TensorDesc(DataType::f32, {std::int64_t{1} << 32, std::int64_t{1} << 32}),
                 "element count");
}

TEST(DescCheck, RefusesByteCountsThatWrap) {
  // The crafted .npy case: 2^61 + 4096 elements of 8 bytes wrap to 32 KiB.
  const std::int64_t count = (std::int64_t{1} << 61) + 4096;
  expect_refused(TensorDesc(DataType::f64, {count}), "byte count");
  EXPECT_THROW(checked_byte_count(TensorDesc(DataType::f64, {count}), "x"), ShapeError);
  expect_refused(TensorDesc(DataType::c128, {std::int64_t{1} << 60}), "byte count");
}

TEST(DescCheck, RefusesSpansOver64Bits) {
  expect_refused(TensorDesc(DataType::f32, {3, 2}, {kMax / 2, 1}), "byte span");
  expect_refused(TensorDesc(DataType::f32, {2, 2}, {std::numeric_limits<std::int64_t>::min(), 1}),
                 "byte span");
  expect_refused(TensorDesc(DataType::f64, {2}, {kMax / 4}), "byte span");
  // A huge stride on an axis of extent 1 addresses nothing beyond element 0.
  EXPECT_NO_THROW(check_desc(TensorDesc(DataType::f64, {1, 4}, {kMax, 1}), "x"));
}

TEST(DescCheck, RefusesNegativeExtentsAndWrongStrideCounts) {
  expect_refused(TensorDesc(DataType::f32, {2, -1}), "negative extent");
  expect_refused(TensorDesc(DataType::f32, {2, 3}, {1}), "strides for 2 extents");
}

TEST(TensorLayoutCount, ThrowsInsteadOfOverflowing) {
  TensorLayout layout;
  layout.extents = {std::int64_t{1} << 40, std::int64_t{1} << 40};
  EXPECT_THROW(layout.element_count(), ShapeError);
  layout.extents = {std::int64_t{1} << 40, 0, std::int64_t{1} << 40};
  EXPECT_EQ(layout.element_count(), 0);
  layout.extents = {6, 7};
  EXPECT_EQ(layout.element_count(), 42);
}

}  // namespace
}  // namespace einstream::detail
