// Element types and the alpha/beta epilogue shared by einstream's kernels.
//
// Kernels are templates on the element type T (float, double, and
// cuda::std::complex of each, whose layout matches std::complex and the
// caller's c64/c128 data). Every kernel that may write the caller's output
// takes an Epilogue: with `apply` false it stores the value as computed;
// with `apply` true it stores alpha * value + beta * previous, and never
// reads the previous value when beta is zero (it may be uninitialized).
#pragma once

#include <cuda/std/complex>

#include <cstdint>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"

namespace einstream::detail {

template <typename T>
struct IsComplex {
  static constexpr bool value = false;
};
template <typename R>
struct IsComplex<cuda::std::complex<R>> {
  static constexpr bool value = true;
};

// alpha and beta converted once to T, for use inside a kernel.
template <typename T>
struct DeviceEpilogue {
  bool apply = false;
  bool read_previous = false;
  T alpha;
  T beta;

  __host__ __device__ T operator()(T value, const T* destination) const {
    if (!apply) return value;
    T result = alpha * value;
    if (read_previous) result += beta * *destination;
    return result;
  }
};

template <typename T>
DeviceEpilogue<T> device_epilogue(const Epilogue& epilogue) {
  DeviceEpilogue<T> converted;
  converted.apply = epilogue.apply;
  converted.read_previous = epilogue.apply && !epilogue.beta_is_zero();
  if constexpr (IsComplex<T>::value) {
    using R = typename T::value_type;
    converted.alpha =
        T(static_cast<R>(epilogue.alpha.real()), static_cast<R>(epilogue.alpha.imag()));
    converted.beta = T(static_cast<R>(epilogue.beta.real()), static_cast<R>(epilogue.beta.imag()));
  } else {
    converted.alpha = static_cast<T>(epilogue.alpha.real());
    converted.beta = static_cast<T>(epilogue.beta.real());
  }
  return converted;
}

template <typename T>
struct ElementTag {
  using type = T;
};

// Calls body(ElementTag<T>{}) with T the element type of `dtype` (C++17:
// a generic lambda reads it as `typename decltype(tag)::type`); throws Error
// for a data type the CUDA backend does not support.
template <typename Body>
void dispatch_element_type(DataType dtype, Body&& body) {
  switch (dtype) {
    case DataType::f32:
      body(ElementTag<float>{});
      return;
    case DataType::f64:
      body(ElementTag<double>{});
      return;
    case DataType::c64:
      body(ElementTag<cuda::std::complex<float>>{});
      return;
    case DataType::c128:
      body(ElementTag<cuda::std::complex<double>>{});
      return;
    default:
      break;
  }
  throw_unsupported_dtype(dtype);
}

}  // namespace einstream::detail
