// Tests of the reference executor against hand-computed values and naive
// loops written out here. Problems are built by hand, not parsed, so these
// tests depend on nothing but the Problem struct.
#include "src/reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

using Complex = std::complex<double>;
using Modes = std::vector<Mode>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A Problem in which every operand keeps all its axes (no broadcasting); mode
// m is labelled 'a' + m.
Problem make_problem(const std::vector<Modes>& inputs, const Modes& output,
                     const std::vector<std::int64_t>& extents) {
  Problem problem;
  for (const Modes& modes : inputs) {
    ProblemOperand operand;
    operand.modes = modes;
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      operand.axes.push_back(static_cast<int>(axis));
    }
    operand.rank = static_cast<int>(modes.size());
    problem.inputs.push_back(operand);
  }
  problem.output = output;
  problem.extents = extents;
  for (std::size_t mode = 0; mode < extents.size(); ++mode) {
    problem.labels.push_back(std::string(1, static_cast<char>('a' + mode)));
  }
  return problem;
}

std::vector<std::int64_t> extents_of(const Problem& problem, const Modes& modes) {
  std::vector<std::int64_t> extents;
  for (Mode mode : modes) extents.push_back(problem.extents[static_cast<std::size_t>(mode)]);
  return extents;
}

template <typename T>
ReferenceInput strided_input(const T* data, std::vector<std::int64_t> strides) {
  return {data, data_type_of<T>(), std::move(strides)};
}

// A C-contiguous input for operand `k` of `problem`.
template <typename T>
ReferenceInput input_for(const Problem& problem, std::size_t k, const std::vector<T>& data) {
  return strided_input(data.data(), c_order_strides(extents_of(problem, problem.inputs[k].modes)));
}

template <typename T>
ReferenceOutput output_for(const Problem& problem, std::vector<T>& data) {
  return {data.data(), data_type_of<T>(), c_order_strides(problem.output_extents())};
}

std::vector<double> random_values(std::size_t count, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> values(count);
  for (double& value : values) value = uniform(rng);
  return values;
}

// A seed that differs per run and is printed by the caller's SCOPED_TRACE.
std::uint64_t fresh_seed() { return std::random_device{}(); }

void expect_near_all(const std::vector<double>& actual, const std::vector<double>& expected,
                     double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t k = 0; k < actual.size(); ++k) {
    EXPECT_NEAR(actual[k], expected[k], tolerance) << "at element " << k;
  }
}

// Runs `call` and checks that it throws an Error whose message names `word`.
void expect_error_mentioning(const std::function<void()>& call, const std::string& word) {
  try {
    call();
    ADD_FAILURE() << "expected einstream::Error mentioning '" << word << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(word), std::string::npos) << error.what();
  }
}

// i=0, j=1, k=2: C[i,k] = sum_j A[i,j] B[j,k] for the matrices below.
const std::vector<double> kA = {1, 2, 3, 4, 5, 6};     // 2x3
const std::vector<double> kB = {7, 8, 9, 10, 11, 12};  // 3x2
const std::vector<double> kAB = {58, 64, 139, 154};    // 2x2
const Problem kMatmul = make_problem({{0, 1}, {1, 2}}, {0, 2}, {2, 3, 2});

TEST(Reference, MatrixProductMatchesHandComputedValues) {
  std::vector<double> c(4, kNaN);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c));
  EXPECT_EQ(c, kAB);
}

TEST(Reference, MatrixProductMatchesNaiveLoop) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const int m = 5, n = 7, p = 4;
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {0, 2}, {m, n, p});
  const std::vector<double> a = random_values(m * n, rng), b = random_values(n * p, rng);
  std::vector<double> c(m * p), expected(m * p, 0.0);
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < p; ++k)
      for (int j = 0; j < n; ++j) expected[i * p + k] += a[i * n + j] * b[j * p + k];
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  expect_near_all(c, expected, 1e-12);
}

TEST(Reference, TransposedOutputWritesAxesInOutputOrder) {
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {2, 0}, {2, 3, 2});  // ij,jk->ki
  std::vector<double> c(4);
  reference_einsum(problem, {input_for(problem, 0, kA), input_for(problem, 1, kB)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{58, 139, 64, 154}));
}

TEST(Reference, BatchedProductMatchesNaiveLoop) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const int nb = 3, m = 4, n = 5, p = 2;  // bij,bjk->bik
  const Problem problem = make_problem({{0, 1, 2}, {0, 2, 3}}, {0, 1, 3}, {nb, m, n, p});
  const std::vector<double> a = random_values(nb * m * n, rng);
  const std::vector<double> b = random_values(nb * n * p, rng);
  std::vector<double> c(nb * m * p), expected(nb * m * p, 0.0);
  for (int x = 0; x < nb; ++x)
    for (int i = 0; i < m; ++i)
      for (int k = 0; k < p; ++k)
        for (int j = 0; j < n; ++j)
          expected[(x * m + i) * p + k] += a[(x * m + i) * n + j] * b[(x * n + j) * p + k];
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  expect_near_all(c, expected, 1e-12);
}

TEST(Reference, OuterProductMultipliesEveryPair) {
  const Problem problem = make_problem({{0}, {1}}, {0, 1}, {2, 3});
  const std::vector<double> a = {1, 2}, b = {3, 4, 5};
  std::vector<double> c(6);
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{3, 4, 5, 6, 8, 10}));
}

TEST(Reference, HadamardProductMultipliesElementwise) {
  const Problem problem = make_problem({{0, 1}, {0, 1}}, {0, 1}, {2, 2});
  const std::vector<double> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  std::vector<double> c(4);
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{5, 12, 21, 32}));
}

TEST(Reference, TraceSumsTheDiagonal) {
  const Problem problem = make_problem({{0, 0}}, {}, {3});  // ii->
  const std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> c(1);
  reference_einsum(problem, {input_for(problem, 0, a)}, output_for(problem, c));
  EXPECT_EQ(c[0], 15.0);
}

TEST(Reference, DiagonalExtractionCopiesTheDiagonal) {
  const Problem problem = make_problem({{0, 0}}, {0}, {3});  // ii->i
  const std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> c(3);
  reference_einsum(problem, {input_for(problem, 0, a)}, output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{1, 5, 9}));
}

TEST(Reference, NonAdjacentRepeatedModeTakesTheDiagonal) {
  const Problem problem = make_problem({{0, 1, 0}}, {1}, {2, 2});  // iji->j
  const std::vector<double> a = {0, 1, 2, 3, 4, 5, 6, 7};          // a[i][j][k] = 4i + 2j + k
  std::vector<double> c(2);
  reference_einsum(problem, {input_for(problem, 0, a)}, output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{0 + 5, 2 + 7}));
}

TEST(Reference, ModeInOneOperandOnlyIsSummedBeforeMultiplying) {
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {1, 2}, {2, 2, 2});  // ij,jk->jk
  const std::vector<double> a = {1, 2, 3, 4}, b = {1, 10, 100, 1000};         // column sums 4, 6
  std::vector<double> c(4);
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{4, 40, 600, 6000}));
}

TEST(Reference, BroadcastOperandNeverAddressesItsDroppedAxis) {
  // ij,ij->ij with A of shape [1,3] and B of shape [2,3]: A's axis 0 is
  // dropped, so A keeps only mode j on axis 1. Its stride 3 on axis 0 would
  // reach the 100s if the dropped axis or its stride were ever used.
  Problem problem = make_problem({{0, 1}, {0, 1}}, {0, 1}, {2, 3});
  problem.inputs[0].modes = {1};
  problem.inputs[0].axes = {1};
  problem.inputs[0].rank = 2;
  const std::vector<double> a = {1, 2, 3, 100, 100, 100, 100, 100, 100};
  const std::vector<double> b = {1, 2, 3, 4, 5, 6};
  std::vector<double> c(6);
  reference_einsum(problem, {strided_input(a.data(), {3, 1}), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{1, 4, 9, 4, 10, 18}));
}

TEST(Reference, ScalarInputScalesEveryElement) {
  const Problem problem = make_problem({{0}, {}}, {0}, {2});  // i,->i
  const std::vector<double> a = {1, 2}, s = {3};
  std::vector<double> c(2);
  reference_einsum(problem, {input_for(problem, 0, a), strided_input(s.data(), {})},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{3, 6}));
}

TEST(Reference, ScalarOutputIsOneElement) {
  const Problem dot = make_problem({{0}, {0}}, {}, {3});  // i,i->
  const std::vector<double> a = {1, 2, 3}, b = {4, 5, 6};
  std::vector<double> c = {kNaN, -1};
  reference_einsum(dot, {input_for(dot, 0, a), input_for(dot, 1, b)}, output_for(dot, c));
  EXPECT_EQ(c, (std::vector<double>{32, -1}));

  const Problem scalars = make_problem({{}, {}}, {}, {});  // ,->
  const std::vector<double> x = {2}, y = {5};
  reference_einsum(scalars, {input_for(scalars, 0, x), input_for(scalars, 1, y)},
                   output_for(scalars, c));
  EXPECT_EQ(c[0], 10.0);
}

TEST(Reference, SummedExtentZeroGivesBetaTimesOutput) {
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {0, 2}, {2, 0, 2});
  const ReferenceInput empty_a{nullptr, DataType::f64, {0, 1}};
  const ReferenceInput empty_b{nullptr, DataType::f64, {2, 1}};
  std::vector<double> c = {1, 2, 3, 4};
  reference_einsum(problem, {empty_a, empty_b}, output_for(problem, c), 5.0, 2.0);
  EXPECT_EQ(c, (std::vector<double>{2, 4, 6, 8}));
  c.assign(4, kNaN);
  reference_einsum(problem, {empty_a, empty_b}, output_for(problem, c), 5.0, 0.0);
  EXPECT_EQ(c, (std::vector<double>{0, 0, 0, 0}));
}

TEST(Reference, OutputExtentZeroWritesNothing) {
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {0, 2}, {0, 3, 2});
  std::vector<double> sentinel = {7, 7};
  const ReferenceOutput output{sentinel.data(), DataType::f64, {2, 1}};
  reference_einsum(problem, {{nullptr, DataType::f64, {3, 1}}, input_for(problem, 1, kB)}, output,
                   1.0, 1.0);
  EXPECT_EQ(sentinel, (std::vector<double>{7, 7}));
  reference_einsum(problem, {{nullptr, DataType::f64, {3, 1}}, input_for(problem, 1, kB)},
                   {nullptr, DataType::f64, {2, 1}});
}

TEST(Reference, ComplexDoubleUsesComplexAlphaAndBeta) {
  const Problem problem = make_problem({{0}, {0}}, {}, {2});  // i,i-> (no conjugation)
  const std::vector<Complex> a = {{1, 2}, {3, -1}}, b = {{2, -1}, {1, 1}};
  // (1+2i)(2-i) + (3-i)(1+i) = (4+3i) + (4+2i) = 8+5i; i(8+5i) + 2i(1+i) = -7+10i.
  std::vector<Complex> c = {{1, 1}};
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c), Complex(0, 1), Complex(0, 2));
  EXPECT_EQ(c[0], Complex(-7, 10));
}

TEST(Reference, ComplexFloatMatrixProduct) {
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {0, 2}, {1, 2, 1});
  const std::vector<std::complex<float>> a = {{1, 1}, {2, 0}}, b = {{0, 1}, {1, -1}};
  // (1+i)i + 2(1-i) = (-1+i) + (2-2i) = 1-i, times alpha 2.
  std::vector<std::complex<float>> c(1);
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c), 2.0);
  EXPECT_EQ(c[0], std::complex<float>(2, -2));
}

TEST(Reference, RealInputIsPromotedInComplexProblem) {
  const Problem problem = make_problem({{0}, {0}}, {0}, {2});  // i,i->i
  const std::vector<double> a = {2, 3};
  const std::vector<float> a32 = {2, 3};
  const std::vector<Complex> b = {{0, 1}, {1, 1}};
  std::vector<Complex> c(2);
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<Complex>{{0, 2}, {3, 3}}));
  std::vector<std::complex<float>> c64(2);
  reference_einsum(problem, {input_for(problem, 0, a32), input_for(problem, 1, b)},
                   output_for(problem, c64), Complex(0, 1));
  EXPECT_EQ(c64, (std::vector<std::complex<float>>{{-2, 0}, {-3, 3}}));
}

TEST(Reference, MixedRealDtypesMultiplyInDouble) {
  const std::vector<float> a(kA.begin(), kA.end());
  std::vector<double> c(4);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, a), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c));
  EXPECT_EQ(c, kAB);
  std::vector<float> c32(4);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, a)},
                   output_for(kMatmul, c32));
  EXPECT_EQ(c32, (std::vector<float>{22, 28, 49, 64}));  // A times A reshaped to 3x2
}

TEST(Reference, F32InputsAccumulateInDouble) {
  // In float, 1e8 + 1 rounds back to 1e8 and the sum would be 0.
  const Problem problem = make_problem({{0}}, {}, {3});
  const std::vector<float> a = {1e8f, 1.0f, -1e8f};
  std::vector<float> c(1);
  reference_einsum(problem, {input_for(problem, 0, a)}, output_for(problem, c));
  EXPECT_EQ(c[0], 1.0f);
}

TEST(Reference, NonContiguousInputSkipsPadding) {
  // A stored with a row stride of 4; the padding holds NaN.
  const std::vector<double> padded = {1, 2, 3, kNaN, 4, 5, 6, kNaN};
  std::vector<double> c(4);
  reference_einsum(kMatmul, {strided_input(padded.data(), {4, 1}), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c));
  EXPECT_EQ(c, kAB);
}

TEST(Reference, TransposedStridesReadColumnMajorData) {
  const std::vector<double> a_column_major = {1, 4, 2, 5, 3, 6};
  std::vector<double> c(4);
  reference_einsum(kMatmul,
                   {strided_input(a_column_major.data(), {1, 2}), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c));
  EXPECT_EQ(c, kAB);
}

TEST(Reference, NegativeStrideWalksBackwardFromTheEnd) {
  const Problem problem = make_problem({{0}, {0}}, {0}, {3});  // i,i->i
  const std::vector<double> a = {1, 2, 3}, b = {10, 20, 30};
  std::vector<double> c(3);
  reference_einsum(problem, {strided_input(a.data() + 2, {-1}), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{30, 40, 30}));
}

TEST(Reference, ZeroStrideRepeatsOneElement) {
  const Problem problem = make_problem({{0}, {0}}, {0}, {3});
  const std::vector<double> a = {5}, b = {1, 2, 3};
  std::vector<double> c(3);
  reference_einsum(problem, {strided_input(a.data(), {0}), input_for(problem, 1, b)},
                   output_for(problem, c));
  EXPECT_EQ(c, (std::vector<double>{5, 10, 15}));
}

TEST(Reference, StridedOutputLeavesGapsUntouched) {
  std::vector<double> c(6, -1);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   {c.data(), DataType::f64, {3, 1}});
  EXPECT_EQ(c, (std::vector<double>{58, 64, -1, 139, 154, -1}));
  std::vector<double> transposed(4);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   {transposed.data(), DataType::f64, {1, 2}});
  EXPECT_EQ(transposed, (std::vector<double>{58, 139, 64, 154}));
}

TEST(Reference, BetaZeroIgnoresNaNInOutput) {
  std::vector<double> c(4, kNaN);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c), 2.0, 0.0);
  EXPECT_EQ(c, (std::vector<double>{116, 128, 278, 308}));
}

TEST(Reference, BetaOneAccumulatesIntoOutput) {
  std::vector<double> c = {1, 2, 3, 4};
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c), 1.0, 1.0);
  EXPECT_EQ(c, (std::vector<double>{59, 66, 142, 158}));
}

TEST(Reference, AlphaAndBetaScaleResultAndOutput) {
  std::vector<double> c = {2, 4, 6, 8};
  reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c), 0.5, -0.5);
  EXPECT_EQ(c, (std::vector<double>{28, 30, 66.5, 73}));
}

// Random values of an element type, and its rounding tolerance for a short
// sum of products of values in [-1, 1].
template <typename T>
struct DtypeTraits;
template <>
struct DtypeTraits<float> {
  static float make(double re, double) { return static_cast<float>(re); }
  static constexpr double kTolerance = 1e-5;
};
template <>
struct DtypeTraits<double> {
  static double make(double re, double) { return re; }
  static constexpr double kTolerance = 1e-12;
};
template <>
struct DtypeTraits<std::complex<float>> {
  static std::complex<float> make(double re, double im) {
    return {static_cast<float>(re), static_cast<float>(im)};
  }
  static constexpr double kTolerance = 1e-5;
};
template <>
struct DtypeTraits<Complex> {
  static Complex make(double re, double im) { return {re, im}; }
  static constexpr double kTolerance = 1e-12;
};

template <typename T>
class ReferenceDtype : public ::testing::Test {};
using AllDtypes = ::testing::Types<float, double, std::complex<float>, Complex>;
TYPED_TEST_SUITE(ReferenceDtype, AllDtypes);

TYPED_TEST(ReferenceDtype, ScaledMatrixProductMatchesNaiveLoop) {
  using T = TypeParam;
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  auto random_tensor = [&](std::size_t count) {
    std::vector<T> values;
    for (std::size_t k = 0; k < count; ++k) {
      const double re = uniform(rng);
      values.push_back(DtypeTraits<T>::make(re, uniform(rng)));
    }
    return values;
  };
  const int m = 3, n = 6, p = 4;
  const Problem problem = make_problem({{0, 1}, {1, 2}}, {0, 2}, {m, n, p});
  const std::vector<T> a = random_tensor(m * n), b = random_tensor(n * p);
  std::vector<T> c = random_tensor(m * p);
  std::vector<Complex> expected(m * p);
  for (int i = 0; i < m; ++i) {
    for (int k = 0; k < p; ++k) {
      Complex sum = 0;
      for (int j = 0; j < n; ++j) sum += Complex(a[i * n + j]) * Complex(b[j * p + k]);
      expected[i * p + k] = 1.5 * sum + 0.5 * Complex(c[i * p + k]);
    }
  }
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, c), 1.5, 0.5);
  for (int e = 0; e < m * p; ++e) {
    EXPECT_LE(std::abs(Complex(c[e]) - expected[e]), DtypeTraits<T>::kTolerance) << "at " << e;
  }
  std::vector<T> fresh(m * p, DtypeTraits<T>::make(kNaN, kNaN));
  reference_einsum(problem, {input_for(problem, 0, a), input_for(problem, 1, b)},
                   output_for(problem, fresh));
  for (T value : fresh) EXPECT_FALSE(std::isnan(std::abs(Complex(value))));
}

// Random problems (diagonals, summed modes, outer products, zero extents)
// against brute force: every assignment of every mode, offsets recomputed
// from scratch.
TEST(Reference, RandomProblemsMatchBruteForce) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    const int mode_count = std::uniform_int_distribution<int>(1, 4)(rng);
    std::vector<std::int64_t> extents(mode_count);
    for (auto& extent : extents) extent = std::uniform_int_distribution<int>(0, 3)(rng);
    const int input_count = std::uniform_int_distribution<int>(1, 3)(rng);
    std::vector<Modes> input_modes(input_count);
    for (Modes& modes : input_modes) {
      const int rank = std::uniform_int_distribution<int>(0, 3)(rng);
      for (int axis = 0; axis < rank; ++axis) {
        modes.push_back(std::uniform_int_distribution<int>(0, mode_count - 1)(rng));
      }
    }
    Modes output;
    for (Mode mode = 0; mode < mode_count; ++mode) {
      if (rng() % 2) output.push_back(mode);
    }
    std::shuffle(output.begin(), output.end(), rng);
    const Problem problem = make_problem(input_modes, output, extents);
    SCOPED_TRACE(to_string(problem));

    std::vector<std::vector<double>> data(input_count);
    std::vector<ReferenceInput> inputs;
    for (int k = 0; k < input_count; ++k) {
      std::int64_t count = 1;
      for (std::int64_t extent : extents_of(problem, input_modes[k])) count *= extent;
      data[k] = random_values(static_cast<std::size_t>(count), rng);
      inputs.push_back(input_for(problem, k, data[k]));
    }
    const std::vector<std::int64_t> out_strides = c_order_strides(problem.output_extents());
    std::int64_t out_count = 1, total = 1;
    for (std::int64_t extent : problem.output_extents()) out_count *= extent;
    // Modes in no input and not in the output take no part in the sum.
    std::vector<std::int64_t> loop_extents(extents.size(), 1);
    for (const Modes& modes : input_modes) {
      for (Mode mode : modes) loop_extents[mode] = extents[mode];
    }
    for (Mode mode : output) loop_extents[mode] = extents[mode];
    for (std::int64_t extent : loop_extents) total *= extent;
    std::vector<double> expected(static_cast<std::size_t>(out_count), 0.0);
    for (std::int64_t flat = 0; flat < total; ++flat) {
      std::vector<std::int64_t> index(mode_count);
      for (int mode = mode_count - 1, rest = static_cast<int>(flat); mode >= 0; --mode) {
        index[mode] = rest % loop_extents[mode];
        rest /= static_cast<int>(loop_extents[mode]);
      }
      double term = 1;
      for (int k = 0; k < input_count; ++k) {
        const auto strides = inputs[k].strides;
        std::int64_t offset = 0;
        for (std::size_t axis = 0; axis < strides.size(); ++axis) {
          offset += index[input_modes[k][axis]] * strides[axis];
        }
        term *= data[k][offset];
      }
      std::int64_t out_offset = 0;
      for (std::size_t pos = 0; pos < output.size(); ++pos) {
        out_offset += index[output[pos]] * out_strides[pos];
      }
      expected[out_offset] += term;
    }
    std::vector<double> actual(expected.size(), kNaN);
    reference_einsum(problem, inputs, {actual.data(), DataType::f64, out_strides});
    expect_near_all(actual, expected, 1e-12);
  }
}

TEST(Reference, RejectsWrongInputCount) {
  std::vector<double> c(4);
  expect_error_mentioning(
      [&] { reference_einsum(kMatmul, {input_for(kMatmul, 0, kA)}, output_for(kMatmul, c)); },
      "inputs");
}

TEST(Reference, RejectsInputStridesNotMatchingRank) {
  std::vector<double> c(4);
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {strided_input(kA.data(), {1}), input_for(kMatmul, 1, kB)},
                         output_for(kMatmul, c));
      },
      "strides");
}

TEST(Reference, RejectsOutputStridesNotMatchingOutputModes) {
  std::vector<double> c(4);
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                         {c.data(), DataType::f64, {1}});
      },
      "strides");
}

TEST(Reference, RejectsNullPointersForTensorsWithElements) {
  std::vector<double> c(4);
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {{nullptr, DataType::f64, {3, 1}}, input_for(kMatmul, 1, kB)},
                         output_for(kMatmul, c));
      },
      "null");
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                         {nullptr, DataType::f64, {2, 1}});
      },
      "null");
}

TEST(Reference, RejectsComplexAlphaOrBetaForRealOutput) {
  std::vector<double> c(4);
  const std::vector<ReferenceInput> inputs = {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)};
  expect_error_mentioning(
      [&] { reference_einsum(kMatmul, inputs, output_for(kMatmul, c), Complex(1, 1)); }, "real");
  expect_error_mentioning(
      [&] { reference_einsum(kMatmul, inputs, output_for(kMatmul, c), 1.0, Complex(0, 1)); },
      "real");
}

TEST(Reference, RejectsComplexInputWithRealOutput) {
  const std::vector<Complex> a(6);
  std::vector<double> c(4);
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {input_for(kMatmul, 0, a), input_for(kMatmul, 1, kB)},
                         output_for(kMatmul, c));
      },
      "complex");
}

template <typename Half>
std::vector<Half> narrowed(const std::vector<double>& values) {
  std::vector<Half> result;
  for (double value : values) result.push_back(Half(static_cast<float>(value)));
  return result;
}

template <typename Half>
void expect_half_matmul_is_exact() {
  SCOPED_TRACE(to_string(data_type_of<Half>()));
  // The matrices and their product are small integers, exact in both types.
  const std::vector<Half> a = narrowed<Half>(kA), b = narrowed<Half>(kB);
  std::vector<double> wide(4, kNaN);
  reference_einsum(kMatmul, {input_for(kMatmul, 0, a), input_for(kMatmul, 1, b)},
                   output_for(kMatmul, wide));
  EXPECT_EQ(wide, kAB);
  std::vector<Half> c(4, Half(kNaN));
  reference_einsum(kMatmul, {input_for(kMatmul, 0, a), input_for(kMatmul, 1, kB)},
                   output_for(kMatmul, c));
  for (std::size_t k = 0; k < c.size(); ++k) EXPECT_EQ(float(c[k]), kAB[k]) << "at element " << k;
}

TEST(Reference, HalfPrecisionInputsAndOutputsMatchTheProduct) {
  expect_half_matmul_is_exact<float16>();
  expect_half_matmul_is_exact<bfloat16>();
}

TEST(Reference, HalfPrecisionOutputIsRoundedOnceAtTheEnd) {
  // 1 + 3 * 2^-12 rounds to 1 + 2^-10 in f16; adding the terms in f16 would
  // lose each 2^-12 (under half an ulp of 1) and give 1.
  const Problem sum = make_problem({{0}}, {}, {4});
  const double tiny = std::ldexp(1.0, -12);
  const std::vector<double> terms = {1.0, tiny, tiny, tiny};
  std::vector<float16> result(1);
  reference_einsum(sum, {input_for(sum, 0, terms)}, output_for(sum, result));
  EXPECT_EQ(float(result[0]), 1.0f + std::ldexp(1.0f, -10));
  // With beta the old value joins the same single rounding.
  result[0] = float16(1.0f);
  reference_einsum(sum, {input_for(sum, 0, narrowed<float16>({0.0, tiny, tiny, tiny}))},
                   output_for(sum, result), 1.0, 1.0);
  EXPECT_EQ(float(result[0]), 1.0f + std::ldexp(1.0f, -10));
}

TEST(Reference, RejectsValuesOutsideTheDataTypeEnum) {
  std::vector<double> c(4);
  const auto bad = static_cast<DataType>(17);
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {{kA.data(), bad, {3, 1}}, input_for(kMatmul, 1, kB)},
                         output_for(kMatmul, c));
      },
      "17");
  expect_error_mentioning(
      [&] {
        reference_einsum(kMatmul, {input_for(kMatmul, 0, kA), input_for(kMatmul, 1, kB)},
                         {c.data(), bad, {2, 1}});
      },
      "not a DataType");
}

}  // namespace
}  // namespace einstream::detail
