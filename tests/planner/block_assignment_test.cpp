#include "planner/block_assignment.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "einstream/error.hpp"
#include "planner/block_cursor.hpp"
#include "planner/parse.hpp"

namespace einstream::detail {
namespace {

Mode mode_of(const Problem& problem, const std::string& label) {
  for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
    if (problem.labels[mode] == label) return mode;
  }
  throw Error("no mode " + label);
}

// A plan that slices `levels` (label, block size), outermost first.
SlicePlan sliced(const Problem& problem,
                 const std::vector<std::pair<std::string, std::int64_t>>& levels) {
  SlicePlan plan;
  plan.block_count = 1;
  for (const auto& [label, block] : levels) {
    const Mode mode = mode_of(problem, label);
    const std::int64_t blocks = (problem.extents[mode] + block - 1) / block;
    plan.sliced.push_back({mode, block, blocks});
    plan.block_count *= blocks;
  }
  plan.inputs.assign(problem.inputs.size(), Residency::streamed);
  return plan;
}

// Elements of each block in loop order.
std::vector<double> block_work(const Problem& problem, const SlicePlan& plan) {
  std::vector<double> work;
  BlockCursor cursor(problem, plan);
  do {
    double elements = 1;
    for (std::int64_t extent : cursor.level_extents()) elements *= static_cast<double>(extent);
    work.push_back(elements);
  } while (cursor.next());
  return work;
}

void expect_cover(const BlockAssignment& assignment, std::int64_t blocks, std::size_t workers) {
  ASSERT_EQ(assignment.ranges.size(), workers);
  EXPECT_EQ(assignment.ranges.front().begin, 0);
  EXPECT_EQ(assignment.ranges.back().end, blocks);
  for (std::size_t worker = 0; worker + 1 < workers; ++worker) {
    EXPECT_EQ(assignment.ranges[worker].end, assignment.ranges[worker + 1].begin);
    EXPECT_LE(assignment.ranges[worker].begin, assignment.ranges[worker].end);
  }
}

TEST(BlockAssignment, AnUnslicedPlanGoesToTheFirstWorker) {
  const Problem problem = parse("ij,jk->ik", {{10, 4}, {4, 6}});
  const BlockAssignment assignment = assign_blocks(problem, sliced(problem, {}), {1, 1, 1});
  expect_cover(assignment, 1, 3);
  EXPECT_EQ(assignment.ranges[0].size(), 1);
  EXPECT_EQ(assignment.ranges[1].size(), 0);
  EXPECT_FALSE(assignment.partial_sums);
}

// Kept modes only: every block is its own output block, so no split shares
// one; the work (edge blocks are smaller) is balanced within one block.
TEST(BlockAssignment, KeptModesSplitByWorkAndSpeed) {
  const Problem problem = parse("ij,jk->ik", {{100, 4}, {4, 30}});
  const SlicePlan plan = sliced(problem, {{"i", 7}, {"k", 4}});
  const std::vector<double> work = block_work(problem, plan);
  for (const std::vector<double>& speeds :
       {std::vector<double>{1, 1, 1}, {2, 1}, {1, 3, 1, 1}, {5}}) {
    const BlockAssignment assignment = assign_blocks(problem, plan, speeds);
    expect_cover(assignment, plan.block_count, speeds.size());
    EXPECT_FALSE(assignment.partial_sums);
    double total = 0, total_speed = 0, largest = 0;
    for (double w : work) total += w, largest = std::max(largest, w);
    for (double s : speeds) total_speed += s;
    for (std::size_t worker = 0; worker < speeds.size(); ++worker) {
      double share = 0;
      for (std::int64_t p = assignment.ranges[worker].begin; p < assignment.ranges[worker].end; ++p)
        share += work[p];
      // Each boundary is within half a block of its target; a range has two.
      EXPECT_NEAR(share, total * speeds[worker] / total_speed, largest + 1e-9)
          << "worker " << worker << " of " << speeds.size();
    }
  }
}

// A sliced summed mode innermost: each output block's sum is consecutive,
// and with enough output blocks every range starts one.
TEST(BlockAssignment, InnermostSumsStayWithOneWorker) {
  const Problem problem = parse("ij,jk->ik", {{60, 50}, {50, 8}});
  const SlicePlan plan = sliced(problem, {{"i", 10}, {"j", 7}});  // 6 output blocks x 8
  const BlockAssignment assignment = assign_blocks(problem, plan, {1, 1, 1, 1});
  expect_cover(assignment, plan.block_count, 4);
  EXPECT_FALSE(assignment.partial_sums);
  for (const BlockRange& range : assignment.ranges) {
    EXPECT_EQ(range.begin % 8, 0) << range.begin;
    EXPECT_GT(range.size(), 0);
  }
}

// Fewer output blocks than workers: sums are split, and the assignment says
// partial sums must be combined.
TEST(BlockAssignment, FewOutputBlocksSplitSums) {
  const Problem problem = parse("ij,jk->ik", {{20, 64}, {64, 8}});
  const SlicePlan plan = sliced(problem, {{"i", 10}, {"j", 8}});  // 2 output blocks x 8
  const BlockAssignment assignment = assign_blocks(problem, plan, {1, 1, 1, 1});
  expect_cover(assignment, plan.block_count, 4);
  EXPECT_TRUE(assignment.partial_sums);
  for (const BlockRange& range : assignment.ranges) EXPECT_EQ(range.size(), 4);
  // A full contraction to a scalar has one output block.
  const Problem dot = parse("i,i->", {{1000}, {1000}});
  const BlockAssignment split = assign_blocks(dot, sliced(dot, {{"i", 100}}), {1, 1});
  EXPECT_TRUE(split.partial_sums);
  EXPECT_EQ(split.ranges[0].size(), 5);
  // One worker never shares.
  EXPECT_FALSE(assign_blocks(dot, sliced(dot, {{"i", 100}}), {1}).partial_sums);
}

// A summed mode outside a kept one interleaves output blocks: any split
// shares them.
TEST(BlockAssignment, OuterSumsShareOutputBlocks) {
  const Problem problem = parse("ij,jk->ik", {{60, 50}, {50, 8}});
  const SlicePlan plan = sliced(problem, {{"j", 10}, {"i", 10}});
  const BlockAssignment assignment = assign_blocks(problem, plan, {1, 1});
  expect_cover(assignment, plan.block_count, 2);
  EXPECT_TRUE(assignment.partial_sums);
}

TEST(BlockAssignment, RandomPlansAreCoveredAndBalanced) {
  std::mt19937 random(3);
  for (int trial = 0; trial < 200; ++trial) {
    const std::int64_t i = 1 + random() % 40, j = 1 + random() % 40, k = 1 + random() % 40;
    const Problem problem = parse("ij,jk->ik", {{i, j}, {j, k}});
    std::vector<std::pair<std::string, std::int64_t>> levels;
    for (const char* label : {"i", "j", "k"}) {
      if (random() % 2) levels.emplace_back(label, 1 + random() % 9);
    }
    std::shuffle(levels.begin(), levels.end(), random);
    const SlicePlan plan = sliced(problem, levels);
    std::vector<double> speeds(1 + random() % 6);
    for (double& speed : speeds) speed = 0.5 + random() % 4;
    const BlockAssignment assignment = assign_blocks(problem, plan, speeds);
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_cover(assignment, plan.block_count, speeds.size());
  }
}

TEST(BlockAssignment, RefusesNoWorkersAndBadSpeeds) {
  const Problem problem = parse("ij,jk->ik", {{10, 4}, {4, 6}});
  EXPECT_THROW(assign_blocks(problem, sliced(problem, {}), {}), Error);
  EXPECT_THROW(assign_blocks(problem, sliced(problem, {}), {1, 0}), Error);
  EXPECT_THROW(assign_blocks(problem, sliced(problem, {}), {1, -2}), Error);
}

// BlockCursor::seek lands where walking next() from the start lands: a
// worker starts its range there.
TEST(BlockCursorSeek, MatchesWalkingTheLoop) {
  const Problem problem = parse("ij,jk->ik", {{10, 7}, {7, 9}});
  const SlicePlan plan = sliced(problem, {{"k", 4}, {"i", 3}, {"j", 2}});
  BlockCursor walker(problem, plan);
  for (std::int64_t position = 0; position < plan.block_count; ++position) {
    BlockCursor seeker(problem, plan);
    seeker.seek(position);
    EXPECT_EQ(seeker.index(), walker.index()) << position;
    EXPECT_EQ(seeker.start(), walker.start()) << position;
    EXPECT_EQ(seeker.level_extents(), walker.level_extents()) << position;
    EXPECT_EQ(seeker.first_of_sum(), walker.first_of_sum()) << position;
    EXPECT_EQ(seeker.last_of_sum(), walker.last_of_sum()) << position;
    walker.next();
  }
  BlockCursor cursor(problem, plan);
  EXPECT_THROW(cursor.seek(plan.block_count), Error);
  EXPECT_THROW(cursor.seek(-1), Error);
}

}  // namespace
}  // namespace einstream::detail
