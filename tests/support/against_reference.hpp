// Test support: evaluate an expression with a Plan (any Options) and with the
// reference executor on the same random data; report the relative error.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::testing {

// Random C-order operands of `shapes`: their descriptors, bytes, pointers
// for Plan::execute and views for the reference executor.
struct RandomOperands {
  std::vector<TensorDesc> descs;
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
};

inline RandomOperands random_operands(const std::vector<std::vector<std::int64_t>>& shapes,
                                      DataType dtype, std::mt19937& random) {
  RandomOperands operands;
  for (const auto& shape : shapes) {
    operands.descs.emplace_back(dtype, shape);
    operands.inputs.push_back(random_tensor(dtype, operands.descs.back().element_count(), random));
  }
  for (std::size_t index = 0; index < operands.inputs.size(); ++index) {
    operands.pointers.push_back(operands.inputs[index].data());
    operands.reference_inputs.push_back(
        {operands.inputs[index].data(), dtype, operands.descs[index].effective_strides()});
  }
  return operands;
}

// The reference executor's `initial` updated to alpha * einsum + beta *
// initial, in `output`'s layout.
inline std::vector<unsigned char> reference_result(const std::string& expression,
                                                   const RandomOperands& operands,
                                                   const TensorDesc& output,
                                                   std::vector<unsigned char> initial, Scalar alpha,
                                                   Scalar beta) {
  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : operands.descs) shapes.push_back(desc.extents);
  detail::reference_einsum(detail::parse(expression, shapes), operands.reference_inputs,
                           {initial.data(), output.dtype, output.effective_strides()}, alpha, beta);
  return initial;
}

// A bound on the terms an evaluation sums: the largest element of the same
// evaluation on magnitudes (|inputs|, |alpha|, |beta| |initial|), in f64.
// The inputs and the initial output lie in buffers their descriptors span,
// given at their origins; `initial` may be null when beta is 0.
inline double terms_bound(const std::string& expression, const std::vector<TensorDesc>& descs,
                          const std::vector<const void*>& inputs, const TensorDesc& output,
                          const void* initial, Scalar alpha, Scalar beta) {
  auto magnitudes_of = [](const TensorDesc& desc, const void* data) {
    const TensorSpan span = desc.span();
    std::vector<double> values(static_cast<std::size_t>(std::max<std::int64_t>(span.elements, 1)));
    const auto* base = static_cast<const unsigned char*>(data) -
                       span.origin * static_cast<std::int64_t>(size_of(desc.dtype));
    for (std::int64_t index = 0; data != nullptr && index < span.elements; ++index) {
      values[static_cast<std::size_t>(index)] = std::abs(element(desc.dtype, base, index));
    }
    return std::make_pair(values, span.origin);
  };
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<std::pair<std::vector<double>, std::int64_t>> magnitude_inputs;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (std::size_t operand = 0; operand < descs.size(); ++operand) {
    shapes.push_back(descs[operand].extents);
    magnitude_inputs.push_back(magnitudes_of(descs[operand], inputs[operand]));
  }
  for (std::size_t operand = 0; operand < descs.size(); ++operand) {
    const auto& [values, origin] = magnitude_inputs[operand];
    reference_inputs.push_back(
        {values.data() + origin, DataType::f64, descs[operand].effective_strides()});
  }
  auto [bound, origin] = magnitudes_of(output, beta == 0.0 ? nullptr : initial);
  detail::reference_einsum(detail::parse(expression, shapes), reference_inputs,
                           {bound.data() + origin, DataType::f64, output.effective_strides()},
                           std::abs(alpha), std::abs(beta));
  return *std::max_element(bound.begin(), bound.end());
}

// The error of `actual` against the reference's `expected` (`count`
// elements), relative to the scale each dtype's tolerance() is for: the
// largest expected element (relative_error) for f32, f64 and the complex
// types; for the half types `bound` (terms_bound): with 8 or 11 bits,
// cancellation in random data leaves results far below the terms whose
// size their rounding errors follow, and a bound relative to the result
// alone would have to be too loose to catch anything.
inline double error_against_reference(DataType dtype, const void* actual, const void* expected,
                                      std::int64_t count, double bound) {
  if (!is_half_precision(dtype)) return relative_error(dtype, actual, expected, count);
  const double difference = largest_difference(dtype, actual, expected, count);
  return bound > 0 ? difference / bound : difference;
}

struct AgainstReference {
  double error = 0;
  std::string explain;  // the plan's explain()
};

inline AgainstReference plan_against_reference(const std::string& expression,
                                               const std::vector<std::vector<std::int64_t>>& shapes,
                                               DataType dtype, const Options& options, Scalar alpha,
                                               Scalar beta, std::mt19937& random) {
  const RandomOperands operands = random_operands(shapes, dtype, random);
  Plan plan(expression, operands.descs, options);
  const std::int64_t count = plan.output().element_count();
  const std::vector<unsigned char> initial = random_tensor(dtype, count, random);
  std::vector<unsigned char> actual = initial;
  plan.execute(operands.pointers, actual.data(), alpha, beta);
  const std::vector<unsigned char> expected =
      reference_result(expression, operands, plan.output(), initial, alpha, beta);
  const double bound = terms_bound(expression, operands.descs, operands.pointers, plan.output(),
                                   initial.data(), alpha, beta);
  return {error_against_reference(dtype, actual.data(), expected.data(), count, bound),
          plan.explain()};
}

// The smallest memory limit in bytes a plan of `expression` with `options`
// accepts, read from the MemoryError of a limit of one byte (1 when even
// that fits: a problem of nothing).
inline std::uint64_t smallest_budget(const std::string& expression,
                                     const std::vector<TensorDesc>& descs, Options options) {
  options.memory_limit = MemoryLimit::from_bytes(1);
  try {
    Plan plan(expression, descs, options);
  } catch (const MemoryError& error) {
    EXPECT_EQ(error.bytes_available(), 1u);
    return error.bytes_needed();
  }
  return 1;
}

// A tensor of any strides in a buffer of its own: `origin` is the element
// offset of element (0, ..., 0), so negative strides stay inside the buffer;
// elements of the buffer outside the view (gaps) are part of the comparison.
struct StridedBuffer {
  std::vector<unsigned char> bytes;
  std::int64_t origin = 0;
  DataType dtype = DataType::f32;

  std::int64_t count() const { return static_cast<std::int64_t>(bytes.size() / size_of(dtype)); }
  unsigned char* at_origin() {
    return bytes.data() + origin * static_cast<std::int64_t>(size_of(dtype));
  }
};

// A buffer spanning every element `desc` addresses, filled uniform in
// [-1, 1], or with NaN (both parts) when `nan`.
inline StridedBuffer strided_buffer(const TensorDesc& desc, std::mt19937& random,
                                    bool nan = false) {
  const std::vector<std::int64_t> strides = desc.effective_strides();
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  bool empty = false;
  for (int axis = 0; axis < desc.rank(); ++axis) {
    if (desc.extents[axis] == 0) empty = true;
    const std::int64_t reach = std::max<std::int64_t>(desc.extents[axis] - 1, 0) * strides[axis];
    (reach < 0 ? lowest : highest) += reach;
  }
  StridedBuffer buffer;
  buffer.dtype = desc.dtype;
  buffer.origin = empty ? 0 : -lowest;
  buffer.bytes = random_tensor(desc.dtype, empty ? 1 : highest - lowest + 1, random);
  if (nan) {
    // NaN in every byte pattern position: all-ones bytes are a quiet NaN in
    // both float and double, real and imaginary parts.
    std::fill(buffer.bytes.begin(), buffer.bytes.end(), static_cast<unsigned char>(0xFF));
  }
  return buffer;
}

inline bool is_nan(std::complex<double> value) {
  return std::isnan(value.real()) || std::isnan(value.imag());
}

// The buffer with every element replaced by its magnitude (in the real
// part; NaN stays NaN). Evaluating an expression on magnitudes, with |alpha|
// and |beta|, bounds every term the real evaluation sums: the scale its
// rounding error is measured against, which cancellation cannot shrink.
inline StridedBuffer magnitudes(const StridedBuffer& buffer) {
  StridedBuffer result = buffer;
  for (std::int64_t index = 0; index < buffer.count(); ++index) {
    const double magnitude = std::abs(element(buffer.dtype, buffer.bytes.data(), index));
    set_element(buffer.dtype, result.bytes.data(), index, magnitude);
  }
  return result;
}

// The buffer's elements in another dtype, at the same element offsets.
inline StridedBuffer converted(const StridedBuffer& buffer, DataType dtype) {
  StridedBuffer result;
  result.dtype = dtype;
  result.origin = buffer.origin;
  result.bytes.resize(static_cast<std::size_t>(buffer.count()) * size_of(dtype));
  for (std::int64_t index = 0; index < buffer.count(); ++index) {
    set_element(dtype, result.bytes.data(), index,
                element(buffer.dtype, buffer.bytes.data(), index));
  }
  return result;
}

// The largest magnitude in the buffer, NaN skipped.
inline double largest_magnitude(const StridedBuffer& buffer) {
  double largest = 0;
  for (std::int64_t index = 0; index < buffer.count(); ++index) {
    const std::complex<double> value = element(buffer.dtype, buffer.bytes.data(), index);
    if (!is_nan(value)) largest = std::max(largest, std::abs(value));
  }
  return largest;
}

// Elementwise over the whole buffers, gaps included; NaN must meet NaN. The
// tolerance is the dtype's, relative to `scale` (e.g. largest_magnitude of
// the expected buffer, or of a magnitudes() evaluation); a scale of 0 is
// taken as 1. Returns what differs first, or "" when they agree.
inline std::string compare_buffers(const StridedBuffer& actual, const StridedBuffer& expected,
                                   double scale) {
  const DataType dtype = expected.dtype;
  const double allowed = tolerance(dtype) * (scale > 0 ? scale : 1.0);
  for (std::int64_t index = 0; index < expected.count(); ++index) {
    const std::complex<double> want = element(dtype, expected.bytes.data(), index);
    const std::complex<double> got = element(dtype, actual.bytes.data(), index);
    if (is_nan(want) != is_nan(got) || (!is_nan(want) && std::abs(got - want) > allowed)) {
      return "buffer element " + std::to_string(index - expected.origin) + " is (" +
             std::to_string(got.real()) + "," + std::to_string(got.imag()) +
             "), the reference gives (" + std::to_string(want.real()) + "," +
             std::to_string(want.imag()) + "), allowed error " + std::to_string(allowed);
    }
  }
  return {};
}

}  // namespace einstream::testing
