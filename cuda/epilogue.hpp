// How a kernel stores into the caller's output: result = alpha * value +
// beta * result (beta == 0: the result is not read), or a plain store.
// Host-only types, so launch declarations need no CUDA headers beyond the
// runtime API.
#pragma once

#include <complex>
#include <string>

#include "einstream/error.hpp"
#include "einstream/tensor.hpp"

namespace einstream::detail {

struct Epilogue {
  bool apply = false;
  std::complex<double> alpha{1.0, 0.0};
  std::complex<double> beta{0.0, 0.0};

  bool beta_is_zero() const { return beta == std::complex<double>(0.0, 0.0); }
  // A plain store (intermediates) and the store into the caller's output.
  static Epilogue plain() { return {}; }
  static Epilogue scaled(std::complex<double> alpha, std::complex<double> beta) {
    return {true, alpha, beta};
  }
};

[[noreturn]] inline void throw_unsupported_dtype(DataType dtype) {
  throw Error(std::string("CUDA backend: data type ") + to_string(dtype) +
              " is not supported (f32, f64, c64, c128, f16, bf16 are)");
}

}  // namespace einstream::detail
