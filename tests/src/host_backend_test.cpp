// The host backend (the lowered Program executed op by op) against the
// reference executor evaluating the whole expression at once.

#include <gtest/gtest.h>

#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::random_problem;
using testing::random_tensor;
using testing::relative_error;
using testing::tolerance;

// Evaluates `expression` on random data with a Plan (host backend, given path
// algorithm) and with the reference, and returns the relative error.
double plan_versus_reference(const std::string& expression,
                             const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                             PathAlgorithm algorithm, Scalar alpha, Scalar beta,
                             std::mt19937& random) {
  Options options;
  options.backend = Backend::host;
  options.path = algorithm;
  return testing::plan_against_reference(expression, shapes, dtype, options, alpha, beta, random)
      .error;
}

TEST(HostBackend, RandomExpressionsMatchTheReferenceInEveryDtype) {
  for (unsigned seed = 0; seed < 600; ++seed) {
    std::mt19937 random(seed);
    const testing::RandomProblem problem = random_problem(random);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    const bool complex = is_complex(dtype);
    const Scalar alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : (complex ? Scalar(0.25, 0.5) : Scalar(-0.5));
    for (PathAlgorithm algorithm : {PathAlgorithm::naive, PathAlgorithm::greedy}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " path " + to_string(algorithm));
      EXPECT_LE(plan_versus_reference(problem.expression, problem.shapes, dtype, algorithm, alpha,
                                      beta, random),
                tolerance(dtype));
    }
  }
}

TEST(HostBackend, NetworksOfManyOperandsMatchTheReference) {
  std::mt19937 random(7);
  // A 3x3 lattice of bond dimension 2 closed to a scalar, and a matrix chain.
  const std::string lattice = "ab,acd,ce,bfg,dfhi,ehj,gk,ikl,jl->";
  const std::vector<std::vector<std::int64_t>> lattice_shapes = {
      {2, 2}, {2, 2, 2}, {2, 2}, {2, 2, 2}, {2, 2, 2, 2}, {2, 2, 2}, {2, 2}, {2, 2, 2}, {2, 2}};
  EXPECT_LE(plan_versus_reference(lattice, lattice_shapes, DataType::f64, PathAlgorithm::greedy,
                                  1.0, 0.0, random),
            1e-12);
  const std::string chain = "ab,bc,cd,de,ef,fg->ag";
  const std::vector<std::vector<std::int64_t>> chain_shapes = {{3, 4}, {4, 5}, {5, 2},
                                                               {2, 6}, {6, 3}, {3, 4}};
  EXPECT_LE(plan_versus_reference(chain, chain_shapes, DataType::c128, PathAlgorithm::naive,
                                  Scalar(0, 1), 0.0, random),
            1e-12);
}

}  // namespace
}  // namespace einstream
