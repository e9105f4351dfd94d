// accumulate(): out = sum + beta * out, element by element in a strided
// layout, the last step of combining execute_share() partials. Either
// buffer may be device memory: its span then goes through the host.
#include <complex>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/desc_check.hpp"
#include "src/device_memory.hpp"

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

void accumulate_on_host(const TensorDesc& desc, const void* sum, void* out, Scalar beta) {
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

// A host copy of the span of a tensor of `desc` (gaps between its
// elements included); origin() is where the tensor's pointer falls in it.
class HostSpan {
 public:
  explicit HostSpan(const TensorDesc& desc)
      : origin_(static_cast<std::size_t>(desc.span().origin) * size_of(desc.dtype)),
        copy_(static_cast<std::size_t>(desc.span().elements) * size_of(desc.dtype)) {}
  // Copies the span of the tensor at `pointer` (device memory) down.
  void download(const void* pointer) {
    detail::copy_device_to_host(copy_.data(), static_cast<const unsigned char*>(pointer) - origin_,
                                copy_.size());
  }
  // Writes the copy over the span of the tensor at `pointer`.
  void upload(void* pointer) const {
    detail::copy_host_to_device(static_cast<unsigned char*>(pointer) - origin_, copy_.data(),
                                copy_.size());
  }
  unsigned char* origin() { return copy_.data() + origin_; }

 private:
  std::size_t origin_;
  std::vector<unsigned char> copy_;
};

}  // namespace

void accumulate(const TensorDesc& desc, const void* sum, void* out, Scalar beta) {
  detail::check_desc(desc, "accumulate's tensor");
  if (desc.element_count() == 0) return;
  if (sum == nullptr || out == nullptr) throw Error("accumulate: a null pointer");
  if (!is_complex(desc.dtype) && beta.imag() != 0.0) {
    throw Error("accumulate: beta must be real for data type " +
                std::string(to_string(desc.dtype)));
  }
  const bool sum_on_device = detail::is_device_memory(sum);
  const bool out_on_device = detail::is_device_memory(out);
  if (!sum_on_device && !out_on_device) return accumulate_on_host(desc, sum, out, beta);
  // Device spans are summed on the host: whole spans (gaps included, so
  // they go back as they were), copied down and the output copied back.
  if (sum_on_device) {
    HostSpan sum_copy(desc);
    sum_copy.download(sum);
    return accumulate(desc, sum_copy.origin(), out, beta);
  }
  HostSpan out_copy(desc);
  out_copy.download(out);
  accumulate_on_host(desc, sum, out_copy.origin(), beta);
  out_copy.upload(out);
}

}  // namespace einstream
