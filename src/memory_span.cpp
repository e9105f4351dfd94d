#include "src/memory_span.hpp"

#include <algorithm>
#include <numeric>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"
#include "planner/device_layout.hpp"

namespace einstream::detail {

MemorySpan memory_span(const TensorDesc& desc, const void* data) {
  if (data == nullptr || desc.element_count() == 0) return {};
  const TensorSpan span = desc.span();  // throws ShapeError on overflow
  const auto element = static_cast<std::int64_t>(size_of(desc.dtype));
  std::int64_t low_bytes = 0;
  std::int64_t high_bytes = 0;
  if (!checked_multiply(span.origin, element, &low_bytes) ||
      !checked_multiply(span.elements - span.origin, element, &high_bytes)) {
    throw ShapeError("the byte span of " + to_string(desc) + " overflows 64 bits");
  }
  const auto base = reinterpret_cast<std::uintptr_t>(data);
  return {base - static_cast<std::uintptr_t>(low_bytes),
          base + static_cast<std::uintptr_t>(high_bytes)};
}

std::uint64_t memory_span_bytes(const TensorDesc& desc) { return span_bytes(desc); }

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
