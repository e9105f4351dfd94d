#include "einstream/tensor.hpp"

#include <limits>
#include <sstream>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"

namespace einstream {

std::size_t size_of(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
      return 4;
    case DataType::f64:
      return 8;
    case DataType::c64:
      return 8;
    case DataType::c128:
      return 16;
    case DataType::f16:
      return 2;
    case DataType::bf16:
      return 2;
  }
  throw Error("size_of: invalid DataType value " + std::to_string(static_cast<int>(dtype)));
}

const char* to_string(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
      return "f32";
    case DataType::f64:
      return "f64";
    case DataType::c64:
      return "c64";
    case DataType::c128:
      return "c128";
    case DataType::f16:
      return "f16";
    case DataType::bf16:
      return "bf16";
  }
  return "invalid";
}

DataType data_type_from_string(const std::string& name) {
  for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128, DataType::f16,
                         DataType::bf16}) {
    if (name == to_string(dtype)) return dtype;
  }
  throw Error("unknown data type '" + name + "': expected one of f32, f64, c64, c128, f16, bf16");
}

bool is_complex(DataType dtype) { return dtype == DataType::c64 || dtype == DataType::c128; }

bool is_half_precision(DataType dtype) { return dtype == DataType::f16 || dtype == DataType::bf16; }

bool is_supported(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
    case DataType::f64:
    case DataType::c64:
    case DataType::c128:
    case DataType::f16:
    case DataType::bf16:
      return true;
  }
  return false;
}

std::vector<std::int64_t> c_order_strides(const std::vector<std::int64_t>& extents) {
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (std::size_t axis = extents.size(); axis-- > 0;) {
    strides[axis] = stride;
    // Saturate rather than overflow: a tensor with a zero extent has no
    // elements, and element_count() reports real overflow.
    if (extents[axis] > 0 && stride <= std::numeric_limits<std::int64_t>::max() / extents[axis]) {
      stride *= extents[axis];
    }
  }
  return strides;
}

std::int64_t TensorDesc::element_count() const {
  std::int64_t count = 1;
  for (std::int64_t extent : extents) {
    if (extent < 0) throw ShapeError("negative extent in " + to_string(*this));
    if (extent == 0) return 0;
  }
  for (std::int64_t extent : extents) {
    if (count > std::numeric_limits<std::int64_t>::max() / extent) {
      throw ShapeError("element count of " + to_string(*this) + " overflows 64 bits");
    }
    count *= extent;
  }
  return count;
}

std::vector<std::int64_t> TensorDesc::effective_strides() const {
  return strides.empty() ? c_order_strides(extents) : strides;
}

TensorSpan TensorDesc::span() const {
  if (element_count() == 0) return {};
  const std::vector<std::int64_t> steps = effective_strides();
  std::int64_t lowest = 0, highest = 0;
  bool fits = true;
  for (std::size_t axis = 0; axis < extents.size() && fits; ++axis) {
    if (extents[axis] == 1) continue;  // its stride moves nowhere
    std::int64_t reach = 0;
    fits = detail::checked_multiply(extents[axis] - 1, steps[axis], &reach) &&
           (reach < 0 ? detail::checked_add(lowest, reach, &lowest)
                      : detail::checked_add(highest, reach, &highest));
  }
  TensorSpan span;
  fits = fits && lowest != std::numeric_limits<std::int64_t>::min() &&
         detail::checked_add(highest, 1, &span.elements) &&
         detail::checked_add(span.elements, -lowest, &span.elements);
  if (!fits) throw ShapeError("the span of " + to_string(*this) + " overflows 64 bits");
  span.origin = -lowest;
  return span;
}

bool TensorDesc::is_c_contiguous() const {
  if (strides.empty()) return true;
  const std::vector<std::int64_t> dense = c_order_strides(extents);
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    // A stride of an axis of extent 1 never moves, so any value is contiguous.
    if (extents[axis] != 1 && strides[axis] != dense[axis]) return false;
  }
  return true;
}

namespace {
std::string join(const std::vector<std::int64_t>& values) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < values.size(); ++i) os << (i ? "," : "") << values[i];
  os << ']';
  return os.str();
}
}  // namespace

std::string to_string(const TensorDesc& desc) {
  std::string text = std::string(to_string(desc.dtype)) + join(desc.extents);
  if (!desc.strides.empty()) text += " strides " + join(desc.strides);
  return text;
}

}  // namespace einstream
