// Checks of the CUDA reduce against a host loop (double accumulation), shared
// by the reduce kernel tests: per-type tolerances, ReduceCase (layouts, an
// epilogue, where the source sits in its allocation), check_reduce and
// einsum-style case builders.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/reduce.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/kernel_values.hpp"
#include "tests/support/type_info.hpp"

namespace einstream::detail::reduce_check {

using einstream::testing::DeviceMemory;
using testing::Wide;

using testing::absolute_tolerance;
using testing::TypeInfo;

// The bound on an error, relative to the sum of magnitudes (which bounds the
// result). The half types: one rounding of the result (the unit roundoff)
// plus float accumulation over chains of up to 2^8 terms (2^-24 each).
template <typename T>
constexpr double relative_tolerance() {
  if constexpr (testing::IsHalf<T>::value) return testing::unit_roundoff<T>() + 1.0 / (1 << 16);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, std::complex<float>>) return 1e-5;
  return 1e-12;
}

using testing::as_element;
using testing::for_each_index;
using testing::not_a_number;
using testing::random_value;
using testing::Span;
using testing::span_of;
using testing::widen;

inline std::int64_t dot(const std::vector<std::int64_t>& index,
                        const std::vector<std::int64_t>& strides, std::size_t first_stride = 0) {
  std::int64_t offset = 0;
  for (std::size_t axis = 0; axis < index.size(); ++axis)
    offset += index[axis] * strides[first_stride + axis];
  return offset;
}

inline std::vector<std::int64_t> row_major(const std::vector<std::int64_t>& extents) {
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (int axis = static_cast<int>(extents.size()) - 1; axis >= 0; --axis) {
    strides[axis] = stride;
    stride *= extents[axis];
  }
  return strides;
}

// Dense strides in a random memory order; `gaps` pads some axes by one
// element, `negative` reverses some.
inline std::vector<std::int64_t> random_strides(const std::vector<std::int64_t>& extents,
                                                std::mt19937_64& rng, bool gaps, bool negative) {
  std::vector<int> order(extents.size());
  for (std::size_t axis = 0; axis < order.size(); ++axis) order[axis] = static_cast<int>(axis);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (int axis : order) {
    strides[axis] = negative && rng() % 3 == 0 ? -stride : stride;
    stride *= extents[axis] + (gaps && rng() % 2 == 0 ? 1 : 0);
  }
  return strides;
}

struct ReduceCase {
  std::string name;
  TensorLayout source;
  TensorLayout result;
  Epilogue epilogue = Epilogue::plain();
  bool nan_result = false;  // the result starts as NaN (for beta == 0)
  // Elements between the (256-byte aligned) allocation and the source's
  // lowest element: 1 leaves no vector load aligned, so the kernels must
  // fall back to one element a load.
  std::int64_t source_shift = 0;
};

// Runs one case on the device and checks every result element and every
// gap of the result buffer. Returns the workspace size reduce asked for.
template <typename T>
std::size_t check_reduce(const ReduceCase& test, std::uint64_t seed) {
  SCOPED_TRACE(test.name + " " + TypeInfo<T>::name() + " seed " + std::to_string(seed) +
               " source " + to_string(test.source) + " shifted by " +
               std::to_string(test.source_shift) + " result " + to_string(test.result));
  std::mt19937_64 rng(seed);
  const Span source_span = span_of(test.source);
  const Span result_span = span_of(test.result);
  const std::int64_t source_origin = source_span.origin + test.source_shift;
  std::vector<T> source(source_span.size() + test.source_shift);
  for (T& value : source) value = random_value<T>(rng);
  std::vector<T> result(result_span.size());
  for (T& value : result) value = test.nan_result ? not_a_number<T>() : random_value<T>(rng);

  DeviceMemory device_source(source.size() * sizeof(T));
  DeviceMemory device_result(result.size() * sizeof(T));
  device_source.upload(source);
  device_result.upload(result);
  const DataType dtype = TypeInfo<T>::dtype;
  // Launched from its host plan, as a Program's reduce op is.
  const ReducePlan plan = plan_reduce(dtype, test.source, test.result);
  SCOPED_TRACE("plan: " + to_string(plan));
  EXPECT_TRUE(plan.error.empty());
  const std::size_t workspace_bytes = plan.workspace_bytes;
  EXPECT_EQ(workspace_bytes, reduce_workspace_bytes(dtype, test.source, test.result));
  DeviceMemory workspace(workspace_bytes);
  reduce(plan, static_cast<const T*>(device_source.get()) + source_origin,
         static_cast<T*>(device_result.get()) + result_span.origin, test.epilogue, workspace.get(),
         workspace_bytes, nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> got = device_result.download<T>(result.size());

  const std::size_t kept_rank = test.result.extents.size();
  const std::vector<std::int64_t> summed_extents(test.source.extents.begin() + kept_rank,
                                                 test.source.extents.end());
  const Wide alpha = as_element<T>(test.epilogue.alpha);
  const Wide beta = as_element<T>(test.epilogue.beta);
  std::vector<char> in_view(result.size(), 0);
  int failures = 0;
  for_each_index(test.result.extents, [&](const std::vector<std::int64_t>& kept) {
    const std::int64_t source_base = source_origin + dot(kept, test.source.strides);
    const std::int64_t at = result_span.origin + dot(kept, test.result.strides);
    Wide sum = 0;
    double scale = 0;
    for_each_index(summed_extents, [&](const std::vector<std::int64_t>& summed) {
      const Wide value = widen(source[source_base + dot(summed, test.source.strides, kept_rank)]);
      sum += value;
      scale += std::abs(value);
    });
    Wide expected = sum;
    if (test.epilogue.apply) {
      expected = alpha * sum;
      scale *= std::abs(alpha);
      if (!test.epilogue.beta_is_zero()) {
        expected += beta * widen(result[at]);
        scale += std::abs(beta * widen(result[at]));
      }
    }
    in_view[at] = 1;
    const double error = std::abs(widen(got[at]) - expected);
    if (!(error <= relative_tolerance<T>() * scale + absolute_tolerance<T>()) && ++failures <= 5) {
      ADD_FAILURE() << "result at offset " << at - result_span.origin << ": got " << widen(got[at])
                    << ", expected " << expected << " (sum of magnitudes " << scale << ")";
    }
  });
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (!in_view[i] && std::memcmp(&got[i], &result[i], sizeof(T)) != 0 && ++failures <= 5) {
      ADD_FAILURE() << "element " << i << " outside the result view was written";
    }
  }
  EXPECT_EQ(failures, 0);
  return workspace_bytes;
}

template <typename Body>
void for_each_type(Body&& body) {
  body(float{});
  body(double{});
  body(std::complex<float>{});
  body(std::complex<double>{});
  body(float16{});
  body(bfloat16{});
}

// Checks a case for all six types; returns the f32 workspace size.
inline std::size_t check_all_types(const ReduceCase& test, std::uint64_t seed) {
  std::size_t workspace = 0;
  for_each_type([&](auto element) {
    using T = decltype(element);
    const std::size_t bytes = check_reduce<T>(test, seed);
    if (std::is_same_v<T, float>) workspace = bytes;
  });
  return workspace;
}

// A dense row-major tensor of `extents`; `kept` lists, in result order, the
// source axes kept (the rest are summed), and the result is row-major in its
// own order: "ijk->ki" is extents {I, J, K}, kept {2, 0}.
inline ReduceCase einsum_case(const std::string& name, const std::vector<std::int64_t>& extents,
                              const std::vector<int>& kept) {
  const std::vector<std::int64_t> strides = row_major(extents);
  ReduceCase test;
  test.name = name;
  std::vector<int> source_order;
  for (int axis : kept) source_order.push_back(axis);
  for (int axis = 0; axis < static_cast<int>(extents.size()); ++axis) {
    if (std::find(kept.begin(), kept.end(), axis) == kept.end()) source_order.push_back(axis);
  }
  for (int axis : source_order) {
    test.source.extents.push_back(extents[axis]);
    test.source.strides.push_back(strides[axis]);
  }
  for (int axis : kept) test.result.extents.push_back(extents[axis]);
  test.result.strides = row_major(test.result.extents);
  return test;
}

// Sums of ones past where a half-precision running sum stops growing
// (2048 in f16: 2048 + 1 rounds back; 256 in bf16), in every variant: exact
// only if the kernels accumulate in float. 512, 4096 and 8192 are exact in
// both types. The tile and warp variants take sums of at most a few hundred
// here (longer ones pick another variant or need a GiB), so they are
// checked in bf16 alone.
template <typename T>
void expect_sum_of_ones(const ReduceCase& test, double expected) {
  SCOPED_TRACE(test.name + " " + TypeInfo<T>::name());
  const Span source_span = span_of(test.source);
  const Span result_span = span_of(test.result);
  const std::vector<T> ones(source_span.size(), T(1.0f));
  DeviceMemory device_source(ones.size() * sizeof(T));
  DeviceMemory device_result(result_span.size() * sizeof(T));
  device_source.upload(ones);
  const ReducePlan plan = plan_reduce(TypeInfo<T>::dtype, test.source, test.result);
  SCOPED_TRACE("plan: " + to_string(plan));
  ASSERT_TRUE(plan.error.empty()) << plan.error;
  DeviceMemory workspace(plan.workspace_bytes);
  reduce(plan, static_cast<const T*>(device_source.get()) + source_span.origin,
         static_cast<T*>(device_result.get()) + result_span.origin, Epilogue::plain(),
         workspace.get(), plan.workspace_bytes, nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> got = device_result.download<T>(result_span.size());
  int failures = 0;
  for_each_index(test.result.extents, [&](const std::vector<std::int64_t>& kept) {
    const std::int64_t at = result_span.origin + dot(kept, test.result.strides);
    if (static_cast<float>(got[at]) != expected && ++failures <= 5) {
      ADD_FAILURE() << "result at offset " << at - result_span.origin << ": got "
                    << static_cast<float>(got[at]) << ", expected " << expected;
    }
  });
}

}  // namespace einstream::detail::reduce_check
