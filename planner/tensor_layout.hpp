// TensorLayout: the extents and strides (in elements) of a strided view, the
// value every op of a Program and every kernel launch plan is stated in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace einstream::detail {

// The most axes a view can have once adjacent axes merge and extent-1 axes
// drop out: each remaining axis has extent >= 2, and a view of fewer than
// 2^63 elements has at most 62 of them. A kernel's axis list this long
// holds every launchable view, however many modes its tensor has.
constexpr int kMaxLaunchAxes = 64;

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
