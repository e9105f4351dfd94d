// Differential tests at scale: 10^4 seeded random problems, each planned and
// executed on the host backend and evaluated by the reference executor on the
// same data, the two outputs compared element by element over the whole
// output buffer (gaps between strided elements included).
//
// A problem is drawn from one seed: an expression over the whole notation
// (diagonals, sums inside one operand, broadcasting, ellipses, zero extents;
// tests/support/random_problems.hpp), a dtype, input strides of every kind
// (C, Fortran, reversed with gaps, arbitrary in [-4, 4] with zero and
// overlapping addresses), output strides (C, Fortran, reversed with gaps),
// alpha and beta (complex for complex dtypes; with beta == 0 the output
// starts as NaN, which catches an output read when it must not be), a path
// algorithm and, for a third of the problems, a byte budget of 4-64 KiB on
// larger extents, which forces slicing. A failure prints the seed and a
// one-line reproduction.
//
// One TEST per dtype, 2,500 problems each, so ctest runs them side by side.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"

namespace einstream {
namespace {

constexpr int kProblemsPerDataType = 2500;
// Each dtype's seeds start at its own base, so every seed names one problem.
constexpr std::uint32_t kSeedsPerDataType = 1'000'000;

constexpr PathAlgorithm kPaths[] = {PathAlgorithm::automatic, PathAlgorithm::naive,
                                    PathAlgorithm::greedy,    PathAlgorithm::optimal,
                                    PathAlgorithm::dp,        PathAlgorithm::random_greedy};
const Scalar kRealScalars[] = {0.0, 1.0, -1.0, 0.5, 2.0};
const Scalar kComplexScalars[] = {0.0, 1.0, -1.0, 0.5, {0.0, 1.0}, {2.0, -1.0}, {-0.25, 0.75}};

struct DifferentialProblem {
  std::uint32_t seed = 0;
  std::string expression;
  std::vector<TensorDesc> inputs;
  TensorDesc output;
  Options options;
  Scalar alpha = 1.0;
  Scalar beta = 0.0;
  bool budgeted = false;
};

std::string scalar_text(Scalar value) {
  return "(" + std::to_string(value.real()) + "," + std::to_string(value.imag()) + ")";
}

// One line that rebuilds the problem by hand: Plan(expression, inputs,
// output, options) then execute(..., alpha, beta).
std::string reproduction(const DifferentialProblem& problem) {
  std::string text = "seed " + std::to_string(problem.seed) + ": '" + problem.expression + "' on";
  for (const TensorDesc& desc : problem.inputs) text += " " + to_string(desc) + ";";
  text += " output " + to_string(problem.output) + "; alpha " + scalar_text(problem.alpha) +
          ", beta " + scalar_text(problem.beta) + ", path " + to_string(problem.options.path) +
          ", limit " + to_string(problem.options.memory_limit) + ", backend host";
  return text;
}

Scalar random_scalar(std::mt19937& random, DataType dtype) {
  if (is_complex(dtype)) return kComplexScalars[random() % std::size(kComplexScalars)];
  return kRealScalars[random() % std::size(kRealScalars)];
}

// Draws a problem the parser accepts (redrawing the expression from the same
// stream until it does), with its strides, scalars and options.
DifferentialProblem draw_problem(std::uint32_t seed, DataType dtype) {
  std::mt19937 random(seed);
  DifferentialProblem problem;
  problem.seed = seed;
  problem.budgeted = random() % 3 == 0;
  testing::RandomProblemLimits limits;
  if (problem.budgeted) {
    // Larger extents over fewer labels: operands of a few KiB that a
    // 4-64 KiB budget must slice, while the reference's loop over every mode
    // stays small.
    limits.max_operands = 4;
    limits.max_rank = 3;
    limits.max_extent = 32;
    limits.max_labels = 5;
  }
  for (;;) {
    const testing::RandomProblem drawn = testing::random_problem(random, limits);
    detail::Problem parsed;
    try {
      parsed = detail::parse(drawn.expression, drawn.shapes);
    } catch (const Error&) {
      continue;
    }
    // Intermediates are what a budget bounds (the output is exempt): a
    // budgeted problem needs a contraction step before the last.
    if (problem.budgeted && drawn.shapes.size() < 3) continue;
    problem.expression = drawn.expression;
    for (const auto& shape : drawn.shapes) {
      problem.inputs.emplace_back(dtype, shape,
                                  testing::random_strides(random, shape, /*allow_overlap=*/true));
    }
    const std::vector<std::int64_t> extents = parsed.output_extents();
    problem.output = TensorDesc(dtype, extents,
                                testing::random_strides(random, extents, /*allow_overlap=*/false));
    break;
  }
  problem.options.backend = Backend::host;
  problem.options.path = kPaths[random() % std::size(kPaths)];
  problem.options.path_trials = 4;
  if (problem.budgeted) {
    problem.options.memory_limit = MemoryLimit::from_bytes(std::uint64_t{4096} << (random() % 5));
  }
  problem.alpha = random_scalar(random, dtype);
  problem.beta = random_scalar(random, dtype);
  return problem;
}

struct Outcome {
  std::string failure;   // empty when the plan matched the reference
  bool refused = false;  // a budget under the smallest block: MemoryError
  bool sliced = false;   // executed in more than one block
};

Outcome run_problem(const DifferentialProblem& problem) {
  std::mt19937 random(problem.seed ^ 0x9E3779B9u);
  const DataType dtype = problem.output.dtype;
  std::vector<testing::StridedBuffer> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : problem.inputs) {
    inputs.push_back(testing::strided_buffer(desc, random));
    shapes.push_back(desc.extents);
  }
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    pointers.push_back(inputs[operand].at_origin());
    reference_inputs.push_back(
        {pointers.back(), dtype, problem.inputs[operand].effective_strides()});
  }
  const std::vector<testing::StridedBuffer> untouched_inputs = inputs;
  testing::StridedBuffer actual =
      testing::strided_buffer(problem.output, random, /*nan=*/problem.beta == 0.0);
  testing::StridedBuffer expected = actual;
  const testing::StridedBuffer untouched_output = actual;

  Outcome outcome;
  try {
    Plan plan(problem.expression, problem.inputs, problem.output, problem.options);
    plan.execute(pointers, actual.at_origin(), problem.alpha, problem.beta);
    outcome.sliced = plan.last_report().blocks > 1;
  } catch (const MemoryError& error) {
    if (problem.budgeted) {
      outcome.refused = true;
      return outcome;
    }
    outcome.failure = std::string("Plan threw MemoryError without a budget: ") + error.what();
    return outcome;
  } catch (const Error& error) {
    outcome.failure = std::string("Plan threw: ") + error.what();
    return outcome;
  }
  const detail::Problem parsed = detail::parse(problem.expression, shapes);
  detail::reference_einsum(parsed, reference_inputs,
                           {expected.at_origin(), dtype, problem.output.effective_strides()},
                           problem.alpha, problem.beta);
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    if (inputs[operand].bytes != untouched_inputs[operand].bytes) {
      outcome.failure = "input " + std::to_string(operand) + " was written";
      return outcome;
    }
  }
  // The error scale: the same evaluation on magnitudes, so a result that
  // cancels to near zero is judged by the size of the terms it summed.
  std::vector<testing::StridedBuffer> input_magnitudes;
  std::vector<detail::ReferenceInput> magnitude_inputs = reference_inputs;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    input_magnitudes.push_back(testing::magnitudes(inputs[operand]));
    magnitude_inputs[operand].data = input_magnitudes.back().at_origin();
  }
  testing::StridedBuffer bound = testing::magnitudes(untouched_output);
  detail::reference_einsum(parsed, magnitude_inputs,
                           {bound.at_origin(), dtype, problem.output.effective_strides()},
                           std::abs(problem.alpha), std::abs(problem.beta));
  outcome.failure = testing::compare_buffers(actual, expected, testing::largest_magnitude(bound));
  return outcome;
}

// What the drawn problems exercised, counted so that a change to the drawing
// cannot silently stop covering a feature.
struct Coverage {
  int diagonal = 0;  // a label repeated within one operand
  int ellipsis = 0;
  int broadcast = 0;  // a size-1 axis on an input
  int zero_extent = 0;
  int negative_stride = 0;
  int zero_stride = 0;     // on an input axis of extent > 1
  int strided_output = 0;  // output strides other than C order
  int nan_output = 0;      // beta == 0: the output starts as NaN
  int complex_scalar = 0;  // alpha or beta with an imaginary part

  void count(const DifferentialProblem& problem) {
    const std::string& expression = problem.expression;
    ellipsis += expression.find("...") != std::string::npos;
    bool has_diagonal = false;
    std::string term;
    for (std::size_t at = 0; at <= expression.size(); ++at) {
      const char letter = at < expression.size() ? expression[at] : ',';
      if (letter == ',' || letter == '-') {
        term.clear();
      } else if (letter != '.' && letter != '>') {
        has_diagonal |= term.find(letter) != std::string::npos;
        term += letter;
      }
    }
    diagonal += has_diagonal;
    bool has_zero_extent = false;
    bool has_broadcast = false;
    bool has_negative = false;
    bool has_zero_stride = false;
    for (const TensorDesc& desc : problem.inputs) {
      for (int axis = 0; axis < desc.rank(); ++axis) {
        has_zero_extent |= desc.extents[axis] == 0;
        has_broadcast |= desc.extents[axis] == 1;
        if (!desc.strides.empty()) {
          has_negative |= desc.strides[axis] < 0;
          has_zero_stride |= desc.strides[axis] == 0 && desc.extents[axis] > 1;
        }
      }
    }
    zero_extent += has_zero_extent;
    broadcast += has_broadcast;
    negative_stride += has_negative;
    zero_stride += has_zero_stride;
    strided_output += !problem.output.strides.empty();
    nan_output += problem.beta == 0.0;
    complex_scalar += problem.alpha.imag() != 0 || problem.beta.imag() != 0;
  }

  std::string to_string() const {
    return "diagonal " + std::to_string(diagonal) + ", ellipsis " + std::to_string(ellipsis) +
           ", size-1 axis " + std::to_string(broadcast) + ", zero extent " +
           std::to_string(zero_extent) + ", negative stride " + std::to_string(negative_stride) +
           ", zero stride " + std::to_string(zero_stride) + ", strided output " +
           std::to_string(strided_output) + ", NaN output (beta 0) " + std::to_string(nan_output) +
           ", complex alpha/beta " + std::to_string(complex_scalar);
  }

  void expect_all(DataType dtype) const {
    EXPECT_GT(diagonal, 0);
    EXPECT_GT(ellipsis, 0);
    EXPECT_GT(broadcast, 0);
    EXPECT_GT(zero_extent, 0);
    EXPECT_GT(negative_stride, 0);
    EXPECT_GT(zero_stride, 0);
    EXPECT_GT(strided_output, 0);
    EXPECT_GT(nan_output, 0);
    if (is_complex(dtype)) {
      EXPECT_GT(complex_scalar, 0);
    }
  }
};

void run_differential(DataType dtype, std::uint32_t first_seed) {
  Coverage coverage;
  int budgeted = 0;
  int refused = 0;
  int sliced = 0;
  int failures = 0;
  for (int index = 0; index < kProblemsPerDataType; ++index) {
    const DifferentialProblem problem =
        draw_problem(first_seed + static_cast<std::uint32_t>(index), dtype);
    const Outcome outcome = run_problem(problem);
    coverage.count(problem);
    budgeted += problem.budgeted;
    refused += outcome.refused;
    sliced += outcome.sliced;
    if (!outcome.failure.empty()) {
      ADD_FAILURE() << outcome.failure << "\n  reproduce: " << reproduction(problem);
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
  coverage.expect_all(dtype);
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

// EINSTREAM_DIFFERENTIAL_SEED=<seed> reruns the one problem a failure named.
TEST(Differential, ReplaysTheSeedInTheEnvironment) {
  const char* seed_text = std::getenv("EINSTREAM_DIFFERENTIAL_SEED");
  if (seed_text == nullptr) GTEST_SKIP() << "set EINSTREAM_DIFFERENTIAL_SEED to replay a problem";
  const auto seed = static_cast<std::uint32_t>(std::strtoul(seed_text, nullptr, 10));
  constexpr DataType kDataTypes[] = {DataType::f32, DataType::f64, DataType::c64, DataType::c128};
  const DifferentialProblem problem =
      draw_problem(seed, kDataTypes[std::min<std::uint32_t>(seed / kSeedsPerDataType, 3)]);
  const Outcome outcome = run_problem(problem);
  EXPECT_EQ(outcome.failure, "") << reproduction(problem);
  std::printf("%s\n%s\n", reproduction(problem).c_str(),
              outcome.refused ? "refused: below the smallest block"
                              : (outcome.sliced ? "ran sliced" : "ran whole"));
}

}  // namespace
}  // namespace einstream
