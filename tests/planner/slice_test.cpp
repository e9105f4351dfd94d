#include "planner/slice.hpp"
#include "planner/block_cursor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
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

SliceCase make_case(const std::string& expression,
                    const std::vector<std::vector<std::int64_t>>& shapes) {
  SliceCase s;
  s.problem = parse(expression, shapes);
  s.path = find_path(s.problem, PathAlgorithm::greedy);
  for (const auto& shape : shapes)
    s.input_strides.push_back(TensorDesc(DataType::f32, shape).effective_strides());
  s.output_strides = TensorDesc(DataType::f32, s.problem.output_extents()).effective_strides();
  return s;
}

SlicePlan plan_for(const SliceCase& s, std::uint64_t budget, SliceSearchStats* stats = nullptr) {
  SliceOptions options;
  options.budget = budget;
  return plan_slices(s.problem, s.path, DataType::f32, s.input_strides, s.output_strides, options,
                     stats);
}

SlicePlan evaluate_for(const SliceCase& s, std::uint64_t budget,
                       const std::vector<std::int64_t>& blocks) {
  SliceOptions options;
  options.budget = budget;
  return evaluate_slices(s.problem, s.path, DataType::f32, s.input_strides, s.output_strides,
                         options, blocks);
}

// The least budget plan_slices accepts, read from its MemoryError.
std::uint64_t smallest_budget(const SliceCase& s) {
  try {
    plan_for(s, 1);
    return 1;
  } catch (const MemoryError& error) {
    return error.bytes_needed();
  }
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

// The predictions are what an executor does: walking the blocks in the
// plan's loop order, a streamed input is sent again exactly when the block
// indices of its sliced modes change (the CUDA streaming executor's rule),
// each send moving that block's bytes; resident inputs cross once; the
// FLOPs are the sum of every block's path.
TEST(Slice, PredictionsMatchAWalkOverTheBlocks) {
  int checked = 0;
  for (unsigned seed = 0; seed < 120; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 7;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    const SliceCase s = make_case(problem.expression, problem.shapes);
    const std::uint64_t whole = plan_for(s, std::uint64_t{1} << 40).device_bytes;
    const std::uint64_t smallest = smallest_budget(s);
    for (std::uint64_t budget : {whole / 2, smallest + (whole - smallest) / 4, smallest}) {
      if (budget < smallest) continue;
      const SlicePlan plan = plan_for(s, budget);
      if (plan.sliced.empty()) continue;
      ++checked;
      const Problem& p = s.problem;
      double to_device = 0, flops = 0;
      std::vector<std::vector<std::int64_t>> last_key(p.inputs.size());
      std::vector<bool> sent(p.inputs.size(), false);
      for (std::size_t index = 0; index < p.inputs.size(); ++index) {
        if (plan.inputs[index] == Residency::resident) {
          double bytes = 4;
          for (Mode mode : p.inputs[index].modes) bytes *= static_cast<double>(p.extents[mode]);
          to_device += bytes;
        }
      }
      BlockCursor cursor(p, plan);
      do {
        Problem block = p;
        for (std::size_t level = 0; level < plan.sliced.size(); ++level) {
          block.extents[plan.sliced[level].mode] = cursor.level_extents()[level];
        }
        flops += evaluate_path(block, s.path.linear()).flops;
        for (std::size_t index = 0; index < p.inputs.size(); ++index) {
          if (plan.inputs[index] == Residency::resident) continue;
          std::vector<std::int64_t> key;
          for (std::size_t level = 0; level < plan.sliced.size(); ++level) {
            if (contains(p.inputs[index].modes, plan.sliced[level].mode)) {
              key.push_back(cursor.index()[level]);
            }
          }
          if (sent[index] && key == last_key[index]) continue;
          sent[index] = true;
          last_key[index] = key;
          double bytes = 4;
          for (Mode mode : p.inputs[index].modes) bytes *= static_cast<double>(block.extents[mode]);
          to_device += bytes;
        }
      } while (cursor.next());
      EXPECT_NEAR(plan.bytes_to_device, to_device, 1e-9 * to_device) << to_string(plan, p);
      EXPECT_NEAR(plan.flops, flops, 1e-9 * flops) << to_string(plan, p);
      double output = 4;
      for (Mode mode : p.output) output *= static_cast<double>(p.extents[mode]);
      EXPECT_DOUBLE_EQ(plan.bytes_to_host, output);
    }
  }
  EXPECT_GT(checked, 100);
}

// Search quality: on small random problems (extents scaled so that operands
// are kilobytes to megabytes), every block-size vector with 1 to 6 blocks
// per mode (block = ceil(extent / count)) is evaluated under the same model;
// plan_slices must fit whenever one of them fits, and be within 10% of the
// fastest that fits.
TEST(Slice, SearchIsWithinTenPercentOfBruteForce) {
  constexpr std::size_t kMaxCandidates = 1500;
  int compared = 0;
  double worst = 1;
  for (unsigned seed = 0; compared < 60 && seed < 400; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_operands = 4;
    limits.max_rank = 3;
    limits.max_extent = 6;
    limits.allow_zero_extents = false;
    testing::RandomProblem problem = testing::random_problem(random, limits);
    const std::int64_t scale = std::vector<std::int64_t>{1, 6, 24}[seed % 3];
    for (auto& shape : problem.shapes) {
      for (std::int64_t& extent : shape) extent = extent > 1 ? extent * scale : extent;
    }
    const SliceCase s = make_case(problem.expression, problem.shapes);
    // The candidate block sizes of every mode.
    std::vector<std::vector<std::int64_t>> choices;
    std::size_t candidates = 1;
    for (std::int64_t extent : s.problem.extents) {
      std::vector<std::int64_t> blocks;
      for (std::int64_t count = 1; count <= std::min<std::int64_t>(extent, 6); ++count) {
        const std::int64_t block = (extent + count - 1) / count;
        if (std::find(blocks.begin(), blocks.end(), block) == blocks.end()) blocks.push_back(block);
      }
      if (blocks.empty()) blocks.push_back(extent);
      candidates *= blocks.size();
      choices.push_back(blocks);
    }
    if (candidates > kMaxCandidates || candidates < 4) continue;
    const std::uint64_t whole = plan_for(s, std::uint64_t{1} << 40).device_bytes;
    const std::uint64_t smallest = smallest_budget(s);
    if (smallest >= whole) continue;
    ++compared;
    std::printf("seed %u: %s scale %lld, %zu candidates\n", seed, problem.expression.c_str(),
                static_cast<long long>(scale), candidates);
    for (double fraction : {0.6, 0.25, 0.05}) {
      const std::uint64_t budget =
          smallest + static_cast<std::uint64_t>(fraction * static_cast<double>(whole - smallest));
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " scale " +
                   std::to_string(scale) + " budget " + std::to_string(budget));
      double best = std::numeric_limits<double>::infinity();
      std::vector<std::int64_t> best_blocks;
      std::vector<std::size_t> pick(choices.size(), 0);
      while (true) {
        std::vector<std::int64_t> blocks;
        for (std::size_t mode = 0; mode < choices.size(); ++mode) {
          blocks.push_back(choices[mode][pick[mode]]);
        }
        const SlicePlan plan = evaluate_for(s, budget, blocks);
        if (plan.device_bytes <= budget && plan.seconds < best) {
          best = plan.seconds;
          best_blocks = blocks;
        }
        std::size_t mode = 0;
        while (mode < pick.size() && ++pick[mode] == choices[mode].size()) pick[mode++] = 0;
        if (mode == pick.size()) break;
      }
      SlicePlan plan;
      try {
        plan = plan_for(s, budget);
      } catch (const MemoryError& error) {
        EXPECT_TRUE(std::isinf(best))
            << "brute force found a plan of " << best << " s: " << error.what();
        continue;
      }
      check_plan(s, plan, budget);
      if (std::isinf(best)) continue;
      const SlicePlan brute = evaluate_for(s, budget, best_blocks);
      EXPECT_LE(plan.seconds, 1.10 * best) << "search:\n"
                                           << to_string(plan, s.problem) << "brute force:\n"
                                           << to_string(brute, s.problem);
      worst = std::max(worst, plan.seconds / best);
    }
  }
  std::printf("compared %d problems; worst ratio to brute force %.4f\n", compared, worst);
  EXPECT_GE(compared, 40);
}

// ij,jk->ik with A (1024 x 4096) the big operand, under 3/4 of the whole
// problem's memory. The old greedy halving sliced i, then k down to single
// columns, then the summed j: A crossed the link 256 times (4.3 GB). Slicing
// the output mode i alone streams A once, keeps B resident and sums nothing
// across blocks.
TEST(Slice, SlicesAnOutputModeRatherThanReReadingThroughASummedOne) {
  const SliceCase s = make_case("ij,jk->ik", {{1024, 4096}, {4096, 256}});
  const std::uint64_t whole = plan_for(s, std::uint64_t{1} << 40).device_bytes;
  const std::uint64_t budget = whole * 3 / 4;
  const SlicePlan plan = plan_for(s, budget);
  check_plan(s, plan, budget);
  const Mode j = 1;
  for (const SlicedMode& sliced : plan.sliced)
    EXPECT_NE(sliced.mode, j) << to_string(plan, s.problem);
  EXPECT_DOUBLE_EQ(plan.bytes_to_device, (1024.0 * 4096 + 4096 * 256) * 4);
  EXPECT_EQ(plan.inputs[1], Residency::resident);
  // The old choice, under the same model: i in 2, k in 256, j in 2.
  const SlicePlan greedy = evaluate_for(s, budget, {512, 2048, 1});
  EXPECT_LE(greedy.device_bytes, budget);
  std::printf("search: %.3g s; the old choice of blocks: %.3g s\n", plan.seconds, greedy.seconds);
  EXPECT_LT(plan.seconds * 10, greedy.seconds)
      << to_string(plan, s.problem) << to_string(greedy, s.problem);
}

// Block counts need not be powers of two. With a latency per op so high
// that every extra block costs more than anything else, the best plan is
// the fewest blocks that fit: three (of 334 or 6667 indices) where two do
// not fit, not the four a search by halving would reach.
TEST(Slice, BlockCountsNeedNotBePowersOfTwo) {
  const SliceCase s = make_case("ij,j->i", {{1000, 20000}, {20000}});
  SliceOptions options;
  options.rates.op_seconds = 1.0;
  auto plan_under = [&](std::uint64_t budget, const std::vector<std::int64_t>* blocks) {
    options.budget = budget;
    return blocks ? evaluate_slices(s.problem, s.path, DataType::f32, s.input_strides,
                                    s.output_strides, options, *blocks)
                  : plan_slices(s.problem, s.path, DataType::f32, s.input_strides, s.output_strides,
                                options);
  };
  const std::vector<std::int64_t> two = {500, 20000}, three = {334, 20000};
  // (Under a budget of one byte, a plan is its least memory.)
  const std::uint64_t budget =
      (plan_under(1, &two).device_bytes + plan_under(1, &three).device_bytes) / 2;
  const SlicePlan plan = plan_under(budget, nullptr);
  check_plan(s, plan, budget);
  ASSERT_EQ(plan.sliced.size(), 1u) << to_string(plan, s.problem);
  const std::int64_t extent = s.problem.extents[plan.sliced[0].mode];
  EXPECT_EQ(plan.sliced[0].blocks, 3) << to_string(plan, s.problem);
  EXPECT_EQ(plan.sliced[0].block, (extent + 2) / 3);
}

// Planning stays cheap on an 8-operand network under tight budgets: the
// search lowers each block-size vector at most once, and few of them (the
// time it takes is printed; it is measured by benchmarks, not asserted).
TEST(Slice, EightOperandNetworkPlansQuickly) {
  const std::vector<std::vector<std::int64_t>> shapes(8, std::vector<std::int64_t>{24, 24, 24});
  const SliceCase s = make_case("abc,bcd,cde,def,efg,fgh,gha,hab->adg", shapes);
  const std::uint64_t whole = plan_for(s, std::uint64_t{1} << 40).device_bytes;
  for (std::uint64_t divisor : {2, 10, 100}) {
    const std::uint64_t budget = whole / divisor;
    SliceSearchStats stats;
    const auto start = std::chrono::steady_clock::now();
    const SlicePlan plan = plan_for(s, budget, &stats);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "budget whole/%llu: planned in %.1f ms, %d Programs lowered, %d moves pruned, %lld "
        "blocks, predicted %.3g s\n",
        static_cast<unsigned long long>(divisor), seconds * 1e3, stats.lowered, stats.pruned,
        static_cast<long long>(plan.block_count), plan.seconds);
    check_plan(s, plan, budget);
    // The search's cost is in Programs lowered (tens to hundreds of
    // microseconds each), a count that does not depend on the machine's load.
    EXPECT_LE(stats.lowered, 400);
  }
}

// SliceOptions::seconds bounds the search after its first fitting plan. A
// deadline passed at once (1 ns) still gives a plan that fits, says that it
// stopped, and lowers fewer Programs than the unbounded search, which does
// not stop (no clock is read for a bound of 0). Nothing here depends on how
// fast the machine is: a 1 ns bound has passed by the first check.
TEST(Slice, TheTimeBoundStopsTheSearchAfterItsFirstFittingPlan) {
  const std::vector<std::vector<std::int64_t>> shapes(8, std::vector<std::int64_t>{24, 24, 24});
  const SliceCase s = make_case("abc,bcd,cde,def,efg,fgh,gha,hab->adg", shapes);
  const std::uint64_t budget = plan_for(s, std::uint64_t{1} << 40).device_bytes / 10;
  SliceSearchStats unbounded_stats;
  const SlicePlan unbounded = plan_for(s, budget, &unbounded_stats);
  EXPECT_FALSE(unbounded.stopped_at_budget);

  SliceOptions options;
  options.budget = budget;
  options.seconds = 1e-9;
  SliceSearchStats bounded_stats;
  const SlicePlan bounded = plan_slices(s.problem, s.path, DataType::f32, s.input_strides,
                                        s.output_strides, options, &bounded_stats);
  EXPECT_TRUE(bounded.stopped_at_budget);
  check_plan(s, bounded, budget);
  EXPECT_LT(bounded_stats.lowered, unbounded_stats.lowered);
  // The unbounded search only improves on where the bounded one stopped:
  // compared by the plans' predicted seconds (the time model), no clock.
  EXPECT_LE(unbounded.seconds, bounded.seconds);

  // A problem that fits whole is returned whole before any bound matters.
  options.budget = std::uint64_t{1} << 40;
  EXPECT_EQ(
      plan_slices(s.problem, s.path, DataType::f32, s.input_strides, s.output_strides, options)
          .block_count,
      1);
}

}  // namespace
}  // namespace einstream::detail
