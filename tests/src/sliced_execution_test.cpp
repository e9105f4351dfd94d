// Host backend under a memory limit: the problem is sliced into blocks (any
// mode, summed or kept) and the result still equals the reference, for
// budgets from generous down to the smallest that works.
#include <gtest/gtest.h>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::tolerance;

using SlicedRun = testing::AgainstReference;

SlicedRun sliced_versus_reference(const std::string& expression,
                                  const std::vector<std::vector<std::int64_t>>& shapes,
                                  DataType dtype, std::uint64_t budget, Scalar alpha, Scalar beta,
                                  std::mt19937& random) {
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(budget);
  return testing::plan_against_reference(expression, shapes, dtype, options, alpha, beta, random);
}

// The smallest budget a problem accepts, read from the MemoryError of a
// budget of one byte.
std::uint64_t minimum_budget(const std::string& expression,
                             const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
  Options options;
  options.backend = Backend::host;
  return testing::smallest_budget(expression, descs, options);
}

std::uint64_t unsliced_bytes(const std::string& expression,
                             const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(std::uint64_t{1} << 50);
  Plan plan(expression, descs, options);
  const std::string text = plan.explain();
  EXPECT_NE(text.find("slicing       none"), std::string::npos) << text;
  std::uint64_t bytes = 0;
  const auto at = text.find("fits in ");
  if (at != std::string::npos) bytes = std::stoull(text.substr(at + 8));
  return bytes;
}

TEST(SlicedExecution, RandomProblemsMatchTheReferenceDownToTheSmallestBudget) {
  int sliced_runs = 0;
  for (unsigned seed = 0; seed < 150; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 9;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    const bool complex = is_complex(dtype);
    const Scalar alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : (complex ? Scalar(0.25, 0.5) : Scalar(-0.5));
    const std::uint64_t smallest = minimum_budget(problem.expression, problem.shapes, dtype);
    const std::uint64_t whole = unsliced_bytes(problem.expression, problem.shapes, dtype);
    for (std::uint64_t budget :
         {whole, whole / 2, whole / 4, smallest + (whole - smallest) / 8, smallest}) {
      if (budget < smallest) continue;
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " budget " + std::to_string(budget));
      const SlicedRun run = sliced_versus_reference(problem.expression, problem.shapes, dtype,
                                                    budget, alpha, beta, random);
      EXPECT_LE(run.error, tolerance(dtype)) << run.explain;
      if (run.explain.find("slicing       none") == std::string::npos) ++sliced_runs;
    }
  }
  // Most budgets under the whole problem's need force slicing.
  EXPECT_GT(sliced_runs, 150);
}

// ij,jk->ik with a long j: slicing j accumulates partial products into the
// resident output (beta = 1 after the first block).
TEST(SlicedExecution, SlicingASummedModeAccumulates) {
  std::mt19937 random(3);
  const std::string expression = "ij,jk->ik";
  const std::vector<std::vector<std::int64_t>> shapes = {{4, 4000}, {4000, 4}};
  const std::uint64_t budget = 4 * 4 * 8 + 4 * 1000 * 8 * 2 * 2;  // about 1/4 of j per block
  const SlicedRun run =
      sliced_versus_reference(expression, shapes, DataType::f64, budget, 2.0, -1.0, random);
  EXPECT_LE(run.error, 1e-12);
  EXPECT_NE(run.explain.find("j=4000 in"), std::string::npos) << run.explain;
  EXPECT_NE(run.explain.find("out:resident"), std::string::npos) << run.explain;
}

// The headline network at a small scale, sliced hard: every residency and a
// streamed output occur, and the answer is the reference's.
TEST(SlicedExecution, HeadlineNetworkUnderATightBudget) {
  std::mt19937 random(5);
  const std::string expression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
  const std::vector<std::vector<std::int64_t>> shapes = {
      {20, 3, 16}, {10, 20, 3}, {10, 20, 3, 16}, {10, 20, 3, 16}, {10, 16, 3, 3}};
  const std::uint64_t whole = unsliced_bytes(expression, shapes, DataType::f32);
  const SlicedRun run =
      sliced_versus_reference(expression, shapes, DataType::f32, whole / 6, 1.0, 0.0, random);
  EXPECT_LE(run.error, 1e-5);
  EXPECT_NE(run.explain.find("blocks, loop order"), std::string::npos) << run.explain;
  EXPECT_NE(run.explain.find("streamed"), std::string::npos) << run.explain;
}

TEST(SlicedExecution, BudgetBelowTheSmallestBlockNamesTheMinimum) {
  const std::vector<std::vector<std::int64_t>> shapes = {{30, 40}, {40, 50}};
  const std::uint64_t smallest = minimum_budget("ij,jk->ik", shapes, DataType::f64);
  EXPECT_GT(smallest, 1u);
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(smallest - 1);
  try {
    Plan plan("ij,jk->ik",
              {TensorDesc(DataType::f64, {30, 40}), TensorDesc(DataType::f64, {40, 50})}, options);
    ADD_FAILURE() << "expected MemoryError";
  } catch (const MemoryError& error) {
    EXPECT_EQ(error.bytes_needed(), smallest);
    EXPECT_NE(std::string(error.what()).find(std::to_string(smallest)), std::string::npos);
  }
  options.memory_limit = MemoryLimit::from_bytes(smallest);
  EXPECT_NO_THROW(Plan("ij,jk->ik",
                       {TensorDesc(DataType::f64, {30, 40}), TensorDesc(DataType::f64, {40, 50})},
                       options));
}

}  // namespace
}  // namespace einstream
