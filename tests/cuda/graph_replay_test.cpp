// Graph replay (cuda/program_graph): a one-block plan executed again on the
// same pointers and scalars replays a captured CUDA graph; new pointers or
// scalars re-capture; every execution matches the reference executor.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "einstream/plan.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/gpu.hpp"

namespace einstream {
namespace {

using testing::DeviceMemory;

// Operands of `expression` in device memory, and two output buffers.
struct OnDevice {
  testing::RandomOperands host;
  std::vector<std::unique_ptr<DeviceMemory>> inputs;
  std::vector<const void*> pointers;
  std::unique_ptr<DeviceMemory> output, other_output;
  TensorDesc output_desc;

  OnDevice(const std::string& expression, const std::vector<std::vector<std::int64_t>>& shapes,
           DataType dtype, std::mt19937& random)
      : host(testing::random_operands(shapes, dtype, random)) {
    for (const std::vector<unsigned char>& bytes : host.inputs) {
      inputs.push_back(std::make_unique<DeviceMemory>(bytes.size()));
      inputs.back()->upload(bytes);
      pointers.push_back(inputs.back()->get());
    }
    output_desc = Plan(expression, host.descs, Options{}).output();
    const std::size_t bytes =
        static_cast<std::size_t>(output_desc.element_count()) * size_of(dtype);
    output = std::make_unique<DeviceMemory>(bytes);
    other_output = std::make_unique<DeviceMemory>(bytes);
  }
};

// Executes on the device buffers and checks the result against the
// reference; returns whether the compute was a graph replay.
bool execute_and_check(Plan& plan, const std::string& expression, OnDevice& data,
                       DeviceMemory& output, Scalar alpha, Scalar beta, std::mt19937& random) {
  const DataType dtype = data.output_desc.dtype;
  const std::int64_t count = data.output_desc.element_count();
  const std::vector<unsigned char> initial = testing::random_tensor(dtype, count, random);
  output.upload(initial);
  plan.execute(data.pointers, output.get(), alpha, beta);
  const std::vector<unsigned char> actual = output.download<unsigned char>(initial.size());
  const std::vector<unsigned char> expected =
      testing::reference_result(expression, data.host, data.output_desc, initial, alpha, beta);
  EXPECT_LE(testing::relative_error(dtype, actual.data(), expected.data(), count),
            testing::tolerance(dtype))
      << expression << " alpha " << alpha << " beta " << beta;
  return plan.last_report().graph_replayed;
}

struct Network {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  DataType dtype;
};

// Every op kind: GEMMs, a permute into the output, reductions, a Hadamard
// product and a many-step network.
const std::vector<Network> kNetworks = {
    {"ij,jk,kl->li", {{24, 16}, {16, 20}, {20, 12}}, DataType::f32},
    {"abc,cb->a", {{8, 9, 10}, {10, 9}}, DataType::f64},
    {"ij,ij->ji", {{33, 17}, {33, 17}}, DataType::c64},
    {"ag,abh,bi,gcj,chdk,dil,je,ekf,fl->",
     {{4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4, 4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4}},
     DataType::c128},
};

TEST(CudaGraphReplay, RepeatedExecutionsReplayAndMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  std::mt19937 random(20261203);
  for (const Network& network : kNetworks) {
    SCOPED_TRACE(network.expression);
    OnDevice data(network.expression, network.shapes, network.dtype, random);
    Options options;
    options.backend = Backend::cuda;
    Plan plan(network.expression, data.host.descs, options);
    // The first run of a key launches directly, the second captures and
    // launches the graph, the third replays it.
    EXPECT_FALSE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
    EXPECT_TRUE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
    EXPECT_TRUE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
    // Another output pointer: a new key, launched directly, then captured
    // again (the executable graph updated in place).
    EXPECT_FALSE(
        execute_and_check(plan, network.expression, data, *data.other_output, 1.0, 0.0, random));
    EXPECT_TRUE(
        execute_and_check(plan, network.expression, data, *data.other_output, 1.0, 0.0, random));
    // Other scalars are baked into the graph: they re-capture too.
    const Scalar alpha = is_complex(network.dtype) ? Scalar(0.5, -1.5) : Scalar(-2.0);
    EXPECT_FALSE(
        execute_and_check(plan, network.expression, data, *data.output, alpha, 0.75, random));
    EXPECT_TRUE(
        execute_and_check(plan, network.expression, data, *data.output, alpha, 0.75, random));
    // Back to the first key: the graph holds the scalars' key now, so it is
    // captured once more before it replays.
    EXPECT_FALSE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
    EXPECT_TRUE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
  }
}

TEST(CudaGraphReplay, OptionOffLaunchesEveryOp) {
  EINSTREAM_REQUIRE_GPU();
  std::mt19937 random(7);
  const Network& network = kNetworks[0];
  OnDevice data(network.expression, network.shapes, network.dtype, random);
  Options options;
  options.backend = Backend::cuda;
  options.graph_replay = false;
  Plan plan(network.expression, data.host.descs, options);
  for (int run = 0; run < 3; ++run) {
    EXPECT_FALSE(execute_and_check(plan, network.expression, data, *data.output, 1.0, 0.0, random));
  }
}

TEST(CudaGraphReplay, ProfiledAndSlicedExecutionsDoNotReplay) {
  EINSTREAM_REQUIRE_GPU();
  std::mt19937 random(11);
  const Network& network = kNetworks[0];
  OnDevice data(network.expression, network.shapes, network.dtype, random);
  Options profiled;
  profiled.backend = Backend::cuda;
  profiled.profile = true;  // the timeline needs each op's events
  Plan profiled_plan(network.expression, data.host.descs, profiled);
  for (int run = 0; run < 3; ++run) {
    EXPECT_FALSE(
        execute_and_check(profiled_plan, network.expression, data, *data.output, 1.0, 0.0, random));
  }
  // Host operands under a small budget: many blocks, never a graph.
  Options sliced;
  sliced.backend = Backend::cuda;
  sliced.memory_limit = MemoryLimit::from_bytes(std::uint64_t{1} << 20);
  const testing::RandomOperands operands =
      testing::random_operands({{512, 256}, {256, 384}}, DataType::f32, random);
  Plan sliced_plan("ij,jk->ik", operands.descs, sliced);
  std::vector<unsigned char> output(512 * 384 * 4);
  for (int run = 0; run < 3; ++run) {
    sliced_plan.execute(operands.pointers, output.data());
    EXPECT_GT(sliced_plan.last_report().blocks, 1);
    EXPECT_FALSE(sliced_plan.last_report().graph_replayed);
  }
  const std::vector<unsigned char> expected =
      testing::reference_result("ij,jk->ik", operands, sliced_plan.output(),
                                std::vector<unsigned char>(output.size()), 1.0, 0.0);
  EXPECT_LE(testing::relative_error(DataType::f32, output.data(), expected.data(), 512 * 384),
            testing::tolerance(DataType::f32));
}

TEST(CudaGraphReplay, OneBlockPlansOnHostOperandsReplayToo) {
  EINSTREAM_REQUIRE_GPU();
  std::mt19937 random(13);
  const testing::RandomOperands operands =
      testing::random_operands({{40, 30}, {30, 50}, {50, 20}}, DataType::f64, random);
  Options options;
  options.backend = Backend::cuda;
  Plan plan("ij,jk,kl->il", operands.descs, options);
  std::vector<unsigned char> output(40 * 20 * 8);
  const std::vector<unsigned char> expected = testing::reference_result(
      "ij,jk,kl->il", operands, plan.output(), std::vector<unsigned char>(output.size()), 1.0, 0.0);
  for (int run = 0; run < 3; ++run) {
    std::fill(output.begin(), output.end(), 0);
    plan.execute(operands.pointers, output.data());
    EXPECT_EQ(plan.last_report().graph_replayed, run >= 1) << "run " << run;
    EXPECT_LE(testing::relative_error(DataType::f64, output.data(), expected.data(), 40 * 20),
              testing::tolerance(DataType::f64))
        << "run " << run;
  }
}

}  // namespace
}  // namespace einstream
