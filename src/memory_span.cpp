#include "src/memory_span.hpp"

#include <algorithm>
#include <numeric>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"
#include "planner/device_layout.hpp"

namespace einstream::detail {

MemorySpan memory_span(const TensorDesc& desc, const void* data) {
  if (data == nullptr || desc.element_count() == 0) return {};
  const std::vector<std::int64_t> strides = desc.effective_strides();
  // Descriptors are checked where they enter (check_desc), so these cannot
  // overflow for a Plan's tensors; checked anyway, as this takes any desc.
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  bool fits = true;
  for (std::size_t axis = 0; axis < desc.extents.size(); ++axis) {
    std::int64_t reach = 0;
    fits = fits && checked_multiply(desc.extents[axis] - 1, strides[axis], &reach);
    fits = fits && (reach < 0 ? checked_add(lowest, reach, &lowest)
                              : checked_add(highest, reach, &highest));
  }
  const auto element = static_cast<std::int64_t>(size_of(desc.dtype));
  std::int64_t low_bytes = 0;
  std::int64_t high_bytes = 0;
  fits = fits && checked_multiply(lowest, element, &low_bytes) &&
         checked_add(highest, 1, &highest) && checked_multiply(highest, element, &high_bytes);
  if (!fits) throw ShapeError("the byte span of " + to_string(desc) + " overflows 64 bits");
  const auto base = reinterpret_cast<std::uintptr_t>(data);
  return {base + static_cast<std::uintptr_t>(low_bytes),
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
