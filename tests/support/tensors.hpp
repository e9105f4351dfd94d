// Test support: random tensors of any dtype and error measures against the
// reference executor, with the tolerance each dtype is held to.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream::testing {

// `count` elements of `dtype`, uniform in [-1, 1] (both parts for complex).
inline std::vector<unsigned char> random_tensor(DataType dtype, std::int64_t count,
                                                std::mt19937& random) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(count) * size_of(dtype));
  for (std::int64_t index = 0; index < count; ++index) {
    switch (dtype) {
      case DataType::f32:
        reinterpret_cast<float*>(bytes.data())[index] = static_cast<float>(uniform(random));
        break;
      case DataType::f64:
        reinterpret_cast<double*>(bytes.data())[index] = uniform(random);
        break;
      case DataType::c64: {
        const float real = static_cast<float>(uniform(random));
        const float imag = static_cast<float>(uniform(random));
        reinterpret_cast<std::complex<float>*>(bytes.data())[index] = {real, imag};
        break;
      }
      case DataType::c128: {
        const double real = uniform(random);
        const double imag = uniform(random);
        reinterpret_cast<std::complex<double>*>(bytes.data())[index] = {real, imag};
        break;
      }
      default:
        break;
    }
  }
  return bytes;
}

inline std::complex<double> element(DataType dtype, const void* data, std::int64_t index) {
  switch (dtype) {
    case DataType::f32:
      return static_cast<const float*>(data)[index];
    case DataType::f64:
      return static_cast<const double*>(data)[index];
    case DataType::c64:
      return static_cast<const std::complex<float>*>(data)[index];
    case DataType::c128:
      return static_cast<const std::complex<double>*>(data)[index];
    default:
      return 0.0;
  }
}

// max |actual - expected| / max(|expected|), over `count` elements (absolute
// error when every expected element is zero).
inline double relative_error(DataType dtype, const void* actual, const void* expected,
                             std::int64_t count) {
  double largest_error = 0;
  double largest_value = 0;
  for (std::int64_t index = 0; index < count; ++index) {
    const std::complex<double> want = element(dtype, expected, index);
    largest_error = std::max(largest_error, std::abs(element(dtype, actual, index) - want));
    largest_value = std::max(largest_value, std::abs(want));
  }
  return largest_value > 0 ? largest_error / largest_value : largest_error;
}

// The precision every executor must reach against the reference.
inline double tolerance(DataType dtype) {
  return dtype == DataType::f32 || dtype == DataType::c64 ? 1e-5 : 1e-12;
}

}  // namespace einstream::testing
