#include "src/axis_merge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

using Extents = std::vector<std::int64_t>;

TEST(AxisMerge, ContiguousCopyBecomesRankOne) {
  const MergedAxes merged = merge_axes({4, 5, 6}, {{30, 6, 1}, {30, 6, 1}});
  EXPECT_EQ(merged.extents, Extents({120}));
  EXPECT_EQ(merged.strides[0], Extents({1}));
  EXPECT_EQ(merged.strides[1], Extents({1}));
}

TEST(AxisMerge, AxesThatMoveTogetherMerge) {
  // Result C-order over (a, b, c) = source (b, c, a): b and c stay adjacent.
  const MergedAxes merged = merge_axes({2, 3, 4}, {{1, 8, 2}, {12, 4, 1}});
  EXPECT_EQ(merged.extents, Extents({2, 12}));
  EXPECT_EQ(merged.strides[0], Extents({1, 2}));
  EXPECT_EQ(merged.strides[1], Extents({12, 1}));
}

TEST(AxisMerge, DropsUnitAxesAndKeepsZeroExtents) {
  EXPECT_EQ(merge_axes({1, 5, 1}, {{5, 1, 1}}).extents, Extents({5}));
  EXPECT_EQ(merge_axes({1, 1}, {{1, 1}}).rank(), 0);
  EXPECT_EQ(merge_axes({}, {{}}).rank(), 0);
  EXPECT_EQ(merge_axes({3, 0}, {{1, 3}}).extents, Extents({0}));
  EXPECT_THROW(merge_axes({3, 4}, {{1}}), Error);
}

TEST(AxisMerge, BroadcastAxesMergeOnlyWithBroadcastAxes) {
  // A zero-stride layout merges its two broadcast axes, but the other
  // layout's strides must allow it too.
  EXPECT_EQ(merge_axes({3, 4}, {{0, 0}, {4, 1}}).extents, Extents({12}));
  EXPECT_EQ(merge_axes({3, 4}, {{0, 1}, {4, 1}}).extents, Extents({3, 4}));
}

// Random layouts: visiting the merged index space gives the same sequence of
// offsets, layout by layout, as visiting the original one.
TEST(AxisMerge, RandomLayoutsVisitTheSameOffsets) {
  auto offsets = [](const Extents& extents, const Extents& strides) {
    std::vector<std::int64_t> visited{0};
    for (std::size_t axis = extents.size(); axis-- > 0;) {
      std::vector<std::int64_t> next;
      for (std::int64_t index = 0; index < extents[axis]; ++index) {
        for (std::int64_t offset : visited) next.push_back(offset + index * strides[axis]);
      }
      visited = next;
    }
    return visited;
  };
  for (unsigned seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const int rank = static_cast<int>(random() % 6);
    Extents extents;
    for (int axis = 0; axis < rank; ++axis) extents.push_back(1 + random() % 4);
    std::vector<Extents> strides;
    for (int layout = 0; layout < 3; ++layout) {
      // A random permutation of a C-order layout, sometimes with a broadcast.
      std::vector<int> order(rank);
      for (int axis = 0; axis < rank; ++axis) order[axis] = axis;
      if (layout > 0) std::shuffle(order.begin(), order.end(), random);
      Extents layout_strides(rank);
      std::int64_t step = 1;
      for (int position = rank - 1; position >= 0; --position) {
        layout_strides[order[position]] = step;
        step *= extents[order[position]];
      }
      if (rank > 0 && random() % 4 == 0) layout_strides[random() % rank] = 0;
      strides.push_back(layout_strides);
    }
    const MergedAxes merged = merge_axes(extents, strides);
    EXPECT_LE(merged.rank(), rank);
    for (int layout = 0; layout < 3; ++layout) {
      EXPECT_EQ(offsets(merged.extents, merged.strides[layout]),
                offsets(extents, strides[layout]));
    }
  }
}

}  // namespace
}  // namespace einstream::detail
