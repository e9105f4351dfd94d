// Byte ranges covered by strided tensors, to reject outputs that alias inputs
// or themselves before any element is written.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream::detail {

// Half-open byte range [begin, end); empty when the tensor has no elements.
struct MemorySpan {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
};

// The bytes `desc` addresses from `data` (negative strides reach below it).
MemorySpan memory_span(const TensorDesc& desc, const void* data);

// Bytes the span of any tensor `desc` describes covers (0 when empty).
std::uint64_t memory_span_bytes(const TensorDesc& desc);

bool overlaps(const MemorySpan& first, const MemorySpan& second);

// True when no two index tuples map to the same element: sorted by |stride|,
// each axis must step past everything the smaller axes reach. Conservative:
// it rejects some exotic interleaved layouts that are in fact distinct.
bool elements_are_distinct(const std::vector<std::int64_t>& extents,
                           const std::vector<std::int64_t>& strides);

}  // namespace einstream::detail
