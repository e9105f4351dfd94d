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

// Elements of up to 4 bytes fold the result run to a wide tile's length:
// a result run of 32 takes the next axis in, as f64's does not.
TEST(PermutePlan, SmallElementsFoldAResultRunOf32ToAWideTile) {
  // The benchmark's rank 5: the result's innermost mode is 32 long.
  const Extents extents = {32, 32, 32, 32, 64};
  const std::vector<int> moves = {1, 4, 0, 3, 2};
  for (DataType dtype : {DataType::f32, DataType::f16}) {
    const PermutePlan plan = permuted(extents, moves, dtype);
    ASSERT_EQ(plan.variant, PermuteVariant::tiled) << to_string(plan);
    EXPECT_EQ(plan.tiled.result_run.size(), 2u) << to_string(dtype);
    EXPECT_EQ(plan.tiled.result_run_extent, 32 * 32);
    EXPECT_EQ(plan.tiled.result_tile, permute_tiling::kWideTile);
    EXPECT_EQ(plan.tiled.source_run_extent, 64);
  }
  const PermutePlan wide_elements = permuted(extents, moves, DataType::f64);
  EXPECT_EQ(wide_elements.tiled.result_run.size(), 1u);
  EXPECT_EQ(wide_elements.tiled.result_tile, permute_tiling::kTile);
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

// Tiles of 8-byte words: 2 f32 or 4 f16/bf16 a word, 32 x 32 words a tile;
// every extent, stride and step of the word launch counts words.
TEST(PermutePlan, SmallElementsAlsoTileInEightByteWords) {
  const Extents extents = {128, 128, 128, 128};
  const std::vector<int> moves = {3, 1, 0, 2};
  const std::int64_t cube = 128 * 128 * 128;
  for (DataType dtype : {DataType::f32, DataType::f16, DataType::bf16}) {
    SCOPED_TRACE(to_string(dtype));
    const PermutePlan plan = permuted(extents, moves, dtype);
    ASSERT_EQ(plan.variant, PermuteVariant::tiled) << to_string(plan);
    const std::int64_t vector = dtype == DataType::f32 ? 2 : 4;
    EXPECT_EQ(plan.tile_vector, vector);
    const TiledLaunch& words = plan.word_tiled;
    EXPECT_EQ(words.result_tile, permute_tiling::kTile);
    EXPECT_EQ(words.result_run_extent, 128 / vector);
    EXPECT_EQ(words.source_run_extent, 128 / vector);
    EXPECT_EQ(words.result_run_tiles, 128 / vector / permute_tiling::kTile);
    EXPECT_EQ(words.tile_count, (128 / vector / 32) * (128 / vector / 32) * 128 * 128);
    EXPECT_EQ(words.blocks, words.tile_count);
    // The result's unit axis (source axis 2) and the source's (source axis
    // 3, the result's outermost): words along their own layout, strides in
    // the other kept.
    ASSERT_EQ(words.result_run.size(), 1u);
    EXPECT_EQ(words.result_run[0].extent, 128 / vector);
    EXPECT_EQ(words.result_run[0].result_stride, 1);
    EXPECT_EQ(words.result_run[0].source_stride, 128);
    ASSERT_EQ(words.source_run.size(), 1u);
    EXPECT_EQ(words.source_run[0].source_stride, 1);
    EXPECT_EQ(words.source_run[0].result_stride, cube);
    // Any other axis: strides in words.
    ASSERT_EQ(words.outer.size(), 2u);
    EXPECT_EQ(words.outer[0].source_stride, cube / vector);
    EXPECT_EQ(words.outer[0].result_stride, 128 / vector);
    // A thread's block: source rows one element of source axis 2 apart, result columns one
    // element of source axis 3 apart.
    EXPECT_EQ(words.source_step, 128 / vector);
    EXPECT_EQ(words.result_step, cube / vector);
    EXPECT_NE(to_string(plan).find(std::to_string(vector) + "-element words when aligned"),
              std::string::npos)
        << to_string(plan);
    // The element tiles stay for misaligned pointers.
    EXPECT_EQ(plan.tiled.result_tile, permute_tiling::kWideTile);
  }
  for (DataType dtype : {DataType::f64, DataType::c64, DataType::c128}) {
    const PermutePlan plan = permuted(extents, moves, dtype);
    EXPECT_EQ(plan.tile_vector, 1) << to_string(dtype);
    EXPECT_EQ(plan.word_tiled.tile_count, 0);
    EXPECT_EQ(to_string(plan).find("words"), std::string::npos) << to_string(plan);
  }
}

TEST(PermutePlan, WordTilesNeedWholeWordsAlongBothUnitAxesAndInEveryStride) {
  // Words of up to 4 elements whatever the tile count: these tensors are small.
  const auto vector_of = [](DataType dtype, const TensorLayout& source,
                            const TensorLayout& result) {
    const PermutePlan plan = plan_permute(dtype, source, result, permute_tiling::kMaxTileVector);
    EXPECT_EQ(plan.variant, PermuteVariant::tiled) << to_string(plan);
    return plan.tile_vector;
  };
  // Unit axes of 130 and 66: words of 2 elements, not 4.
  EXPECT_EQ(vector_of(DataType::f16, {{66, 130}, {1, 66}}, {{66, 130}, {130, 1}}), 2);
  EXPECT_EQ(vector_of(DataType::f16, {{68, 132}, {1, 68}}, {{68, 132}, {132, 1}}), 4);
  EXPECT_EQ(vector_of(DataType::f32, {{66, 130}, {1, 66}}, {{66, 130}, {130, 1}}), 2);
  EXPECT_EQ(vector_of(DataType::f32, {{33, 65}, {1, 33}}, {{33, 65}, {65, 1}}), 1);
  // One odd unit axis is enough to keep element tiles: the source's (33
  // long), the result's (33 long, its rows padded to 34).
  EXPECT_EQ(vector_of(DataType::f16, {{33, 64}, {1, 34}}, {{33, 64}, {64, 1}}), 1);
  EXPECT_EQ(vector_of(DataType::f16, {{64, 33}, {1, 64}}, {{64, 33}, {34, 1}}), 1);
  // Result rows of 72, 66 and 65 elements.
  const TensorLayout source = {{96, 64}, {1, 96}};
  EXPECT_EQ(vector_of(DataType::f16, source, {{96, 64}, {72, 1}}), 4);
  EXPECT_EQ(vector_of(DataType::f16, source, {{96, 64}, {66, 1}}), 2);
  EXPECT_EQ(vector_of(DataType::f32, source, {{96, 64}, {66, 1}}), 2);
  EXPECT_EQ(vector_of(DataType::f16, source, {{96, 64}, {65, 1}}), 1);
  // A reversed outer axis reads whole words; a reversed source unit axis
  // would read them backwards; a result step of 2 leaves no whole word.
  EXPECT_EQ(vector_of(DataType::f16, {{96, 64}, {1, -96}}, {{96, 64}, {64, 1}}), 4);
  EXPECT_EQ(vector_of(DataType::f16, {{96, 64}, {-1, 96}}, {{96, 64}, {64, 1}}), 1);
  EXPECT_EQ(vector_of(DataType::f32, {{64, 33}, {1, 64}}, {{64, 33}, {68, 2}}), 1);
  // A broadcast result unit axis: a source step of 0.
  const PermutePlan broadcast =
      plan_permute(DataType::f16, {{64, 96, 8}, {1, 64, 0}},
                   {{64, 96, 8}, c_order_strides({64, 96, 8})}, permute_tiling::kMaxTileVector);
  EXPECT_EQ(broadcast.tile_vector, 4) << to_string(broadcast);
  EXPECT_EQ(broadcast.word_tiled.source_step, 0);
  // Past 2^31 elements the element tiles keep 64-bit indexing.
  const PermutePlan large = permuted({2049, 1024, 1024}, {2, 1, 0});
  EXPECT_EQ(large.variant, PermuteVariant::tiled);
  EXPECT_FALSE(large.index32);
  EXPECT_EQ(large.tile_vector, 1);
}

// Word tiles are kTile * tile_vector elements a side; the plan takes the
// largest word whose tiles both runs fill at least half of.
TEST(PermutePlan, WordTilesFoldTheirRunsAndShrinkForShortOnes) {
  // The benchmark's rank 5: the result run folds to 1024 for either word;
  // f16's source run of 64 folds in the next source axis to fill 128.
  const PermutePlan f32 = permuted({32, 32, 32, 32, 64}, {1, 4, 0, 3, 2});
  EXPECT_EQ(f32.tile_vector, 2);
  EXPECT_EQ(f32.word_tiled.result_run.size(), 2u);
  EXPECT_EQ(f32.word_tiled.result_run_extent, 32 * 32 / 2);
  EXPECT_EQ(f32.word_tiled.source_run.size(), 1u);
  const PermutePlan f16 = permuted({32, 32, 32, 32, 64}, {1, 4, 0, 3, 2}, DataType::f16);
  EXPECT_EQ(f16.tile_vector, 4);
  EXPECT_EQ(f16.word_tiled.source_run.size(), 2u);
  EXPECT_EQ(f16.word_tiled.source_run_extent, 64 * 32 / 4);
  // A result run of 40 fills a third of f16's 128-long tile, but most of a
  // 64-long one; one of 24 neither for f32.
  EXPECT_EQ(permuted({40, 300}, {1, 0}, DataType::f16).tile_vector, 2);
  const PermutePlan short_run = permuted({24, 300}, {1, 0});
  EXPECT_EQ(short_run.variant, PermuteVariant::tiled);
  EXPECT_EQ(short_run.tile_vector, 1);
}

// Words of 4 half elements make 32 KiB tiles: under kMinWiderWordTiles of
// them the planner takes words of 2, whose last wave is fuller.
TEST(PermutePlan, HalfTypesTakeWordsOfFourOnlyForEnoughTiles) {
  // 2^22 elements: 256 tiles of 128 x 128, so words of 2 (1024 of 64 x 64).
  const PermutePlan small = permuted({256, 128, 128}, {2, 1, 0}, DataType::f16);
  EXPECT_EQ(small.tile_vector, 2) << to_string(small);
  EXPECT_EQ(small.word_tiled.tile_count, 1024);
  EXPECT_EQ(permuted({128, 128, 128, 128}, {3, 1, 0, 2}, DataType::bf16).tile_vector, 4);
  // 2^24 elements: exactly kMinWiderWordTiles tiles of 128 x 128.
  const Extents cube = {16, 16, 16, 16, 16, 16};
  const PermutePlan at_the_limit = permuted(cube, {5, 3, 1, 4, 0, 2}, DataType::f16);
  EXPECT_EQ(at_the_limit.tile_vector, 4) << to_string(at_the_limit);
  EXPECT_EQ(at_the_limit.word_tiled.tile_count, permute_tiling::kMinWiderWordTiles);
}

TEST(PermutePlan, TheWordCanBeCappedAndElementTilesForced) {
  const Extents extents = {128, 128, 128, 128};
  const std::vector<int> moves = {3, 1, 0, 2};
  const TensorLayout source = {{128, 128, 128, 128}, {1, 128 * 128, 128 * 128 * 128, 128}};
  const TensorLayout result = {source.extents, c_order_strides(source.extents)};
  EXPECT_EQ(permuted(extents, moves, DataType::f16).tile_vector, 4);
  const PermutePlan pairs = plan_permute(DataType::f16, source, result, 2);
  EXPECT_EQ(pairs.tile_vector, 2);
  EXPECT_EQ(pairs.word_tiled.result_run_extent, 64);
  EXPECT_EQ(plan_permute(DataType::f16, source, result, 1).tile_vector, 1);
  EXPECT_EQ(plan_permute(DataType::f32, source, result, 8).tile_vector, 2);
  const PermutePlan elements = with_result_tile(pairs, permute_tiling::kTile);
  EXPECT_EQ(elements.tile_vector, 1);
  EXPECT_EQ(elements.tiled.result_tile, permute_tiling::kTile);
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
}

// Past kMaxRank merged axes (a tensor network's 2^17 elements of bond 2,
// reversed: no two axes stay adjacent) the plan takes the many-axes
// kernel, single elements by linear index over every axis; sixteen still
// take the tuned variants.
TEST(PermutePlan, MoreAxesThanTheTunedKernelsHoldTakeTheManyAxesVariant) {
  const auto reversed_plan = [](int rank) {
    const Extents extents(rank, 2);
    Extents reversed = c_order_strides(extents);
    std::reverse(reversed.begin(), reversed.end());
    return plan_permute(DataType::f32, {extents, c_order_strides(extents)}, {extents, reversed});
  };
  const PermutePlan seventeen = reversed_plan(17);
  EXPECT_TRUE(seventeen.error.empty()) << seventeen.error;
  EXPECT_EQ(seventeen.variant, PermuteVariant::many_axes);
  EXPECT_EQ(seventeen.merged_rank, 17);
  EXPECT_EQ(seventeen.elements.axes.size(), 17u);
  EXPECT_EQ(seventeen.elements.items, std::int64_t{1} << 17);
  EXPECT_EQ(seventeen.elements.blocks,
            (std::int64_t{1} << 17) / permute_tiling::kStridedItemsPerBlock);
  // Innermost in the result first: the result's unit stride, the source's 2^16.
  EXPECT_EQ(seventeen.elements.axes.front().result_stride, 1);
  EXPECT_EQ(seventeen.elements.axes.front().source_stride, std::int64_t{1} << 16);
  EXPECT_EQ(seventeen.vector, 1);
  EXPECT_NE(to_string(seventeen).find("many axes, rank 17"), std::string::npos)
      << to_string(seventeen);
  const PermutePlan sixteen = reversed_plan(16);
  EXPECT_TRUE(sixteen.error.empty()) << sixteen.error;
  EXPECT_NE(sixteen.variant, PermuteVariant::many_axes);
  // Forty axes of a 2^40-element view (never allocated: only planned).
  const PermutePlan forty = reversed_plan(40);
  EXPECT_TRUE(forty.error.empty()) << forty.error;
  EXPECT_EQ(forty.variant, PermuteVariant::many_axes);
  EXPECT_FALSE(forty.index32);
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
