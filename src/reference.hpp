// Reference executor: evaluates any valid Problem directly, as the oracle
// every other executor is tested against.
//
// It is written to be obviously right, not fast: for every output element it
// loops over every combination of the summed modes and multiplies one element
// of each input, accumulating in double (real) or std::complex<double>
// (complex). Diagonals fall out of the addressing: an operand's stride for a
// mode is the sum of the strides of all its axes carrying that mode.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/plan.hpp"
#include "einstream/tensor.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

// One input operand: its data, element type and strides in elements, one per
// axis of the caller's tensor (ProblemOperand::rank entries; the entries of
// axes dropped by broadcasting are never used).
struct ReferenceInput {
  const void* data = nullptr;
  DataType dtype = DataType::f32;
  std::vector<std::int64_t> strides;
};

// The output: its data, element type and strides, one per output mode.
struct ReferenceOutput {
  void* data = nullptr;
  DataType dtype = DataType::f32;
  std::vector<std::int64_t> strides;
};

// output = alpha * einsum(inputs) + beta * output. With beta == 0 the output
// is not read. Inputs may have different dtypes (a real input in a complex
// problem is promoted). Throws Error for a complex alpha or beta with a real
// output, a complex input with a real output, or a count/rank mismatch with
// the Problem.
void reference_einsum(const Problem& problem, const std::vector<ReferenceInput>& inputs,
                      const ReferenceOutput& output, Scalar alpha = 1.0, Scalar beta = 0.0);

}  // namespace einstream::detail
