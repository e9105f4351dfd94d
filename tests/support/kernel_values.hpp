// Test support for the kernel tests: random and NaN elements of each type
// (f16 and bf16 as einstream::float16 / bfloat16, the bits of the device's
// __half / __nv_bfloat16), widening to complex double for host references,
// the memory a strided view reaches, and a walk over an index space.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "einstream/half.hpp"
#include "planner/program.hpp"

namespace einstream::testing {

using Wide = std::complex<double>;
using detail::TensorLayout;

// The half types: storage only, computed with in float on the device.
template <typename T>
struct IsHalf : std::false_type {};
template <>
struct IsHalf<float16> : std::true_type {};
template <>
struct IsHalf<bfloat16> : std::true_type {};

// Unit roundoff of storing into T (half the spacing of the numbers near 1):
// 2^-11 for f16, 2^-8 for bf16, 2^-24 for f32 and c64, 2^-53 otherwise.
template <typename T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, float16>) return 1.0 / (1 << 11);
  if constexpr (std::is_same_v<T, bfloat16>) return 1.0 / (1 << 8);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, std::complex<float>>) {
    return 1.0 / (1 << 24);
  }
  return 1.0 / 9007199254740992.0;
}

template <typename T>
Wide widen(T value) {
  return Wide(value);
}
template <typename R>
Wide widen(std::complex<R> value) {
  return Wide(value.real(), value.imag());
}
inline Wide widen(float16 value) { return Wide(static_cast<float>(value)); }
inline Wide widen(bfloat16 value) { return Wide(static_cast<float>(value)); }

// alpha or beta as a kernel of element type T sees it: real types take the
// real part, the half types as a float (their compute type).
template <typename T>
Wide as_element(std::complex<double> scalar) {
  if constexpr (IsHalf<T>::value) return Wide(static_cast<float>(scalar.real()));
  if constexpr (std::is_floating_point_v<T>) return Wide(static_cast<T>(scalar.real()));
  return Wide(scalar);
}

template <typename T>
T random_value(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  if constexpr (IsHalf<T>::value) {
    return T(static_cast<float>(uniform(rng)));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(uniform(rng));
  } else {
    using R = typename T::value_type;
    const R real = static_cast<R>(uniform(rng));
    return T(real, static_cast<R>(uniform(rng)));
  }
}

template <typename T>
T not_a_number() {
  if constexpr (IsHalf<T>::value) {
    return T(std::numeric_limits<float>::quiet_NaN());
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::numeric_limits<T>::quiet_NaN();
  } else {
    using R = typename T::value_type;
    return T(std::numeric_limits<R>::quiet_NaN(), std::numeric_limits<R>::quiet_NaN());
  }
}

// The element offsets a view reaches: a host buffer of size() elements holds
// it with element (0, ..., 0) at `origin`.
struct Span {
  std::int64_t origin = 0;
  std::int64_t last = 0;
  std::size_t size() const { return static_cast<std::size_t>(origin + last + 1); }
};

inline Span span_of(const TensorLayout& layout) {
  Span span;
  for (int axis = 0; axis < layout.rank(); ++axis) {
    if (layout.extents[axis] == 0) return Span{};
  }
  for (int axis = 0; axis < layout.rank(); ++axis) {
    const std::int64_t reach = (layout.extents[axis] - 1) * layout.strides[axis];
    if (reach < 0) span.origin -= reach;
    if (reach > 0) span.last += reach;
  }
  return span;
}

inline void for_each_index(const std::vector<std::int64_t>& extents,
                           const std::function<void(const std::vector<std::int64_t>&)>& body) {
  for (std::int64_t extent : extents) {
    if (extent == 0) return;
  }
  std::vector<std::int64_t> index(extents.size(), 0);
  while (true) {
    body(index);
    int axis = static_cast<int>(extents.size()) - 1;
    while (axis >= 0 && ++index[axis] == extents[axis]) index[axis--] = 0;
    if (axis < 0) return;
  }
}

}  // namespace einstream::testing
