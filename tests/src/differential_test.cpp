// Differential tests at scale: 1.5 x 10^4 seeded random problems, each planned and
// executed on the host backend and evaluated by the reference executor on the
// same data, the two outputs compared element by element over the whole
// output buffer (gaps between strided elements included). The problems, and
// what they cover, are tests/support/differential.hpp's; a third of them
// carry a byte budget of 4-64 KiB that forces slicing. A failure prints the
// seed and a one-line reproduction.
//
// One TEST per dtype, 2,500 problems each, so ctest runs them side by side.
// The half types are held to testing::tolerance's per-operand bound.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/differential.hpp"

namespace einstream {
namespace {

using testing::Coverage;
using testing::DifferentialProblem;
using testing::kSeedsPerDataType;
using testing::Outcome;

constexpr int kProblemsPerDataType = 2500;

void run_differential(DataType dtype, std::uint32_t first_seed) {
  Coverage coverage;
  int budgeted = 0;
  int refused = 0;
  int sliced = 0;
  int failures = 0;
  for (int index = 0; index < kProblemsPerDataType; ++index) {
    const DifferentialProblem problem =
        testing::draw_problem(first_seed + static_cast<std::uint32_t>(index), dtype);
    const Outcome outcome = testing::run_problem(problem, testing::execute_in_place);
    coverage.count(problem);
    budgeted += problem.budgeted;
    refused += outcome.refused;
    sliced += outcome.sliced;
    if (!outcome.failure.empty()) {
      ADD_FAILURE() << outcome.failure << "\n  reproduce: " << testing::reproduction(problem);
      if (++failures == 10) {
        FAIL() << "stopping after 10 failures";
      }
    }
  }
  // The budgets must do their job: most budgeted problems run sliced or are
  // refused as below their smallest block, and none is refused unbudgeted.
  EXPECT_GT(sliced, budgeted / 4) << "of " << budgeted << " budgeted problems";
  EXPECT_LT(refused, budgeted / 2) << "of " << budgeted << " budgeted problems";
  std::printf(
      "%s: %d problems, %d with a budget: %d sliced, %d refused (below the smallest block)\n",
      to_string(dtype), kProblemsPerDataType, budgeted, sliced, refused);
  std::printf("  covering %s\n", coverage.to_string().c_str());
  EXPECT_EQ(coverage.missing(dtype), "") << "features no problem exercised";
}

TEST(Differential, HostMatchesReferenceF32) {
  run_differential(DataType::f32, 0 * kSeedsPerDataType);
}
TEST(Differential, HostMatchesReferenceF64) {
  run_differential(DataType::f64, 1 * kSeedsPerDataType);
}
TEST(Differential, HostMatchesReferenceC64) {
  run_differential(DataType::c64, 2 * kSeedsPerDataType);
}
TEST(Differential, HostMatchesReferenceC128) {
  run_differential(DataType::c128, 3 * kSeedsPerDataType);
}
TEST(Differential, HostMatchesReferenceF16) {
  run_differential(DataType::f16, 4 * kSeedsPerDataType);
}
TEST(Differential, HostMatchesReferenceBF16) {
  run_differential(DataType::bf16, 5 * kSeedsPerDataType);
}

// EINSTREAM_DIFFERENTIAL_SEED=<seed> reruns the one problem a failure named.
TEST(Differential, ReplaysTheSeedInTheEnvironment) {
  const char* seed_text = std::getenv("EINSTREAM_DIFFERENTIAL_SEED");
  if (seed_text == nullptr) GTEST_SKIP() << "set EINSTREAM_DIFFERENTIAL_SEED to replay a problem";
  const auto seed = static_cast<std::uint32_t>(std::strtoul(seed_text, nullptr, 10));
  const DifferentialProblem problem =
      testing::draw_problem(seed, testing::differential_dtype(seed));
  const Outcome outcome = testing::run_problem(problem, testing::execute_in_place);
  EXPECT_EQ(outcome.failure, "") << testing::reproduction(problem);
  std::printf("%s\n%s\n", testing::reproduction(problem).c_str(),
              outcome.refused ? "refused: below the smallest block"
                              : (outcome.sliced ? "ran sliced" : "ran whole"));
}

}  // namespace
}  // namespace einstream
