// Overflow-checked 64-bit arithmetic for sizes: element counts, byte counts,
// spans. Sizes come from callers and files, so every product of extents and
// strides is checked once where a descriptor enters; these are the checks.
#pragma once

#include <cstdint>

namespace einstream::detail {

// *result = a * b; false (and *result unspecified) when it overflows.
inline bool checked_multiply(std::int64_t a, std::int64_t b, std::int64_t* result) {
  return !__builtin_mul_overflow(a, b, result);
}

// *result = a + b; false (and *result unspecified) when it overflows.
inline bool checked_add(std::int64_t a, std::int64_t b, std::int64_t* result) {
  return !__builtin_add_overflow(a, b, result);
}

}  // namespace einstream::detail
