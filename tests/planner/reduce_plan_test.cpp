// The reduce kernels' launch plans, on the host: the variant chosen for known
// shapes, merging, splits and their workspace, errors, and the workspace a
// lowered Program and its device layout carry from the plans.
#include "planner/reduce_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "planner/device_layout.hpp"
#include "planner/device_plan.hpp"
#include "planner/lower.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"

namespace einstream::detail {
namespace {

using Extents = std::vector<std::int64_t>;

// A reduce of a row-major tensor of `extents` that keeps `kept` (axes, in
// the result's order, the result row-major) and sums the rest, written as
// the op's layouts are: the kept axes first, then the summed ones.
struct Reduction {
  TensorLayout source, result;
};

Reduction reduction(const Extents& extents, const std::vector<int>& kept) {
  const Extents strides = c_order_strides(extents);
  Reduction made;
  for (int axis : kept) {
    made.source.extents.push_back(extents[axis]);
    made.source.strides.push_back(strides[axis]);
    made.result.extents.push_back(extents[axis]);
  }
  made.result.strides = c_order_strides(made.result.extents);
  for (int axis = 0; axis < static_cast<int>(extents.size()); ++axis) {
    if (std::find(kept.begin(), kept.end(), axis) != kept.end()) continue;
    made.source.extents.push_back(extents[axis]);
    made.source.strides.push_back(strides[axis]);
  }
  return made;
}

ReducePlan plan_of(const Extents& extents, const std::vector<int>& kept,
                   DataType dtype = DataType::f32, const DeviceTraits& device = DeviceTraits{}) {
  const Reduction r = reduction(extents, kept);
  return plan_reduce(dtype, r.source, r.result, device);
}

TEST(ReducePlan, KeepingTheContiguousAxesIsAThreadPerOutputOverOneMergedAxis) {
  // ijk->jk: j and k merge into one unit-stride kept axis; a thread owns a
  // vector of 4 outputs, the sums (64) are too short to slice, and 2^16
  // threads of vectors fill the GPU as 2^18 scalar ones would: no splits.
  const ReducePlan plan = plan_of({64, 512, 512}, {1, 2});
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  EXPECT_EQ(plan.variant, ReduceVariant::thread_per_output);
  EXPECT_EQ(plan.outputs, 512 * 512);
  EXPECT_EQ(plan.sum_length, 64);
  ASSERT_EQ(plan.kept.rank, 1);
  EXPECT_EQ(plan.kept.extent[0], 512 * 512);
  EXPECT_EQ(plan.kept.source_stride[0], 1);
  EXPECT_EQ(plan.block_x, reduce_tiling::kBlockThreads);
  EXPECT_EQ(plan.block_y, 1);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.grid_x, 512 * 512 / 4 / reduce_tiling::kBlockThreads);
  EXPECT_EQ(plan.splits, 1);
  EXPECT_EQ(plan.workspace_bytes, 0u);
  EXPECT_EQ(plan.summed.rank, 1);
  EXPECT_EQ(plan.summed.stride[0], 512 * 512);
}

TEST(ReducePlan, FewerOutputsThanFillTheGpuSplitEachSumOverTheBlocksRows) {
  // ijk->jk with 4096 outputs: blocks of 32 outputs x 8 sum slices.
  const ReducePlan plan = plan_of({4096, 64, 64}, {1, 2});
  EXPECT_EQ(plan.variant, ReduceVariant::thread_per_output);
  EXPECT_EQ(plan.block_x, reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.block_y, reduce_tiling::kSlicedRows);
  // Each thread owns a vector of 4 outputs.
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.grid_x, 4096 / 4 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.scalar.grid_x, 4096 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.summed.step_digit[0], reduce_tiling::kSlicedRows);
  // 32 blocks of 256 threads fill a 32nd of the GPU: the sums split to two
  // fills, 64 ways, but no further than 16 elements per thread of a slice
  // (4096 / (8 x 16) = 32).
  EXPECT_EQ(plan.splits, 32);
  EXPECT_EQ(plan.split_length, 4096 / 32);
  EXPECT_EQ(plan.workspace_bytes, 32u * 4096 * sizeof(double));
  EXPECT_EQ(plan.finalize_grid_x, 4096 / 8);
}

TEST(ReducePlan, KeepingAnAxisThatMovesIsATransposeTile) {
  // ijk->ki: the source's unit-stride axis k is kept, the result's is i.
  const ReducePlan plan = plan_of({1024, 64, 1024}, {2, 0});
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  EXPECT_EQ(plan.variant, ReduceVariant::transpose_tile);
  EXPECT_EQ(plan.tile.p_extent, 1024);  // k, read along the source
  EXPECT_EQ(plan.tile.q_extent, 1024);  // i, written along the result
  EXPECT_EQ(plan.tile.p_source_stride, 1);
  EXPECT_EQ(plan.tile.q_result_stride, 1);
  EXPECT_EQ(plan.tile_count, 32 * 32);
  EXPECT_EQ(plan.grid_x, 32 * 32);
  EXPECT_EQ(plan.block_x, reduce_tiling::kTile);
  EXPECT_EQ(plan.block_y, reduce_tiling::kTileRows);
  EXPECT_EQ(plan.kept.rank, 0);
  EXPECT_EQ(plan.summed.step_digit[0], 1);
  EXPECT_EQ(plan.workspace_bytes, 0u);
}

TEST(ReducePlan, SummingTheContiguousAxisIsAWarpPerOutput) {
  // ijk->ij: k is summed with unit stride; many outputs, short sums: 64
  // vectors of 4 a row, so 8 lanes of a warp per row leave each lane 8.
  const ReducePlan plan = plan_of({512, 512, 256}, {0, 1});
  EXPECT_EQ(plan.variant, ReduceVariant::warp_per_output);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.group, 8);
  EXPECT_EQ(plan.grid_x, 512 * 512 / (reduce_tiling::kBlockThreads / 8));
  EXPECT_EQ(plan.summed.step_digit[0], 8 * 4);
  EXPECT_EQ(plan.scalar.summed.step_digit[0], 8);
  EXPECT_EQ(plan.scalar.grid_x, plan.grid_x);
  EXPECT_EQ(plan.splits, 1);
  EXPECT_EQ(plan.workspace_bytes, 0u);
}

TEST(ReducePlan, TinyOutputsWithHugeSumsSplitIntoAWorkspace) {
  // Three outputs, 100003 summed each: a block per output, sums split over
  // gridDim.y, partial sums in double (complex double for c64).
  for (const DataType dtype : {DataType::f32, DataType::c64}) {
    SCOPED_TRACE(to_string(dtype));
    const ReducePlan plan = plan_of({3, 100003}, {0}, dtype);
    EXPECT_EQ(plan.variant, ReduceVariant::block_per_output);
    EXPECT_EQ(plan.grid_x, 3);
    // min(fill / threads = 342, sum / (256 x 16) = 24) splits.
    EXPECT_EQ(plan.splits, 24);
    EXPECT_EQ(plan.split_length, 4167);
    EXPECT_GE(plan.split_length * plan.splits, plan.sum_length);
    EXPECT_LT(plan.split_length * (plan.splits - 1), plan.sum_length);
    EXPECT_EQ(plan.workspace_bytes, 24u * 3 * reduce_accumulator_bytes(dtype));
    EXPECT_EQ(plan.finalize_grid_x, 1);
  }
  EXPECT_EQ(reduce_accumulator_bytes(DataType::c64), 16u);
  // A full sum to a scalar splits as far as kMaxSplits.
  const ReducePlan scalar = plan_of({std::int64_t{1} << 28}, {});
  EXPECT_EQ(scalar.outputs, 1);
  EXPECT_EQ(scalar.variant, ReduceVariant::block_per_output);
  EXPECT_EQ(scalar.splits, reduce_tiling::kMaxSplits);
  EXPECT_EQ(scalar.workspace_bytes, 1024u * sizeof(double));
}

TEST(ReducePlan, HalfTypesAccumulateInFloatAndPlanAsF32Does) {
  EXPECT_EQ(reduce_accumulator_bytes(DataType::f16), sizeof(float));
  EXPECT_EQ(reduce_accumulator_bytes(DataType::bf16), sizeof(float));
  for (const DataType dtype : {DataType::f16, DataType::bf16}) {
    SCOPED_TRACE(to_string(dtype));
    // The variant, grid and splits count elements, not bytes: the same as
    // f32's; only the workspace differs, with 4-byte partial sums.
    const ReducePlan split = plan_of({3, 100003}, {0}, dtype);
    ASSERT_TRUE(split.error.empty()) << split.error;
    EXPECT_EQ(split.variant, ReduceVariant::block_per_output);
    EXPECT_EQ(split.splits, 24);
    EXPECT_EQ(split.split_length, 4167);
    EXPECT_EQ(split.workspace_bytes, 24u * 3 * sizeof(float));
    const ReducePlan sliced = plan_of({4096, 64, 64}, {1, 2}, dtype);
    EXPECT_EQ(sliced.variant, ReduceVariant::thread_per_output);
    EXPECT_EQ(sliced.splits, 32);
    EXPECT_EQ(sliced.workspace_bytes, 32u * 4096 * sizeof(float));
    const ReducePlan tile = plan_of({1024, 64, 1024}, {2, 0}, dtype);
    EXPECT_EQ(tile.variant, ReduceVariant::transpose_tile);
    EXPECT_EQ(tile.tile_count, 32 * 32);
    EXPECT_EQ(tile.workspace_bytes, 0u);
    EXPECT_EQ(plan_of({512, 512, 256}, {0, 1}, dtype).variant, ReduceVariant::warp_per_output);
    EXPECT_EQ(plan_of({5, 0}, {0}, dtype).variant, ReduceVariant::fill_zero);
  }
}

TEST(ReducePlan, TheDevicesFillThreadsDecideTheSplits) {
  DeviceTraits small;
  small.fill_threads = 1024;  // 3 blocks of 256 threads: two splits fill it
  const ReducePlan plan = plan_of({3, 100003}, {0}, DataType::f64, small);
  EXPECT_EQ(plan.splits, 2);
  EXPECT_EQ(plan.workspace_bytes, 2u * 3 * sizeof(double));
}

TEST(ReducePlan, MergesKeptAndSummedAxesSeparatelyAndSortsSummedByStride) {
  // [4, 5] kept, [6, 7] summed, all row-major: one axis each.
  const ReducePlan plan = plan_of({4, 5, 6, 7}, {0, 1});
  ASSERT_EQ(plan.kept.rank, 1);
  EXPECT_EQ(plan.kept.extent[0], 20);
  ASSERT_EQ(plan.summed.rank, 1);
  EXPECT_EQ(plan.summed.extent[0], 42);
  EXPECT_EQ(plan.summed.stride[0], 1);
  // The summed axes listed against memory order still merge (a sum's order
  // is free); kept axes never merge with summed ones.
  const TensorLayout source{{4, 7, 6}, {42, 1, 7}};
  const TensorLayout result{{4}, {1}};
  const ReducePlan sorted = plan_reduce(DataType::f32, source, result);
  ASSERT_EQ(sorted.summed.rank, 1);
  EXPECT_EQ(sorted.summed.extent[0], 42);
  EXPECT_EQ(sorted.kept.rank, 1);
}

TEST(ReducePlan, EmptySumsFillZeroAndEmptyResultsLaunchNothing) {
  const ReducePlan empty_sum = plan_of({5, 0}, {0});
  EXPECT_EQ(empty_sum.variant, ReduceVariant::fill_zero);
  EXPECT_EQ(empty_sum.fill_layout.extents, Extents{5});
  EXPECT_EQ(empty_sum.workspace_bytes, 0u);
  const ReducePlan empty_result = plan_of({0, 100000}, {0});
  EXPECT_EQ(empty_result.variant, ReduceVariant::none);
  EXPECT_EQ(empty_result.workspace_bytes, 0u);
}

TEST(ReducePlan, LayoutsItCannotLaunchCarryTheReason) {
  const auto error_of = [](const TensorLayout& source, const TensorLayout& result,
                           DataType dtype = DataType::f32) {
    return plan_reduce(dtype, source, result).error;
  };
  EXPECT_NE(error_of({{4}, {1}}, {{4, 2}, {2, 1}}).find("rank"), std::string::npos);
  EXPECT_NE(error_of({{4, 3}, {3, 1}}, {{5}, {1}}).find("kept axis 0"), std::string::npos);
  EXPECT_NE(error_of({{4, 3}, {3}}, {{4}, {1}}).find("strides"), std::string::npos);
  EXPECT_NE(error_of({{4, 3}, {3, 1}}, {{4}, {-1}}).find("negative stride"), std::string::npos);
}

// Nine summed axes of extent 2 that do not merge (gaps between them), or 13
// kept ones, are more than the tuned kernels' lists hold: the many-axes
// variant lists them all, a thread per output for short sums and a block
// per output for long ones.
TEST(ReducePlan, MoreAxesThanTheTunedKernelsHoldTakeTheManyAxesVariant) {
  TensorLayout source{{4}, {1}};
  std::int64_t stride = 8;
  for (int axis = 0; axis < 9; ++axis, stride *= 3) {
    source.extents.push_back(2);
    source.strides.push_back(stride);
  }
  const ReducePlan summed = plan_reduce(DataType::f32, source, {{4}, {1}});
  EXPECT_TRUE(summed.error.empty()) << summed.error;
  EXPECT_EQ(summed.variant, ReduceVariant::many_axes);
  EXPECT_EQ(summed.workspace_bytes, 0u);
  EXPECT_EQ(summed.many.kept_extents, Extents({4}));
  EXPECT_EQ(summed.many.summed_extents, Extents(9, 2));
  // Innermost (smallest stride) first.
  EXPECT_EQ(summed.many.summed_strides.front(), 8);
  EXPECT_EQ(summed.many.summed_strides.back(), 8 * 6561);
  EXPECT_TRUE(summed.many.block_per_output);  // 512 terms a sum
  EXPECT_EQ(summed.grid_x, 4);
  EXPECT_NE(to_string(summed).find("many axes"), std::string::npos) << to_string(summed);
  EXPECT_NE(to_string(summed).find("1 kept and 9 summed axes, a block per output"),
            std::string::npos)
      << to_string(summed);

  // Thirteen kept axes of extent 2, reversed in the result; a sum of 3.
  Extents extents(13, 2);
  extents.push_back(3);
  const Extents source_strides = c_order_strides(extents);
  Extents result_strides(13);
  for (int axis = 0; axis < 13; ++axis) result_strides[axis] = std::int64_t{1} << axis;
  const ReducePlan kept =
      plan_reduce(DataType::f32, {extents, source_strides}, {Extents(13, 2), result_strides});
  EXPECT_TRUE(kept.error.empty()) << kept.error;
  EXPECT_EQ(kept.variant, ReduceVariant::many_axes);
  EXPECT_EQ(kept.many.kept_extents.size(), 13u);
  EXPECT_FALSE(kept.many.block_per_output);
  EXPECT_EQ(kept.grid_x, 8192 / reduce_tiling::kBlockThreads);
  // Twelve kept axes still fit the tuned kernels.
  Extents twelve(12, 2);
  twelve.push_back(3);
  Extents twelve_result(12);
  for (int axis = 0; axis < 12; ++axis) twelve_result[axis] = std::int64_t{1} << axis;
  EXPECT_NE(
      plan_reduce(DataType::f32, {twelve, c_order_strides(twelve)}, {Extents(12, 2), twelve_result})
          .variant,
      ReduceVariant::many_axes);
}

TEST(ReducePlan, PrintsItsVariantGridAndWorkspace) {
  const std::string text = to_string(plan_of({3, 100003}, {0}));
  EXPECT_NE(text.find("block per output"), std::string::npos) << text;
  EXPECT_NE(text.find("grid 3x24"), std::string::npos) << text;
  EXPECT_NE(text.find("workspace 576 B"), std::string::npos) << text;
}

TEST(ReducePlan, RowsLoadSixteenByteVectorsAndTheGroupLeavesEachLaneEightLoads) {
  // ijk->ij with rows of 512 (the benchmark's 1 GiB case): the widest
  // vector of each type, and as many lanes as leave each 8 loads.
  struct Expected {
    DataType dtype;
    int width, group;
  };
  for (const Expected& expected :
       {Expected{DataType::f32, 4, 16}, Expected{DataType::bf16, 8, 8},
        Expected{DataType::f16, 8, 8}, Expected{DataType::f64, 2, 32},
        Expected{DataType::c64, 2, 32}, Expected{DataType::c128, 1, 32}}) {
    SCOPED_TRACE(to_string(expected.dtype));
    const ReducePlan plan = plan_of({1024, 512, 512}, {0, 1}, expected.dtype);
    ASSERT_TRUE(plan.error.empty()) << plan.error;
    EXPECT_EQ(plan.variant, ReduceVariant::warp_per_output);
    EXPECT_EQ(plan.vector_width, expected.width);
    EXPECT_EQ(plan.group, expected.group);
    EXPECT_EQ(plan.summed.step_digit[0], expected.group * expected.width);
    EXPECT_EQ(plan.summed.step_rank, 1);
    EXPECT_EQ(plan.scalar.summed.step_digit[0], expected.group);
    EXPECT_EQ(plan.grid_x, 1024 * 512 / (reduce_tiling::kBlockThreads / expected.group));
    EXPECT_EQ(plan.splits, 1);
  }
}

TEST(ReducePlan, ShortRowsShareAWarpInGroupsOfFourLanes) {
  // Rows of 64 f32 are 16 vectors: groups of kMinGroupLanes, 8 rows a warp.
  const ReducePlan plan = plan_of({4096, 64}, {0});
  EXPECT_EQ(plan.variant, ReduceVariant::warp_per_output);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.group, reduce_tiling::kMinGroupLanes);
  EXPECT_EQ(plan.grid_x, 4096 / (reduce_tiling::kBlockThreads / reduce_tiling::kMinGroupLanes));
  EXPECT_EQ(plan.splits, 1);  // 4 loads a lane: too few to split
  const std::string text = to_string(plan);
  EXPECT_NE(text.find("4 lanes per output"), std::string::npos) << text;
  EXPECT_NE(text.find("vectors of 4"), std::string::npos) << text;
}

TEST(ReducePlan, RunsAndStridesThatAreNotMultiplesOfTheVectorLoadOneElement) {
  // A row of 513: no vector divides it.
  EXPECT_EQ(plan_of({200, 513}, {0}).vector_width, 1);
  EXPECT_EQ(plan_of({200, 513}, {0}).group, reduce_tiling::kWarpThreads);
  // Rows of 36: 9 vectors of 4 f32 or 18 of 2 f64, but not 8 f16.
  EXPECT_EQ(plan_of({300, 36}, {0}).vector_width, 4);
  EXPECT_EQ(plan_of({300, 36}, {0}, DataType::f64).vector_width, 2);
  EXPECT_EQ(plan_of({300, 36}, {0}, DataType::f16).vector_width, 1);
  // Rows of 512 padded to 514: the row starts are 2 f32 apart from
  // alignment, but whole vectors of f64 (2 elements).
  const TensorLayout padded{{200, 512}, {514, 1}};
  const TensorLayout rows{{200}, {1}};
  EXPECT_EQ(plan_reduce(DataType::f32, padded, rows).vector_width, 1);
  EXPECT_EQ(plan_reduce(DataType::f64, padded, rows).vector_width, 2);
  EXPECT_EQ(plan_reduce(DataType::c128, padded, rows).vector_width, 1);
  // Column sums: the kept run of 1022 holds whole f64 vectors only.
  EXPECT_EQ(plan_of({500, 1022}, {1}).variant, ReduceVariant::thread_per_output);
  EXPECT_EQ(plan_of({500, 1022}, {1}).vector_width, 1);
  EXPECT_EQ(plan_of({500, 1022}, {1}, DataType::f64).vector_width, 2);
  // A summed stride of 1030 moves the vectors of 4 off alignment.
  const TensorLayout columns{{1024, 30}, {1, 1030}};
  const TensorLayout kept{{1024}, {1}};
  EXPECT_EQ(plan_reduce(DataType::f32, columns, kept).vector_width, 1);
  EXPECT_EQ(plan_reduce(DataType::c64, columns, kept).vector_width, 2);
}

TEST(ReducePlan, ColumnSumsOwnAVectorOfOutputsPerThreadAndSliceTheSum) {
  // ij->j of 16384^2 f32: 4096 threads of 4 outputs, the sum sliced over
  // the block's 8 rows and split in 16 (128 blocks of 256 threads, split
  // to two fills of 2^18 threads: 2048 blocks, two waves).
  const ReducePlan plan = plan_of({16384, 16384}, {1});
  EXPECT_EQ(plan.variant, ReduceVariant::thread_per_output);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.block_x, reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.block_y, reduce_tiling::kSlicedRows);
  EXPECT_EQ(plan.grid_x, 16384 / 4 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.scalar.grid_x, 16384 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(plan.splits, 16);
  EXPECT_EQ(plan.split_length, 1024);
  EXPECT_EQ(plan.workspace_bytes, 16u * 16384 * sizeof(double));
  // bf16: vectors of 8, so half the blocks and twice the splits.
  const ReducePlan half = plan_of({16384, 16384}, {1}, DataType::bf16);
  EXPECT_EQ(half.vector_width, 8);
  EXPECT_EQ(half.grid_x, 16384 / 8 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(half.splits, 32);
  // One fill (split_fills 1) makes 8 splits of the f32 columns.
  DeviceTraits one_fill;
  one_fill.split_fills = 1;
  EXPECT_EQ(plan_of({16384, 16384}, {1}, DataType::f32, one_fill).splits, 8);
  // ijk->jk of 1 GiB: enough threads of vectors, no split.
  const ReducePlan columns = plan_of({1024, 512, 512}, {1, 2});
  EXPECT_EQ(columns.vector_width, 4);
  EXPECT_EQ(columns.block_y, reduce_tiling::kSlicedRows);
  EXPECT_EQ(columns.grid_x, 512 * 512 / 4 / reduce_tiling::kSlicedOutputs);
  EXPECT_EQ(columns.splits, 1);
}

TEST(ReducePlan, FiveSmallSummedModesMergeIntoOneRunWalkedByAWarp) {
  // aibjcde->ij: c, d, e merge into a unit-stride run of 512; a and b stay
  // outer summed axes. 4096 outputs of 8192 vectors: a warp each (a block's
  // step would outrun the run and carry into a and b on every load), the
  // step of 128 elements inside the run, and 2 splits to fill the GPU.
  const ReducePlan plan = plan_of({8, 64, 8, 64, 8, 8, 8}, {1, 3});
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  ASSERT_EQ(plan.summed.rank, 3);
  EXPECT_EQ(plan.summed.extent[0], 512);
  EXPECT_EQ(plan.summed.stride[0], 1);
  EXPECT_EQ(plan.summed.stride[1], 64 * 512);
  EXPECT_EQ(plan.summed.stride[2], 64 * 8 * 64 * 512);
  EXPECT_EQ(plan.variant, ReduceVariant::warp_per_output);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.group, reduce_tiling::kWarpThreads);
  EXPECT_EQ(plan.summed.step_digit[0], 128);
  EXPECT_EQ(plan.summed.step_rank, 1);
  EXPECT_EQ(plan.splits, 2);
  EXPECT_EQ(plan.split_length, 16384);
}

TEST(ReducePlan, ReversedSummedAxesAreWalkedFromTheirLowEnd) {
  // A row summed backwards is the same row forwards from its last element.
  const ReducePlan reversed = plan_reduce(DataType::f32, {{50, 1024}, {1024, -1}}, {{50}, {1}});
  EXPECT_EQ(reversed.source_offset, -1023);
  EXPECT_EQ(reversed.summed.stride[0], 1);
  EXPECT_EQ(reversed.variant, ReduceVariant::warp_per_output);
  EXPECT_EQ(reversed.vector_width, 4);
  // Two reversed axes that merge once both are turned around.
  const ReducePlan both = plan_reduce(DataType::f32, {{4, 6, 7}, {42, -7, -1}}, {{4}, {1}});
  EXPECT_EQ(both.source_offset, -(5 * 7 + 6));
  ASSERT_EQ(both.summed.rank, 1);
  EXPECT_EQ(both.summed.extent[0], 42);
  EXPECT_EQ(both.summed.stride[0], 1);
  // Kept axes keep their signs: only summed ones move the base.
  const ReducePlan kept = plan_reduce(DataType::f32, {{40, 64}, {-64, 1}}, {{40}, {1}});
  EXPECT_EQ(kept.source_offset, 0);
  EXPECT_EQ(kept.kept.source_stride[0], -64);
  EXPECT_EQ(kept.vector_width, 4);
}

TEST(ReducePlan, VectorSplitsEndOnVectorBoundaries) {
  // A full sum of 1000004 f32: a block of vectors of 4, 61 splits, each a
  // whole number of vectors.
  const ReducePlan plan = plan_of({1000004}, {});
  EXPECT_EQ(plan.variant, ReduceVariant::block_per_output);
  EXPECT_EQ(plan.vector_width, 4);
  EXPECT_EQ(plan.group, reduce_tiling::kBlockThreads);
  EXPECT_EQ(plan.splits, 61);
  EXPECT_EQ(plan.split_length % 4, 0);
  EXPECT_GE(plan.split_length * plan.splits, plan.sum_length);
  EXPECT_LT(plan.split_length * (plan.splits - 1), plan.sum_length);
  // The 1 GiB full sum still splits as far as kMaxSplits.
  EXPECT_EQ(plan_of({std::int64_t{1} << 28}, {}).vector_width, 4);
}

TEST(ReducePlan, LoweringPlansEveryReduceOpAndTheProgramKnowsItsWorkspace) {
  const std::vector<Extents> shapes = {{3, 100003}};
  const Problem problem = parse("ij->i", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const Program program =
      lower(problem, path, DataType::f32, {c_order_strides(shapes[0])}, c_order_strides({3}));
  ASSERT_EQ(program.ops.size(), 1u);
  const Op& op = program.ops[0];
  ASSERT_EQ(op.kind, OpKind::reduce);
  const ReducePlan expected = plan_reduce(DataType::f32, op.sources[0].layout, op.result.layout);
  EXPECT_EQ(op.reduce_plan.variant, expected.variant);
  EXPECT_EQ(op.reduce_plan.splits, expected.splits);
  EXPECT_EQ(op.reduce_plan.workspace_bytes, 576u);
  EXPECT_EQ(reduce_workspace_bytes(program), 576u);
}

TEST(ReducePlan, DeviceLayoutCountsThePlannedReduceWorkspaceInThePlansTotal) {
  // What Plan::workspace_bytes() reports for a CUDA plan is this layout's
  // total (slice.device_bytes): the split reduce's partials are in it.
  const std::vector<Extents> shapes = {{3, 100003}};
  const std::vector<TensorDesc> inputs = {TensorDesc(DataType::f32, shapes[0])};
  const Problem problem = parse("ij->i", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const TensorDesc output(DataType::f32, problem.output_extents());
  SliceOptions options;
  options.budget = std::uint64_t{1} << 30;
  WorkspaceNeeds needs;
  needs.gemm_bytes = 4096;
  const DevicePlan plan = plan_device(problem, path, inputs, output, options, needs, 3);
  std::uint64_t largest = 0;
  for (const BlockShape& shape : plan.shapes) {
    largest = std::max(largest, reduce_workspace_bytes(shape.program));
  }
  EXPECT_GT(largest, 0u);
  EXPECT_EQ(plan.layout.reduce_bytes, largest);
  EXPECT_EQ(plan.layout.gemm_bytes, 0u);  // no GEMM in the Program
  EXPECT_EQ(plan.slice.device_bytes, plan.layout.total);
  if (plan.slice.sliced.empty()) {
    EXPECT_EQ(plan.layout.reduce_bytes, 576u);
    const std::uint64_t expected =
        device_buffer_aligned(plan.layout.arena_bytes) + device_buffer_aligned(576) +
        device_buffer_aligned(3 * 100003 * 4) + device_buffer_aligned(3 * 4);
    EXPECT_EQ(plan.layout.total, expected);
  }
}

}  // namespace
}  // namespace einstream::detail
