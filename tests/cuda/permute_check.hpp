// Shared by the permute kernel tests: permute problems (each view inside
// its own buffer), a host loop to check a GPU run against, every dtype.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/permute.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/kernel_values.hpp"

namespace einstream::detail::permute_testing {

using ::einstream::testing::DeviceMemory;
using Extents = std::vector<std::int64_t>;
using Permutation = std::vector<int>;

// The element type's DataType (the library's table).
template <typename T>
constexpr DataType dtype_of() {
  return data_type_of<T>();
}

// A permute problem: each view lives inside its own buffer, element
// (0, ..., 0) at `*_origin` (views with negative strides start mid-buffer).
struct Case {
  Extents extents;
  Extents source_strides;
  Extents result_strides;
  std::int64_t source_origin = 0;
  std::int64_t source_size = 1;
  std::int64_t result_origin = 0;
  std::int64_t result_size = 1;
};

inline std::string to_text(const Extents& values) {
  std::ostringstream text;
  text << "(";
  for (std::size_t i = 0; i < values.size(); ++i) text << (i ? "," : "") << values[i];
  text << ")";
  return text.str();
}

inline std::string describe(const Case& problem) {
  return "extents " + to_text(problem.extents) + ", source strides " +
         to_text(problem.source_strides) + " at " + std::to_string(problem.source_origin) +
         ", result strides " + to_text(problem.result_strides) + " at " +
         std::to_string(problem.result_origin);
}

// Row-major strides; gaps[axis] extra elements after each step of that axis
// (an empty list: contiguous).
inline Extents row_major(const Extents& extents, const Extents& gaps = {}) {
  Extents strides(extents.size());
  std::int64_t step = 1;
  for (std::size_t axis = extents.size(); axis-- > 0;) {
    strides[axis] = step;
    step = step * extents[axis] + (gaps.empty() ? 0 : gaps[axis]);
  }
  return strides;
}

// Sizes both buffers to hold their views (plus `shift` leading elements,
// which misaligns a view when it is not a multiple of 16 bytes).
inline void fit_buffers(Case& problem, std::int64_t source_shift = 0,
                        std::int64_t result_shift = 0) {
  const auto fit = [&](const Extents& strides, std::int64_t shift, std::int64_t& origin,
                       std::int64_t& size) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    for (std::size_t axis = 0; axis < strides.size(); ++axis) {
      const std::int64_t reach =
          std::max<std::int64_t>(problem.extents[axis] - 1, 0) * strides[axis];
      (reach < 0 ? low : high) += reach;
    }
    origin = shift - low;
    size = origin + high + 1;
  };
  fit(problem.source_strides, source_shift, problem.source_origin, problem.source_size);
  fit(problem.result_strides, result_shift, problem.result_origin, problem.result_size);
}

// result = source transposed: result axis k is source axis perm[k]; both
// contiguous unless gaps are asked for in the result.
inline Case permuted(const Extents& source_extents, const Permutation& perm,
                     const Extents& gaps = {}) {
  const Extents source_strides = row_major(source_extents);
  Case problem;
  for (int axis : perm) {
    problem.extents.push_back(source_extents[axis]);
    problem.source_strides.push_back(source_strides[axis]);
  }
  problem.result_strides = row_major(problem.extents, gaps);
  fit_buffers(problem);
  return problem;
}

using testing::random_value;

// alpha or beta as the kernel sees it: real types take the real part.
template <typename T>
T scalar(std::complex<double> value) {
  if constexpr (testing::IsHalf<T>::value) {
    return T(static_cast<float>(value.real()));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value.real());
  } else {
    using R = typename T::value_type;
    return T(static_cast<R>(value.real()), static_cast<R>(value.imag()));
  }
}

template <typename T>
bool same_bits(const T& left, const T& right) {
  return std::memcmp(&left, &right, sizeof(T)) == 0;
}

// Runs `problem` on the GPU and checks every element of the result buffer:
// view elements against the host loop (bit-exact for a plain store),
// elements outside the view unchanged.
// `max_tile_vector` as plan_permute takes it (0: the planner's choice).
template <typename T>
void expect_permute(const Case& problem, std::uint64_t seed,
                    const Epilogue& epilogue = Epilogue::plain(), bool nan_filled_result = false,
                    int max_tile_vector = 0) {
  SCOPED_TRACE(std::string(to_string(dtype_of<T>())) + ", seed " + std::to_string(seed) + ", " +
               describe(problem));
  std::mt19937_64 rng(seed);
  std::vector<T> source(static_cast<std::size_t>(problem.source_size));
  std::vector<T> before(static_cast<std::size_t>(problem.result_size));
  for (T& value : source) value = random_value<T>(rng);
  for (T& value : before)
    value = nan_filled_result ? testing::not_a_number<T>() : random_value<T>(rng);

  DeviceMemory device_source(source.size() * sizeof(T));
  DeviceMemory device_result(before.size() * sizeof(T));
  device_source.upload(source);
  device_result.upload(before);
  // Launched from its host plan, as a Program's permute op is.
  const PermutePlan plan =
      plan_permute(dtype_of<T>(), TensorLayout{problem.extents, problem.source_strides},
                   TensorLayout{problem.extents, problem.result_strides}, max_tile_vector);
  SCOPED_TRACE("plan: " + to_string(plan));
  EXPECT_TRUE(plan.error.empty());
  permute(plan, static_cast<const T*>(device_source.get()) + problem.source_origin,
          static_cast<T*>(device_result.get()) + problem.result_origin, epilogue, nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<T> after = device_result.download<T>(before.size());

  std::vector<T> expected = before;
  std::vector<bool> in_view(before.size(), false);
  const T alpha = scalar<T>(epilogue.alpha);
  const T beta = scalar<T>(epilogue.beta);
  const int rank = static_cast<int>(problem.extents.size());
  std::int64_t count = 1;
  for (std::int64_t extent : problem.extents) count *= extent;
  Extents index(rank, 0);
  for (std::int64_t element = 0; element < count; ++element) {
    std::int64_t source_offset = problem.source_origin;
    std::int64_t result_offset = problem.result_origin;
    for (int axis = 0; axis < rank; ++axis) {
      source_offset += index[axis] * problem.source_strides[axis];
      result_offset += index[axis] * problem.result_strides[axis];
    }
    const T value = source[source_offset];
    T& out = expected[result_offset];
    if (!epilogue.apply) {
      out = value;
    } else if constexpr (testing::IsHalf<T>::value) {
      // In float, rounded once (alpha and beta in float, as the kernel has them).
      const float alpha_float = static_cast<float>(epilogue.alpha.real());
      const float beta_float = static_cast<float>(epilogue.beta.real());
      out = T(epilogue.beta_is_zero()
                  ? alpha_float * static_cast<float>(value)
                  : alpha_float * static_cast<float>(value) + beta_float * static_cast<float>(out));
    } else if (epilogue.beta_is_zero()) {
      out = alpha * value;
    } else {
      out = alpha * value + beta * out;
    }
    in_view[result_offset] = true;
    for (int axis = rank - 1; axis >= 0 && ++index[axis] == problem.extents[axis]; --axis) {
      index[axis] = 0;
    }
  }

  // The half types' epilogue may be one fused multiply-add on the device,
  // moving the once-rounded result by at most one unit of the element.
  const double tolerance = testing::IsHalf<T>::value             ? 2 * testing::unit_roundoff<T>()
                           : testing::unit_roundoff<T>() > 1e-10 ? 1e-5
                                                                 : 1e-12;
  int failures = 0;
  for (std::size_t i = 0; i < after.size() && failures < 5; ++i) {
    bool ok = same_bits(after[i], expected[i]);
    if (!ok && in_view[i] && epilogue.apply) {
      ok = std::abs(testing::widen(after[i]) - testing::widen(expected[i])) <=
           tolerance * (1 + std::abs(testing::widen(expected[i])));
    }
    if (!ok) {
      ++failures;
      ADD_FAILURE() << "buffer element " << i << (in_view[i] ? " (in the view)" : " (a gap)")
                    << ": got " << testing::widen(after[i]) << ", expected "
                    << testing::widen(expected[i]);
    }
  }
}

template <typename Body>
void for_each_dtype(Body&& body) {
  body(float{});
  body(double{});
  body(std::complex<float>{});
  body(std::complex<double>{});
  body(float16{});
  body(bfloat16{});
}

inline Permutation random_permutation(int rank, std::mt19937_64& rng) {
  Permutation perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  return perm;
}

}  // namespace einstream::detail::permute_testing
