// The planner's device layout: every distinct block shape lowered once, and
// the exact offsets of the one allocation an execution makes.
#include "planner/device_layout.hpp"
#include "planner/device_plan.hpp"

#include <gtest/gtest.h>

#include <set>

#include "einstream/error.hpp"
#include "planner/block_assignment.hpp"
#include "planner/lower.hpp"
#include "planner/parse.hpp"

namespace einstream::detail {
namespace {

std::vector<TensorDesc> descs_of(const std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(DataType::f32, shape);
  return descs;
}

// A GEMM workspace the test knows; reduce workspaces come from the
// Programs' launch plans.
WorkspaceNeeds test_needs() {
  WorkspaceNeeds needs;
  needs.gemm_bytes = 4096;
  return needs;
}

void expect_aligned_and_disjoint(const DeviceLayout& layout) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges = {
      {0, layout.arena_bytes},
      {layout.reduce_offset(), layout.reduce_offset() + layout.reduce_bytes},
      {layout.gemm_offset(), layout.gemm_offset() + layout.gemm_bytes}};
  auto add = [&](const OperandLayout& operand) {
    EXPECT_EQ(operand.offset % kDeviceBufferAlignment, 0u);
    const std::uint64_t count = operand.streamed ? static_cast<std::uint64_t>(operand.slots) : 1;
    ranges.emplace_back(operand.offset, operand.offset + count * operand.bytes);
  };
  for (const OperandLayout& input : layout.inputs) add(input);
  add(layout.output);
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t k = 1; k < ranges.size(); ++k) {
    EXPECT_LE(ranges[k - 1].second, ranges[k].first) << "buffers " << k - 1 << " and " << k;
  }
  EXPECT_LE(ranges.back().second, layout.total);
  EXPECT_EQ(layout.total % kDeviceBufferAlignment, 0u);
}

TEST(DeviceLayout, WholeProblemIsOneShapeWithEveryOperandResident) {
  const std::vector<std::vector<std::int64_t>> shapes = {{40, 30, 20}, {30, 20, 50}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("abc,bcd->ad", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const TensorDesc output(DataType::f32, problem.output_extents());
  SlicePlan plan;
  plan.inputs.assign(2, Residency::resident);
  const std::vector<BlockShape> blocks = block_shapes(problem, path, plan, inputs, output);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_TRUE(blocks[0].level_extents.empty());
  EXPECT_EQ(blocks[0].input_extents[1], shapes[1]);
  EXPECT_EQ(blocks[0].output_extents, (std::vector<std::int64_t>{40, 50}));
  const Program whole = lower(problem, path, DataType::f32,
                              {inputs[0].effective_strides(), inputs[1].effective_strides()},
                              output.effective_strides());
  EXPECT_EQ(to_string(blocks[0].program), to_string(whole));

  const DeviceLayout layout = device_layout(plan, blocks, inputs, output, test_needs(), 2);
  expect_aligned_and_disjoint(layout);
  EXPECT_EQ(layout.arena_bytes, static_cast<std::uint64_t>(whole.arena_bytes));
  EXPECT_EQ(layout.gemm_bytes, 4096u);  // the contraction is a GEMM
  std::uint64_t expected =
      device_buffer_aligned(layout.arena_bytes) + device_buffer_aligned(layout.reduce_bytes) + 4096;
  expected += device_buffer_aligned(40 * 30 * 20 * 4) + device_buffer_aligned(30 * 20 * 50 * 4) +
              device_buffer_aligned(40 * 50 * 4);
  EXPECT_EQ(layout.total, expected);
  EXPECT_FALSE(layout.inputs[0].streamed);
  EXPECT_EQ(layout.inputs[0].bytes, 40u * 30 * 20 * 4);
}

TEST(DeviceLayout, SlicedPlanLowersEveryEdgeShapeOnceAndSizesSlotsForTheFullBlock) {
  // 10 split into blocks of 4 (4, 4, 2) and 7 into blocks of 3 (3, 3, 1).
  const std::vector<std::vector<std::int64_t>> shapes = {{10, 6}, {6, 7}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("ik,kj->ij", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const TensorDesc output(DataType::f32, problem.output_extents());
  const Mode i = problem.inputs[0].modes[0];
  const Mode j = problem.inputs[1].modes[1];
  SlicePlan plan;
  plan.sliced = {{i, 4, 3}, {j, 3, 3}};
  plan.inputs = {Residency::streamed, Residency::resident};
  plan.output = Residency::streamed;
  const std::vector<BlockShape> blocks = block_shapes(problem, path, plan, inputs, output);
  ASSERT_EQ(blocks.size(), 4u);
  std::set<std::vector<std::int64_t>> seen;
  for (const BlockShape& block : blocks) seen.insert(block.level_extents);
  EXPECT_EQ(seen, (std::set<std::vector<std::int64_t>>{{4, 3}, {2, 3}, {4, 1}, {2, 1}}));
  EXPECT_EQ(blocks.front().level_extents, (std::vector<std::int64_t>{4, 3}));
  for (const BlockShape& block : blocks) {
    EXPECT_EQ(block.input_extents[0], (std::vector<std::int64_t>{block.level_extents[0], 6}));
    // A resident operand is whole on the device; its block is a view into it.
    EXPECT_EQ(block.input_extents[1], (std::vector<std::int64_t>{6, block.level_extents[1]}));
    EXPECT_EQ(block.output_extents, block.level_extents);
  }
  const DeviceLayout layout = device_layout(plan, blocks, inputs, output, test_needs(), 3);
  expect_aligned_and_disjoint(layout);
  EXPECT_TRUE(layout.inputs[0].streamed);
  EXPECT_EQ(layout.inputs[0].slots, 3);
  EXPECT_EQ(layout.inputs[0].bytes, device_buffer_aligned(4 * 6 * 4));
  EXPECT_FALSE(layout.inputs[1].streamed);
  EXPECT_EQ(layout.inputs[1].bytes, 6u * 7 * 4);
  EXPECT_TRUE(layout.output.streamed);
  EXPECT_EQ(layout.output.bytes, device_buffer_aligned(4 * 3 * 4));
  // Deeper buffering grows exactly the streamed buffers.
  const DeviceLayout deeper = device_layout(plan, blocks, inputs, output, test_needs(), 4);
  EXPECT_EQ(deeper.total - layout.total, layout.inputs[0].bytes + layout.output.bytes);
}

TEST(DeviceLayout, SpanBytesCoverNegativeZeroAndGappedStrides) {
  EXPECT_EQ(span_bytes(TensorDesc(DataType::f64, {3, 4}, {-4, 1})), 12u * 8);
  EXPECT_EQ(span_bytes(TensorDesc(DataType::f32, {5, 2}, {0, 10})), 11u * 4);
  EXPECT_EQ(span_bytes(TensorDesc(DataType::c128, {2, 0, 3})), 0u);
  EXPECT_EQ(span_bytes(TensorDesc(DataType::f32, {})), 4u);
  EXPECT_THROW(span_bytes(TensorDesc(DataType::f32, {3}, {std::int64_t{1} << 62})), ShapeError);
}

TEST(DevicePlan, EveryBudgetGetsAPlanWhoseExactLayoutFitsIt) {
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 48, 20}, {48, 20, 33}, {33, 17}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("abc,bcd,de->ae", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const TensorDesc output(DataType::f32, problem.output_extents());
  SliceOptions options;
  options.budget = std::uint64_t{1} << 40;
  const DevicePlan whole = plan_device(problem, path, inputs, output, options, test_needs(), 3);
  EXPECT_TRUE(whole.slice.sliced.empty());
  EXPECT_EQ(whole.shapes.size(), 1u);
  EXPECT_EQ(whole.slice.device_bytes, whole.layout.total);
  int sliced = 0;
  for (std::uint64_t budget = whole.layout.total; budget > whole.layout.total / 8;
       budget = budget * 7 / 8) {
    SCOPED_TRACE(budget);
    options.budget = budget;
    const DevicePlan plan = plan_device(problem, path, inputs, output, options, test_needs(), 3);
    EXPECT_LE(plan.layout.total, budget);
    EXPECT_EQ(plan.slice.device_bytes, plan.layout.total);
    expect_aligned_and_disjoint(plan.layout);
    // The layout is the one of its own shapes and buffering, recomputed.
    WorkspaceNeeds laid = test_needs();
    laid.gemm_bytes = plan.layout.gemm_bytes;
    const DeviceLayout again =
        device_layout(plan.slice, plan.shapes, inputs, output, laid, plan.slice.buffering);
    EXPECT_EQ(again.total, plan.layout.total);
    // A third buffer per streamed tensor exactly where it fits.
    if (!plan.slice.sliced.empty() && plan.slice.buffering == 2) {
      EXPECT_GT(device_layout(plan.slice, plan.shapes, inputs, output, laid, 3).total, budget);
    }
    sliced += plan.slice.sliced.empty() ? 0 : 1;
  }
  EXPECT_GT(sliced, 0);
}

TEST(DevicePlan, GemmWorkspaceShrinksToWhatTheBudgetLeaves) {
  const std::vector<std::vector<std::int64_t>> shapes = {{40, 30}, {30, 50}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("ab,bc->ac", shapes);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const TensorDesc output(DataType::f32, problem.output_extents());
  WorkspaceNeeds needs = test_needs();
  needs.gemm_bytes = std::uint64_t{1} << 20;  // far more than the operands
  SliceOptions options;
  options.budget = std::uint64_t{1} << 40;
  const DevicePlan roomy = plan_device(problem, path, inputs, output, options, needs, 3);
  EXPECT_EQ(roomy.layout.gemm_bytes, needs.gemm_bytes);
  const std::uint64_t operands = roomy.layout.total - roomy.layout.gemm_offset() -
                                 device_buffer_aligned(roomy.layout.gemm_bytes);
  // A budget a quarter of the workspace still runs the whole problem, with
  // the rest of the budget as the workspace; one the operands fill leaves none.
  for (const std::uint64_t budget : {needs.gemm_bytes / 4, roomy.layout.gemm_offset() + operands}) {
    SCOPED_TRACE(budget);
    options.budget = budget;
    const DevicePlan plan = plan_device(problem, path, inputs, output, options, needs, 3);
    EXPECT_LE(plan.layout.total, budget);
    EXPECT_TRUE(plan.slice.sliced.empty());
    EXPECT_LT(plan.layout.gemm_bytes, needs.gemm_bytes);
    EXPECT_EQ(plan.layout.gemm_bytes % kDeviceBufferAlignment, 0u);
    EXPECT_LT(budget - plan.layout.total, kDeviceBufferAlignment);
    expect_aligned_and_disjoint(plan.layout);
  }
}

TEST(DevicePlan, OperandsInPlaceTakeNoDeviceBytesAndTheirIntermediatesAreSliced) {
  // Device-resident operands of 4 MB each whose 2 MB intermediate does not fit a
  // 1 MB budget: the plan slices it and lays out nothing for the operands.
  const std::vector<std::vector<std::int64_t>> shapes = {{1000, 1000}, {1000, 500}, {500, 4}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("ab,bc,cd->ad", shapes);
  const ContractionPath path = evaluate_path(problem, {{0, 1}, {0, 1}});
  const TensorDesc output(DataType::f32, problem.output_extents());
  SliceOptions options;
  options.budget = std::uint64_t{1} << 20;
  options.in_place_inputs.assign(3, true);
  options.in_place_output = true;
  const DevicePlan plan = plan_device(problem, path, inputs, output, options, test_needs(), 3);
  EXPECT_LE(plan.layout.total, options.budget);
  EXPECT_FALSE(plan.slice.sliced.empty());
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    EXPECT_EQ(plan.slice.inputs[index], Residency::in_place);
    EXPECT_TRUE(plan.layout.inputs[index].in_place);
    EXPECT_FALSE(plan.layout.inputs[index].streamed);
  }
  EXPECT_EQ(plan.slice.output, Residency::in_place);
  EXPECT_TRUE(plan.layout.output.in_place);
  EXPECT_EQ(plan.slice.bytes_to_device, 0.0);
  EXPECT_EQ(plan.slice.bytes_to_host, 0.0);
  // Nothing but the arena and the workspaces.
  EXPECT_EQ(plan.layout.total,
            plan.layout.gemm_offset() + device_buffer_aligned(plan.layout.gemm_bytes));
  for (const BlockShape& shape : plan.shapes) {
    EXPECT_LE(static_cast<std::uint64_t>(shape.program.arena_bytes), plan.layout.arena_bytes);
  }
  // Mixed: input 0 on the host is resident or streamed, the others in place.
  options.in_place_inputs = {false, true, true};
  options.budget = std::uint64_t{8} << 20;
  const DevicePlan mixed = plan_device(problem, path, inputs, output, options, test_needs(), 3);
  EXPECT_LE(mixed.layout.total, options.budget);
  EXPECT_NE(mixed.slice.inputs[0], Residency::in_place);
  EXPECT_GT(mixed.slice.bytes_to_device, 0.0);
  EXPECT_EQ(mixed.slice.inputs[1], Residency::in_place);
}

// A share's plan under another placement keeps the model's blocks: the
// same sliced modes, block sizes, order and block assignment, with the
// device operands in place and no more device bytes.
TEST(DevicePlan, PlanLikeAnotherKeepsItsBlocksWithOperandsInPlace) {
  const std::vector<std::vector<std::int64_t>> shapes = {{300, 200}, {200, 100}, {100, 40}};
  const std::vector<TensorDesc> inputs = descs_of(shapes);
  const Problem problem = parse("ab,bc,cd->ad", shapes);
  const ContractionPath path = evaluate_path(problem, {{0, 1}, {0, 1}});
  const TensorDesc output(DataType::f32, problem.output_extents());
  SliceOptions options;
  options.budget = std::uint64_t{256} << 10;
  const DevicePlan model = plan_device(problem, path, inputs, output, options, test_needs(), 3);
  ASSERT_LE(model.layout.total, options.budget);
  ASSERT_GT(model.slice.block_count, 2);
  for (const std::vector<bool>& in_place :
       {std::vector<bool>{false, true, false, true}, std::vector<bool>{true, true, true, false},
        std::vector<bool>{false, false, false, true}}) {
    const DevicePlan like =
        plan_device_like(model, problem, path, inputs, output,
                         {in_place.begin(), in_place.end() - 1}, in_place.back());
    ASSERT_EQ(like.slice.sliced.size(), model.slice.sliced.size());
    for (std::size_t level = 0; level < model.slice.sliced.size(); ++level) {
      EXPECT_EQ(like.slice.sliced[level].mode, model.slice.sliced[level].mode);
      EXPECT_EQ(like.slice.sliced[level].block, model.slice.sliced[level].block);
    }
    EXPECT_EQ(like.slice.block_count, model.slice.block_count);
    for (std::size_t index = 0; index < inputs.size(); ++index) {
      if (in_place[index]) {
        EXPECT_EQ(like.slice.inputs[index], Residency::in_place);
        EXPECT_TRUE(like.layout.inputs[index].in_place);
      } else {
        EXPECT_EQ(like.slice.inputs[index], model.slice.inputs[index]);
      }
    }
    EXPECT_EQ(like.layout.output.in_place, static_cast<bool>(in_place.back()));
    EXPECT_LE(like.layout.total, model.layout.total);
    EXPECT_EQ(like.slice.device_bytes, like.layout.total);
    expect_aligned_and_disjoint(like.layout);
    for (int workers : {2, 3}) {
      const std::vector<double> speeds(static_cast<std::size_t>(workers), 1.0);
      const BlockAssignment a = assign_blocks(problem, model.slice, speeds);
      const BlockAssignment b = assign_blocks(problem, like.slice, speeds);
      ASSERT_EQ(a.ranges.size(), b.ranges.size());
      for (std::size_t worker = 0; worker < a.ranges.size(); ++worker) {
        EXPECT_EQ(a.ranges[worker].begin, b.ranges[worker].begin);
        EXPECT_EQ(a.ranges[worker].end, b.ranges[worker].end);
      }
    }
  }
}

}  // namespace
}  // namespace einstream::detail
