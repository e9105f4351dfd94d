// Plan::execute_share and accumulate(): the shares of a plan's blocks, run
// one by one and summed, give execute()'s result (what einstream/mpi.hpp
// does over ranks), for any number of workers.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

struct ShareRun {
  double error = 0;
  std::int64_t blocks = 0;  // of the plan, as execute() reports them
  std::vector<std::int64_t> share_blocks;
};

// Runs `expression`'s shares for `workers`, sums the partials and
// accumulates onto a random output with beta; compares with the reference.
ShareRun run_shares(const std::string& expression,
                    const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                    const Options& options, int workers, Scalar alpha, Scalar beta,
                    std::mt19937& random) {
  const testing::RandomOperands operands = testing::random_operands(shapes, dtype, random);
  const std::vector<const void*>& pointers = operands.pointers;
  Plan plan(expression, operands.descs, options);
  const TensorDesc& out = plan.output();
  const std::int64_t count = out.element_count();
  std::vector<unsigned char> actual = testing::random_tensor(dtype, count, random);
  const std::vector<unsigned char> initial = actual;
  std::vector<unsigned char> sum(actual.size(), 0);
  ShareRun run;
  for (int worker = 0; worker < workers; ++worker) {
    // Garbage in the partial: execute_share overwrites all of it.
    std::vector<unsigned char> partial = testing::random_tensor(dtype, count, random);
    plan.execute_share(pointers, partial.data(), worker, workers, alpha);
    run.share_blocks.push_back(plan.last_report().blocks);
    accumulate(out, partial.data(), sum.data(), 1.0);
  }
  accumulate(out, sum.data(), actual.data(), beta);
  std::vector<unsigned char> scratch = initial;
  plan.execute(pointers, scratch.data(), alpha, beta);  // for its block count
  run.blocks = plan.last_report().blocks;
  const std::vector<unsigned char> expected =
      testing::reference_result(expression, operands, out, initial, alpha, beta);
  const double bound =
      testing::terms_bound(expression, operands.descs, pointers, out, initial.data(), alpha, beta);
  run.error = testing::error_against_reference(dtype, actual.data(), expected.data(), count, bound);
  return run;
}

Options host_with_limit(std::uint64_t bytes) {
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(bytes);
  return options;
}

TEST(ExecuteShare, SharesOfASlicedPlanSumToItsResult) {
  std::mt19937 random(7);
  const std::string expression = "ab,bc,cd->ad";
  const std::vector<std::vector<std::int64_t>> shapes = {{40, 30}, {30, 50}, {50, 20}};
  for (DataType dtype : testing::kDataTypes) {
    for (int workers : {1, 2, 3, 7}) {
      SCOPED_TRACE(std::string(to_string(dtype)) + ", " + std::to_string(workers) + " workers");
      const Scalar alpha = is_complex(dtype) ? Scalar(0.5, -1.0) : Scalar(0.5);
      // The budget holds as many elements of every real dtype of 4 bytes or less.
      const std::uint64_t budget = is_half_precision(dtype) ? 4 << 10 : 8 << 10;
      const ShareRun run = run_shares(expression, shapes, dtype, host_with_limit(budget), workers,
                                      alpha, -1.5, random);
      EXPECT_LE(run.error, testing::tolerance(dtype));
      EXPECT_GT(run.blocks, 7);
      std::int64_t total = 0;
      for (std::int64_t blocks : run.share_blocks) {
        total += blocks;
        EXPECT_GT(blocks, 0);  // enough blocks for everyone
      }
      EXPECT_EQ(total, run.blocks);
    }
  }
}

// A full contraction sliced over its summed mode: every share holds part of
// one output element's sum.
TEST(ExecuteShare, SplitSumsAddUp) {
  std::mt19937 random(8);
  const ShareRun run = run_shares("ij,ij->", {{64, 64}, {64, 64}}, DataType::f64,
                                  host_with_limit(4 << 10), 3, 2.0, 0.25, random);
  EXPECT_LE(run.error, testing::tolerance(DataType::f64));
  EXPECT_GT(run.blocks, 2);
}

// An unsliced plan is one block: worker 0 computes it, the others add zero.
TEST(ExecuteShare, OneBlockGoesToTheFirstWorker) {
  std::mt19937 random(9);
  Options options;
  options.backend = Backend::host;
  const ShareRun run =
      run_shares("ij,jk->ik", {{5, 6}, {6, 7}}, DataType::f32, options, 3, 1.0, 1.0, random);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32));
  EXPECT_EQ(run.share_blocks, (std::vector<std::int64_t>{1, 0, 0}));
}

TEST(ExecuteShare, RandomProblemsUnderBudgets) {
  for (unsigned seed = 0; seed < 90; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 9;
    limits.allow_zero_extents = seed % 5 == 0;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    try {
      const ShareRun run = run_shares(problem.expression, problem.shapes, dtype,
                                      host_with_limit(std::uint64_t{512} << (seed % 4)),
                                      1 + seed % 4, 1.0, 0.5, random);
      EXPECT_LE(run.error, testing::tolerance(dtype));
    } catch (const MemoryError&) {
      // the budget is under the problem's smallest block: said so, never run
    }
  }
}

TEST(ExecuteShare, RefusesWorkersOutOfRange) {
  Plan plan("ij,jk->ik", {TensorDesc(DataType::f32, {2, 3}), TensorDesc(DataType::f32, {3, 4})},
            Options{});
  std::vector<float> a(6), b(12), c(8);
  for (const auto& [worker, workers] :
       std::vector<std::pair<int, int>>{{0, 0}, {-1, 2}, {2, 2}, {5, 3}}) {
    EXPECT_THROW(plan.execute_share({a.data(), b.data()}, c.data(), worker, workers), Error)
        << worker << " of " << workers;
  }
  EXPECT_THROW(plan.execute_share({a.data()}, c.data(), 0, 1), Error);  // one input short
}

// Options::devices is the CUDA backend's: a host plan runs one share.
TEST(ExecuteShare, AHostPlanIsOneWorkerWhateverItsDevices) {
  Options options;
  options.backend = Backend::host;
  options.devices = {0, 0, 0};
  Plan plan("ij,jk->ik", {TensorDesc(DataType::f32, {2, 3}), TensorDesc(DataType::f32, {3, 4})},
            options);
  EXPECT_EQ(plan.pipelines(), 1);
  std::vector<float> a(6, 1.0f), b(12, 1.0f), c(8, -1.0f);
  plan.execute_share({a.data(), b.data()}, c.data(), 1, 2);  // the last worker of two
  plan.execute_share({a.data(), b.data()}, c.data(), 0, 1);
  EXPECT_EQ(c, std::vector<float>(8, 3.0f));
}

TEST(Accumulate, AddsOverStridedElementsOnly) {
  // A [2, 3] view with a gap after each row (strides 4, 1), and reversed rows.
  const TensorDesc desc(DataType::f64, {2, 3}, {-4, 1});
  std::vector<double> sum(8), out(8);
  for (int i = 0; i < 8; ++i) sum[i] = i + 1, out[i] = 10 * (i + 1);
  accumulate(desc, sum.data() + 4, out.data() + 4, 2.0);
  const std::vector<double> expected = {21, 42, 63, 40, 105, 126, 147, 80};
  EXPECT_EQ(out, expected);
  accumulate(desc, sum.data() + 4, out.data() + 4, 0.0);  // overwrite
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[3], 40);  // a gap
  EXPECT_THROW(accumulate(desc, nullptr, out.data(), 1.0), Error);
  EXPECT_THROW(accumulate(TensorDesc(DataType::f32, {2}), sum.data(), out.data(), Scalar(0, 1)),
               Error);
}

}  // namespace
}  // namespace einstream
