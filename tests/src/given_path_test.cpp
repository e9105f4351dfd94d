// Plans along a caller's contraction path (Options::given_path): the path is
// the one given (pairwise), whole or sliced under a memory limit, and the
// results are the reference's; bad paths are refused with the step named.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

std::vector<TensorDesc> descs_of(const std::vector<std::vector<std::int64_t>>& shapes,
                                 DataType dtype) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
  return descs;
}

Options host_with_path(std::vector<std::vector<int>> path) {
  Options options;
  options.backend = Backend::host;
  options.given_path = std::move(path);
  return options;
}

int operand_count(const std::string& expression) {
  return 1 + static_cast<int>(std::count(expression.begin(), expression.end(), ','));
}

// Random problems (every dtype, the whole notation) along random paths, with
// steps of one operand and of three or more among them, whole and under the
// smallest budget the path allows.
TEST(GivenPathPlan, RandomPathsMatchTheReferenceWholeAndSliced) {
  int sliced = 0;
  for (unsigned seed = 0; seed < 120; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 6;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    const int operands = operand_count(problem.expression);
    int singles = 0;
    const std::vector<std::vector<int>> given = testing::random_path(random, operands, &singles);
    const std::vector<TensorDesc> descs = descs_of(problem.shapes, dtype);
    Options options = host_with_path(given);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                 to_string(dtype));
    // Steps of one or two operands stay as given (sorted); every path has
    // operands - 1 pairs and its one-operand steps (one operand: a step).
    std::vector<std::vector<int>> sorted = given;
    for (std::vector<int>& step : sorted) std::sort(step.begin(), step.end());
    const std::size_t steps = std::max(operands - 1 + singles, 1);
    const std::uint64_t smallest = testing::smallest_budget(problem.expression, descs, options);
    for (bool limited : {false, true}) {
      if (limited)
        options.memory_limit = MemoryLimit::from_bytes(std::max<std::uint64_t>(smallest, 2));
      const Plan plan(problem.expression, descs, options);
      // Steps of one or two operands stay as given; longer ones become
      // pairs in their cheapest order (planner tests check which).
      const bool pairs_only =
          std::all_of(given.begin(), given.end(),
                      [](const std::vector<int>& step) { return step.size() <= 2; });
      if (pairs_only) {
        EXPECT_EQ(plan.path().path, sorted.empty() ? std::vector<std::vector<int>>{{0}} : sorted);
      }
      EXPECT_EQ(plan.path().path.size(), steps);
      const testing::AgainstReference run = testing::plan_against_reference(
          problem.expression, problem.shapes, dtype, options, 1.5, seed % 2 ? 0.0 : -0.5, random);
      EXPECT_LE(run.error, testing::tolerance(dtype)) << run.explain;
      // An empty path (one operand, no step) leaves the choice to the search.
      EXPECT_EQ(run.explain.find("given (Options::given_path)") != std::string::npos,
                !given.empty())
          << run.explain;
      if (limited && run.explain.find("slicing       none") == std::string::npos) ++sliced;
    }
  }
  EXPECT_GT(sliced, 40);
}

// ij,jk,k->i: the search contracts jk,k first (4e4 FLOPs); the path given,
// left to right, costs 2.02e6 and is the one planned, explained and run.
TEST(GivenPathPlan, TheGivenPathIsKeptWhereTheSearchFindsACheaperOne) {
  const std::vector<std::vector<std::int64_t>> shapes = {{100, 100}, {100, 100}, {100}};
  const Options options = host_with_path({{0, 1}, {0, 1}});
  const Plan plan("ij,jk,k->i", descs_of(shapes, DataType::f64), options);
  EXPECT_EQ(plan.path().path, (std::vector<std::vector<int>>{{0, 1}, {0, 1}}));
  EXPECT_EQ(plan.path().flops, 2020000);
  EXPECT_EQ(contraction_path("ij,jk,k->i", shapes, options).flops, 2020000);
  EXPECT_EQ(contraction_path("ij,jk,k->i", shapes).flops, 40000);
  std::mt19937 random(1);
  const testing::AgainstReference run = testing::plan_against_reference(
      "ij,jk,k->i", shapes, DataType::f64, options, 1.0, 0.0, random);
  EXPECT_LE(run.error, 1e-12);
  EXPECT_NE(run.explain.find("given (Options::given_path)"), std::string::npos) << run.explain;
}

// Under a budget the search would reconfigure the tree to slice it; a given
// path is sliced as it is.
TEST(GivenPathPlan, SlicingKeepsTheGivenTree) {
  const std::string expression = "ab,bc,cd,da->";
  const std::vector<std::vector<std::int64_t>> shapes = {{40, 40}, {40, 40}, {40, 40}, {40, 40}};
  // ab with cd first (an outer product of 40^4), then the rest.
  Options options = host_with_path({{0, 2}, {0, 1, 2}});
  const std::vector<TensorDesc> descs = descs_of(shapes, DataType::f64);
  options.memory_limit =
      MemoryLimit::from_bytes(testing::smallest_budget(expression, descs, options) * 2);
  const Plan plan(expression, descs, options);
  ASSERT_EQ(plan.path().path.size(), 3u);
  EXPECT_EQ(plan.path().path[0], (std::vector<int>{0, 2}));
  std::mt19937 random(2);
  const testing::AgainstReference run =
      testing::plan_against_reference(expression, shapes, DataType::f64, options, 1.0, 0.0, random);
  EXPECT_LE(run.error, 1e-12);
  EXPECT_EQ(run.explain.find("slicing       none"), std::string::npos) << run.explain;
}

TEST(GivenPathPlan, BadPathsAreRefusedWithTheStepNamed) {
  const std::vector<TensorDesc> descs = descs_of({{2, 3}, {3, 4}, {4}}, DataType::f32);
  try {
    Plan plan("ij,jk,k->i", descs, host_with_path({{0, 1}, {0, 2}}));
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("given_path step 1 names operand 2"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(contraction_path("ij,jk,k->i", {{2, 3}, {3, 4}, {4}}, host_with_path({{0, 1}})),
               Error);
}

}  // namespace
}  // namespace einstream
