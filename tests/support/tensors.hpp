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

// Every dtype, in DataType's order, for tests that cycle through them.
constexpr DataType kDataTypes[] = {DataType::f32,  DataType::f64, DataType::c64,
                                   DataType::c128, DataType::f16, DataType::bf16};
constexpr std::size_t kDataTypeCount = sizeof(kDataTypes) / sizeof(kDataTypes[0]);

// `count` elements of `dtype`, uniform in [-1, 1] (both parts for complex;
// rounded to the type for f16 and bf16).
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
      case DataType::f16:
        reinterpret_cast<float16*>(bytes.data())[index] =
            float16(static_cast<float>(uniform(random)));
        break;
      case DataType::bf16:
        reinterpret_cast<bfloat16*>(bytes.data())[index] =
            bfloat16(static_cast<float>(uniform(random)));
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
    case DataType::f16:
      return static_cast<float>(static_cast<const float16*>(data)[index]);
    case DataType::bf16:
      return static_cast<float>(static_cast<const bfloat16*>(data)[index]);
  }
  return 0.0;
}

// Stores `value` (its real part for a real dtype) as element `index`.
inline void set_element(DataType dtype, void* data, std::int64_t index,
                        std::complex<double> value) {
  switch (dtype) {
    case DataType::f32:
      static_cast<float*>(data)[index] = static_cast<float>(value.real());
      return;
    case DataType::f64:
      static_cast<double*>(data)[index] = value.real();
      return;
    case DataType::c64:
      static_cast<std::complex<float>*>(data)[index] = std::complex<float>(value);
      return;
    case DataType::c128:
      static_cast<std::complex<double>*>(data)[index] = value;
      return;
    case DataType::f16:
      static_cast<float16*>(data)[index] = float16(static_cast<float>(value.real()));
      return;
    case DataType::bf16:
      static_cast<bfloat16*>(data)[index] = bfloat16(static_cast<float>(value.real()));
      return;
  }
}

// max |actual - expected| over `count` elements.
inline double largest_difference(DataType dtype, const void* actual, const void* expected,
                                 std::int64_t count) {
  double largest = 0;
  for (std::int64_t index = 0; index < count; ++index) {
    largest = std::max(largest,
                       std::abs(element(dtype, actual, index) - element(dtype, expected, index)));
  }
  return largest;
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

// Half an ulp of 1 in the dtype's storage: 2^-24 (f32, c64), 2^-53 (f64,
// c128), 2^-11 (f16), 2^-8 (bf16).
inline double unit_roundoff(DataType dtype) {
  switch (dtype) {
    case DataType::f64:
    case DataType::c128:
      return std::ldexp(1.0, -53);
    case DataType::f16:
      return std::ldexp(1.0, -11);
    case DataType::bf16:
      return std::ldexp(1.0, -8);
    default:
      return std::ldexp(1.0, -24);
  }
}

// The roundings a half-precision tolerance allows for, per operand of the
// expression. Every executor accumulates in f32 or wider, so a stored value
// carries one rounding; but the half types store every intermediate in the
// dtype, and an error of u relative to an intermediate's terms reaches the
// result through each later step. An expression of n operands takes n - 1
// steps, each storing up to three times (reduce, GEMM, permute), the last
// once more with alpha and beta. The host backend stays within 3 u of the
// terms' bound on 6,000 of random_problem()'s expressions (up to 5 operands);
// 4 u per operand leaves room for blocks accumulated one by one.
constexpr double kHalfRoundingsPerOperand = 4;

// The precision every executor must reach against the reference, for an
// expression of up to `operands` operands, relative to the result's scale:
// its largest element for f32 and f64 (and their complex types), which hold
// a fixed bound far above their few roundings; for the half types a bound
// on the terms the result sums (terms_bound() in against_reference.hpp, the
// magnitudes() evaluation of the differential tests), since cancellation
// leaves random results far below their terms. The half types are held to
// kHalfRoundingsPerOperand unit roundoffs per operand; the default of 5
// operands covers random_problem()'s expressions.
inline double tolerance(DataType dtype, int operands = 5) {
  switch (dtype) {
    case DataType::f32:
    case DataType::c64:
      return 1e-5;
    case DataType::f16:
    case DataType::bf16:
      return kHalfRoundingsPerOperand * std::max(operands, 1) * unit_roundoff(dtype);
    default:
      return 1e-12;
  }
}

}  // namespace einstream::testing
