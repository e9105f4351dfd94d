// CUDA fault injection: every CUDA runtime and cuBLAS call an execution makes
// through EINSTREAM_CUDA_CHECK / EINSTREAM_CUBLAS_CHECK is made to fail in
// turn (src/fault_injection.hpp: the call is not made and the macro throws as
// for a real failure), over a sliced streaming execution of host operands,
// an unsliced execution of host operands and an execution on device
// pointers, each on a Plan's first execution (the executor's streams, handle
// and buffers are created then) and on a Plan already executed once.
//
// Each failure must leave the library as the README's "On failure" states:
// a CudaError naming the call, its file and line; the inputs untouched; a
// host output untouched by a failed unsliced execution (or holding the whole
// result, when the failing call came after it was copied back; a sliced
// execution may have written finished blocks, and a device output is
// undefined after a failure); the same Plan's next execution correct; and,
// once the sweep's Plans are gone, no device memory kept (cudaMemGetInfo).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/fault_injection.hpp"
#include "src/reference.hpp"
#include "tests/support/differential.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using detail::FaultInjection;
using detail::FaultSite;

constexpr std::int64_t kCountPasses = std::numeric_limits<std::int64_t>::max();
constexpr DataType kDataType = DataType::f64;
const Scalar kAlpha = 1.5;
const Scalar kBeta = -0.5;  // the output is read, so a failed execution's leftovers would show
// Device memory the sweep may end with beyond what it began with:
// cudaMemGetInfo counts in pages of 2 MiB, and the runtime may keep one of
// its own. A Plan's workspace leaked per failure would exceed it within a
// few failures.
constexpr std::size_t kDeviceGrowthAllowed = std::size_t{4} << 20;

enum class Where { host, device };

struct Scenario {
  const char* name;
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  Where where = Where::host;
  bool streamed = false;  // a memory limit between the least and the whole need
};

// The three executions the sweeps run: ab,bc,cd->ad with operands of
// 48-72 KiB, small enough for the reference and large enough for slicing
// to cut it into several blocks.
std::vector<Scenario> scenarios() {
  const std::string expression = "ab,bc,cd->ad";
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 96}, {96, 96}, {96, 64}};
  return {{"sliced streaming execution of host operands", expression, shapes, Where::host, true},
          {"unsliced execution of host operands", expression, shapes, Where::host, false},
          {"execution on device pointers", expression, shapes, Where::device, false}};
}

std::vector<TensorDesc> descs_of(const Scenario& scenario) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : scenario.shapes) descs.emplace_back(kDataType, shape);
  return descs;
}

// The operands where the scenario puts them, with their host contents, the
// output's initial value and the reference's result.
class Operands {
 public:
  explicit Operands(const Scenario& scenario) : where_(scenario.where) {
    std::mt19937 random(2026);
    std::vector<detail::ReferenceInput> reference_inputs;
    for (const TensorDesc& desc : descs_of(scenario)) {
      inputs_.push_back(testing::random_tensor(kDataType, desc.element_count(), random));
      reference_inputs.push_back({inputs_.back().data(), kDataType, desc.effective_strides()});
    }
    given_inputs_ = inputs_;
    const detail::Problem problem = detail::parse(scenario.expression, scenario.shapes);
    const TensorDesc output_desc(kDataType, problem.output_extents());
    output_count_ = output_desc.element_count();
    initial_output_ = testing::random_tensor(kDataType, output_count_, random);
    expected_ = initial_output_;
    detail::reference_einsum(problem, reference_inputs,
                             {expected_.data(), kDataType, output_desc.effective_strides()}, kAlpha,
                             kBeta);
    output_ = initial_output_;
    for (const auto& input : inputs_) {
      if (where_ == Where::host) {
        pointers_.push_back(input.data());
        continue;
      }
      device_inputs_.push_back(std::make_unique<testing::DeviceMemory>(input.size()));
      device_inputs_.back()->upload(input);
      pointers_.push_back(device_inputs_.back()->get());
    }
    if (where_ == Where::device) {
      device_output_ = std::make_unique<testing::DeviceMemory>(output_.size());
    }
  }

  const std::vector<const void*>& inputs() const { return pointers_; }
  void* output() { return where_ == Where::device ? device_output_->get() : output_.data(); }
  const std::vector<unsigned char>& initial_output() const { return initial_output_; }

  void reset_output() {
    if (where_ == Where::device) {
      device_output_->upload(initial_output_);
    } else {
      output_ = initial_output_;
    }
  }
  std::vector<unsigned char> output_bytes() const {
    if (where_ == Where::device) return device_output_->download<unsigned char>(output_.size());
    return output_;
  }
  // Whether every input still holds what it was given.
  bool inputs_untouched() const {
    for (std::size_t operand = 0; operand < inputs_.size(); ++operand) {
      const std::vector<unsigned char> now =
          where_ == Where::device
              ? device_inputs_[operand]->download<unsigned char>(inputs_[operand].size())
              : inputs_[operand];
      if (now != given_inputs_[operand]) return false;
    }
    return true;
  }
  double error_of(const std::vector<unsigned char>& output) const {
    return testing::relative_error(kDataType, output.data(), expected_.data(), output_count_);
  }

 private:
  Where where_;
  std::vector<std::vector<unsigned char>> inputs_;        // what the Plan reads (host)
  std::vector<std::vector<unsigned char>> given_inputs_;  // a copy to compare with
  std::vector<const void*> pointers_;
  std::vector<std::unique_ptr<testing::DeviceMemory>> device_inputs_;
  std::unique_ptr<testing::DeviceMemory> device_output_;
  std::vector<unsigned char> initial_output_;
  std::vector<unsigned char> output_;
  std::vector<unsigned char> expected_;
  std::int64_t output_count_ = 0;
};

Options cuda_options() {
  Options options;
  options.backend = Backend::cuda;
  return options;
}

// A memory limit under the whole need at which the scenario's Plan slices:
// the largest of least + (whole - least) / 2^i that runs in more than one
// block (how many blocks a limit gives is the planner's choice), so the
// sweep has a few blocks to fail in, not hundreds.
Options sliced_options(const Scenario& scenario, Operands& operands) {
  Options options = cuda_options();
  const std::vector<TensorDesc> descs = descs_of(scenario);
  const TensorDesc output(kDataType,
                          detail::parse(scenario.expression, scenario.shapes).output_extents());
  const auto [whole, least] = testing::device_needs(scenario.expression, descs, output, options);
  EXPECT_GT(least, 0u);
  EXPECT_LT(least, whole);
  for (std::uint64_t share = 2; share <= (std::uint64_t{1} << 20); share *= 2) {
    options.memory_limit = MemoryLimit::from_bytes(least + (whole - least) / share);
    Plan plan(scenario.expression, descs, options);
    operands.reset_output();
    plan.execute(operands.inputs(), operands.output(), kAlpha, kBeta);
    if (plan.last_report().blocks > 1) return options;
  }
  options.memory_limit = MemoryLimit::from_bytes(least);
  return options;
}

std::size_t free_device_bytes() {
  std::size_t free_bytes = 0, total_bytes = 0;
  EINSTREAM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

class CudaFaultInjection : public ::testing::Test {
 protected:
  void TearDown() override { FaultInjection::disarm_all(); }
};

// Fails the k-th pass through `site`, for every k an execution reaches, over
// `scenario`: on a fresh Plan for each k when `cold`, else on one Plan
// executed once beforehand.
void sweep(const Scenario& scenario, FaultSite site, bool cold) {
  SCOPED_TRACE(std::string(scenario.name) + ", " + detail::to_string(site) +
               (cold ? ", first execution of a Plan" : ", Plan executed before"));
  const std::vector<TensorDesc> descs = descs_of(scenario);
  Operands operands(scenario);
  const Options options = scenario.streamed ? sliced_options(scenario, operands) : cuda_options();
  // The output is reset before a site is armed: the test's own copies go
  // through EINSTREAM_CUDA_CHECK too, and must not count as passes.
  auto run = [&](Plan& plan) { plan.execute(operands.inputs(), operands.output(), kAlpha, kBeta); };
  auto execute = [&](Plan& plan) {
    operands.reset_output();
    run(plan);
  };
  auto expect_right_result = [&](const std::string& when) {
    EXPECT_LE(operands.error_of(operands.output_bytes()), testing::tolerance(kDataType)) << when;
  };

  // A clean execution first: it loads every kernel the scenario uses (lazy
  // module loading takes device memory once), so the memory baseline after
  // it is what the sweep must return to.
  std::int64_t blocks = 0;
  {
    Plan plan(scenario.expression, descs, options);
    execute(plan);
    expect_right_result("without injection");
    blocks = plan.last_report().blocks;
  }
  if (scenario.streamed) {
    EXPECT_GT(blocks, 1) << "the budget does not slice";
  } else {
    EXPECT_EQ(blocks, 1);
  }
  const std::size_t free_before = free_device_bytes();

  std::unique_ptr<Plan> warm;
  if (!cold) {
    warm = std::make_unique<Plan>(scenario.expression, descs, options);
    execute(*warm);
  }
  std::int64_t passes = 0;
  {
    std::unique_ptr<Plan> counted =
        cold ? std::make_unique<Plan>(scenario.expression, descs, options) : nullptr;
    Plan& plan = cold ? *counted : *warm;
    operands.reset_output();
    FaultInjection::arm(site, kCountPasses);
    run(plan);
    passes = FaultInjection::passes(site);
    FaultInjection::disarm(site);
  }
  std::printf("%s, %s, %s: %lld passes, %lld blocks\n", scenario.name, detail::to_string(site),
              cold ? "first execution" : "later execution", static_cast<long long>(passes),
              static_cast<long long>(blocks));
  if (site == FaultSite::cuda_runtime_call) {
    EXPECT_GT(passes, 0) << "no CUDA runtime call passed the site";
  }

  int absorbed = 0;
  int failed_after_output = 0;
  for (std::int64_t k = 1; k <= passes; ++k) {
    const std::string context = "pass " + std::to_string(k) + " of " + std::to_string(passes);
    std::unique_ptr<Plan> fresh =
        cold ? std::make_unique<Plan>(scenario.expression, descs, options) : nullptr;
    Plan& plan = cold ? *fresh : *warm;
    operands.reset_output();
    FaultInjection::arm(site, k);
    bool failed = false;
    try {
      run(plan);
    } catch (const CudaError& error) {
      failed = true;
      const std::string message = error.what();
      EXPECT_NE(message.find(FaultInjection::message(site)), std::string::npos)
          << context << ": " << message;
      EXPECT_NE(message.find(error.call()), std::string::npos) << context << ": " << message;
      EXPECT_FALSE(error.call().empty()) << context;
      EXPECT_FALSE(error.file().empty()) << context;
      EXPECT_GT(error.line(), 0) << context;
    } catch (const std::exception& error) {
      failed = true;
      ADD_FAILURE() << context << ": not a CudaError: " << error.what();
    }
    FaultInjection::disarm(site);
    EXPECT_TRUE(operands.inputs_untouched()) << context;
    if (failed && scenario.where == Where::host && !scenario.streamed) {
      // An unsliced execution copies the result to host memory last, so a
      // failure leaves the output as it was; a call failing after the copy
      // leaves the whole result, counted apart.
      const std::vector<unsigned char> output = operands.output_bytes();
      if (output != operands.initial_output()) {
        ++failed_after_output;
        EXPECT_LE(operands.error_of(output), testing::tolerance(kDataType))
            << context << ": a failed unsliced execution wrote part of the output";
      }
    }
    if (!failed) {
      // The library caught the failure itself and went on another way
      // (a fallback): the result must still be right.
      ++absorbed;
      expect_right_result(context + ", failure absorbed");
    }
    try {
      execute(plan);
      expect_right_result(context + ", the next execution");
    } catch (const std::exception& error) {
      ADD_FAILURE() << context << ": the next execution without injection threw: " << error.what();
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping the sweep at " << context;
      break;
    }
  }
  if (absorbed > 0) {
    std::printf("  %d injected failures were absorbed by the library\n", absorbed);
  }
  if (failed_after_output > 0) {
    std::printf("  %d injected failures came after the whole output was written\n",
                failed_after_output);
  }
  warm.reset();
  const std::size_t free_after = free_device_bytes();
  const std::size_t grown = free_before > free_after ? free_before - free_after : 0;
  EXPECT_LE(grown, kDeviceGrowthAllowed)
      << "device memory kept after " << passes << " injected failures: " << grown << " bytes";
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "a sticky CUDA error after the sweep";
}

// Every sweep of a scenario: both sites, on a Plan's first and later
// executions.
void sweep_every_call(const Scenario& scenario) {
  for (const FaultSite site : {FaultSite::cuda_runtime_call, FaultSite::cublas_call}) {
    sweep(scenario, site, /*cold=*/true);
    sweep(scenario, site, /*cold=*/false);
  }
}

TEST_F(CudaFaultInjection, SlicedStreamingExecutionSurvivesEveryFailedCall) {
  EINSTREAM_REQUIRE_GPU();
  sweep_every_call(scenarios()[0]);
}

TEST_F(CudaFaultInjection, UnslicedExecutionSurvivesEveryFailedCall) {
  EINSTREAM_REQUIRE_GPU();
  sweep_every_call(scenarios()[1]);
}

TEST_F(CudaFaultInjection, DevicePointerExecutionSurvivesEveryFailedCall) {
  EINSTREAM_REQUIRE_GPU();
  sweep_every_call(scenarios()[2]);
}

// The hook itself, without a Plan: an armed site fails exactly its k-th
// checked call, without making it, and a check of a status already returned
// is no call and passes through.
TEST_F(CudaFaultInjection, TheKthCheckedCallFailsWithoutBeingMade) {
  EINSTREAM_REQUIRE_GPU();
  FaultInjection::arm(FaultSite::cuda_runtime_call, 2);
  int device_count = -1;
  EXPECT_NO_THROW(EINSTREAM_CUDA_CHECK(cudaGetDeviceCount(&device_count)));
  EXPECT_GT(device_count, 0);
  device_count = -1;
  const cudaError_t status = cudaSuccess;
  EXPECT_NO_THROW(EINSTREAM_CUDA_CHECK(status));  // not a call: not counted
  try {
    EINSTREAM_CUDA_CHECK(cudaGetDeviceCount(&device_count));
    ADD_FAILURE() << "the second checked call did not fail";
  } catch (const CudaError& error) {
    EXPECT_EQ(error.call(), "cudaGetDeviceCount(&device_count)");
    EXPECT_NE(std::string(error.what()).find("injected fault: CUDA runtime call"),
              std::string::npos)
        << error.what();
  }
  EXPECT_EQ(device_count, -1) << "the failed call was made";
  EXPECT_EQ(FaultInjection::passes(FaultSite::cuda_runtime_call), 2);
  EXPECT_NO_THROW(EINSTREAM_CUDA_CHECK(cudaGetDeviceCount(&device_count)));
}

}  // namespace
}  // namespace einstream
