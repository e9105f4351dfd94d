// multiply() and fill_zero() against a host loop on random data, for every
// element type (f16 and bf16 included, computed in float and rounded once): random shapes with
// broadcast, negative and padded strides, each kernel path (contiguous vectors, rows, flat) hit on
// purpose, epilogues, and result views whose gaps must stay untouched.
#include "cuda/elementwise.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/check.hpp"
#include "einstream/error.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/kernel_values.hpp"
#include "tests/support/type_info.hpp"

namespace einstream::detail {
namespace {

using einstream::testing::DeviceMemory;
using testing::Wide;

using testing::absolute_tolerance;
using testing::TypeInfo;

// The bound on an error, relative to the magnitudes (which bound the result).
// The half types: one rounding of the result (the unit roundoff) plus the
// float epilogue's few roundings.
template <typename T>
constexpr double relative_tolerance() {
  if constexpr (testing::IsHalf<T>::value) return testing::unit_roundoff<T>() + 1.0 / (1 << 20);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, std::complex<float>>) return 1e-6;
  return 1e-14;
}

using testing::as_element;
using testing::for_each_index;
using testing::not_a_number;
using testing::random_value;
using testing::Span;
using testing::span_of;
using testing::widen;

std::int64_t dot(const std::vector<std::int64_t>& index, const std::vector<std::int64_t>& strides) {
  std::int64_t offset = 0;
  for (std::size_t axis = 0; axis < index.size(); ++axis) offset += index[axis] * strides[axis];
  return offset;
}

std::vector<std::int64_t> row_major(const std::vector<std::int64_t>& extents) {
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (int axis = static_cast<int>(extents.size()) - 1; axis >= 0; --axis) {
    strides[axis] = stride;
    stride *= extents[axis];
  }
  return strides;
}

// Dense strides in a random memory order; `gaps` pads some axes by one
// element, `negative` reverses some, `broadcast` zeroes some.
std::vector<std::int64_t> random_strides(const std::vector<std::int64_t>& extents,
                                         std::mt19937_64& rng, bool gaps, bool negative,
                                         bool broadcast) {
  std::vector<int> order(extents.size());
  for (std::size_t axis = 0; axis < order.size(); ++axis) order[axis] = static_cast<int>(axis);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (int axis : order) {
    if (broadcast && rng() % 3 == 0) {
      strides[axis] = 0;
      continue;
    }
    strides[axis] = negative && rng() % 3 == 0 ? -stride : stride;
    stride *= extents[axis] + (gaps && rng() % 2 == 0 ? 1 : 0);
  }
  return strides;
}

struct ElementwiseCase {
  std::string name;
  TensorLayout first, second;  // unused by fill_zero
  TensorLayout result;
  Epilogue epilogue = Epilogue::plain();
  bool nan_result = false;    // the result starts as NaN (for beta == 0)
  std::int64_t misalign = 0;  // elements every pointer is shifted by
  bool fill = false;          // fill_zero instead of multiply
};

// Runs one case on the device and checks every result element and every
// gap of the result buffer.
template <typename T>
void check_elementwise(const ElementwiseCase& test, std::uint64_t seed) {
  SCOPED_TRACE(test.name + " " + TypeInfo<T>::name() + " seed " + std::to_string(seed) + " first " +
               to_string(test.first) + " second " + to_string(test.second) + " result " +
               to_string(test.result));
  std::mt19937_64 rng(seed);
  const Span first_span = span_of(test.first), second_span = span_of(test.second);
  const Span result_span = span_of(test.result);
  std::vector<T> first(first_span.size() + test.misalign),
      second(second_span.size() + test.misalign);
  for (T& value : first) value = random_value<T>(rng);
  for (T& value : second) value = random_value<T>(rng);
  std::vector<T> result(result_span.size() + test.misalign);
  for (T& value : result) value = test.nan_result ? not_a_number<T>() : random_value<T>(rng);

  DeviceMemory device_first(first.size() * sizeof(T)), device_second(second.size() * sizeof(T));
  DeviceMemory device_result(result.size() * sizeof(T));
  device_first.upload(first);
  device_second.upload(second);
  device_result.upload(result);
  const DataType dtype = TypeInfo<T>::dtype;
  T* result_origin = static_cast<T*>(device_result.get()) + test.misalign + result_span.origin;
  if (test.fill) {
    fill_zero(dtype, result_origin, test.result, test.epilogue, nullptr);
  } else {
    multiply(dtype, static_cast<const T*>(device_first.get()) + test.misalign + first_span.origin,
             test.first,
             static_cast<const T*>(device_second.get()) + test.misalign + second_span.origin,
             test.second, result_origin, test.result, test.epilogue, nullptr);
  }
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> got = device_result.download<T>(result.size());

  const Wide alpha = as_element<T>(test.epilogue.alpha);
  const Wide beta = as_element<T>(test.epilogue.beta);
  std::vector<char> in_view(result.size(), 0);
  int failures = 0;
  for_each_index(test.result.extents, [&](const std::vector<std::int64_t>& index) {
    const std::int64_t at = test.misalign + result_span.origin + dot(index, test.result.strides);
    Wide product = 0;
    if (!test.fill) {
      product = widen(first[test.misalign + first_span.origin + dot(index, test.first.strides)]) *
                widen(second[test.misalign + second_span.origin + dot(index, test.second.strides)]);
    }
    Wide expected = product;
    double scale = std::abs(product);
    if (test.epilogue.apply) {
      expected = alpha * product;
      scale *= std::abs(alpha);
      if (!test.epilogue.beta_is_zero()) {
        expected += beta * widen(result[at]);
        scale += std::abs(beta * widen(result[at]));
      }
    }
    in_view[at] = 1;
    const double error = std::abs(widen(got[at]) - expected);
    if (!(error <= relative_tolerance<T>() * scale + absolute_tolerance<T>()) && ++failures <= 5) {
      ADD_FAILURE() << "result at offset " << at - test.misalign - result_span.origin << ": got "
                    << widen(got[at]) << ", expected " << expected;
    }
  });
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (!in_view[i] && std::memcmp(&got[i], &result[i], sizeof(T)) != 0 && ++failures <= 5) {
      ADD_FAILURE() << "element " << i << " outside the result view was written";
    }
  }
  EXPECT_EQ(failures, 0);
}

void check_all_types(const ElementwiseCase& test, std::uint64_t seed) {
  check_elementwise<float>(test, seed);
  check_elementwise<double>(test, seed);
  check_elementwise<std::complex<float>>(test, seed);
  check_elementwise<std::complex<double>>(test, seed);
  check_elementwise<float16>(test, seed);
  check_elementwise<bfloat16>(test, seed);
}

ElementwiseCase dense_case(const std::string& name, const std::vector<std::int64_t>& extents) {
  ElementwiseCase test;
  test.name = name;
  test.first = test.second = test.result = {extents, row_major(extents)};
  return test;
}

// i,j->ij over {rows, columns}: the first operand broadcasts along the
// rows, the second down the columns.
ElementwiseCase outer_case(const std::string& name, std::int64_t rows, std::int64_t columns) {
  ElementwiseCase test = dense_case(name, {rows, columns});
  test.first.strides = {1, 0};
  test.second.strides = {0, 1};
  return test;
}

TEST(Multiply, MatchesHostLoopOnRandomShapesStridesAndTypes) {
  EINSTREAM_REQUIRE_GPU();
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    ElementwiseCase test;
    test.name = "random";
    const int rank = static_cast<int>(rng() % 5);
    std::vector<std::int64_t> extents;
    for (int axis = 0; axis < rank; ++axis)
      extents.push_back(1 + static_cast<std::int64_t>(rng() % 7));
    test.first = {extents, random_strides(extents, rng, rng() % 2 == 0, rng() % 2 == 0, true)};
    test.second = {extents, random_strides(extents, rng, rng() % 2 == 0, rng() % 2 == 0, true)};
    test.result = {extents, random_strides(extents, rng, rng() % 2 == 0, false, false)};
    check_all_types(test, seed);
  }
}

TEST(Multiply, HadamardOfContiguousTensorsUsesVectorsWithScalarTail) {
  EINSTREAM_REQUIRE_GPU();
  check_all_types(dense_case("hadamard", {1000, 3, 67}), 101);  // 201000 elements: odd
  check_all_types(dense_case("hadamard (tiny)", {3}), 102);
}

TEST(Multiply, MisalignedContiguousOperandsStillMatch) {
  EINSTREAM_REQUIRE_GPU();
  ElementwiseCase test = dense_case("hadamard (misaligned)", {100001});
  test.misalign = 1;
  check_all_types(test, 103);
}

TEST(Multiply, OuterProductBroadcastsBothOperands) {
  EINSTREAM_REQUIRE_GPU();
  check_all_types(outer_case("i,j->ij", 300, 517), 104);
  check_all_types(outer_case("i,j->ij (short rows)", 3000, 7), 105);
}

TEST(Multiply, BatchedBroadcastAlongLongAndShortInnerModes) {
  EINSTREAM_REQUIRE_GPU();
  for (std::int64_t inner : {33, 200}) {
    // bij,bj->bij: the second operand broadcasts over i.
    ElementwiseCase test = dense_case("bij,bj->bij", {5, 61, inner});
    test.second.strides = {inner, 0, 1};
    check_all_types(test, 106);
    // bij,bji->bij with a transposed, reversed second operand.
    ElementwiseCase transposed = dense_case("bij,bji->bij", {4, 50, inner});
    transposed.second.strides = {50 * inner, -1, 50};
    check_all_types(transposed, 107);
  }
}

// The vector-rows kernel: rows of whole 16-byte vectors (every type but
// c128, whose element is one), unit-stride or broadcast operands, and the
// cases that must fall back to the element kernels (misaligned pointers, an
// outer stride that is not a whole number of vectors), and long rows in
// row chunks.
TEST(Multiply, OuterProductsOfAlignedRowsStoreWholeVectors) {
  EINSTREAM_REQUIRE_GPU();
  const ElementwiseCase outer = outer_case("i,j->ij (vector rows)", 64, 1024);
  check_all_types(outer, 120);
  // bi,bj->bij: a broadcast element of the first, a vector of the second.
  ElementwiseCase batched = dense_case("bi,bj->bij", {6, 40, 64});
  batched.first.strides = {40, 1, 0};
  batched.second.strides = {64, 0, 1};
  check_all_types(batched, 121);
  ElementwiseCase scaled = batched;
  scaled.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
  check_all_types(scaled, 122);
  // Both operands broadcast along the rows: bi,bi->bij.
  ElementwiseCase both = dense_case("bi,bi->bij", {3, 50, 16});
  both.first.strides = {50, 1, 0};
  both.second.strides = {100, 2, 0};
  check_all_types(both, 123);
  // A padded result whose rows start on vectors; then one that does not.
  ElementwiseCase padded = outer;
  padded.result.strides = {1032, 1};
  check_all_types(padded, 124);
  ElementwiseCase unaligned_rows = outer;
  unaligned_rows.result.strides = {1030, 1};
  check_all_types(unaligned_rows, 125);
  ElementwiseCase misaligned = batched;
  misaligned.misalign = 1;
  check_all_types(misaligned, 126);
  // Rows of 1024 vectors and more take row chunks (4 or 8 vectors a
  // thread): 8192 columns are whole chunks for f32, 8488 leave a partial
  // one, and a batched broadcast product wraps the outer axes per chunk.
  check_all_types(outer_case("i,j->ij (row chunks)", 24, 8192), 127);
  ElementwiseCase partial_chunk = outer_case("i,j->ij (a partial row chunk)", 17, 8488);
  partial_chunk.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
  check_all_types(partial_chunk, 128);
  ElementwiseCase long_batched = dense_case("bij,bj->bij (row chunks)", {3, 5, 8488});
  long_batched.second.strides = {8488, 0, 1};
  check_all_types(long_batched, 129);
  ElementwiseCase long_first_broadcast = dense_case("bi,bj->bij (row chunks)", {2, 7, 4104});
  long_first_broadcast.first.strides = {7, 1, 0};
  long_first_broadcast.second.strides = {4104, 0, 1};
  check_all_types(long_first_broadcast, 130);
}

TEST(Multiply, ResultViewsWithGapsLeaveGapsUntouched) {
  EINSTREAM_REQUIRE_GPU();
  ElementwiseCase test = dense_case("padded result", {40, 300});
  test.result.strides = {310, 1};
  check_all_types(test, 108);
  ElementwiseCase every_other = dense_case("every other element", {4000});
  every_other.result.strides = {2};
  check_all_types(every_other, 109);
}

TEST(Multiply, EpilogueScalesAndAccumulates) {
  EINSTREAM_REQUIRE_GPU();
  for (const auto& base : {dense_case("hadamard", {1000, 67}), outer_case("outer", 70, 130)}) {
    ElementwiseCase scaled = base;
    scaled.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
    check_all_types(scaled, 110);
    ElementwiseCase over_nan = base;
    over_nan.epilogue = Epilogue::scaled({-2.0, 0.5}, {0.0, 0.0});
    over_nan.nan_result = true;
    check_all_types(over_nan, 111);
    ElementwiseCase plain_over_nan = base;
    plain_over_nan.nan_result = true;
    check_all_types(plain_over_nan, 112);
  }
}

TEST(Multiply, ZeroElementResultTouchesNothing) {
  EINSTREAM_REQUIRE_GPU();
  check_all_types(dense_case("empty", {5, 0, 3}), 113);
}

TEST(Multiply, RejectsOperandsWhoseExtentsDiffer) {
  EINSTREAM_REQUIRE_GPU();
  DeviceMemory buffer(1024);
  const TensorLayout matrix{{4, 3}, {3, 1}};
  const TensorLayout other{{3, 4}, {4, 1}};
  EXPECT_THROW(multiply(DataType::f32, buffer.get(), matrix, buffer.get(), other, buffer.get(),
                        matrix, Epilogue::plain(), nullptr),
               Error);
  EXPECT_THROW(multiply(DataType::f32, buffer.get(), matrix, buffer.get(), matrix, buffer.get(),
                        TensorLayout{{4, 3}, {3, -1}}, Epilogue::plain(), nullptr),
               Error);
}

// A half-type product is computed in float and rounded once, after the
// epilogue: with alpha = 1/3 (beta 0, so the device does the host's two
// float multiplications, no fused multiply-add) the result has the bits of
// T(alpha * (a * b)), which rounding the product to T first would change
// for some elements. Contiguous (vectors and tail), rows and flat paths.
template <typename T>
void expect_product_rounded_once(const ElementwiseCase& base, std::uint64_t seed) {
  SCOPED_TRACE(base.name + " " + TypeInfo<T>::name() + " seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const Span first_span = span_of(base.first), second_span = span_of(base.second);
  const Span result_span = span_of(base.result);
  std::vector<T> first(first_span.size()), second(second_span.size());
  for (T& value : first) value = random_value<T>(rng);
  for (T& value : second) value = random_value<T>(rng);
  const std::vector<T> before(result_span.size(), not_a_number<T>());
  DeviceMemory device_first(first.size() * sizeof(T)), device_second(second.size() * sizeof(T));
  DeviceMemory device_result(before.size() * sizeof(T));
  device_first.upload(first);
  device_second.upload(second);
  device_result.upload(before);
  const float alpha = 1.0f / 3.0f;
  multiply(TypeInfo<T>::dtype, static_cast<const T*>(device_first.get()) + first_span.origin,
           base.first, static_cast<const T*>(device_second.get()) + second_span.origin, base.second,
           static_cast<T*>(device_result.get()) + result_span.origin, base.result,
           Epilogue::scaled({alpha, 0.0}, {0.0, 0.0}), nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> got = device_result.download<T>(before.size());
  int failures = 0, differs_from_twice_rounded = 0;
  for_each_index(base.result.extents, [&](const std::vector<std::int64_t>& index) {
    const float product =
        static_cast<float>(first[first_span.origin + dot(index, base.first.strides)]) *
        static_cast<float>(second[second_span.origin + dot(index, base.second.strides)]);
    const T expected(alpha * product);
    differs_from_twice_rounded += T(alpha * static_cast<float>(T(product))).bits != expected.bits;
    const T& actual = got[result_span.origin + dot(index, base.result.strides)];
    if (actual.bits != expected.bits && ++failures <= 5) {
      ADD_FAILURE() << "got " << static_cast<float>(actual) << ", expected "
                    << static_cast<float>(expected);
    }
  });
  EXPECT_GT(differs_from_twice_rounded, 0) << "the data does not tell the roundings apart";
  EXPECT_EQ(failures, 0);
}

// More than twelve merged axes (tensor networks of many short modes): the
// flat kernels with the many-axes list. A Hadamard product of 14 axes whose
// second operand is reversed, an outer product interleaving two 8-axis
// operands (zero strides), random strides with gaps and negatives under an
// epilogue, and fill_zero over 14 axes with gaps.
TEST(Multiply, MoreAxesThanTheRowKernelsHoldTakeTheManyAxesList) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::int64_t> fourteen(14, 2);
  ElementwiseCase hadamard = dense_case("hadamard, second reversed", fourteen);
  std::reverse(hadamard.second.strides.begin(), hadamard.second.strides.end());
  check_all_types(hadamard, 1600);

  const std::vector<std::int64_t> sixteen(16, 2);
  ElementwiseCase outer = dense_case("interleaved outer product", sixteen);
  std::int64_t first_stride = 1, second_stride = 1;
  for (int axis = 15; axis >= 0; --axis) {
    const bool even = axis % 2 == 0;
    outer.first.strides[axis] = even ? first_stride : 0;
    outer.second.strides[axis] = even ? 0 : second_stride;
    (even ? first_stride : second_stride) *= 2;
  }
  check_all_types(outer, 1601);

  std::mt19937_64 rng(1602);
  ElementwiseCase strided;
  strided.name = "random strides";
  strided.first = {fourteen, random_strides(fourteen, rng, true, true, false)};
  strided.second = {fourteen, random_strides(fourteen, rng, true, true, true)};
  strided.result = {fourteen, random_strides(fourteen, rng, true, false, false)};
  strided.epilogue = Epilogue::scaled({0.5, -1.5}, {2.0, 0.25});
  check_all_types(strided, 1603);

  ElementwiseCase fill;
  fill.name = "fill over many axes";
  fill.fill = true;
  fill.result = {fourteen, random_strides(fourteen, rng, true, false, false)};
  fill.epilogue = Epilogue::scaled({1.0, 0.0}, {-0.5, 0.0});
  check_all_types(fill, 1604);
}

TEST(Multiply, HalfTypesComputeInFloatAndRoundOnce) {
  EINSTREAM_REQUIRE_GPU();
  const ElementwiseCase outer = outer_case("i,j->ij (rows)", 30, 517);
  const ElementwiseCase flat = outer_case("i,j->ij (flat)", 3000, 7);
  std::uint64_t seed = 120;
  for (const ElementwiseCase& base : {dense_case("hadamard (contiguous)", {4099}), outer, flat}) {
    expect_product_rounded_once<float16>(base, seed++);
    expect_product_rounded_once<bfloat16>(base, seed++);
  }
}

ElementwiseCase fill_case(const std::string& name, TensorLayout result) {
  ElementwiseCase test;
  test.name = name;
  test.result = std::move(result);
  test.fill = true;
  return test;
}

TEST(FillZero, ContiguousAndStridedViewsBecomeZero) {
  EINSTREAM_REQUIRE_GPU();
  ElementwiseCase contiguous = fill_case("contiguous", {{37, 11}, {11, 1}});
  contiguous.nan_result = true;
  check_all_types(contiguous, 201);
  ElementwiseCase padded = fill_case("padded", {{37, 11}, {1, 40}});
  padded.nan_result = true;
  check_all_types(padded, 202);
  check_all_types(fill_case("scalar", {{}, {}}), 203);
  check_all_types(fill_case("empty", {{0, 4}, {4, 1}}), 204);
}

TEST(FillZero, EpilogueScalesThePreviousResult) {
  EINSTREAM_REQUIRE_GPU();
  ElementwiseCase scaled = fill_case("beta", {{37, 11}, {11, 1}});
  scaled.epilogue = Epilogue::scaled({3.0, 0.0}, {0.5, -1.0});
  check_all_types(scaled, 205);
  ElementwiseCase over_nan = fill_case("beta 0 over NaN", {{37, 11}, {1, 40}});
  over_nan.epilogue = Epilogue::scaled({3.0, 0.0}, {0.0, 0.0});
  over_nan.nan_result = true;
  check_all_types(over_nan, 206);
}

}  // namespace
}  // namespace einstream::detail
