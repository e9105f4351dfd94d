#include "src/memory_span.hpp"

#include <algorithm>
#include <numeric>

namespace einstream::detail {

MemorySpan memory_span(const TensorDesc& desc, const void* data) {
  if (data == nullptr || desc.element_count() == 0) return {};
  const std::vector<std::int64_t> strides = desc.effective_strides();
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  for (std::size_t axis = 0; axis < desc.extents.size(); ++axis) {
    const std::int64_t reach = (desc.extents[axis] - 1) * strides[axis];
    (reach < 0 ? lowest : highest) += reach;
  }
  const auto element = static_cast<std::int64_t>(size_of(desc.dtype));
  const auto base = reinterpret_cast<std::uintptr_t>(data);
  return {base + static_cast<std::uintptr_t>(lowest * element),
          base + static_cast<std::uintptr_t>((highest + 1) * element)};
}

std::uint64_t memory_span_bytes(const TensorDesc& desc) {
  // Any non-null base gives the same length.
  const MemorySpan span = memory_span(desc, reinterpret_cast<const void*>(std::uintptr_t{1} << 40));
  return span.end - span.begin;
}

bool overlaps(const MemorySpan& first, const MemorySpan& second) {
  if (first.begin == first.end || second.begin == second.end) return false;
  return first.begin < second.end && second.begin < first.end;
}

bool elements_are_distinct(const std::vector<std::int64_t>& extents,
                           const std::vector<std::int64_t>& strides) {
  std::vector<std::size_t> axes;
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (extents[axis] == 0) return true;
    if (extents[axis] > 1) axes.push_back(axis);
  }
  auto magnitude = [&](std::size_t axis) {
    return strides[axis] < 0 ? -strides[axis] : strides[axis];
  };
  std::sort(axes.begin(), axes.end(),
            [&](std::size_t a, std::size_t b) { return magnitude(a) < magnitude(b); });
  std::int64_t reach = 0;  // farthest offset the smaller axes reach
  for (std::size_t axis : axes) {
    if (magnitude(axis) <= reach) return false;
    reach += (extents[axis] - 1) * magnitude(axis);
  }
  return true;
}

}  // namespace einstream::detail
