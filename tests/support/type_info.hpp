// The element types of the kernel tests: the DataType a kernel is called
// with, the name a trace prints, and the absolute floor of an error bound.
// The relative tolerance stays with each test, since it counts the roundings
// that test's kernel makes (elementwise_test.cpp, reduce_check.hpp).
#pragma once

#include <type_traits>

#include "einstream/half.hpp"
#include "einstream/tensor.hpp"

namespace einstream::testing {

template <typename T>
struct TypeInfo {
  static constexpr DataType dtype = data_type_of<T>();
  static const char* name() { return einstream::to_string(dtype); }
};

// Added to the relative bound of an error: for f16, 2^-24 covers its
// subnormal spacing; the other types get a tiny floor.
template <typename T>
constexpr double absolute_tolerance() {
  if constexpr (std::is_same_v<T, float16>) return 1.0 / (1 << 24);
  if constexpr (std::is_same_v<T, bfloat16>) return 1e-37;
  return 1e-300;
}

}  // namespace einstream::testing
