#include "src/staging/pitched_copies.hpp"

namespace einstream::detail {

std::int64_t PitchedCopies::count() const {
  std::int64_t copies = 1;
  for (std::int64_t extent : outer_extents) copies *= extent;
  return copies;
}

std::int64_t PitchedCopies::offset(std::int64_t index) const {
  std::int64_t bytes = 0;
  for (std::size_t axis = outer_extents.size(); axis-- > 0;) {
    bytes += (index % outer_extents[axis]) * outer_strides[axis];
    index /= outer_extents[axis];
  }
  return bytes;
}

std::optional<PitchedCopies> pitched_copies(const std::vector<std::int64_t>& extents,
                                            const std::vector<std::int64_t>& strides,
                                            std::size_t element_bytes, std::int64_t min_row_bytes,
                                            std::int64_t max_copies) {
  const auto element = static_cast<std::int64_t>(element_bytes);
  // Axes longer than one, outermost first, with adjacent ones merged where
  // the outer steps over exactly the inner's whole run.
  std::vector<std::int64_t> merged_extents, merged_strides;
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (extents[axis] == 0) return std::nullopt;  // nothing to copy: no DMA either
    if (extents[axis] == 1) continue;
    if (strides[axis] <= 0) return std::nullopt;
    merged_extents.push_back(extents[axis]);
    merged_strides.push_back(strides[axis]);
  }
  for (std::size_t axis = merged_extents.size(); axis-- > 1;) {
    if (merged_strides[axis - 1] == merged_strides[axis] * merged_extents[axis]) {
      merged_extents[axis - 1] *= merged_extents[axis];
      merged_strides[axis - 1] = merged_strides[axis];
      merged_extents.erase(merged_extents.begin() + static_cast<std::ptrdiff_t>(axis));
      merged_strides.erase(merged_strides.begin() + static_cast<std::ptrdiff_t>(axis));
    }
  }
  PitchedCopies copies;
  if (merged_extents.empty()) {  // one element
    copies.width = element;
    copies.pitch = element;
    return element >= min_row_bytes ? std::optional<PitchedCopies>(copies) : std::nullopt;
  }
  if (merged_strides.back() != 1) return std::nullopt;
  copies.width = merged_extents.back() * element;
  copies.pitch = copies.width;
  if (copies.width < min_row_bytes) return std::nullopt;
  merged_extents.pop_back();
  merged_strides.pop_back();
  if (!merged_extents.empty()) {
    copies.height = merged_extents.back();
    copies.pitch = merged_strides.back() * element;
    if (copies.pitch < copies.width) return std::nullopt;
    merged_extents.pop_back();
    merged_strides.pop_back();
  }
  for (std::size_t axis = 0; axis < merged_extents.size(); ++axis) {
    copies.outer_extents.push_back(merged_extents[axis]);
    copies.outer_strides.push_back(merged_strides[axis] * element);
  }
  if (copies.count() > max_copies) return std::nullopt;
  return copies;
}

}  // namespace einstream::detail
