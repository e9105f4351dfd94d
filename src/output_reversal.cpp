#include "src/output_reversal.hpp"

#include <algorithm>

namespace einstream::detail {

namespace {

const void* shifted(const void* pointer, std::int64_t elements, std::size_t element) {
  if (pointer == nullptr || elements == 0) return pointer;
  return static_cast<const char*>(pointer) + elements * static_cast<std::int64_t>(element);
}

}  // namespace

bool OutputReversal::reverses() const {
  return output_shift != 0 ||
         std::any_of(input_shift.begin(), input_shift.end(), [](std::int64_t s) { return s != 0; });
}

std::vector<const void*> OutputReversal::inputs_of(const std::vector<const void*>& pointers) const {
  std::vector<const void*> moved(pointers);
  for (std::size_t index = 0; index < moved.size() && index < input_shift.size(); ++index) {
    moved[index] = shifted(moved[index], input_shift[index], size_of(inputs[index].dtype));
  }
  return moved;
}

void* OutputReversal::output_of(void* pointer) const {
  return const_cast<void*>(shifted(pointer, output_shift, size_of(output.dtype)));
}

OutputReversal reverse_negative_output_axes(const Problem& problem,
                                            const std::vector<TensorDesc>& inputs,
                                            const TensorDesc& output) {
  OutputReversal reversal;
  reversal.inputs = inputs;
  reversal.output = output;
  reversal.input_shift.assign(inputs.size(), 0);
  if (output.element_count() == 0) return reversal;
  std::vector<bool> reversed(static_cast<std::size_t>(problem.mode_count()), false);
  std::vector<std::int64_t> output_strides = output.effective_strides();
  bool any = false;
  for (std::size_t axis = 0; axis < output_strides.size(); ++axis) {
    // An axis of one element with a negative stride is turned too (its
    // shift is 0): the kernels see only non-negative result strides.
    if (output_strides[axis] >= 0) continue;
    reversed[problem.output[axis]] = true;
    any = true;
    reversal.output_shift += (output.extents[axis] - 1) * output_strides[axis];
    output_strides[axis] = -output_strides[axis];
  }
  if (!any) return reversal;
  reversal.output = TensorDesc(output.dtype, output.extents, output_strides);
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const ProblemOperand& operand = problem.inputs[index];
    std::vector<std::int64_t> strides = inputs[index].effective_strides();
    bool changed = false;
    for (std::size_t k = 0; k < operand.modes.size(); ++k) {
      if (!reversed[operand.modes[k]]) continue;
      const int axis = operand.axes[k];
      reversal.input_shift[index] += (inputs[index].extents[axis] - 1) * strides[axis];
      strides[axis] = -strides[axis];
      changed = true;
    }
    if (changed)
      reversal.inputs[index] = TensorDesc(inputs[index].dtype, inputs[index].extents, strides);
  }
  return reversal;
}

}  // namespace einstream::detail
