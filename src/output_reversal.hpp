// Output axes with negative strides, reversed away before planning.
//
// An einsum is unchanged when one mode's index runs backwards in every
// operand at once. So each output axis with a negative stride is reversed
// in the output and in every input axis carrying its mode: the stride is
// negated and the pointer moved to the element that becomes index 0. The
// backends then see an output with non-negative strides (the CUDA kernels
// write only such results) and inputs with some strides negated (which
// every kernel reads).
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

struct OutputReversal {
  // What the backends plan and run with.
  std::vector<TensorDesc> inputs;
  TensorDesc output;
  // Element offsets that move the caller's pointers to element (0, ..., 0)
  // of the reversed views (0 where nothing is reversed).
  std::vector<std::int64_t> input_shift;
  std::int64_t output_shift = 0;

  bool reverses() const;
  // The caller's pointers moved to the reversed views (null stays null).
  std::vector<const void*> inputs_of(const std::vector<const void*>& pointers) const;
  void* output_of(void* pointer) const;
};

OutputReversal reverse_negative_output_axes(const Problem& problem,
                                            const std::vector<TensorDesc>& inputs,
                                            const TensorDesc& output);

}  // namespace einstream::detail
