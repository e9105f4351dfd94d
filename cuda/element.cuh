// Element types and the alpha/beta epilogue shared by einstream's kernels.
//
// Kernels are templates on the element type T (float, double,
// cuda::std::complex of each, whose layout matches std::complex and the
// caller's c64/c128 data, and the half types __half and __nv_bfloat16,
// whose bits match einstream::float16 and bfloat16). Every kernel that may
// write the caller's output takes an Epilogue: with `apply` false it stores
// the value as computed; with `apply` true it stores alpha * value + beta *
// previous, and never reads the previous value when beta is zero (it may be
// uninitialized).
//
// The half types are storage only: ComputeOf<T> names the type kernels do
// arithmetic in (float for both; T itself otherwise), loads convert to it
// and a store rounds once (to nearest even), after the epilogue, so a
// product or a scaled sum is rounded once into the result and never in
// between.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
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

// The arithmetic type of element type T, and the conversions between them:
// load(T) -> type exactly, store(type) -> T rounding to nearest even.
template <typename T>
struct ComputeOf {
  using type = T;
  __host__ __device__ static T load(T value) { return value; }
  __host__ __device__ static T store(T value) { return value; }
};
template <>
struct ComputeOf<__half> {
  using type = float;
  __host__ __device__ static float load(__half value) { return __half2float(value); }
  __host__ __device__ static __half store(float value) { return __float2half_rn(value); }
};
template <>
struct ComputeOf<__nv_bfloat16> {
  using type = float;
  __host__ __device__ static float load(__nv_bfloat16 value) { return __bfloat162float(value); }
  __host__ __device__ static __nv_bfloat16 store(float value) { return __float2bfloat16_rn(value); }
};

template <typename T>
using Compute = typename ComputeOf<T>::type;

template <typename T>
__host__ __device__ __forceinline__ Compute<T> load_compute(T value) {
  return ComputeOf<T>::load(value);
}
template <typename T>
__host__ __device__ __forceinline__ T store_compute(Compute<T> value) {
  return ComputeOf<T>::store(value);
}

// alpha and beta converted once to T's compute type, for use inside a
// kernel. The value comes in the compute type (a product, a sum) and the
// element is rounded once: store(alpha * value + beta * previous).
template <typename T>
struct DeviceEpilogue {
  using C = Compute<T>;
  bool apply = false;
  bool read_previous = false;
  C alpha;
  C beta;

  __host__ __device__ T operator()(C value, const T* destination) const {
    if (!apply) return store_compute<T>(value);
    C result = alpha * value;
    if (read_previous) result += beta * load_compute(*destination);
    return store_compute<T>(result);
  }

  // The same for a value already of type T (a permute's element): a plain
  // store keeps its bits as they are, NaN payloads included.
  __host__ __device__ T element(T value, const T* destination) const {
    if (!apply) return value;
    return (*this)(load_compute(value), destination);
  }
};

// T's zero, in any element type.
template <typename T>
__host__ __device__ __forceinline__ T zero_element() {
  return store_compute<T>(Compute<T>(0));
}

template <typename T>
DeviceEpilogue<T> device_epilogue(const Epilogue& epilogue) {
  using C = Compute<T>;
  DeviceEpilogue<T> converted;
  converted.apply = epilogue.apply;
  converted.read_previous = epilogue.apply && !epilogue.beta_is_zero();
  if constexpr (IsComplex<C>::value) {
    using R = typename C::value_type;
    converted.alpha =
        C(static_cast<R>(epilogue.alpha.real()), static_cast<R>(epilogue.alpha.imag()));
    converted.beta = C(static_cast<R>(epilogue.beta.real()), static_cast<R>(epilogue.beta.imag()));
  } else {
    converted.alpha = static_cast<C>(epilogue.alpha.real());
    converted.beta = static_cast<C>(epilogue.beta.real());
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
    case DataType::f16:
      body(ElementTag<__half>{});
      return;
    case DataType::bf16:
      body(ElementTag<__nv_bfloat16>{});
      return;
    default:
      break;
  }
  throw_unsupported_dtype(dtype);
}

}  // namespace einstream::detail
