// The reduce kernels' vector loads and narrow groups (issue 14) against the
// host loop, every element type: rows shared by 4 to 32 lanes, column sums
// with a vector of outputs per thread, several short summed modes merged
// into one run, reversed runs, the scalar fallback for sources off the
// vector grid (misaligned base pointers, strides and extents that are not
// multiples of the width), epilogues with beta != 0 and empty sums. Each
// case states the f32 plan it is meant to hit (tests/planner/
// reduce_plan_test checks the rules), so a change of rule that moves a case
// off its variant fails here rather than leaving the variant untested.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/reduce.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/reduce_check.hpp"

namespace einstream::detail {
namespace {

using namespace reduce_check;

// The f32 plan of `test` has `variant` and loads `width` elements at a time.
void expect_f32_plan(const ReduceCase& test, ReduceVariant variant, int width) {
  const ReducePlan plan = plan_reduce(DataType::f32, test.source, test.result);
  EXPECT_EQ(plan.variant, variant) << test.name << ": " << to_string(plan);
  EXPECT_EQ(plan.vector_width, width) << test.name << ": " << to_string(plan);
}

ReduceCase shifted(ReduceCase test, std::int64_t shift) {
  test.name += " (source shifted by " + std::to_string(shift) + ")";
  test.source_shift = shift;
  return test;
}

ReduceCase rows_of_512() { return einsum_case("ijk->ij rows of 512", {30, 7, 512}, {0, 1}); }
ReduceCase rows_of_64() { return einsum_case("ij->i rows of 64", {1000, 64}, {0}); }
ReduceCase column_sums() { return einsum_case("ij->j", {3000, 1024}, {1}); }
ReduceCase five_small_modes() {
  return einsum_case("aibjcde->ij", {2, 40, 3, 24, 8, 8, 8}, {1, 3});
}
ReduceCase full_sum() { return einsum_case("i->", {1 << 20}, {}); }

TEST(ReduceVectors, RowsShareAWarpInGroupsAndLoadVectors) {
  EINSTREAM_REQUIRE_GPU();
  expect_f32_plan(rows_of_512(), ReduceVariant::warp_per_output, 4);  // 16 lanes a row
  check_all_types(rows_of_512(), 101);
  expect_f32_plan(rows_of_64(), ReduceVariant::warp_per_output, 4);  // 4 lanes a row
  check_all_types(rows_of_64(), 102);
  // Rows of 36: vectors of 4 f32 and 2 f64 or c64, one f16 at a time.
  check_all_types(einsum_case("ij->i rows of 36", {300, 36}, {0}), 103);
  // Rows of 513: no vector divides them.
  const ReduceCase odd = einsum_case("ij->i rows of 513", {200, 513}, {0});
  expect_f32_plan(odd, ReduceVariant::warp_per_output, 1);
  check_all_types(odd, 104);
  // A transposed result of rows, and rows written into a padded result.
  check_all_types(einsum_case("ijk->ji rows of 128", {40, 50, 128}, {1, 0}), 105);
  ReduceCase padded = einsum_case("ijk->ij rows of 96, padded result", {33, 20, 96}, {0, 1});
  padded.result.strides = {50, 2};
  check_all_types(padded, 106);
}

TEST(ReduceVectors, ColumnSumsOwnAVectorOfOutputsPerThread) {
  EINSTREAM_REQUIRE_GPU();
  // Sliced over the block's rows and split over the grid.
  expect_f32_plan(column_sums(), ReduceVariant::thread_per_output, 4);
  EXPECT_GT(check_all_types(column_sums(), 111), 0u);
  // Kept j and k merge into one unit-stride run of 3840.
  check_all_types(einsum_case("ijk->jk", {64, 96, 40}, {1, 2}), 112);
  // 1022 outputs: whole vectors of 2 f64 or c64 only.
  const ReduceCase ragged = einsum_case("ij->j of 1022", {500, 1022}, {1});
  expect_f32_plan(ragged, ReduceVariant::thread_per_output, 1);
  check_all_types(ragged, 113);
  // A vector's outputs stored with a result stride of 2, gaps untouched.
  ReduceCase spread = einsum_case("ij->j, result stride 2", {700, 256}, {1});
  spread.result.strides = {2};
  expect_f32_plan(spread, ReduceVariant::thread_per_output, 4);
  check_all_types(spread, 114);
}

TEST(ReduceVectors, ShortSummedModesMergeIntoOneRunWalkedInVectors) {
  EINSTREAM_REQUIRE_GPU();
  // c, d, e merge into a run of 512; a and b are outer summed axes.
  expect_f32_plan(five_small_modes(), ReduceVariant::warp_per_output, 4);
  check_all_types(five_small_modes(), 121);
  // A run of 32 (8 vectors) under a warp of 32 lanes: each step of 128
  // elements crosses 4 runs, so every advance carries into b and a.
  const ReduceCase short_run =
      einsum_case("aibjcde->ij run of 32", {4, 16, 8, 16, 4, 2, 4}, {1, 3});
  expect_f32_plan(short_run, ReduceVariant::warp_per_output, 4);
  EXPECT_EQ(plan_reduce(DataType::f32, short_run.source, short_run.result).group, 32);
  check_all_types(short_run, 122);
  // A run of 105: one element a load.
  const ReduceCase odd = einsum_case("aibjcde->ij run of 105", {3, 20, 3, 20, 3, 5, 7}, {1, 3});
  expect_f32_plan(odd, ReduceVariant::warp_per_output, 1);
  check_all_types(odd, 123);
  // Six outputs: a block each, whose step of 1024 elements outruns the run
  // of 512 and carries into a and b on every load.
  const ReduceCase few = einsum_case("aibjcde->ij, 6 outputs", {16, 2, 16, 3, 8, 8, 8}, {1, 3});
  expect_f32_plan(few, ReduceVariant::block_per_output, 4);
  check_all_types(few, 124);
}

TEST(ReduceVectors, ReversedRunsLoadVectorsFromTheirLowEnd) {
  EINSTREAM_REQUIRE_GPU();
  ReduceCase rows;
  rows.name = "ij->i, j reversed";
  rows.source = {{50, 1024}, {1024, -1}};
  rows.result = {{50}, {1}};
  expect_f32_plan(rows, ReduceVariant::warp_per_output, 4);
  check_all_types(rows, 131);
  ReduceCase whole = einsum_case("i-> reversed", {1 << 16}, {});
  whole.source.strides = {-1};
  expect_f32_plan(whole, ReduceVariant::block_per_output, 4);
  check_all_types(whole, 132);
  // Kept rows reversed, summed run forwards.
  ReduceCase kept;
  kept.name = "ij->i, i reversed";
  kept.source = {{40, 64}, {-64, 1}};
  kept.result = {{40}, {1}};
  check_all_types(kept, 133);
}

TEST(ReduceVectors, SourcesOffTheVectorGridFallBackToScalarLoads) {
  EINSTREAM_REQUIRE_GPU();
  // A base pointer one element past alignment (and two: 8 bytes, still off
  // the 16-byte grid for f32) in every vector variant.
  std::uint64_t seed = 141;
  for (const ReduceCase& base :
       {rows_of_512(), rows_of_64(), column_sums(), five_small_modes(), full_sum()}) {
    check_all_types(shifted(base, 1), seed++);
    check_all_types(shifted(base, 2), seed++);
  }
  // Row starts 2 f32 off the grid (rows padded from 512 to 514), but on
  // it for f64; a summed stride of 1030 likewise for the column sums.
  ReduceCase padded;
  padded.name = "ij->i, rows padded to 514";
  padded.source = {{200, 512}, {514, 1}};
  padded.result = {{200}, {1}};
  check_all_types(padded, 151);
  ReduceCase columns;
  columns.name = "ij->j, rows padded to 1030";
  columns.source = {{1024, 30}, {1, 1030}};
  columns.result = {{1024}, {1}};
  check_all_types(columns, 152);
}

TEST(ReduceVectors, EpiloguesAndEmptySumsInEveryVectorVariant) {
  EINSTREAM_REQUIRE_GPU();
  for (const ReduceCase& base :
       {rows_of_512(), rows_of_64(), column_sums(), five_small_modes(), full_sum()}) {
    ReduceCase scaled = base;
    scaled.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
    check_all_types(scaled, 161);
    ReduceCase over_nan = base;
    over_nan.epilogue = Epilogue::scaled({-2.0, 0.5}, {0.0, 0.0});
    over_nan.nan_result = true;
    check_all_types(over_nan, 162);
    check_all_types(shifted(scaled, 1), 163);
  }
  // Empty sums shaped like the vector cases: the result is epilogue(0).
  for (ReduceCase empty : {einsum_case("ij->i, empty rows", {64, 0}, {0}),
                           einsum_case("ij->j, no rows", {0, 1024}, {1})}) {
    empty.epilogue = Epilogue::scaled({3.0, 0.0}, {0.5, -1.0});
    EXPECT_EQ(check_all_types(empty, 171), 0u);
    empty.epilogue = Epilogue::plain();
    empty.nan_result = true;
    check_all_types(empty, 172);
  }
}

TEST(ReduceVectors, HalfTypesAccumulateInFloatInTheVectorVariants) {
  EINSTREAM_REQUIRE_GPU();
  // Sums of 4096 ones: past f16's 2048 and bf16's 256, exact in float.
  for (const ReduceCase& test : {einsum_case("ij->i rows of 4096", {100, 4096}, {0}),
                                 einsum_case("ij->j columns of 4096", {4096, 1024}, {1}),
                                 einsum_case("aibj->ij", {64, 8, 64, 8}, {1, 3})}) {
    expect_sum_of_ones<float16>(test, 4096);
    expect_sum_of_ones<bfloat16>(test, 4096);
  }
}

}  // namespace
}  // namespace einstream::detail
