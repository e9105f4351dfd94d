// Divisor<Index>: n / d for a divisor fixed at launch, as a multiply-high
// and a shift for 32-bit indices (Granlund-Montgomery, as CUTLASS's
// FastDivmod) and a plain division for 64-bit ones. Kernels that decompose
// a linear index over axes per item (permute's strided variants, the
// elementwise vector rows) take their extents as Divisors made on the host.
#pragma once

#include <cstdint>

namespace einstream::detail {

template <typename Index>
struct Divisor;

// n / d as a multiply-high and a shift (Granlund-Montgomery, as CUTLASS's
// FastDivmod): a 32-bit division is a long instruction sequence on the GPU
// and the strided variant divides once per axis per item. Exact for
// 0 <= n < 2^31 and 1 <= d < 2^31.
template <>
struct Divisor<std::int32_t> {
  std::int32_t divisor;
  std::uint32_t multiplier;
  std::uint32_t shift;

  static Divisor make(std::int64_t d) {
    Divisor made{static_cast<std::int32_t>(d), 0u, 0u};
    if (d != 1) {
      std::uint32_t ceil_log2 = 0;
      while ((std::int64_t{1} << ceil_log2) < d) ++ceil_log2;
      const std::uint32_t p = 31 + ceil_log2;
      made.multiplier =
          static_cast<std::uint32_t>(((std::uint64_t{1} << p) + static_cast<std::uint64_t>(d) - 1) /
                                     static_cast<std::uint64_t>(d));
      made.shift = p - 32;
    }
    return made;
  }
  __device__ std::int32_t quotient(std::int32_t n) const {
    if (divisor == 1) return n;
    return static_cast<std::int32_t>(__umulhi(static_cast<std::uint32_t>(n), multiplier) >> shift);
  }
};

// Past 2^31 elements: plain division (tensors that large are rare and the
// bandwidth, not the index arithmetic, still dominates).
template <>
struct Divisor<std::int64_t> {
  std::int64_t divisor;

  static Divisor make(std::int64_t d) { return Divisor{d}; }
  __device__ std::int64_t quotient(std::int64_t n) const { return n / divisor; }
};

}  // namespace einstream::detail
