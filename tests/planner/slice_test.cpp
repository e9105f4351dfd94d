#include "planner/slice.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "einstream/error.hpp"
#include "planner/parse.hpp"
#include "tests/support/random_problems.hpp"

namespace einstream::detail {
namespace {

struct SliceCase {
  Problem problem;
  ContractionPath path;
  std::vector<std::vector<std::int64_t>> input_strides;
  std::vector<std::int64_t> output_strides;
};

SliceCase make_case(const std::string& expression, const std::vector<std::vector<std::int64_t>>& shapes) {
  SliceCase s;
  s.problem = parse(expression, shapes);
  s.path = find_path(s.problem, PathAlgorithm::greedy);
  for (const auto& shape : shapes)
    s.input_strides.push_back(TensorDesc(DataType::f32, shape).effective_strides());
  s.output_strides = TensorDesc(DataType::f32, s.problem.output_extents()).effective_strides();
  return s;
}

SlicePlan plan_for(const SliceCase& s, std::uint64_t budget) {
  SliceOptions options;
  options.budget = budget;
  return plan_slices(s.problem, s.path, DataType::f32, s.input_strides, s.output_strides, options);
}

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

// Invariants of every plan: it fits, its blocks cover each sliced extent,
// inputs that do not vary are resident, and a streamed output's modes are
// outside every sliced summed mode.
void check_plan(const SliceCase& s, const SlicePlan& plan, std::uint64_t budget) {
  EXPECT_LE(plan.device_bytes, budget);
  std::int64_t blocks = 1;
  for (const SlicedMode& sliced : plan.sliced) {
    EXPECT_GE(sliced.block, 1);
    EXPECT_LT(sliced.block, s.problem.extents[sliced.mode]);
    EXPECT_EQ(sliced.blocks, (s.problem.extents[sliced.mode] + sliced.block - 1) / sliced.block);
    blocks *= sliced.blocks;
  }
  EXPECT_EQ(plan.block_count, blocks);
  for (std::size_t index = 0; index < s.problem.inputs.size(); ++index) {
    const bool varies = std::any_of(plan.sliced.begin(), plan.sliced.end(), [&](const auto& m) {
      return contains(s.problem.inputs[index].modes, m.mode);
    });
    if (!varies) {
      EXPECT_EQ(plan.inputs[index], Residency::resident);
    }
  }
  if (plan.output == Residency::streamed) {
    bool summed_seen = false;
    for (const SlicedMode& sliced : plan.sliced) {
      const bool kept = contains(s.problem.output, sliced.mode);
      EXPECT_FALSE(kept && summed_seen) << "an output mode inside a summed mode";
      summed_seen = summed_seen || !kept;
    }
  }
  EXPECT_GT(plan.seconds, 0);
  EXPECT_GE(plan.flops, s.path.flops * 0.999);
}

TEST(Slice, WholeProblemWhenItFits) {
  const SliceCase s = make_case("ij,jk->ik", {{64, 32}, {32, 16}});
  const SlicePlan plan = plan_for(s, std::uint64_t{1} << 40);
  EXPECT_TRUE(plan.sliced.empty());
  EXPECT_EQ(plan.block_count, 1);
  // Inputs and output, all resident (the single GEMM needs no arena).
  EXPECT_EQ(plan.device_bytes, (64u * 32u + 32u * 16u + 64u * 16u) * 4u);
  EXPECT_DOUBLE_EQ(plan.bytes_to_device, (64 * 32 + 32 * 16) * 4.0);
}

TEST(Slice, RandomProblemsFitEveryBudgetDownToTheMinimum) {
  for (unsigned seed = 0; seed < 200; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 6;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    const SliceCase s = make_case(problem.expression, problem.shapes);
    const SlicePlan whole = plan_for(s, std::uint64_t{1} << 40);
    std::uint64_t smallest = 0;
    try {
      plan_for(s, 1);
      smallest = 1;
    } catch (const MemoryError& error) {
      smallest = error.bytes_needed();
    }
    ASSERT_LE(smallest, whole.device_bytes);
    for (std::uint64_t budget = whole.device_bytes; budget >= smallest && budget > 0;
         budget = budget * 2 / 3) {
      check_plan(s, plan_for(s, budget), budget);
      if (budget == smallest) break;
      if (budget * 2 / 3 < smallest) budget = smallest * 3 / 2 + 1;  // end on the minimum
    }
  }
}

// The streamed operand is re-sent once per block of every outer loop mode
// it does not carry; a large operand that does not vary stays resident.
TEST(Slice, SmallOperandsStayResidentAndTrafficCountsRepeats) {
  // A (4096 x 64) streams over i; B (64 x 64) is resident.
  const SliceCase s = make_case("ij,jk->ik", {{4096, 64}, {64, 64}});
  const SlicePlan plan = plan_for(s, 300 * 1024);
  ASSERT_FALSE(plan.sliced.empty());
  EXPECT_EQ(plan.inputs[1], Residency::resident);
  EXPECT_EQ(plan.inputs[0], Residency::streamed);
  // Each input crosses the link once: no loop mode repeats A's blocks.
  EXPECT_DOUBLE_EQ(plan.bytes_to_device, (4096.0 * 64 + 64 * 64) * 4);
  EXPECT_NE(to_string(plan, s.problem).find("in0:streamed"), std::string::npos);
}

}  // namespace
}  // namespace einstream::detail
