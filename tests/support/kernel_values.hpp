// Test support for the kernel tests: random and NaN elements of each type,
// widening to complex double for host references, the memory a strided view
// reaches, and a walk over an index space.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "planner/program.hpp"

namespace einstream::testing {

using Wide = std::complex<double>;
using detail::TensorLayout;

template <typename T>
Wide widen(T value) {
  return Wide(value);
}
template <typename R>
Wide widen(std::complex<R> value) {
  return Wide(value.real(), value.imag());
}

// alpha or beta as a kernel of element type T sees it: real types take the
// real part.
template <typename T>
Wide as_element(std::complex<double> scalar) {
  if constexpr (std::is_floating_point_v<T>) return Wide(static_cast<T>(scalar.real()));
  return Wide(scalar);
}

template <typename T>
T random_value(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(uniform(rng));
  } else {
    using R = typename T::value_type;
    const R real = static_cast<R>(uniform(rng));
    return T(real, static_cast<R>(uniform(rng)));
  }
}

template <typename T>
T not_a_number() {
  if constexpr (std::is_floating_point_v<T>) {
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
