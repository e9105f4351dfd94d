#include "src/axis_merge.hpp"

#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

MergedAxes merge_axes(const std::vector<std::int64_t>& extents,
                      const std::vector<std::vector<std::int64_t>>& strides) {
  for (const auto& layout : strides) {
    if (layout.size() != extents.size()) {
      throw Error("merge_axes: a layout has " + std::to_string(layout.size()) +
                  " strides for " + std::to_string(extents.size()) + " extents");
    }
  }
  MergedAxes merged;
  merged.strides.resize(strides.size());
  for (std::int64_t extent : extents) {
    if (extent == 0) {
      merged.extents = {0};
      for (auto& layout : merged.strides) layout = {0};
      return merged;
    }
  }
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (extents[axis] == 1) continue;
    bool joins_previous = !merged.extents.empty();
    for (std::size_t layout = 0; layout < strides.size() && joins_previous; ++layout) {
      // The previous kept axis is outer to this one: it must step exactly
      // over this axis's span in every layout.
      joins_previous = merged.strides[layout].back() == strides[layout][axis] * extents[axis];
    }
    if (joins_previous) {
      merged.extents.back() *= extents[axis];
      for (std::size_t layout = 0; layout < strides.size(); ++layout) {
        merged.strides[layout].back() = strides[layout][axis];
      }
    } else {
      merged.extents.push_back(extents[axis]);
      for (std::size_t layout = 0; layout < strides.size(); ++layout) {
        merged.strides[layout].push_back(strides[layout][axis]);
      }
    }
  }
  return merged;
}

}  // namespace einstream::detail
