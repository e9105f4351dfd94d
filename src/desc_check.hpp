// Checks of tensor descriptors where they enter einstream (the API, the .npy
// reader, the CLI's --shapes): after these pass, every element count, byte
// count and byte span of the tensor fits a signed 64-bit integer, so later
// arithmetic on them (spans, copies, allocations) cannot overflow.
#pragma once

#include <cstdint>
#include <string>

#include "einstream/tensor.hpp"

namespace einstream::detail {

// Throws ShapeError naming `what` when `desc` has a stride count other than
// its rank, a negative extent, or an element count, byte count or byte span
// beyond 2^63 - 1.
void check_desc(const TensorDesc& desc, const std::string& what);

// element_count() * size_of(dtype), checked (ShapeError naming `what`).
std::int64_t checked_byte_count(const TensorDesc& desc, const std::string& what);

}  // namespace einstream::detail
