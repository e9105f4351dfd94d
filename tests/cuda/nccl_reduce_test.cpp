// Partial sums of two distinct GPUs combined with NCCL (cuda/nccl_reduce,
// src/multi_device): the reduce itself in every dtype, then plans on
// devices {0, 1} whose memory limit splits a sliced summed mode between
// the devices, against the reference, with host and device outputs and
// beta != 0, and Plan::execute_share. Every test needs two GPUs and a build
// with NCCL, and skips saying so otherwise.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <complex>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "einstream/plan.hpp"
#include "src/devices.hpp"
#include "src/nccl_reduce.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/differential.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/half_precision.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

#define EINSTREAM_REQUIRE_TWO_GPUS_WITH_NCCL()                                                   \
  do {                                                                                           \
    const std::size_t einstream_gpus_ = detail::list_devices().size();                           \
    if (einstream_gpus_ < 2) {                                                                   \
      GTEST_SKIP() << "needs two GPUs (devices 0 and 1), " << einstream_gpus_ << " visible: "    \
                   << "NCCL combines the partial sums of distinct GPUs";                         \
    }                                                                                            \
    if (!detail::nccl_built()) {                                                                 \
      GTEST_SKIP() << "this build has no NCCL (configure with -DEINSTREAM_ENABLE_NCCL=ON where " \
                      "the CUDA toolkit has libnccl)";                                           \
    }                                                                                            \
  } while (0)

// The error allowed against the reference: the dtype's tolerance, and for
// the half types a rounding per stored intermediate, per block and one for
// the reduce, which sums the two devices' partials in the dtype.
double allowed_error(DataType dtype, int operands, std::int64_t blocks) {
  if (!testing::is_half_type(dtype)) return testing::tolerance(dtype);
  return testing::half_tolerance(
      dtype, testing::half_stores(operands) + static_cast<int>(blocks) + 1, std::int64_t{1} << 16);
}

TEST(NcclReduce, SumsEveryDevicesBufferIntoTheFirstsInEveryDataType) {
  EINSTREAM_REQUIRE_TWO_GPUS_WITH_NCCL();
  detail::NcclReduce reduce({0, 1});
  std::mt19937 random(71);
  const std::int64_t count = 1000;
  for (DataType dtype : testing::kDataTypes) {
    SCOPED_TRACE(to_string(dtype));
    const std::vector<unsigned char> first = testing::random_tensor(dtype, count, random);
    const std::vector<unsigned char> second = testing::random_tensor(dtype, count, random);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    testing::DeviceMemory on_first(first.size());
    on_first.upload(first);
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
    testing::DeviceMemory on_second(second.size());
    on_second.upload(second);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    reduce.sum_into_first({on_first.get(), on_second.get()}, count, dtype);
    int current = -1;
    ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
    EXPECT_EQ(current, 0) << "the caller's current device changed";
    const std::vector<unsigned char> sum = on_first.download<unsigned char>(first.size());
    EXPECT_EQ(on_second.download<unsigned char>(second.size()), second) << "a sender changed";
    // One rounding of an exact sum of two elements in [-1, 1].
    const double allowed = 2 * 2 * testing::unit_roundoff(dtype);
    for (std::int64_t index = 0; index < count; ++index) {
      const std::complex<double> want = testing::element(dtype, first.data(), index) +
                                        testing::element(dtype, second.data(), index);
      ASSERT_LE(std::abs(testing::element(dtype, sum.data(), index) - want), allowed)
          << "element " << index;
    }
  }
}

struct TwoGpuRun {
  double error = 0;
  ExecutionReport report;
  std::string explain;
};

// The expression on devices {0, 1} under `budget`, into a host output or
// one in the memory of device `output_device` (-1: host), against the
// reference on the same data.
TwoGpuRun run_on_two_gpus(const testing::RandomProblem& problem, DataType dtype,
                          std::uint64_t budget, int output_device, Scalar alpha, Scalar beta,
                          std::mt19937& random) {
  const testing::RandomOperands operands = testing::random_operands(problem.shapes, dtype, random);
  Options options;
  options.backend = Backend::cuda;
  options.memory_limit = MemoryLimit::from_bytes(budget);
  options.devices = {0, 1};
  Plan plan(problem.expression, operands.descs, options);
  const std::int64_t count = plan.output().element_count();
  const std::vector<unsigned char> initial = testing::random_tensor(dtype, count, random);
  std::vector<unsigned char> actual = initial;
  if (output_device < 0) {
    plan.execute(operands.pointers, actual.data(), alpha, beta);
  } else {
    EINSTREAM_CUDA_CHECK(cudaSetDevice(output_device));
    testing::DeviceMemory output(actual.size());
    output.upload(actual);
    plan.execute(operands.pointers, output.get(), alpha, beta);
    actual = output.download<unsigned char>(actual.size());
    EINSTREAM_CUDA_CHECK(cudaSetDevice(0));
  }
  const std::vector<unsigned char> expected =
      testing::reference_result(problem.expression, operands, plan.output(), initial, alpha, beta);
  const double bound = testing::terms_bound(problem.expression, operands.descs, operands.pointers,
                                            plan.output(), initial.data(), alpha, beta);
  return {testing::error_against_reference(dtype, actual.data(), expected.data(), count, bound),
          plan.last_report(), plan.explain()};
}

// A resident output whose summed modes the devices split is combined with
// NCCL; a streamed one either by its owners in place or on the host.
TEST(CudaNccl, RandomProblemsSplitBetweenTwoGpusMatchTheReference) {
  EINSTREAM_REQUIRE_TWO_GPUS_WITH_NCCL();
  int combined = 0;
  for (unsigned seed = 0; seed < 36; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 12;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    const bool complex = is_complex(dtype);
    const Scalar alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    const Scalar beta = complex ? Scalar(0.25, 0.5) : Scalar(-0.5);
    std::vector<TensorDesc> descs;
    for (const auto& shape : problem.shapes) descs.emplace_back(dtype, shape);
    Options generous;
    generous.backend = Backend::cuda;
    const TensorDesc output = Plan(problem.expression, descs, generous).output();
    const testing::DeviceNeeds needs =
        testing::device_needs(problem.expression, descs, output, generous);
    if (needs.least == 0 || needs.least >= needs.whole) continue;  // nothing to slice
    for (std::uint64_t budget : {needs.least + (needs.whole - needs.least) / 2, needs.least}) {
      // Host output, then outputs on device 0 and device 1.
      for (int output_device : {-1, 0, 1}) {
        SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                     to_string(dtype) + " budget " + std::to_string(budget) + " output on " +
                     (output_device < 0 ? std::string("the host")
                                        : "device " + std::to_string(output_device)));
        const TwoGpuRun run =
            run_on_two_gpus(problem, dtype, budget, output_device, alpha, beta, random);
        EXPECT_LE(run.error,
                  allowed_error(dtype, static_cast<int>(problem.shapes.size()), run.report.blocks))
            << run.explain;
        ASSERT_EQ(run.report.devices.size(), 2u);
        if (run.explain.find("out:resident") != std::string::npos && run.report.blocks > 1) {
          EXPECT_EQ(run.report.combined_with, "nccl") << run.explain;
        }
        if (run.report.combined_with == "nccl") {
          ++combined;
          EXPECT_NE(to_string(run.report).find("combined with NCCL"), std::string::npos)
              << to_string(run.report);
        }
      }
    }
  }
  std::printf("executions combined with NCCL: %d\n", combined);
  EXPECT_GT(combined, 5);
}

// Plan::execute_share on devices {0, 1}: the two devices' shares, combined
// with NCCL into the host partial, and a third worker's share on one device
// add up to the reference's result.
TEST(CudaNccl, SharesOfTwoGpusSumToThePlansResult) {
  EINSTREAM_REQUIRE_TWO_GPUS_WITH_NCCL();
  const std::string expression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
  const std::vector<std::vector<std::int64_t>> shapes = {
      {30, 3, 16}, {20, 30, 3}, {20, 30, 3, 16}, {20, 30, 3, 16}, {20, 16, 3, 3}};
  std::mt19937 random(72);
  for (DataType dtype : testing::kDataTypes) {
    SCOPED_TRACE(to_string(dtype));
    const testing::RandomOperands operands = testing::random_operands(shapes, dtype, random);
    Options two;
    two.backend = Backend::cuda;
    const TensorDesc output = Plan(expression, operands.descs, two).output();
    const testing::DeviceNeeds needs =
        testing::device_needs(expression, operands.descs, output, two);
    ASSERT_LT(needs.least, needs.whole);
    two.memory_limit = MemoryLimit::from_bytes(needs.least + (needs.whole - needs.least) / 8);
    Options one = two;
    two.devices = {0, 1};
    Plan pair(expression, operands.descs, two), single(expression, operands.descs, one);
    const std::int64_t count = output.element_count();
    const std::size_t bytes = static_cast<std::size_t>(count) * size_of(dtype);
    std::vector<unsigned char> sum(bytes, 0), partial(bytes, 0xff);
    pair.execute_share(operands.pointers, partial.data(), 0, 3, 1.5);  // shares 0 and 1
    EXPECT_EQ(pair.last_report().devices.size(), 2u);
    EXPECT_EQ(pair.last_report().combined_with, "nccl") << pair.explain();
    accumulate(output, partial.data(), sum.data(), 1.0);
    std::fill(partial.begin(), partial.end(), 0xff);
    single.execute_share(operands.pointers, partial.data(), 2, 3, 1.5);
    EXPECT_EQ(single.last_report().combined_with, "");
    accumulate(output, partial.data(), sum.data(), 1.0);
    const std::vector<unsigned char> expected = testing::reference_result(
        expression, operands, output, std::vector<unsigned char>(bytes, 0), 1.5, 0.0);
    const double bound = testing::terms_bound(expression, operands.descs, operands.pointers, output,
                                              nullptr, 1.5, 0.0);
    // The half types: the three shares' sums are stored once more each.
    EXPECT_LE(testing::error_against_reference(dtype, sum.data(), expected.data(), count, bound),
              allowed_error(dtype, static_cast<int>(shapes.size()),
                            pair.last_report().blocks + single.last_report().blocks + 3))
        << pair.explain();
  }
}

}  // namespace
}  // namespace einstream
