// Element types and tensor descriptors.
//
// A TensorDesc describes a tensor's element type, extents and (optionally)
// strides; the data pointer is supplied separately when a Plan executes, so
// one Plan serves many buffers of the same shape.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "einstream/half.hpp"

namespace einstream {

enum class DataType {
  f32,   // float
  f64,   // double
  c64,   // std::complex<float>
  c128,  // std::complex<double>
  f16,   // einstream::float16, IEEE 754 binary16 (CUDA's __half)
  bf16,  // einstream::bfloat16 (CUDA's __nv_bfloat16)
};

// Bytes per element.
std::size_t size_of(DataType dtype);
// "f32", "f64", "c64", "c128", "f16", "bf16".
const char* to_string(DataType dtype);
// Inverse of to_string; throws einstream::Error for an unknown name.
DataType data_type_from_string(const std::string& name);
bool is_complex(DataType dtype);
// f16 and bf16: stored in two bytes, accumulated in f32 or wider, rounded to
// the type at every store.
bool is_half_precision(DataType dtype);
// True for every enumerator above; false for a value outside the enum (as a
// cast from a C or Python integer can make).
bool is_supported(DataType dtype);

// The DataType of a C++ element type: data_type_of<float>() == DataType::f32.
template <typename T>
constexpr DataType data_type_of();
template <>
constexpr DataType data_type_of<float>() {
  return DataType::f32;
}
template <>
constexpr DataType data_type_of<double>() {
  return DataType::f64;
}
template <>
constexpr DataType data_type_of<std::complex<float>>() {
  return DataType::c64;
}
template <>
constexpr DataType data_type_of<std::complex<double>>() {
  return DataType::c128;
}
template <>
constexpr DataType data_type_of<float16>() {
  return DataType::f16;
}
template <>
constexpr DataType data_type_of<bfloat16>() {
  return DataType::bf16;
}

// The smallest buffer that holds every element of a strided tensor: its
// length in elements, and the offset of element (0, ..., 0) in it (above 0
// where negative strides reach below that element). Allocate `elements`
// and pass `buffer + origin` where a pointer to the tensor is expected,
// e.g. for Plan::execute_share's partial.
struct TensorSpan {
  std::int64_t elements = 0;  // 0 when the tensor has no elements
  std::int64_t origin = 0;
};

struct TensorDesc {
  DataType dtype = DataType::f32;
  // One extent per axis; empty for a scalar.
  std::vector<std::int64_t> extents;
  // Strides in elements, one per axis; empty means C order (row-major,
  // contiguous). Strides may be zero (broadcast) or negative.
  std::vector<std::int64_t> strides;

  TensorDesc() = default;
  TensorDesc(DataType type, std::vector<std::int64_t> shape,
             std::vector<std::int64_t> element_strides = {})
      : dtype(type), extents(std::move(shape)), strides(std::move(element_strides)) {}

  int rank() const { return static_cast<int>(extents.size()); }
  // Product of the extents (1 for a scalar). Throws ShapeError on overflow.
  std::int64_t element_count() const;
  // The strides in effect: `strides` if given, else C-order strides.
  std::vector<std::int64_t> effective_strides() const;
  bool is_c_contiguous() const;
  // The buffer its strides address. Throws ShapeError on overflow.
  TensorSpan span() const;
};

// C-order (row-major) strides for the given extents.
std::vector<std::int64_t> c_order_strides(const std::vector<std::int64_t>& extents);

// "f32[2,3]" or "f32[2,3] strides [1,2]".
std::string to_string(const TensorDesc& desc);

}  // namespace einstream

namespace einstream {

// A descriptor with its data, for the one-shot einsum(). The pointer may be
// host memory (any backend) or, later, device memory (CUDA backend).
struct TensorView {
  void* data = nullptr;
  TensorDesc desc;

  TensorView() = default;
  TensorView(void* pointer, TensorDesc descriptor) : data(pointer), desc(std::move(descriptor)) {}
};

struct ConstTensorView {
  const void* data = nullptr;
  TensorDesc desc;

  ConstTensorView() = default;
  ConstTensorView(const void* pointer, TensorDesc descriptor)
      : data(pointer), desc(std::move(descriptor)) {}
  // A writable view reads as well.
  ConstTensorView(const TensorView& writable)  // NOLINT(google-explicit-constructor)
      : data(writable.data), desc(writable.desc) {}
};

// Typed helpers: view(ptr, {2, 3}) deduces the DataType from the pointer.
template <typename T>
ConstTensorView view(const T* data, std::vector<std::int64_t> extents,
                     std::vector<std::int64_t> strides = {}) {
  return {data, TensorDesc(data_type_of<T>(), std::move(extents), std::move(strides))};
}

template <typename T>
TensorView view(T* data, std::vector<std::int64_t> extents,
                std::vector<std::int64_t> strides = {}) {
  return {data, TensorDesc(data_type_of<T>(), std::move(extents), std::move(strides))};
}

}  // namespace einstream
