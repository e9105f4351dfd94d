// Test support: the error an f16 or bf16 einsum may have against the
// reference executor, which computes in double and rounds once into the
// output's type. The backends compute in f32 or wider but store every
// intermediate (and every block's partial result of a sliced summed mode)
// in the dtype, one rounding each. A rounding's error is relative to the
// value stored, and it reaches the result through products of the other
// operands; so the errors are measured against the einsum of the operands'
// magnitudes (the reference's, in f64), which bounds every intermediate and
// every term whatever cancels in the result.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "einstream/half.hpp"
#include "einstream/tensor.hpp"
#include "planner/problem.hpp"
#include "src/reference.hpp"

namespace einstream::testing {

inline bool is_half_type(DataType dtype) {
  return dtype == DataType::f16 || dtype == DataType::bf16;
}

// Half an ulp of 1: 2^-11 for f16, 2^-8 for bf16.
inline double half_unit_roundoff(DataType dtype) {
  return std::ldexp(1.0, dtype == DataType::f16 ? -11 : -8);
}

// Element `index` of a buffer of f16 or bf16 elements, as a double.
inline double half_element(DataType dtype, const void* data, std::int64_t index) {
  std::uint16_t bits = 0;
  std::memcpy(&bits, static_cast<const unsigned char*>(data) + 2 * index, sizeof bits);
  return dtype == DataType::f16 ? static_cast<float>(float16::from_bits(bits))
                                : static_cast<float>(bfloat16::from_bits(bits));
}

// The magnitudes of a half-type view's elements in f64, at the same offsets
// from element (0, ..., 0) as the view's.
struct MagnitudeView {
  std::vector<double> values;
  std::int64_t origin = 0;  // the index of element (0, ..., 0) in values
  const double* at_origin() const { return values.data() + origin; }
  double* at_origin() { return values.data() + origin; }
};

inline MagnitudeView half_magnitudes(DataType dtype, const void* origin,
                                     const std::vector<std::int64_t>& extents,
                                     const std::vector<std::int64_t>& strides) {
  std::int64_t low = 0, high = 0;
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (extents[axis] == 0) return MagnitudeView{{0.0}, 0};
    const std::int64_t reach = (extents[axis] - 1) * strides[axis];
    (reach < 0 ? low : high) += reach;
  }
  MagnitudeView view;
  view.origin = -low;
  view.values.resize(static_cast<std::size_t>(high - low + 1));
  const auto* first = static_cast<const unsigned char*>(origin) + 2 * low;
  for (std::int64_t index = 0; index <= high - low; ++index) {
    view.values[static_cast<std::size_t>(index)] = std::abs(half_element(dtype, first, index));
  }
  return view;
}

// The largest element of |alpha| einsum(|inputs|) + |beta| |initial| (in
// f64, by the reference executor), for inputs and an initial output of a
// half type at element (0, ..., 0) of each view.
inline double half_magnitude_bound(const detail::Problem& problem,
                                   const std::vector<std::vector<std::int64_t>>& shapes,
                                   DataType dtype, const std::vector<const void*>& inputs,
                                   const std::vector<std::vector<std::int64_t>>& input_strides,
                                   const void* initial,
                                   const std::vector<std::int64_t>& output_strides, Scalar alpha,
                                   Scalar beta) {
  std::vector<MagnitudeView> magnitudes;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    magnitudes.push_back(
        half_magnitudes(dtype, inputs[operand], shapes[operand], input_strides[operand]));
  }
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    reference_inputs.push_back(
        {magnitudes[operand].at_origin(), DataType::f64, input_strides[operand]});
  }
  const std::vector<std::int64_t> extents = problem.output_extents();
  MagnitudeView bound = half_magnitudes(dtype, initial, extents, output_strides);
  detail::reference_einsum(problem, reference_inputs,
                           {bound.at_origin(), DataType::f64, output_strides}, std::abs(alpha),
                           std::abs(beta));
  // The largest over the view's elements (not its gaps), innermost axis fastest.
  double largest = 0;
  if (std::find(extents.begin(), extents.end(), 0) != extents.end()) return largest;
  std::vector<std::int64_t> index(extents.size(), 0);
  std::int64_t offset = 0;
  while (true) {
    largest = std::max(largest, bound.at_origin()[offset]);
    std::size_t axis = extents.size();
    for (; axis-- > 0;) {
      offset += output_strides[axis];
      if (++index[axis] < extents[axis]) break;
      offset -= output_strides[axis] * extents[axis];
      index[axis] = 0;
    }
    if (axis == static_cast<std::size_t>(-1)) return largest;
  }
}

// max |actual - expected| over `count` half-type elements, over `bound`.
inline double half_error(DataType dtype, const void* actual, const void* expected,
                         std::int64_t count, double bound) {
  double largest = 0;
  for (std::int64_t index = 0; index < count; ++index) {
    largest = std::max(largest, std::abs(half_element(dtype, actual, index) -
                                         half_element(dtype, expected, index)));
  }
  return bound > 0 ? largest / bound : largest;
}

// The stores in the dtype a Program of `operands` operands may make on the
// way to its result: up to three a pairwise step (reduce, GEMM, permute),
// and the result itself.
inline int half_stores(int operands) { return 3 * (operands > 1 ? operands - 1 : 1) + 1; }

// The error, relative to the largest magnitude bound (half_error over
// half_magnitude_bound), allowed after `stores` roundings in the dtype and
// f32 sums of up to `summed_terms` terms: u per rounding and one more for
// the reference's own, each bounded by the magnitudes (a first-order bound,
// hence 1% more), plus f32's 2^-24 growing with the square root of the
// summed terms (random rounding errors add as a random walk), times 8
// against an unlucky draw.
inline double half_tolerance(DataType dtype, int stores, std::int64_t summed_terms = 1) {
  const double terms = static_cast<double>(summed_terms > 1 ? summed_terms : 1);
  return 1.01 * (stores + 1) * half_unit_roundoff(dtype) +
         8 * std::ldexp(1.0, -24) * std::sqrt(terms);
}

}  // namespace einstream::testing
