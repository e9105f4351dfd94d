// accumulate(): out = sum + beta * out, element by element in a strided
// layout, the last step of combining execute_share() partials.
#include <complex>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/desc_check.hpp"

namespace einstream {

namespace {

// The type each element is combined in: itself, or float for the half
// types, which have no arithmetic of their own (one rounding per element).
template <class T>
struct Wide {
  using type = T;
};
template <>
struct Wide<float16> {
  using type = float;
};
template <>
struct Wide<bfloat16> {
  using type = float;
};

template <class W>
W scalar_as(Scalar value) {
  if constexpr (std::is_floating_point_v<W>) {
    return static_cast<W>(value.real());
  } else {
    return W(static_cast<typename W::value_type>(value.real()),
             static_cast<typename W::value_type>(value.imag()));
  }
}

template <class T>
void accumulate_as(const TensorDesc& desc, const T* sum, T* out, Scalar beta) {
  using W = typename Wide<T>::type;
  const std::vector<std::int64_t> strides = desc.effective_strides();
  const std::size_t rank = desc.extents.size();
  const W factor = scalar_as<W>(beta);
  const bool overwrite = beta == Scalar(0.0);
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t remaining = desc.element_count(); remaining > 0; --remaining) {
    out[offset] = overwrite ? sum[offset] : T(W(sum[offset]) + factor * W(out[offset]));
    // The next index, innermost axis fastest; offset follows.
    for (std::size_t axis = rank; axis-- > 0;) {
      offset += strides[axis];
      if (++index[axis] < desc.extents[axis]) break;
      offset -= strides[axis] * desc.extents[axis];
      index[axis] = 0;
    }
  }
}

}  // namespace

void accumulate(const TensorDesc& desc, const void* sum, void* out, Scalar beta) {
  detail::check_desc(desc, "accumulate's tensor");
  if (desc.element_count() == 0) return;
  if (sum == nullptr || out == nullptr) throw Error("accumulate: a null pointer");
  if (!is_complex(desc.dtype) && beta.imag() != 0.0) {
    throw Error("accumulate: beta must be real for data type " +
                std::string(to_string(desc.dtype)));
  }
  switch (desc.dtype) {
    case DataType::f32:
      return accumulate_as(desc, static_cast<const float*>(sum), static_cast<float*>(out), beta);
    case DataType::f64:
      return accumulate_as(desc, static_cast<const double*>(sum), static_cast<double*>(out), beta);
    case DataType::c64:
      return accumulate_as(desc, static_cast<const std::complex<float>*>(sum),
                           static_cast<std::complex<float>*>(out), beta);
    case DataType::c128:
      return accumulate_as(desc, static_cast<const std::complex<double>*>(sum),
                           static_cast<std::complex<double>*>(out), beta);
    case DataType::f16:
      return accumulate_as(desc, static_cast<const float16*>(sum), static_cast<float16*>(out),
                           beta);
    case DataType::bf16:
      return accumulate_as(desc, static_cast<const bfloat16*>(sum), static_cast<bfloat16*>(out),
                           beta);
  }
  throw Error("accumulate: data type value " + std::to_string(static_cast<int>(desc.dtype)) +
              " is not a DataType");
}

}  // namespace einstream
