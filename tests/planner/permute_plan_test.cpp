// The permute kernels' launch plans, on the host: merging, the variant for
// known shapes (the benchmark's transposes among them), packets, index
// width, errors, and the plans lowering gives a Program's permute ops.
#include "planner/permute_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "planner/lower.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"

namespace einstream::detail {
namespace {

using Extents = std::vector<std::int64_t>;

// result[i] = source[perm(i)]: the result row-major over the permuted
// extents, the source row-major over `extents` read through the permutation.
PermutePlan permuted(const Extents& extents, const std::vector<int>& permutation,
                     DataType dtype = DataType::f32) {
  const Extents strides = c_order_strides(extents);
  TensorLayout source, result;
  for (int axis : permutation) {
    source.extents.push_back(extents[axis]);
    source.strides.push_back(strides[axis]);
  }
  result.extents = source.extents;
  result.strides = c_order_strides(result.extents);
  return plan_permute(dtype, source, result);
}

TEST(PermutePlan, APlainCopyIsOneAxisMovedInPackets) {
  const PermutePlan plan = permuted({64, 32, 16}, {0, 1, 2});
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  EXPECT_EQ(plan.variant, PermuteVariant::strided);
  EXPECT_EQ(plan.merged_rank, 1);
  EXPECT_TRUE(plan.index32);
  EXPECT_EQ(plan.elements.items, 64 * 32 * 16);
  EXPECT_EQ(plan.elements.blocks, 64 * 32 * 16 / permute_tiling::kStridedItemsPerBlock);
  EXPECT_EQ(plan.vector, 4);  // 16 bytes of f32
  EXPECT_EQ(plan.packets.items, 64 * 32 * 16 / 4);
  EXPECT_EQ(plan.packets.axes.front().extent, 64 * 32 * 16 / 4);
  // Packets are 16 bytes whatever the type: 2 f64, 2 c64, 1 c128 (none).
  EXPECT_EQ(permuted({64, 32}, {0, 1}, DataType::f64).vector, 2);
  EXPECT_EQ(permuted({64, 32}, {0, 1}, DataType::c64).vector, 2);
  EXPECT_EQ(permuted({64, 32}, {0, 1}, DataType::c128).vector, 1);
}

TEST(PermutePlan, HalfTypesAreLaunchableAndMoveEightElementPackets) {
  for (DataType dtype : {DataType::f16, DataType::bf16}) {
    SCOPED_TRACE(to_string(dtype));
    const PermutePlan copy = permuted({64, 32, 16}, {0, 1, 2}, dtype);
    ASSERT_TRUE(copy.error.empty()) << copy.error;
    EXPECT_EQ(copy.variant, PermuteVariant::strided);
    EXPECT_EQ(copy.merged_rank, 1);
    EXPECT_EQ(copy.elements.items, 64 * 32 * 16);
    EXPECT_EQ(copy.vector, 8);  // 16 bytes of 2-byte elements
    EXPECT_EQ(copy.packets.items, 64 * 32 * 16 / 8);
    EXPECT_EQ(copy.packets.axes.front().extent, 64 * 32 * 16 / 8);
    EXPECT_EQ(copy.packets.blocks,
              (copy.packets.items + permute_tiling::kStridedItemsPerBlock - 1) /
                  permute_tiling::kStridedItemsPerBlock);
    EXPECT_NE(to_string(copy).find("8-element packets"), std::string::npos) << to_string(copy);

    // Packets need every outer stride a whole number of 8 elements: rows of
    // 8 pack, rows of 12 (a multiple of f32's 4) do not, nor an odd extent.
    const PermutePlan rows_of_8 = plan_permute(dtype, {{16, 8}, {16, 1}}, {{16, 8}, {8, 1}});
    EXPECT_EQ(rows_of_8.vector, 8);
    for (std::size_t i = 1; i < rows_of_8.packets.axes.size(); ++i) {
      EXPECT_EQ(rows_of_8.packets.axes[i].source_stride * 8,
                rows_of_8.elements.axes[i].source_stride);
      EXPECT_EQ(rows_of_8.packets.axes[i].result_stride * 8,
                rows_of_8.elements.axes[i].result_stride);
    }
    EXPECT_EQ(plan_permute(dtype, {{16, 12}, {20, 1}}, {{16, 12}, {12, 1}}).vector, 1);
    EXPECT_EQ(plan_permute(DataType::f32, {{16, 12}, {20, 1}}, {{16, 12}, {12, 1}}).vector, 4);
    EXPECT_EQ(permuted({7, 9}, {0, 1}, dtype).vector, 1);

    // A transpose tiles exactly as f32 does: the tiling counts elements.
    const PermutePlan transpose = permuted({128, 128, 128, 128}, {3, 1, 0, 2}, dtype);
    const PermutePlan f32_transpose = permuted({128, 128, 128, 128}, {3, 1, 0, 2});
    ASSERT_TRUE(transpose.error.empty()) << transpose.error;
    EXPECT_EQ(transpose.variant, PermuteVariant::tiled);
    EXPECT_EQ(transpose.tiled.tile_count, f32_transpose.tiled.tile_count);
    EXPECT_EQ(transpose.tiled.blocks, f32_transpose.tiled.blocks);
    EXPECT_EQ(transpose.tiled.result_run_extent, f32_transpose.tiled.result_run_extent);
    EXPECT_EQ(transpose.tiled.source_run_extent, f32_transpose.tiled.source_run_extent);
    EXPECT_TRUE(transpose.index32);
    // Index width counts elements too: 2^31 two-byte elements need 64 bits.
    EXPECT_FALSE(permuted({2049, 1024, 1024}, {1, 0, 2}, dtype).index32);
  }
}

TEST(PermutePlan, AnInnermostModeThatStaysIsStridedAndPacked) {
  // (1, 0, 2) of 64^3: the unit-stride axis stays innermost.
  const PermutePlan plan = permuted({64, 64, 64}, {1, 0, 2});
  EXPECT_EQ(plan.variant, PermuteVariant::strided);
  EXPECT_EQ(plan.merged_rank, 3);
  EXPECT_EQ(plan.vector, 4);
  ASSERT_EQ(plan.packets.axes.size(), 3u);
  EXPECT_EQ(plan.packets.axes[0].extent, 16);
  EXPECT_EQ(plan.packets.axes[1].source_stride, 64 * 64 / 4);
  // An odd innermost extent cannot be cut into packets.
  EXPECT_EQ(permuted({64, 64, 63}, {1, 0, 2}).vector, 1);
}

TEST(PermutePlan, AnInnermostModeThatMovesIsTiled) {
  // The benchmark's 128^4 (3, 1, 0, 2).
  const PermutePlan plan = permuted({128, 128, 128, 128}, {3, 1, 0, 2});
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  EXPECT_EQ(plan.variant, PermuteVariant::tiled);
  EXPECT_EQ(plan.merged_rank, 4);
  EXPECT_EQ(plan.tiled.result_run_extent, 128);
  EXPECT_EQ(plan.tiled.source_run_extent, 128);
  // f32: tiles 64 long along the result run, 32 along the source run.
  EXPECT_EQ(plan.tiled.result_tile, permute_tiling::kWideTile);
  EXPECT_EQ(plan.tiled.result_run_tiles, 2);
  EXPECT_EQ(plan.tiled.source_run_tiles, 4);
  ASSERT_EQ(plan.tiled.source_run.size(), 1u);
  EXPECT_EQ(plan.tiled.source_run[0].source_stride, 1);
  ASSERT_EQ(plan.tiled.result_run.size(), 1u);
  EXPECT_EQ(plan.tiled.result_run[0].result_stride, 1);
  EXPECT_EQ(plan.tiled.outer.size(), 2u);
  EXPECT_EQ(plan.tiled.tile_count, 2 * 4 * 128 * 128);
  EXPECT_EQ(plan.tiled.blocks, 2 * 4 * 128 * 128);
}

// Tiles hold 8 KiB: 64 x 32 for elements of up to 4 bytes where the result
// run is that long, 32 x 32 otherwise; the other width can be asked for.
TEST(PermutePlan, TileWidthFollowsTheElementSize) {
  const Extents extents = {128, 128, 128, 128};
  const std::vector<int> moves = {3, 1, 0, 2};
  for (DataType dtype : {DataType::f16, DataType::bf16, DataType::f32}) {
    EXPECT_EQ(permuted(extents, moves, dtype).tiled.result_tile, permute_tiling::kWideTile)
        << to_string(dtype);
  }
  for (DataType dtype : {DataType::f64, DataType::c64, DataType::c128}) {
    EXPECT_EQ(permuted(extents, moves, dtype).tiled.result_tile, permute_tiling::kTile)
        << to_string(dtype);
  }
  // A result run of 40: one wide tile would leave most of it idle.
  const PermutePlan short_run = permuted({40, 128}, {1, 0});
  ASSERT_EQ(short_run.variant, PermuteVariant::tiled) << to_string(short_run);
  EXPECT_EQ(short_run.tiled.result_tile, permute_tiling::kTile);

  const PermutePlan narrow = with_result_tile(permuted(extents, moves), permute_tiling::kTile);
  EXPECT_EQ(narrow.tiled.result_tile, permute_tiling::kTile);
  EXPECT_EQ(narrow.tiled.result_run_tiles, 4);
  EXPECT_EQ(narrow.tiled.tile_count, 4 * 4 * 128 * 128);
  EXPECT_NE(to_string(narrow).find("tiles of 32x32"), std::string::npos) << to_string(narrow);
  EXPECT_THROW(with_result_tile(permuted(extents, moves), 48), Error);
  EXPECT_THROW(with_result_tile(permuted(extents, {0, 1, 2, 3}), permute_tiling::kTile), Error);
}

TEST(PermutePlan, ShortInnerModesFoldIntoTheTileRuns) {
  // 16^6 reversed: no axis merges, each run folds two axes to span a tile.
  std::vector<int> reversed(6);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  const PermutePlan plan = permuted(Extents(6, 16), reversed);
  EXPECT_EQ(plan.variant, PermuteVariant::tiled);
  EXPECT_EQ(plan.merged_rank, 6);
  EXPECT_EQ(plan.tiled.result_run.size(), 2u);
  EXPECT_EQ(plan.tiled.source_run.size(), 2u);
  EXPECT_EQ(plan.tiled.result_run_extent, 256);
  EXPECT_EQ(plan.tiled.source_run_extent, 256);
  // Modes that move together merge: two groups of them leave rank 2, one
  // pair among single modes rank 4.
  EXPECT_EQ(permuted(Extents(6, 16), {4, 5, 0, 1, 2, 3}).merged_rank, 2);
  EXPECT_EQ(permuted(Extents(6, 16), {0, 2, 3, 1, 4, 5}).merged_rank, 4);
  // Runs that cannot span kMinTileRun stay strided.
  const PermutePlan narrow = permuted({1000, 1000, 4}, {2, 0, 1});
  EXPECT_EQ(narrow.variant, PermuteVariant::strided);
  EXPECT_EQ(narrow.vector, 1);
}

TEST(PermutePlan, BroadcastsAndDiagonalsAreStrided) {
  // An outer broadcast axis (stride 0) is a whole number of packets.
  const PermutePlan rows = plan_permute(DataType::f32, {{64, 64}, {0, 1}}, {{64, 64}, {64, 1}});
  EXPECT_EQ(rows.variant, PermuteVariant::strided);
  EXPECT_EQ(rows.vector, 4);
  // A source without a unit-stride axis: element by element.
  const PermutePlan scalar = plan_permute(DataType::f32, {{64}, {0}}, {{64}, {1}});
  EXPECT_EQ(scalar.variant, PermuteVariant::strided);
  EXPECT_EQ(scalar.vector, 1);
  const PermutePlan diagonal = plan_permute(DataType::f64, {{64}, {65}}, {{64}, {1}});
  EXPECT_EQ(diagonal.variant, PermuteVariant::strided);
  EXPECT_EQ(diagonal.vector, 1);
  EXPECT_EQ(diagonal.elements.axes[0].source_stride, 65);
}

TEST(PermutePlan, ScalarsAreOneElementAndEmptyViewsLaunchNothing) {
  const PermutePlan scalar = plan_permute(DataType::f32, {{}, {}}, {{}, {}});
  EXPECT_EQ(scalar.variant, PermuteVariant::strided);
  EXPECT_EQ(scalar.elements.items, 1);
  const PermutePlan empty = plan_permute(DataType::f32, {{3, 0}, {0, 1}}, {{3, 0}, {0, 1}});
  EXPECT_EQ(empty.variant, PermuteVariant::none);
  EXPECT_TRUE(empty.error.empty());
}

TEST(PermutePlan, TensorsPastTwoToThe31ElementsIndexIn64Bits) {
  EXPECT_TRUE(permuted({1024, 1024, 1024}, {1, 0, 2}).index32);
  const PermutePlan large = permuted({2049, 1024, 1024}, {1, 0, 2});
  EXPECT_FALSE(large.index32);
  EXPECT_EQ(large.variant, PermuteVariant::strided);
}

TEST(PermutePlan, LayoutsItCannotLaunchCarryTheReason) {
  const auto error_of = [](const TensorLayout& source, const TensorLayout& result,
                           DataType dtype = DataType::f32) {
    return plan_permute(dtype, source, result).error;
  };
  EXPECT_NE(error_of({{2, 3}, {3, 1}}, {{2, 3, 1}, {3, 1, 1}}).find("rank"), std::string::npos);
  EXPECT_NE(error_of({{2, 3}, {3, 1}}, {{3, 2}, {2, 1}}).find("different"), std::string::npos);
  EXPECT_NE(error_of({{2, 3}, {3, 1}}, {{2, 3}, {-3, 1}}).find("negative"), std::string::npos);
  EXPECT_NE(error_of({{2, 3}, {3}}, {{2, 3}, {3, 1}}).find("strides"), std::string::npos);
  // Seventeen axes of extent 2, reversed: none stays adjacent.
  const Extents extents(17, 2);
  Extents reversed = c_order_strides(extents);
  std::reverse(reversed.begin(), reversed.end());
  const PermutePlan plan =
      plan_permute(DataType::f32, {extents, c_order_strides(extents)}, {extents, reversed});
  EXPECT_NE(plan.error.find("at most 16"), std::string::npos) << plan.error;
  EXPECT_NE(to_string(plan).find("not launchable"), std::string::npos);
  // Sixteen are launchable.
  const Extents sixteen(16, 2);
  Extents sixteen_reversed = c_order_strides(sixteen);
  std::reverse(sixteen_reversed.begin(), sixteen_reversed.end());
  EXPECT_TRUE(
      plan_permute(DataType::f32, {sixteen, c_order_strides(sixteen)}, {sixteen, sixteen_reversed})
          .error.empty());
}

TEST(PermutePlan, PrintsItsVariantAndGrid) {
  const std::string tiled = to_string(permuted({128, 128, 128, 128}, {3, 1, 0, 2}));
  EXPECT_NE(tiled.find("tiled, rank 4, 32-bit"), std::string::npos) << tiled;
  const std::string copy = to_string(permuted({64, 64}, {0, 1}));
  EXPECT_NE(copy.find("4-element packets"), std::string::npos) << copy;
}

TEST(PermutePlan, LoweringPlansEveryPermuteOp) {
  // A transpose into the caller's output is one permute op.
  const std::vector<Extents> shapes = {{256, 192}};
  const Problem problem = parse("ij->ji", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const Program program = lower(problem, path, DataType::f64, {c_order_strides(shapes[0])},
                                c_order_strides({192, 256}));
  ASSERT_EQ(program.ops.size(), 1u);
  const Op& op = program.ops[0];
  ASSERT_EQ(op.kind, OpKind::permute);
  EXPECT_EQ(op.permute_plan.dtype, DataType::f64);
  EXPECT_EQ(op.permute_plan.variant, PermuteVariant::tiled);
  EXPECT_EQ(to_string(op.permute_plan),
            to_string(plan_permute(DataType::f64, op.sources[0].layout, op.result.layout)));
}

}  // namespace
}  // namespace einstream::detail
