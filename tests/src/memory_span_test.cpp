#include "src/memory_span.hpp"

#include <gtest/gtest.h>

namespace einstream::detail {
namespace {

TEST(MemorySpan, CoversEveryAddressedByte) {
  float data[12] = {};
  const MemorySpan dense = memory_span(TensorDesc(DataType::f32, {3, 4}), data);
  EXPECT_EQ(dense.end - dense.begin, 12 * sizeof(float));
  // A negative stride reaches below the pointer.
  const MemorySpan reversed = memory_span(TensorDesc(DataType::f32, {4}, {-1}), data + 3);
  EXPECT_EQ(reversed.begin, reinterpret_cast<std::uintptr_t>(data));
  EXPECT_EQ(reversed.end, reinterpret_cast<std::uintptr_t>(data + 4));
  EXPECT_EQ(memory_span(TensorDesc(DataType::f32, {0, 4}), data).end, 0u);
}

TEST(MemorySpan, OverlapNeedsSharedBytes) {
  float data[8] = {};
  const MemorySpan first = memory_span(TensorDesc(DataType::f32, {4}), data);
  const MemorySpan second = memory_span(TensorDesc(DataType::f32, {4}), data + 4);
  const MemorySpan middle = memory_span(TensorDesc(DataType::f32, {2}), data + 3);
  EXPECT_FALSE(overlaps(first, second));
  EXPECT_TRUE(overlaps(first, middle));
  EXPECT_TRUE(overlaps(middle, second));
  EXPECT_FALSE(overlaps(first, MemorySpan{}));
}

TEST(MemorySpan, DistinctElementsNeedNonAliasingStrides) {
  EXPECT_TRUE(elements_are_distinct({3, 4}, {4, 1}));
  EXPECT_TRUE(elements_are_distinct({3, 4}, {1, 3}));
  EXPECT_TRUE(elements_are_distinct({3, 4}, {-4, -1}));
  EXPECT_TRUE(elements_are_distinct({3, 1}, {1, 0}));
  EXPECT_TRUE(elements_are_distinct({0, 5}, {0, 0}));
  EXPECT_FALSE(elements_are_distinct({3, 4}, {0, 1}));
  EXPECT_FALSE(elements_are_distinct({3, 4}, {2, 1}));
}

}  // namespace
}  // namespace einstream::detail
