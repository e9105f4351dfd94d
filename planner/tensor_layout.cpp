#include "planner/tensor_layout.hpp"

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"

namespace einstream::detail {

namespace {

std::string join(const std::vector<std::int64_t>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i)
    text += (i ? "," : "") + std::to_string(values[i]);
  return text + "]";
}

}  // namespace

std::int64_t TensorLayout::element_count() const {
  for (std::int64_t extent : extents) {
    if (extent == 0) return 0;
  }
  std::int64_t count = 1;
  for (std::int64_t extent : extents) {
    if (!checked_multiply(count, extent, &count)) {
      throw ShapeError("a tensor of extents " + join(extents) +
                       " has more elements than a 64-bit count holds");
    }
  }
  return count;
}

std::string to_string(const TensorLayout& layout) {
  return join(layout.extents) + ":" + join(layout.strides);
}

}  // namespace einstream::detail
