// TensorLayout: the extents and strides (in elements) of a strided view, the
// value every op of a Program and every kernel launch plan is stated in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace einstream::detail {

struct TensorLayout {
  std::vector<std::int64_t> extents;
  std::vector<std::int64_t> strides;

  int rank() const { return static_cast<int>(extents.size()); }
  // Throws ShapeError when the count overflows 64 bits.
  std::int64_t element_count() const;
};

// "[extents]:[strides]", e.g. "[2,3]:[3,1]".
std::string to_string(const TensorLayout& layout);

}  // namespace einstream::detail
