// The CUDA backend over budget: sliced, streamed execution against the
// reference, at budgets from just under the whole problem's need down to the
// smallest the planner accepts.
#include <gtest/gtest.h>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/memory_span.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/random_problems.hpp"

namespace einstream {
namespace {

Options cuda_with_limit(std::uint64_t bytes) {
  Options options;
  options.backend = Backend::cuda;
  options.memory_limit = MemoryLimit::from_bytes(bytes);
  return options;
}

std::vector<TensorDesc> descs_of(const std::vector<std::vector<std::int64_t>>& shapes,
                                 DataType dtype) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
  return descs;
}

// What the whole problem needs with host operands, and the least any sliced
// plan needs (from the MemoryError of a one-byte limit).
std::pair<std::uint64_t, std::uint64_t> needs(const std::string& expression,
                                              const std::vector<std::vector<std::int64_t>>& shapes,
                                              DataType dtype) {
  const std::vector<TensorDesc> descs = descs_of(shapes, dtype);
  Options generous;
  generous.backend = Backend::cuda;
  const Plan plan(expression, descs, generous);
  std::uint64_t whole = plan.workspace_bytes() + detail::memory_span_bytes(plan.output()) + 256;
  for (const TensorDesc& desc : descs) whole += detail::memory_span_bytes(desc) + 256;
  std::uint64_t least = 0;
  try {
    Plan tiny(expression, descs, cuda_with_limit(1));
  } catch (const MemoryError& error) {
    least = error.bytes_needed();
  }
  return {whole, least};
}

TEST(CudaStreaming, RandomProblemsMatchTheReferenceUnderTightBudgets) {
  EINSTREAM_REQUIRE_GPU();
  int streamed = 0;
  for (unsigned seed = 0; seed < 60; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 12;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = std::vector<DataType>{DataType::f32, DataType::f64, DataType::c64,
                                                 DataType::c128}[seed % 4];
    const bool complex = is_complex(dtype);
    const Scalar alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : (complex ? Scalar(0.25, 0.5) : Scalar(-0.5));
    const auto [whole, least] = needs(problem.expression, problem.shapes, dtype);
    if (least == 0 || least >= whole) continue;  // nothing to slice
    for (std::uint64_t budget : {whole - 1, least + (whole - least) / 2, least}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " budget " + std::to_string(budget));
      const testing::AgainstReference run = testing::plan_against_reference(
          problem.expression, problem.shapes, dtype, cuda_with_limit(budget), alpha, beta, random);
      EXPECT_LE(run.error, testing::tolerance(dtype)) << run.explain;
      if (run.explain.find("blocks, loop order") != std::string::npos) ++streamed;
    }
  }
  std::printf("streamed executions: %d\n", streamed);
  EXPECT_GT(streamed, 30);
}

// A network whose inputs and output all stream, with alpha and beta.
TEST(CudaStreaming, HeadlineNetworkStreamsInputsAndOutput) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
  const std::vector<std::vector<std::int64_t>> shapes = {
      {30, 3, 16}, {20, 30, 3}, {20, 30, 3, 16}, {20, 30, 3, 16}, {20, 16, 3, 3}};
  for (DataType dtype : {DataType::f32, DataType::f64}) {
    const auto [whole, least] = needs(expression, shapes, dtype);
    ASSERT_LT(least, whole);
    std::mt19937 random(9);
    for (std::uint64_t budget : {least + (whole - least) / 2, least + (whole - least) / 8, least}) {
      SCOPED_TRACE(std::string(to_string(dtype)) + " budget " + std::to_string(budget));
      const testing::AgainstReference run = testing::plan_against_reference(
          expression, shapes, dtype, cuda_with_limit(budget), 0.5, -2.0, random);
      EXPECT_LE(run.error, testing::tolerance(dtype)) << run.explain;
      EXPECT_NE(run.explain.find("streamed"), std::string::npos) << run.explain;
    }
  }
}

// A long summed mode sliced: partial products accumulate on the device.
TEST(CudaStreaming, SlicedSummedModeAccumulates) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 1 << 16}, {1 << 16, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f64);
  std::mt19937 random(4);
  const testing::AgainstReference run = testing::plan_against_reference(
      "ij,jk->ik", shapes, DataType::f64, cuda_with_limit(whole - (whole - least) * 3 / 4), 1.0,
      0.5, random);
  EXPECT_LE(run.error, 1e-12) << run.explain;
  EXPECT_NE(run.explain.find("j=65536 in"), std::string::npos) << run.explain;
}

TEST(CudaStreaming, BudgetUnderTheSmallestBlockNamesTheMinimum) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{300, 400}, {400, 500}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  ASSERT_GT(least, 0u);
  try {
    Plan plan("ij,jk->ik", descs_of(shapes, DataType::f32), cuda_with_limit(least - 1));
    ADD_FAILURE() << "expected MemoryError";
  } catch (const MemoryError& error) {
    EXPECT_EQ(error.bytes_needed(), least);
    EXPECT_EQ(error.bytes_available(), least - 1);
  }
  (void)whole;
}

}  // namespace
}  // namespace einstream
