// The public Plan / einsum API: planning, execution with alpha and beta,
// strided outputs, and the errors a caller can run into.
#include "einstream/einstream.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "src/cuda_executor.hpp"

namespace einstream {
namespace {

TensorDesc f64(std::vector<std::int64_t> extents, std::vector<std::int64_t> strides = {}) {
  return TensorDesc(DataType::f64, std::move(extents), std::move(strides));
}

template <typename Exception, typename Body>
std::string message_of(Body body) {
  try {
    body();
  } catch (const Exception& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Plan, ReportsOutputDescAndPath) {
  Plan plan("ij,jk->ki", {f64({2, 3}), f64({3, 4})});
  EXPECT_EQ(plan.output().dtype, DataType::f64);
  EXPECT_EQ(plan.output().extents, (std::vector<std::int64_t>{4, 2}));
  EXPECT_TRUE(plan.output().strides.empty());
  EXPECT_EQ(plan.path().path, (std::vector<std::vector<int>>{{0, 1}}));
  EXPECT_EQ(plan.path().flops, 48);
  EXPECT_EQ(plan.path().largest_intermediate, 8);
  EXPECT_GE(plan.path().seconds, 0);
  // auto: the GPU when one is visible, else the host.
  EXPECT_EQ(plan.backend(), detail::cuda_backend_available() ? Backend::cuda : Backend::host);
  EXPECT_EQ(plan.expression(), "ij,jk->ki");
  EXPECT_EQ(plan.inputs().size(), 2u);
}

TEST(Plan, ReportsItsExactWorkspace) {
  // On the host: a single GEMM needs no intermediate; a chain needs its
  // middle product. (The CUDA backend adds its kernel and cuBLAS workspaces:
  // tests/cuda/executor_test.cpp.)
  Options host;
  host.backend = Backend::host;
  EXPECT_EQ(Plan("ij,jk->ik", {f64({2, 3}), f64({3, 4})}, host).workspace_bytes(), 0u);
  const Plan chain("ij,jk,kl->il", {f64({20, 30}), f64({30, 40}), f64({40, 50})}, host);
  EXPECT_GE(chain.workspace_bytes(), 20u * 40u * 8u);
  EXPECT_EQ(chain.workspace_bytes() % 256, 0u);
}

TEST(Plan, ExecutesManyTimesWithAlphaAndBeta) {
  Plan plan("ij,j->i", {f64({2, 2}), f64({2})});
  const std::vector<double> a = {1, 2, 3, 4};
  std::vector<double> x = {1, 1};
  std::vector<double> y = {100, 200};
  plan.execute({a.data(), x.data()}, y.data());  // y = A x
  EXPECT_EQ(y, (std::vector<double>{3, 7}));
  plan.execute({a.data(), x.data()}, y.data(), 2.0, 1.0);  // y = 2 A x + y
  EXPECT_EQ(y, (std::vector<double>{9, 21}));
  x = {1, 0};
  plan.execute({a.data(), x.data()}, y.data(), -1.0, 0.5);
  EXPECT_EQ(y, (std::vector<double>{3.5, 7.5}));
}

TEST(Plan, BetaZeroIgnoresNaNInTheOutput) {
  Plan plan("i->", {f64({3})});
  const std::vector<double> x = {1, 2, 3};
  double sum = std::numeric_limits<double>::quiet_NaN();
  plan.execute({x.data()}, &sum);
  EXPECT_EQ(sum, 6);
}

TEST(Plan, ComplexAlphaAndBetaApplyToComplexData) {
  using C = std::complex<double>;
  Plan plan("i,i->", {TensorDesc(DataType::c128, {2}), TensorDesc(DataType::c128, {2})});
  const std::vector<C> a = {{1, 1}, {0, 2}};
  const std::vector<C> b = {{2, 0}, {1, -1}};
  C result = {1, 0};
  // a.b = (2+2i) + (2+2i) = 4+4i; i*(4+4i) + (1-i)*1 = -4+4i + 1-i = -3+3i
  plan.execute({a.data(), b.data()}, &result, C(0, 1), C(1, -1));
  EXPECT_EQ(result, C(-3, 3));
}

TEST(Plan, WritesAStridedOutput) {
  // Write A^T into the even columns of a 3x4 buffer.
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};  // 2x3
  std::vector<double> buffer(12, -1);
  Plan plan("ij->ji", {f64({2, 3})}, f64({3, 2}, {4, 2}));
  plan.execute({a.data()}, buffer.data());
  EXPECT_EQ(buffer, (std::vector<double>{1, -1, 4, -1, 2, -1, 5, -1, 3, -1, 6, -1}));
}

TEST(Plan, ReadsStridedAndFortranOrderInputs) {
  // The same 2x3 matrix stored column-major.
  const std::vector<double> column_major = {1, 4, 2, 5, 3, 6};
  const std::vector<double> ones = {1, 1, 1};
  std::vector<double> row_sums(2);
  einsum("ij,j->i", {view(column_major.data(), {2, 3}, {1, 2}), view(ones.data(), {3})},
         view(row_sums.data(), {2}));
  EXPECT_EQ(row_sums, (std::vector<double>{6, 15}));
}

TEST(Plan, InputsAreNeverWritten) {
  std::vector<double> a = {1, 2, 3, 4};
  const std::vector<double> before = a;
  std::vector<double> out(2);
  einsum("ii->i", {view(static_cast<const double*>(a.data()), {2, 2})}, view(out.data(), {2}));
  EXPECT_EQ(a, before);
  EXPECT_EQ(out, (std::vector<double>{1, 4}));
}

TEST(Plan, ReportsWhatTheLastExecutionDid) {
  Options host;
  host.backend = Backend::host;
  Plan plan("ij,jk->ik", {f64({2, 3}), f64({3, 4})}, host);
  EXPECT_EQ(plan.last_report().seconds, 0);  // nothing ran yet
  std::vector<double> a(6, 1.0), b(12, 2.0), c(8);
  plan.execute({a.data(), b.data()}, c.data());
  const ExecutionReport& report = plan.last_report();
  EXPECT_EQ(report.backend, Backend::host);
  EXPECT_EQ(report.blocks, 1);
  EXPECT_EQ(report.bytes_to_device, 0u);
  EXPECT_EQ(report.flops, plan.path().flops);
  EXPECT_GT(report.seconds, 0);
  EXPECT_NE(to_string(report).find("host backend, 1 block(s)"), std::string::npos);
}

TEST(Plan, ExplainListsStepsModesAndCosts) {
  Options host;
  host.backend = Backend::host;
  Plan plan("ij,jk,kl->il", {f64({2, 3}), f64({3, 4}), f64({4, 5})}, host);
  const std::string text = plan.explain();
  EXPECT_TRUE(contains(text, "ij,jk,kl->il"));
  EXPECT_TRUE(contains(text, "i=2 j=3 k=4 l=5"));
  EXPECT_TRUE(contains(text, "FLOPs"));
  EXPECT_TRUE(contains(text, "backend       host"));
  EXPECT_TRUE(contains(text, "->il"));
}

TEST(Plan, ContractionPathMatchesThePlan) {
  const PathInfo info = contraction_path("ij,jk,k->i", {{100, 100}, {100, 100}, {100}});
  EXPECT_EQ(info.path, (std::vector<std::vector<int>>{{1, 2}, {0, 1}}));
  EXPECT_EQ(info.flops, 40000);
  Options naive;
  naive.path = PathAlgorithm::naive;
  EXPECT_EQ(contraction_path("ij,jk,k->i", {{100, 100}, {100, 100}, {100}}, naive).flops, 2020000);
}

TEST(PlanErrors, MixedDataTypesAreRejected) {
  const std::string message = message_of<ShapeError>([] {
    Plan("ij,jk", {f64({2, 2}), TensorDesc(DataType::f32, {2, 2})});
  });
  EXPECT_TRUE(contains(message, "input 1 has data type f32 but input 0 has f64"));
}

TEST(PlanErrors, ValuesOutsideTheDataTypeEnumAreRejected) {
  const std::string message =
      message_of<Error>([] { Plan("i", {TensorDesc(static_cast<DataType>(9), {2})}); });
  EXPECT_TRUE(contains(message, "input 0 has data type value 9"));
  EXPECT_TRUE(contains(message, "f16 or bf16"));
}

TEST(Plan, HalfPrecisionPlansKeepTheirDataType) {
  for (DataType dtype : {DataType::f16, DataType::bf16}) {
    const Plan plan("ij,jk->ik", {TensorDesc(dtype, {2, 3}), TensorDesc(dtype, {3, 4})});
    EXPECT_EQ(plan.output().dtype, dtype) << to_string(dtype);
  }
}

TEST(PlanErrors, StrideCountMustMatchRank) {
  const std::string message = message_of<ShapeError>([] { Plan("ij", {f64({2, 2}, {1})}); });
  EXPECT_TRUE(contains(message, "1 strides for 2 extents"));
}

TEST(PlanErrors, OutputDescMustMatchTheResult) {
  const std::string message = message_of<ShapeError>([] {
    Plan("ij->j", {f64({2, 3})}, f64({2}));
  });
  EXPECT_TRUE(contains(message, "expected f64[3]"));
  EXPECT_THROW(Plan("ij->j", {f64({2, 3})}, TensorDesc(DataType::f32, {3})), ShapeError);
}

TEST(PlanErrors, SelfOverlappingOutputStridesAreRejected) {
  const std::string message = message_of<ShapeError>([] {
    Plan("ij->ij", {f64({2, 3})}, f64({2, 3}, {0, 1}));
  });
  EXPECT_TRUE(contains(message, "share memory"));
}

TEST(PlanErrors, OutputOverlappingAnInputIsRejectedBeforeWriting) {
  std::vector<double> data = {1, 2, 3, 4};
  const std::vector<double> before = data;
  Plan plan("ij->ji", {f64({2, 2})});
  const std::string message = message_of<Error>([&] { plan.execute({data.data()}, data.data()); });
  EXPECT_TRUE(contains(message, "overlaps input 0"));
  EXPECT_EQ(data, before);
}

TEST(PlanErrors, ExecuteChecksPointersAndScalars) {
  Plan plan("i,i->", {f64({2}), f64({2})});
  const std::vector<double> x = {1, 2};
  double out = 0;
  EXPECT_TRUE(contains(message_of<Error>([&] { plan.execute({x.data()}, &out); }),
                       "1 input pointers given"));
  EXPECT_TRUE(contains(message_of<Error>([&] {
                         plan.execute({x.data(), nullptr}, &out);
                       }),
                       "input 1 is a null pointer"));
  EXPECT_TRUE(contains(message_of<Error>([&] {
                         plan.execute({x.data(), x.data()}, nullptr);
                       }),
                       "output is a null pointer"));
  EXPECT_TRUE(contains(message_of<Error>([&] {
                         plan.execute({x.data(), x.data()}, &out, Scalar(1, 1));
                       }),
                       "must be real"));
}

TEST(PlanErrors, CudaBackendWithoutAGpuIsRefusedAtPlanTime) {
  if (detail::cuda_backend_available()) GTEST_SKIP() << "a GPU is visible: nothing to refuse";
  Options options;
  options.backend = Backend::cuda;
  const std::string message = message_of<Error>([&] { Plan("i", {f64({2})}, options); });
  EXPECT_TRUE(contains(message, "backend 'cuda'"));
  EXPECT_TRUE(contains(message, "'host'"));
}

TEST(PlanErrors, ParseAndShapeErrorsReachTheCaller) {
  try {
    Plan("ij,jk->ix", {f64({2, 3}), f64({3, 4})});
    FAIL() << "no exception";
  } catch (const ParseError& error) {
    EXPECT_EQ(error.position(), 8u);
    EXPECT_EQ(error.expression(), "ij,jk->ix");
  }
  EXPECT_THROW(Plan("ij,jk", {f64({2, 3}), f64({4, 4})}), ShapeError);
  EXPECT_THROW(Plan("ij", {}), Error);
}

TEST(PlanErrors, SizesThatOverflowAreRefusedWhereTheyEnter) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  // An input with no elements whose result would have 2^61 + 4096 f64
  // elements: the result's byte count wraps 64 bits, so it is refused.
  const std::int64_t wide = (std::int64_t{1} << 61) + 4096;
  const std::string message = message_of<ShapeError>([&] {
    Plan("ij->j", {f64({0, wide})}, Options{});
  });
  EXPECT_TRUE(contains(message, "the result of 'ij->j'")) << message;
  EXPECT_TRUE(contains(message, "byte count")) << message;
  EXPECT_THROW(Plan("ij,jk->ik", {f64({kMax, 3}), f64({3, 4})}), ShapeError);
  EXPECT_THROW(Plan("i->i", {TensorDesc(DataType::f64, {3}, {kMax / 2})}), ShapeError);
  EXPECT_THROW(contraction_path("ij,jk->ik", {{kMax, 3}, {3, 4}}), ShapeError);
  EXPECT_THROW(
      contraction_path("ij,jk->ik", {{std::int64_t{1} << 40, 0}, {0, std::int64_t{1} << 40}}),
      ShapeError);
  // Empty inputs with a representable result are fine: zeros.
  Plan empty("ij,jk->ik", {f64({2, 0}), f64({0, 3})}, Options{});
  std::vector<double> out(6, 7.0);
  empty.execute({nullptr, nullptr}, out.data());
  EXPECT_EQ(out, std::vector<double>(6, 0.0));
}

TEST(Plan, MovesKeepTheirState) {
  Plan first("i->", {f64({3})});
  Plan second = std::move(first);
  const std::vector<double> x = {1, 2, 3};
  double sum = 0;
  second.execute({x.data()}, &sum);
  EXPECT_EQ(sum, 6);
}

TEST(PlanErrors, EveryMethodOfAMovedFromPlanThrows) {
  Plan first("i->", {f64({3})});
  Plan second = std::move(first);
  const Plan& moved = first;  // NOLINT(bugprone-use-after-move): the point of the test
  const double x[3] = {1, 2, 3};
  double sum = 0;
  EXPECT_TRUE(contains(message_of<Error>([&] { (void)moved.explain(); }), "moved from"));
  EXPECT_THROW((void)moved.expression(), Error);
  EXPECT_THROW((void)moved.inputs(), Error);
  EXPECT_THROW((void)moved.output(), Error);
  EXPECT_THROW((void)moved.options(), Error);
  EXPECT_THROW((void)moved.backend(), Error);
  EXPECT_THROW((void)moved.path(), Error);
  EXPECT_THROW((void)moved.workspace_bytes(), Error);
  EXPECT_THROW((void)moved.bytes_moved(), Error);
  EXPECT_THROW((void)moved.last_report(), Error);
  EXPECT_THROW((void)moved.pipelines(), Error);
  EXPECT_THROW(first.execute({x}, &sum), Error);
  EXPECT_THROW(first.execute_share({x}, &sum, 0, 1), Error);
  // Assigning a new Plan makes it usable again.
  first = Plan("i->", {f64({3})});
  first.execute({x}, &sum);
  EXPECT_EQ(sum, 6);
}

TEST(Plan, ExplainSaysWhenAPathSearchStoppedAtItsBudget) {
  // 14 operands: optimal alone cannot finish in a microsecond.
  std::string expression;
  std::vector<TensorDesc> inputs;
  for (int operand = 0; operand < 14; ++operand) {
    expression += std::string(operand ? "," : "") + static_cast<char>('a' + operand) +
                  static_cast<char>('a' + operand + 1);
    inputs.push_back(f64({3 + operand % 4, 3 + (operand + 1) % 4}));
  }
  expression += "->ao";
  Options options;
  options.backend = Backend::host;
  options.path = PathAlgorithm::optimal;
  options.path_seconds = 1e-6;
  const Plan plan(expression, inputs, options);
  EXPECT_TRUE(contains(plan.explain(), "optimal stopped at its")) << plan.explain();
  options.path_seconds = 0;  // no limit: nothing stops
  options.path = PathAlgorithm::greedy;
  EXPECT_FALSE(contains(Plan(expression, inputs, options).explain(), "stopped at its"));
}

// --- Integer modes -------------------------------------------------------------

using ModeLists = std::vector<std::vector<std::int64_t>>;
using ModeList = std::vector<std::int64_t>;

std::vector<double> iota_values(std::size_t count, double start) {
  std::vector<double> values(count);
  for (std::size_t k = 0; k < count; ++k) values[k] = start + static_cast<double>(k);
  return values;
}

TEST(PlanIntegerModes, MatrixProductMatchesTheExpressionForm) {
  const std::vector<double> a = iota_values(6, 1.0);
  const std::vector<double> b = iota_values(12, -4.0);
  const std::vector<TensorDesc> descs = {f64({2, 3}), f64({3, 4})};
  // Any int64 values name modes; only equality matters.
  Plan modes(ModeLists{{7, -3}, {-3, std::int64_t{1} << 40}}, ModeList{std::int64_t{1} << 40, 7},
             descs);
  Plan text("ij,jk->ki", descs);
  EXPECT_EQ(modes.expression(), "ab,bc->ca");
  EXPECT_EQ(modes.output().extents, text.output().extents);
  EXPECT_EQ(modes.path().flops, text.path().flops);
  std::vector<double> from_modes(8), from_text(8);
  modes.execute({a.data(), b.data()}, from_modes.data());
  text.execute({a.data(), b.data()}, from_text.data());
  EXPECT_EQ(from_modes, from_text);
}

TEST(PlanIntegerModes, RepeatedModeTakesTheDiagonal) {
  const std::vector<double> a = iota_values(9, 1.0);
  Plan trace(ModeLists{{5, 5}}, ModeList{}, {f64({3, 3})});
  double result = 0;
  trace.execute({a.data()}, &result);
  EXPECT_EQ(result, 1.0 + 5.0 + 9.0);
}

TEST(PlanIntegerModes, EinsumFreeFunctionMatchesTheExpressionForm) {
  const std::vector<double> a = iota_values(6, 1.0);
  const std::vector<double> b = iota_values(3, 2.0);
  std::vector<double> from_modes(2, 1.0), from_text(2, 1.0);
  einsum(ModeLists{{0, 1}, {1}}, ModeList{0}, {{a.data(), f64({2, 3})}, {b.data(), f64({3})}},
         {from_modes.data(), f64({2})}, 2.0, 0.5);
  einsum("ij,j->i", {{a.data(), f64({2, 3})}, {b.data(), f64({3})}}, {from_text.data(), f64({2})},
         2.0, 0.5);
  EXPECT_EQ(from_modes, from_text);
}

TEST(PlanIntegerModes, HundredsOfModesNeedNoLetters) {
  // A chain of 299 matrices: 300 modes, far past a-z and A-Z.
  ModeLists input_modes;
  std::vector<TensorDesc> descs;
  for (std::int64_t k = 0; k < 299; ++k) {
    input_modes.push_back({1000 + k, 1001 + k});
    descs.push_back(f64({2, 2}));
  }
  Plan plan(input_modes, ModeList{1000, 1299}, descs, Options{});
  EXPECT_EQ(plan.output().extents, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(plan.path().path.size(), 298u);
}

TEST(PlanIntegerModes, EllipsisBroadcastsAsInTheExpressionForm) {
  constexpr std::int64_t kEllipsis = Plan::kEllipsis;
  const std::vector<double> a = iota_values(2 * 5 * 3, 1.0);
  const std::vector<double> b = iota_values(3 * 4, -2.0);
  // A batch of two matrices times one matrix, the batch axes broadcast.
  const std::vector<TensorDesc> descs = {f64({2, 5, 3}), f64({3, 4})};
  Plan modes(ModeLists{{kEllipsis, 10, 11}, {11, 12}}, ModeList{kEllipsis, 12, 10}, descs);
  Plan text("...ij,jk->...ki", descs);
  EXPECT_EQ(modes.expression(), "...ab,bc->...ca");
  EXPECT_EQ(modes.output().extents, (std::vector<std::int64_t>{2, 4, 5}));
  std::vector<double> from_modes(40), from_text(40);
  modes.execute({a.data(), b.data()}, from_modes.data());
  text.execute({a.data(), b.data()}, from_text.data());
  EXPECT_EQ(from_modes, from_text);
  EXPECT_TRUE(contains(message_of<ShapeError>([] {
                         Plan(ModeLists{{0, 1}}, ModeList{Plan::kEllipsis, 0}, {f64({2, 3})});
                       }),
                       "output axis 0 is kEllipsis, but no input's mode list has it"));
  EXPECT_TRUE(contains(
      message_of<ShapeError>([] {
        Plan(ModeLists{{Plan::kEllipsis, 0, Plan::kEllipsis}}, ModeList{0}, {f64({2, 3, 4})});
      }),
      "input 0's mode list has kEllipsis more than once"));
}

// Output axes with negative strides are reversed in every operand before
// planning (the CUDA kernels write only non-negative strides); the result
// is the reference's, written where the caller's strides say, on a
// diagonal input and a sliced plan too.
TEST(PlanNegativeOutputStrides, AreReversedAwayAndGiveTheReferenceResult) {
  const std::vector<double> a = iota_values(4 * 4 * 3, -7.0);
  const std::vector<double> b = iota_values(3 * 5, 2.0);
  const std::vector<TensorDesc> descs = {f64({4, 4, 3}), f64({3, 5})};
  // out[i, k] = sum_j a[i, i, j] b[j, k], written at out + (3 - i) * 5 + (4 - k).
  const TensorDesc reversed(DataType::f64, {4, 5}, {-5, -1});
  for (const bool sliced : {false, true}) {
    SCOPED_TRACE(sliced ? "sliced" : "whole");
    Options options;
    options.backend = Backend::host;
    if (sliced) options.memory_limit = MemoryLimit::from_bytes(2048);
    Plan plan("iij,jk->ik", descs, reversed, options);
    std::vector<double> out(20, 0.0);
    plan.execute({a.data(), b.data()}, out.data() + 19);
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 5; ++k) {
        double expected = 0;
        for (int j = 0; j < 3; ++j) expected += a[(i * 4 + i) * 3 + j] * b[j * 5 + k];
        EXPECT_EQ(out[(3 - i) * 5 + (4 - k)], expected) << i << "," << k;
      }
    }
    EXPECT_EQ(plan.output().effective_strides(), (std::vector<std::int64_t>{-5, -1}));
  }
}

TEST(PlanIntegerModes, ErrorsNameTheCallersModes) {
  EXPECT_TRUE(contains(message_of<ShapeError>([] {
                         Plan(ModeLists{{0, 1}}, ModeList{42}, {f64({2, 3})});
                       }),
                       "output mode 42 (output axis 0) is in no input's mode list"));
  EXPECT_TRUE(contains(message_of<ShapeError>([] {
                         Plan(ModeLists{{0, 1}}, ModeList{1, 1}, {f64({2, 3})});
                       }),
                       "output mode 1 (output axis 1) repeats output axis 0"));
  EXPECT_TRUE(contains(message_of<ShapeError>([] {
                         Plan(ModeLists{{0, 1}}, ModeList{}, {f64({2, 3}), f64({3})});
                       }),
                       "1 mode lists were given for 2 inputs"));
  // Shapes are checked as for the expression form.
  EXPECT_TRUE(contains(message_of<ShapeError>([] {
                         Plan(ModeLists{{0, 1}, {1}}, ModeList{0}, {f64({2, 3}), f64({4})});
                       }),
                       "has extent 3"));
}

TEST(PlanUtf8, ExplainPadsUtf8ContractionsByCodePoints) {
  const Plan plan("αβ,βγ->αγ", {f64({2, 3}), f64({3, 4})});
  // Nine code points padded to the 11-wide contraction column, then the
  // two-space gap and the remaining operands.
  EXPECT_TRUE(contains(plan.explain(), "αβ,βγ->αγ" + std::string(4, ' ') + "αγ->αγ"))
      << plan.explain();
}

TEST(Version, IsTheProjectVersion) { EXPECT_STREQ(version(), "0.1.0"); }

}  // namespace
}  // namespace einstream
