// Test support: the error an f16 or bf16 einsum may have against the
// reference executor, which computes in double and rounds once into the
// output's type. The backends compute in f32 or wider but store every
// intermediate (and every block's partial result of a sliced summed mode)
// in the dtype, one rounding each.
#pragma once

#include <cmath>
#include <cstdint>

#include "einstream/tensor.hpp"

namespace einstream::testing {

inline bool is_half_type(DataType dtype) {
  return dtype == DataType::f16 || dtype == DataType::bf16;
}

// Half an ulp of 1: 2^-11 for f16, 2^-8 for bf16.
inline double half_unit_roundoff(DataType dtype) {
  return std::ldexp(1.0, dtype == DataType::f16 ? -11 : -8);
}

// The stores in the dtype a Program of `operands` operands may make on the
// way to its result: up to three a pairwise step (reduce, GEMM, permute),
// and the result itself.
inline int half_stores(int operands) { return 3 * (operands > 1 ? operands - 1 : 1) + 1; }

// The relative error, to the result's largest magnitude (relative_error in
// tests/support/tensors.hpp), allowed after `stores` roundings in the dtype
// and f32 sums of up to `summed_terms` terms: u per rounding, doubled for
// the rounding of each intermediate reaching the result through the later
// steps' products, plus f32's 2^-24 growing with the square root of the
// summed terms (random rounding errors add as a random walk), with a
// factor of 8 against an unlucky draw.
inline double half_tolerance(DataType dtype, int stores, std::int64_t summed_terms = 1) {
  const double terms = static_cast<double>(summed_terms > 1 ? summed_terms : 1);
  return 2 * stores * half_unit_roundoff(dtype) + 8 * std::ldexp(1.0, -24) * std::sqrt(terms);
}

}  // namespace einstream::testing
