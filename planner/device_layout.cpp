#include "planner/device_layout.hpp"

#include <algorithm>
#include <limits>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"
#include "planner/lower.hpp"

namespace einstream::detail {

namespace {

// The caller's axis extents of input `index` (or the output, index -1) at
// the block extents `block` (one per mode).
std::vector<std::int64_t> axis_extents(const Problem& problem,
                                       const std::vector<TensorDesc>& inputs, int index,
                                       const std::vector<std::int64_t>& block) {
  if (index < 0) {
    std::vector<std::int64_t> extents;
    for (Mode mode : problem.output) extents.push_back(block[mode]);
    return extents;
  }
  std::vector<std::int64_t> extents = inputs[index].extents;
  const ProblemOperand& operand = problem.inputs[index];
  for (std::size_t k = 0; k < operand.modes.size(); ++k) {
    extents[operand.axes[k]] = block[operand.modes[k]];
  }
  return extents;
}

BlockShape lower_shape(const Problem& problem, const LinearPath& linear, const SlicePlan& plan,
                       const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                       const std::vector<std::int64_t>& level_extents) {
  Problem block = problem;
  for (std::size_t level = 0; level < plan.sliced.size(); ++level) {
    block.extents[plan.sliced[level].mode] = level_extents[level];
  }
  BlockShape shape;
  shape.level_extents = level_extents;
  std::vector<std::vector<std::int64_t>> strides;
  for (int index = 0; index < static_cast<int>(inputs.size()); ++index) {
    shape.input_extents.push_back(axis_extents(problem, inputs, index, block.extents));
    strides.push_back(plan.inputs[index] == Residency::streamed
                          ? c_order_strides(shape.input_extents.back())
                          : inputs[index].effective_strides());
  }
  shape.output_extents = axis_extents(problem, inputs, -1, block.extents);
  const std::vector<std::int64_t> output_strides = plan.output == Residency::streamed
                                                       ? c_order_strides(shape.output_extents)
                                                       : output.effective_strides();
  shape.program = lower(block, evaluate_path(block, linear), output.dtype, strides, output_strides);
  return shape;
}

std::uint64_t packed_bytes(const std::vector<std::int64_t>& extents, DataType dtype) {
  return static_cast<std::uint64_t>(TensorDesc(dtype, extents).element_count()) * size_of(dtype);
}

}  // namespace

std::uint64_t span_bytes(const TensorDesc& desc) {
  const TensorSpan span = desc.span();  // throws ShapeError on overflow
  std::int64_t bytes = 0;
  if (!checked_multiply(span.elements, static_cast<std::int64_t>(size_of(desc.dtype)), &bytes)) {
    throw ShapeError("the byte span of " + to_string(desc) + " overflows 64 bits");
  }
  return static_cast<std::uint64_t>(bytes);
}

std::vector<BlockShape> block_shapes(const Problem& problem, const ContractionPath& path,
                                     const SlicePlan& plan, const std::vector<TensorDesc>& inputs,
                                     const TensorDesc& output) {
  const LinearPath linear = path.linear();
  // Each level's full block and, when the extent does not divide evenly,
  // its shorter last one: every combination occurs.
  std::vector<std::vector<std::int64_t>> choices;
  for (const SlicedMode& sliced : plan.sliced) {
    const std::int64_t last = problem.extents[sliced.mode] - (sliced.blocks - 1) * sliced.block;
    choices.push_back(last == sliced.block ? std::vector<std::int64_t>{sliced.block}
                                           : std::vector<std::int64_t>{sliced.block, last});
  }
  std::vector<BlockShape> shapes;
  std::vector<std::size_t> pick(choices.size(), 0);
  while (true) {
    std::vector<std::int64_t> level_extents;
    for (std::size_t level = 0; level < choices.size(); ++level) {
      level_extents.push_back(choices[level][pick[level]]);
    }
    shapes.push_back(lower_shape(problem, linear, plan, inputs, output, level_extents));
    std::size_t level = 0;
    while (level < pick.size() && ++pick[level] == choices[level].size()) pick[level++] = 0;
    if (level == pick.size()) break;
  }
  return shapes;
}

DeviceLayout device_layout(const SlicePlan& plan, const std::vector<BlockShape>& shapes,
                           const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                           const WorkspaceNeeds& needs, int buffering) {
  if (shapes.empty()) throw Error("device_layout: no block shapes");
  DeviceLayout layout;
  bool gemm = false;
  for (const BlockShape& shape : shapes) {
    layout.arena_bytes = std::max<std::uint64_t>(layout.arena_bytes, shape.program.arena_bytes);
    layout.reduce_bytes = std::max(layout.reduce_bytes, reduce_workspace_bytes(shape.program));
    gemm = gemm || has_gemm(shape.program);
  }
  layout.gemm_bytes = gemm ? needs.gemm_bytes : 0;
  std::uint64_t total = layout.gemm_offset() + device_buffer_aligned(layout.gemm_bytes);
  // Slots are sized for the full block, the first shape (every level at
  // its full block).
  const BlockShape& full = shapes.front();
  const auto place = [&](Residency residency, const TensorDesc& desc,
                         const std::vector<std::int64_t>& block_extents) {
    OperandLayout operand;
    operand.streamed = residency == Residency::streamed;
    operand.in_place = residency == Residency::in_place;
    operand.offset = total;
    if (operand.in_place) return operand;  // the caller's memory
    if (operand.streamed) {
      operand.bytes = device_buffer_aligned(packed_bytes(block_extents, desc.dtype));
      operand.slots = buffering;
      total += static_cast<std::uint64_t>(buffering) * operand.bytes;
    } else {
      operand.bytes = span_bytes(desc);
      total += device_buffer_aligned(operand.bytes);
    }
    return operand;
  };
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    layout.inputs.push_back(place(plan.inputs[index], inputs[index], full.input_extents[index]));
  }
  layout.output = place(plan.output, output, full.output_extents);
  layout.total = total;
  return layout;
}

}  // namespace einstream::detail
