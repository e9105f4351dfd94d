// reduce() against a host loop (double accumulation) on random data, for
// every element type (f16 and bf16 included, accumulated in float and
// rounded once): random shapes and strides, each kernel variant hit on
// purpose (the shapes below are chosen by the variant rules of
// planner/reduce_plan, whose choices tests/planner/reduce_plan_test checks),
// epilogues, empty sums and results, a 1 GiB full sum, and a split
// reduction's planned workspace inside a Plan's exact allocation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/reduce.hpp"
#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/reduce_check.hpp"

namespace einstream::detail {
namespace {

using namespace reduce_check;

TEST(Reduce, MatchesHostLoopOnRandomShapesStridesAndTypes) {
  EINSTREAM_REQUIRE_GPU();
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    const int kept_rank = static_cast<int>(rng() % 5);
    const int summed_rank = static_cast<int>(rng() % 4);
    ReduceCase test;
    test.name = "random";
    for (int axis = 0; axis < kept_rank + summed_rank; ++axis) {
      test.source.extents.push_back(1 + static_cast<std::int64_t>(rng() % 7));
    }
    test.source.strides = random_strides(test.source.extents, rng, rng() % 2 == 0, rng() % 2 == 0);
    test.result.extents.assign(test.source.extents.begin(),
                               test.source.extents.begin() + kept_rank);
    test.result.strides = random_strides(test.result.extents, rng, rng() % 2 == 0, false);
    check_all_types(test, seed);
  }
}

TEST(Reduce, ManyOutputsWithShortSumsUseThreadPerOutput) {
  EINSTREAM_REQUIRE_GPU();
  // Variant (a): kept axes contiguous in the source, sum over the outermost.
  EXPECT_EQ(check_all_types(einsum_case("sij->ij", {3, 300, 257}, {1, 2}), 11), 0u);
  // A size-1 mode, and a transposed kept pair too narrow (j = 5) for a tile.
  EXPECT_EQ(check_all_types(einsum_case("iajk->kaj", {6, 1, 5, 700}, {3, 1, 2}), 12), 0u);
}

TEST(Reduce, ModerateOutputsWithLongStridedSumsSplitOverBlocks) {
  EINSTREAM_REQUIRE_GPU();
  // Variant (a) with the sum sliced in the block and split over the grid (d).
  EXPECT_GT(check_all_types(einsum_case("si->i", {5000, 1000}, {1}), 13), 0u);
}

TEST(Reduce, TransposingReductionGoesThroughSharedMemoryTile) {
  EINSTREAM_REQUIRE_GPU();
  // Variant (b): the source's unit-stride axis k is kept, the result's is i.
  EXPECT_EQ(check_all_types(einsum_case("ijk->ki", {70, 33, 45}, {2, 0}), 21), 0u);
  EXPECT_EQ(check_all_types(einsum_case("bijk->bki", {3, 100, 40, 200}, {0, 3, 1}), 22), 0u);
  // No summed axis at all: a transposing copy with partial tiles.
  EXPECT_EQ(check_all_types(einsum_case("ij->ji", {257, 129}, {1, 0}), 23), 0u);
}

TEST(Reduce, ContiguousSumsUseWarpPerOutput) {
  EINSTREAM_REQUIRE_GPU();
  // Variant (c) with a warp per output: the summed axis k is unit-stride.
  EXPECT_EQ(check_all_types(einsum_case("ijk->ij", {100, 77, 300}, {0, 1}), 31), 0u);
  EXPECT_EQ(check_all_types(einsum_case("ijk->ji", {64, 3, 33}, {1, 0}), 32), 0u);
}

TEST(Reduce, FewOutputsWithLongContiguousSumsUseBlocksAndSplits) {
  EINSTREAM_REQUIRE_GPU();
  // Variant (c) with a block per output, split (d) over the grid.
  EXPECT_GT(check_all_types(einsum_case("ij->i", {3, 100003}, {0}), 41), 0u);
  // Five summed modes, interleaved with kept ones in memory.
  check_all_types(einsum_case("aibcjde->ij", {4, 5, 6, 3, 7, 8, 9}, {1, 4}), 42);
}

TEST(Reduce, FullSumToScalarSplitsOverBlocks) {
  EINSTREAM_REQUIRE_GPU();
  EXPECT_GT(check_all_types(einsum_case("i->", {1000001}, {}), 51), 0u);
  // Reversed source: a negative stride.
  ReduceCase reversed = einsum_case("i->(reversed)", {300007}, {});
  reversed.source.strides[0] = -1;
  check_all_types(reversed, 52);
}

TEST(Reduce, SumsBroadcastDiagonalAndNegativeStrides) {
  EINSTREAM_REQUIRE_GPU();
  // Broadcast: a kept axis with source stride 0.
  ReduceCase broadcast;
  broadcast.name = "broadcast";
  broadcast.source = {{9, 40, 50}, {0, 1, 40}};
  broadcast.result = {{9, 40}, {40, 1}};
  check_all_types(broadcast, 61);
  // Diagonal: the trace of a 301 x 301 matrix sums with stride 302.
  ReduceCase trace;
  trace.name = "trace";
  trace.source = {{301}, {302}};
  trace.result = {{}, {}};
  check_all_types(trace, 62);
  // A kept diagonal (iij->i) and a reversed summed axis.
  ReduceCase diagonal;
  diagonal.name = "iij->i";
  diagonal.source = {{50, 70}, {50 * 70 + 70, -1}};
  diagonal.result = {{50}, {1}};
  check_all_types(diagonal, 63);
}

TEST(Reduce, ResultViewsWithGapsLeaveGapsUntouched) {
  EINSTREAM_REQUIRE_GPU();
  ReduceCase padded = einsum_case("ijk->ki(padded)", {40, 17, 50}, {2, 0});
  padded.result.strides = {48, 1};  // 8 spare elements after each row of i
  check_all_types(padded, 71);
  ReduceCase rows = einsum_case("ijk->ij(padded)", {33, 20, 64}, {0, 1});
  rows.result.strides = {50, 2};
  check_all_types(rows, 72);
}

TEST(Reduce, EpilogueScalesAndAccumulates) {
  EINSTREAM_REQUIRE_GPU();
  for (const auto& base :
       {einsum_case("sij->ij", {3, 300, 257}, {1, 2}), einsum_case("ijk->ki", {70, 33, 45}, {2, 0}),
        einsum_case("ijk->ij", {100, 77, 300}, {0, 1}), einsum_case("i->", {1000001}, {})}) {
    ReduceCase scaled = base;
    scaled.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
    check_all_types(scaled, 81);
    ReduceCase over_nan = base;
    over_nan.epilogue = Epilogue::scaled({-2.0, 0.5}, {0.0, 0.0});
    over_nan.nan_result = true;
    check_all_types(over_nan, 82);
    ReduceCase plain_over_nan = base;
    plain_over_nan.nan_result = true;
    check_all_types(plain_over_nan, 83);
  }
}

TEST(Reduce, EmptySumGivesZeroThroughEpilogue) {
  EINSTREAM_REQUIRE_GPU();
  ReduceCase empty;
  empty.name = "empty sum";
  empty.source = {{7, 5, 0}, {0, 1, 5}};
  empty.result = {{7, 5}, {6, 1}};
  empty.nan_result = true;
  EXPECT_EQ(check_all_types(empty, 91), 0u);
  empty.nan_result = false;
  empty.epilogue = Epilogue::scaled({3.0, 0.0}, {0.5, -1.0});
  check_all_types(empty, 92);
}

TEST(Reduce, ZeroElementResultLaunchesNothing) {
  EINSTREAM_REQUIRE_GPU();
  ReduceCase empty;
  empty.name = "empty result";
  empty.source = {{0, 3, 4}, {12, 4, 1}};
  empty.result = {{0, 3}, {3, 1}};
  EXPECT_EQ(check_all_types(empty, 93), 0u);
}

TEST(Reduce, HalfTypesAccumulateInFloatInEveryVariant) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::pair<ReduceCase, double>> both_types = {
      {einsum_case("si->i (thread per output, split)", {4096, 1000}, {1}), 4096},
      {einsum_case("ij->i (block per output, split)", {3, 8192}, {0}), 8192},
      {einsum_case("i-> (full sum, split)", {8192}, {}), 8192}};
  for (const auto& [test, expected] : both_types) {
    expect_sum_of_ones<float16>(test, expected);
    expect_sum_of_ones<bfloat16>(test, expected);
  }
  expect_sum_of_ones<bfloat16>(einsum_case("ijk->ki (transpose tile)", {512, 512, 512}, {2, 0}),
                               512);
  expect_sum_of_ones<bfloat16>(einsum_case("ij->i (warp per output)", {1000, 512}, {0}), 512);
}

// The epilogue of a half-type reduce rounds once: alpha * sum in float,
// then to the element type. Sums of two terms (the thread-per-output
// variant adds them in float as the host does) with alpha = 1/3, where
// rounding the sum first changes some results: the expected bits are the
// host's float arithmetic rounded once, exactly (beta is 0, so no fused
// multiply-add can make the device's float result differ).
template <typename T>
void expect_rounded_once(std::uint64_t seed) {
  SCOPED_TRACE(std::string(TypeInfo<T>::name()) + " seed " + std::to_string(seed));
  const std::int64_t outputs = 4096;
  std::mt19937_64 rng(seed);
  std::vector<T> source(2 * outputs);
  for (T& value : source) value = random_value<T>(rng);
  const float alpha = 1.0f / 3.0f;
  std::vector<T> expected(outputs);
  int differs_from_twice_rounded = 0;
  for (std::int64_t i = 0; i < outputs; ++i) {
    const float sum = static_cast<float>(source[2 * i]) + static_cast<float>(source[2 * i + 1]);
    expected[i] = T(alpha * sum);
    differs_from_twice_rounded += T(alpha * static_cast<float>(T(sum))).bits != expected[i].bits;
  }
  ASSERT_GT(differs_from_twice_rounded, 0) << "the data does not tell the roundings apart";
  DeviceMemory device_source(source.size() * sizeof(T));
  DeviceMemory device_result(outputs * sizeof(T));
  device_source.upload(source);
  reduce(TypeInfo<T>::dtype, device_source.get(), {{outputs, 2}, {2, 1}}, device_result.get(),
         {{outputs}, {1}}, Epilogue::scaled({alpha, 0.0}, {0.0, 0.0}), nullptr, 0, nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> got = device_result.download<T>(outputs);
  int failures = 0;
  for (std::int64_t i = 0; i < outputs; ++i) {
    if (got[i].bits != expected[i].bits && ++failures <= 5) {
      ADD_FAILURE() << "output " << i << ": got " << static_cast<float>(got[i]) << ", expected "
                    << static_cast<float>(expected[i]);
    }
  }
}

TEST(Reduce, HalfTypesRoundTheEpiloguesResultOnce) {
  EINSTREAM_REQUIRE_GPU();
  expect_rounded_once<float16>(1401);
  expect_rounded_once<bfloat16>(1402);
}

TEST(Reduce, LargeFullSumOfQuarterBillionFloats) {
  EINSTREAM_REQUIRE_GPU();
  const std::int64_t count = std::int64_t{1} << 28;
  std::vector<float> source(static_cast<std::size_t>(count));
  std::uint64_t state = 0x9e3779b97f4a7c15ull;  // seed
  double expected = 0;
  for (float& value : source) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    value = static_cast<float>(state >> 40) / static_cast<float>(1 << 24);
    expected += value;
  }
  const TensorLayout source_layout{{count}, {1}};
  const TensorLayout result_layout{{}, {}};
  const std::size_t workspace_bytes =
      reduce_workspace_bytes(DataType::f32, source_layout, result_layout);
  EXPECT_GT(workspace_bytes, 0u);
  DeviceMemory device_source(source.size() * sizeof(float));
  DeviceMemory device_result(sizeof(float));
  DeviceMemory workspace(workspace_bytes);
  device_source.upload(source);
  reduce(DataType::f32, device_source.get(), source_layout, device_result.get(), result_layout,
         Epilogue::plain(), workspace.get(), workspace_bytes, nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const float got = device_result.download<float>(1)[0];
  EXPECT_NEAR(got, expected, 1e-5 * expected) << "LCG seed 0x9e3779b97f4a7c15";
}

TEST(Reduce, RejectsLayoutsThatDoNotMatch) {
  EINSTREAM_REQUIRE_GPU();
  DeviceMemory buffer(1024);
  const auto call = [&](const TensorLayout& source, const TensorLayout& result) {
    reduce(DataType::f32, buffer.get(), source, buffer.get(), result, Epilogue::plain(), nullptr, 0,
           nullptr);
  };
  EXPECT_THROW(call({{4}, {1}}, {{4, 2}, {2, 1}}), Error);   // result rank above source's
  EXPECT_THROW(call({{4, 3}, {3, 1}}, {{5}, {1}}), Error);   // kept extents differ
  EXPECT_THROW(call({{4, 3}, {3}}, {{4}, {1}}), Error);      // strides missing
  EXPECT_THROW(call({{4, 3}, {3, 1}}, {{4}, {-1}}), Error);  // negative result stride
  // A split reduction (few outputs, long sums) without its workspace.
  EXPECT_THROW(call({{3, 100003}, {100003, 1}}, {{3}, {1}}), Error);
}

// A Plan whose reduce op splits its sums: the partials' workspace comes from
// the op's launch plan into the device layout, the execution allocates
// exactly what Plan::workspace_bytes() says, and the sums are right.
TEST(Reduce, PlannedSplitWorkspaceIsInThePlansExactAllocation) {
  EINSTREAM_REQUIRE_GPU();
  const std::int64_t rows = 3, columns = 100003;
  Options options;
  options.backend = Backend::cuda;
  Plan plan("ij->i", {TensorDesc(DataType::f32, {rows, columns})}, options);
  std::mt19937_64 rng(71);
  std::vector<float> input(static_cast<std::size_t>(rows * columns));
  for (float& value : input) value = random_value<float>(rng);
  std::vector<float> output(rows, not_a_number<float>());
  plan.execute({input.data()}, output.data());
  const std::uint64_t operands = (rows * columns * 4 + 255) / 256 * 256 + 256;
  const std::uint64_t partials = 24 * rows * sizeof(double);  // tests/planner/reduce_plan_test
  EXPECT_EQ(plan.last_report().device_bytes, plan.workspace_bytes());
  if (plan.last_report().blocks == 1) {
    EXPECT_GE(plan.workspace_bytes(), operands + partials);
  }
  for (std::int64_t row = 0; row < rows; ++row) {
    double sum = 0, scale = 0;
    for (std::int64_t column = 0; column < columns; ++column) {
      sum += input[row * columns + column];
      scale += std::abs(input[row * columns + column]);
    }
    EXPECT_NEAR(output[row], sum, 1e-5 * scale) << "row " << row << ", seed 71";
  }
}

// More kept or summed axes than the tuned kernels hold (12 and 8 after
// merging, as tensor networks of many short modes give): the many-axes
// kernel, a thread per output for short sums and a block per output for
// long ones, every type, against the host loop.
TEST(Reduce, MoreAxesThanTheTunedKernelsHoldTakeTheManyAxesKernel) {
  EINSTREAM_REQUIRE_GPU();
  const auto variant_of = [](const ReduceCase& test) {
    return plan_reduce(DataType::f32, test.source, test.result);
  };
  // abcdefghijklmnopqrst->acegikmoqs: ten kept and ten summed axes of
  // extent 2, interleaved, so neither set merges (a sum of 1024: a block).
  std::vector<int> every_other;
  for (int axis = 0; axis < 20; axis += 2) every_other.push_back(axis);
  const ReduceCase interleaved =
      einsum_case("abcd...st->aceg...qs", std::vector<std::int64_t>(20, 2), every_other);
  const ReducePlan interleaved_plan = variant_of(interleaved);
  ASSERT_EQ(interleaved_plan.variant, ReduceVariant::many_axes) << to_string(interleaved_plan);
  EXPECT_TRUE(interleaved_plan.many.block_per_output);
  check_all_types(interleaved, 1500);

  // Thirteen kept axes reversed in the result and a sum of 3 (a thread per
  // output), accumulated onto the result: beta != 0.
  std::vector<std::int64_t> extents(13, 2);
  extents.push_back(3);
  std::vector<int> reversed;
  for (int axis = 12; axis >= 0; --axis) reversed.push_back(axis);
  ReduceCase kept = einsum_case("a...m x->m...a", extents, reversed);
  kept.epilogue = Epilogue::scaled({0.5, 0.25}, {-1.5, 1.0});
  const ReducePlan kept_plan = variant_of(kept);
  ASSERT_EQ(kept_plan.variant, ReduceVariant::many_axes) << to_string(kept_plan);
  EXPECT_FALSE(kept_plan.many.block_per_output);
  check_all_types(kept, 1501);

  // Eleven summed axes with gaps and reversed strides, a NaN result under
  // beta = 0 (never read), the source off the 16-byte grid.
  std::mt19937_64 rng(1502);
  int checked = 0;
  for (int draw = 0; draw < 50 && checked < 3; ++draw) {
    ReduceCase strided;
    strided.name = "strided sums";
    strided.source.extents = std::vector<std::int64_t>(12, 2);
    strided.source.extents[0] = 5;
    strided.source.strides = random_strides(strided.source.extents, rng, true, true);
    strided.result = {{5}, {1}};
    strided.epilogue = Epilogue::scaled({2.0, 0.0}, {0.0, 0.0});
    strided.nan_result = true;
    strided.source_shift = 1;
    if (variant_of(strided).variant != ReduceVariant::many_axes) continue;  // merged to <= 8
    check_all_types(strided, 1503 + static_cast<std::uint64_t>(draw));
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

}  // namespace
}  // namespace einstream::detail
