// Axis merging for strided kernels: the same elements, visited with fewer
// loop levels. Pure C++ (no CUDA), so it is tested on every machine.
//
// Several layouts over the same index space (a permute's source and result,
// an elementwise op's operands and result) can drop extent-1 axes and merge
// axis pairs (outer, inner) whose strides satisfy
// stride[outer] == stride[inner] * extent[inner] in every layout at once.
// A rank-6 permute of 16^6 whose two innermost axes move together becomes a
// rank-5 one; a plain copy becomes rank 1.
#pragma once

#include <cstdint>
#include <vector>

namespace einstream::detail {

struct MergedAxes {
  std::vector<std::int64_t> extents;
  // strides[layout][axis], one list per input layout, in the same order.
  std::vector<std::vector<std::int64_t>> strides;

  int rank() const { return static_cast<int>(extents.size()); }
};

// `strides` holds one stride list per layout, each as long as `extents`.
// Axis order is kept (outermost first). A tensor with a zero extent comes
// back as rank 1 of extent 0; a scalar (or all extents 1) as rank 0.
MergedAxes merge_axes(const std::vector<std::int64_t>& extents,
                      const std::vector<std::vector<std::int64_t>>& strides);

}  // namespace einstream::detail
