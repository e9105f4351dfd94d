// The scaling model (planner/device_scaling): a plan's predicted time on
// several equal devices, against what its blocks, residents and output
// imply.
#include "planner/device_scaling.hpp"

#include <gtest/gtest.h>

#include "einstream/error.hpp"
#include "planner/device_layout.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"

namespace einstream::detail {
namespace {

struct Sliced {
  Problem problem;
  SlicePlan plan;
  ScalingInputs inputs;
};

// `expression` on f32 operands of `shapes` sliced to `budget` bytes (the
// CUDA model: pipelined, 40 GB/s staging when `staging`).
Sliced sliced(const std::string& expression, const std::vector<std::vector<std::int64_t>>& shapes,
              std::uint64_t budget, Rates rates) {
  Sliced result;
  result.problem = parse(expression, shapes);
  const ContractionPath path = find_path(result.problem, PathAlgorithm::greedy);
  std::vector<std::vector<std::int64_t>> strides;
  for (const auto& shape : shapes)
    strides.push_back(TensorDesc(DataType::f32, shape).effective_strides());
  const TensorDesc output(DataType::f32, result.problem.output_extents());
  SliceOptions options;
  options.budget = budget;
  options.pipeline = true;
  options.rates = rates;
  result.plan = plan_slices(result.problem, path, DataType::f32, strides,
                            output.effective_strides(), options);
  for (std::size_t index = 0; index < shapes.size(); ++index) {
    if (result.plan.inputs[index] == Residency::resident) {
      result.inputs.resident_bytes +=
          static_cast<double>(span_bytes(TensorDesc(DataType::f32, shapes[index])));
    }
  }
  result.inputs.output_bytes = static_cast<double>(span_bytes(output));
  return result;
}

TEST(DeviceScaling, ManyBlocksDivideOverTheDevicesAndNeverBeatLinear) {
  // A streamed 64 MB operand times a small one: transfer bound, many blocks.
  const Sliced s = sliced("ik,kj->ij", {{16384, 1024}, {1024, 2}}, 8 << 20, Rates{});
  ASSERT_GE(s.plan.block_count, 16);
  const DeviceScaling one = predict_on_devices(s.problem, s.plan, 1, Rates{}, s.inputs);
  EXPECT_DOUBLE_EQ(one.seconds, s.plan.seconds);
  double previous = one.seconds;
  for (int devices : {2, 4, 8}) {
    SCOPED_TRACE(std::to_string(devices) + " devices");
    const DeviceScaling on = predict_on_devices(s.problem, s.plan, devices, Rates{}, s.inputs);
    EXPECT_EQ(on.devices, devices);
    EXPECT_EQ(on.devices_with_work, devices);
    EXPECT_FALSE(on.staging_bound);
    EXPECT_LT(on.seconds, previous);
    EXPECT_GE(on.seconds, s.plan.seconds / devices);
    // The output mode is what is sliced: devices own whole output blocks,
    // so only a resident output needs partials added on the host.
    EXPECT_DOUBLE_EQ(on.combine_seconds, s.plan.output == Residency::streamed
                                             ? 0.0
                                             : devices * 3.0 * s.inputs.output_bytes / 20e9);
    previous = on.seconds;
  }
  // Near-linear where the output is small against the streamed input.
  EXPECT_LT(predict_on_devices(s.problem, s.plan, 2, Rates{}, s.inputs).seconds,
            0.6 * s.plan.seconds);
}

// A hand-made plan of `expression` sliced along one mode into 8 blocks.
Sliced hand_made(Mode sliced_mode, std::int64_t extent, Residency output) {
  Sliced s;
  s.problem = parse("ik,k->i", {{64, 4096}, {4096}});
  s.plan.sliced = {{sliced_mode, extent / 8, 8}};
  s.plan.inputs = {Residency::streamed, Residency::streamed};
  s.plan.output = output;
  s.plan.block_count = 8;
  s.plan.seconds = 1e-3;
  s.inputs.output_bytes = 64 * 4;
  return s;
}

TEST(DeviceScaling, PartialsAreAddedOnTheHostOnlyWhenDevicesShareOutputBlocks) {
  // k (mode 1) is summed: two devices split one output block's sum, so
  // each has a whole partial to add.
  const Sliced summed = hand_made(1, 4096, Residency::resident);
  const DeviceScaling split =
      predict_on_devices(summed.problem, summed.plan, 2, Rates{}, summed.inputs);
  EXPECT_DOUBLE_EQ(split.combine_seconds, 2 * 3.0 * 256 / 20e9);
  // i (mode 0) streamed out: each device writes its own blocks in place.
  const Sliced owned = hand_made(0, 64, Residency::streamed);
  const DeviceScaling direct =
      predict_on_devices(owned.problem, owned.plan, 2, Rates{}, owned.inputs);
  EXPECT_DOUBLE_EQ(direct.combine_seconds, 0.0);
  EXPECT_NEAR(direct.seconds, 0.5e-3, 1e-12);
}

TEST(DeviceScaling, OneBlockLeavesTheOtherDevicesIdle) {
  const Sliced s = sliced("ij,jk->ik", {{64, 64}, {64, 64}}, 1 << 30, Rates{});
  ASSERT_EQ(s.plan.block_count, 1);
  const DeviceScaling two = predict_on_devices(s.problem, s.plan, 2, Rates{}, s.inputs);
  EXPECT_EQ(two.devices_with_work, 1);
  EXPECT_GE(two.seconds, s.plan.seconds);
}

TEST(DeviceScaling, TheHostsStagingRateBindsPageableCopies) {
  Rates pageable;
  pageable.staging = 40e9;
  const Sliced s = sliced("ik,kj->ij", {{16384, 1024}, {1024, 2}}, 8 << 20, pageable);
  Rates slow = pageable;
  slow.staging = 1e9;  // a host that copies at 1 GB/s binds any device count
  const DeviceScaling four = predict_on_devices(s.problem, s.plan, 4, slow, s.inputs);
  EXPECT_TRUE(four.staging_bound);
  const double staged = s.plan.bytes_to_device + s.plan.bytes_to_host +
                        (four.devices_with_work - 1) * s.inputs.resident_bytes;
  EXPECT_DOUBLE_EQ(four.seconds, staged / slow.staging + four.combine_seconds);
  EXPECT_THROW(predict_on_devices(s.problem, s.plan, 0, pageable, s.inputs), Error);
}

}  // namespace
}  // namespace einstream::detail
