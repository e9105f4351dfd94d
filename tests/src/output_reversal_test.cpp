#include "src/output_reversal.hpp"

#include <gtest/gtest.h>

#include "planner/parse.hpp"

namespace einstream::detail {
namespace {

// Every output axis with a negative stride comes out non-negative (the CUDA
// kernels write only such results), its mode turned in every input, the
// pointers moved to the new element (0, ..., 0).
TEST(OutputReversal, NegativeOutputAxesBecomeNonNegative) {
  const Problem problem = parse("ij,jk->ik", {{3, 4}, {4, 5}});
  const std::vector<TensorDesc> inputs = {TensorDesc(DataType::f32, {3, 4}),
                                          TensorDesc(DataType::f32, {4, 5})};
  const TensorDesc output(DataType::f32, {3, 5}, {-5, 1});
  const OutputReversal reversal = reverse_negative_output_axes(problem, inputs, output);
  EXPECT_TRUE(reversal.reverses());
  EXPECT_EQ(reversal.output.effective_strides(), (std::vector<std::int64_t>{5, 1}));
  EXPECT_EQ(reversal.output_shift, -10);
  EXPECT_EQ(reversal.inputs[0].effective_strides(), (std::vector<std::int64_t>{-4, 1}));
  EXPECT_EQ(reversal.input_shift[0], 8);
  EXPECT_EQ(reversal.input_shift[1], 0);
}

// An axis of one element with a negative stride is turned too (the GPU
// differential test found results refused for a stride of -2 on such an
// axis); nothing moves, since its only index is 0.
TEST(OutputReversal, OneElementAxesWithNegativeStridesAreTurned) {
  const Problem problem = parse("ij,jk->ik", {{3, 4}, {4, 1}});
  const std::vector<TensorDesc> inputs = {TensorDesc(DataType::f64, {3, 4}),
                                          TensorDesc(DataType::f64, {4, 1}, {1, -2})};
  const TensorDesc output(DataType::f64, {3, 1}, {2, -2});
  const OutputReversal reversal = reverse_negative_output_axes(problem, inputs, output);
  EXPECT_EQ(reversal.output.effective_strides(), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(reversal.output_shift, 0);
  EXPECT_EQ(reversal.input_shift, (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(reversal.inputs[1].effective_strides(), (std::vector<std::int64_t>{1, 2}));
  double out[6] = {};
  EXPECT_EQ(reversal.output_of(out), static_cast<void*>(out));
}

TEST(OutputReversal, NonNegativeOutputsAreLeftAlone) {
  const Problem problem = parse("ij->j", {{3, 4}});
  const std::vector<TensorDesc> inputs = {TensorDesc(DataType::f32, {3, 4}, {-4, 1})};
  const OutputReversal reversal =
      reverse_negative_output_axes(problem, inputs, TensorDesc(DataType::f32, {4}));
  EXPECT_FALSE(reversal.reverses());
  EXPECT_EQ(reversal.inputs[0].effective_strides(), (std::vector<std::int64_t>{-4, 1}));
}

}  // namespace
}  // namespace einstream::detail
