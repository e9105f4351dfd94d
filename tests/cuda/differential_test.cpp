// Differential tests on the CUDA backend: 1500 seeded random problems (the
// host differential test's, tests/support/differential.hpp: every notation
// feature, C and non-C strides, alpha/beta), each executed by a CUDA Plan and
// by the reference executor on the same data and compared over the whole
// output buffer.
//
// Each problem's operands lie in pageable host memory, pinned host memory
// (cudaMallocHost) or device memory (cudaMalloc'd copies), all alike or
// mixed per operand. A budgeted problem with its operands in host memory gets
// a memory limit drawn between the least any sliced plan needs and what the
// whole problem needs, both measured from Plans, so the execution streams
// sliced blocks whatever the device layout costs. Only the public API runs
// the problems. A failure prints the seed and a one-line reproduction;
// EINSTREAM_DIFFERENTIAL_SEED=<seed> reruns one problem.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/support/differential.hpp"
#include "tests/support/gpu.hpp"

namespace einstream {
namespace {

using testing::DifferentialProblem;
using testing::Outcome;
using testing::StridedBuffer;

// 250 problems per dtype, the first 250 seeds of each of the host test's
// dtype ranges: a seed names the same problem in both tests.
constexpr int kProblemsPerDataType = 250;

enum class Placement { pageable, pinned, device };

const char* to_string(Placement placement) {
  switch (placement) {
    case Placement::pageable:
      return "pageable";
    case Placement::pinned:
      return "pinned";
    default:
      return "device";
  }
}

// Page-locked host memory, freed on destruction.
class PinnedMemory {
 public:
  explicit PinnedMemory(std::size_t bytes) {
    EINSTREAM_CUDA_CHECK(cudaMallocHost(&pointer_, bytes));
  }
  ~PinnedMemory() { cudaFreeHost(pointer_); }
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  void* get() const { return pointer_; }

 private:
  void* pointer_ = nullptr;
};

// Where a problem's operands lie (inputs, then the output) and the CUDA
// options it runs with.
struct CudaProblem {
  DifferentialProblem problem;
  std::vector<Placement> placements;  // one per input, then the output
  bool streamed = false;              // a budget that forces slicing

  std::string where() const {
    std::string text = ", operands";
    for (const Placement placement : placements) text += std::string(" ") + to_string(placement);
    return text;
  }
};

CudaProblem draw_cuda_problem(std::uint32_t seed) {
  CudaProblem drawn;
  drawn.problem = testing::draw_problem(seed, testing::differential_dtype(seed));
  DifferentialProblem& problem = drawn.problem;
  problem.options.backend = Backend::cuda;
  problem.options.memory_limit = MemoryLimit();
  std::mt19937 random(seed ^ 0xC0DAu);
  const std::size_t operands = problem.inputs.size() + 1;
  const unsigned layout = random() % 20;
  for (std::size_t operand = 0; operand < operands; ++operand) {
    if (layout < 8) {
      drawn.placements.push_back(Placement::pageable);
    } else if (layout < 11) {
      drawn.placements.push_back(Placement::pinned);
    } else if (layout < 15) {
      drawn.placements.push_back(Placement::device);
    } else {
      drawn.placements.push_back(static_cast<Placement>(random() % 3));
    }
  }
  const bool on_host =
      std::all_of(drawn.placements.begin(), drawn.placements.end(),
                  [](Placement placement) { return placement != Placement::device; });
  // Device operands run the whole problem in place: a budget slices host
  // operands only.
  if (problem.budgeted && on_host) {
    const auto [whole, least] =
        testing::device_needs(problem.expression, problem.inputs, problem.output, problem.options);
    if (least > 0 && least < whole) {
      problem.options.memory_limit = MemoryLimit::from_bytes(least + random() % (whole - least));
      drawn.streamed = true;
    }
  }
  problem.budgeted = drawn.streamed;
  return drawn;
}

// Runs the Plan with each operand where `placements` puts it: device and
// pinned operands are copies of the host buffers (the whole buffer, gaps
// included), and a device or pinned output is copied back over `output`.
std::int64_t execute_placed(const std::vector<Placement>& placements,
                            const DifferentialProblem& problem, std::vector<StridedBuffer>& inputs,
                            StridedBuffer& output) {
  std::vector<std::unique_ptr<testing::DeviceMemory>> device_copies;
  std::vector<std::unique_ptr<PinnedMemory>> pinned_copies;
  // The copy of `buffer` where `placement` puts it, at the buffer's origin.
  auto place = [&](Placement placement, StridedBuffer& buffer) -> unsigned char* {
    const std::size_t bytes = buffer.bytes.size();
    const std::int64_t origin = buffer.origin * static_cast<std::int64_t>(size_of(buffer.dtype));
    if (placement == Placement::pageable) return buffer.at_origin();
    if (placement == Placement::pinned) {
      pinned_copies.push_back(std::make_unique<PinnedMemory>(bytes));
      std::memcpy(pinned_copies.back()->get(), buffer.bytes.data(), bytes);
      return static_cast<unsigned char*>(pinned_copies.back()->get()) + origin;
    }
    device_copies.push_back(std::make_unique<testing::DeviceMemory>(bytes));
    EINSTREAM_CUDA_CHECK(cudaMemcpy(device_copies.back()->get(), buffer.bytes.data(), bytes,
                                    cudaMemcpyHostToDevice));
    return static_cast<unsigned char*>(device_copies.back()->get()) + origin;
  };
  std::vector<const void*> pointers;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    pointers.push_back(place(placements[operand], inputs[operand]));
  }
  const Placement output_placement = placements.back();
  unsigned char* output_pointer = place(output_placement, output);
  Plan plan(problem.expression, problem.inputs, problem.output, problem.options);
  plan.execute(pointers, output_pointer, problem.alpha, problem.beta);
  const std::int64_t origin = output.origin * static_cast<std::int64_t>(size_of(output.dtype));
  if (output_placement == Placement::device) {
    EINSTREAM_CUDA_CHECK(cudaMemcpy(output.bytes.data(), output_pointer - origin,
                                    output.bytes.size(), cudaMemcpyDeviceToHost));
  } else if (output_placement == Placement::pinned) {
    std::memcpy(output.bytes.data(), output_pointer - origin, output.bytes.size());
  }
  // Copies of the inputs come back too, so run_problem sees any write.
  for (std::size_t operand = 0, device = 0, pinned = 0; operand < inputs.size(); ++operand) {
    StridedBuffer& input = inputs[operand];
    if (placements[operand] == Placement::device) {
      EINSTREAM_CUDA_CHECK(cudaMemcpy(input.bytes.data(), device_copies[device++]->get(),
                                      input.bytes.size(), cudaMemcpyDeviceToHost));
    } else if (placements[operand] == Placement::pinned) {
      std::memcpy(input.bytes.data(), pinned_copies[pinned++]->get(), input.bytes.size());
    }
  }
  return plan.last_report().blocks;
}

Outcome run_cuda_problem(const CudaProblem& drawn) {
  return testing::run_problem(
      drawn.problem, [&](const DifferentialProblem& problem, std::vector<StridedBuffer>& inputs,
                         StridedBuffer& output) {
        return execute_placed(drawn.placements, problem, inputs, output);
      });
}

void run_differential(DataType dtype, std::uint32_t first_seed) {
  // The seed ranges name the dtype (tests/support/differential.hpp), the
  // half types' since the host backend runs them.
  ASSERT_EQ(testing::differential_dtype(first_seed), dtype)
      << "seeds from " << first_seed << " draw "
      << to_string(testing::differential_dtype(first_seed)) << " problems, not "
      << to_string(dtype);
  testing::Coverage coverage;
  int streamed = 0, sliced = 0, refused = 0, on_device = 0, pinned = 0, failures = 0;
  for (int index = 0; index < kProblemsPerDataType; ++index) {
    const std::uint32_t seed = first_seed + static_cast<std::uint32_t>(index);
    const CudaProblem drawn = draw_cuda_problem(seed);
    const Outcome outcome = run_cuda_problem(drawn);
    coverage.count(drawn.problem);
    streamed += drawn.streamed;
    sliced += outcome.sliced;
    refused += outcome.refused;
    on_device +=
        std::count(drawn.placements.begin(), drawn.placements.end(), Placement::device) > 0;
    pinned += std::count(drawn.placements.begin(), drawn.placements.end(), Placement::pinned) > 0;
    if (!outcome.failure.empty()) {
      ADD_FAILURE() << outcome.failure
                    << "\n  reproduce: " << testing::reproduction(drawn.problem, drawn.where());
      if (++failures == 10) {
        FAIL() << "stopping after 10 failures";
      }
    }
  }
  std::printf(
      "%s: %d problems (seeds %u-%u): %d with a budget under the whole problem's need (%d ran "
      "sliced, %d refused), %d with device operands, %d with pinned ones\n",
      to_string(dtype), kProblemsPerDataType, first_seed,
      first_seed + static_cast<std::uint32_t>(kProblemsPerDataType) - 1, streamed, sliced, refused,
      on_device, pinned);
  std::printf("  covering %s\n", coverage.to_string().c_str());
  // A budget at or above the least need a MemoryError named must plan and
  // run; budgets under the whole need must make some problems slice.
  EXPECT_GT(streamed, 0);
  EXPECT_EQ(refused, 0) << "of " << streamed << " budgeted problems";
  EXPECT_GT(sliced, 0) << "of " << streamed << " budgeted problems";
  EXPECT_GT(on_device, 0);
  EXPECT_GT(pinned, 0);
  EXPECT_EQ(coverage.missing(dtype), "") << "features no problem exercised";
}

TEST(CudaDifferential, MatchesReferenceF32) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::f32, 0 * testing::kSeedsPerDataType);
}
TEST(CudaDifferential, MatchesReferenceF64) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::f64, 1 * testing::kSeedsPerDataType);
}
TEST(CudaDifferential, MatchesReferenceC64) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::c64, 2 * testing::kSeedsPerDataType);
}
TEST(CudaDifferential, MatchesReferenceC128) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::c128, 3 * testing::kSeedsPerDataType);
}
TEST(CudaDifferential, MatchesReferenceF16) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::f16, 4 * testing::kSeedsPerDataType);
}
TEST(CudaDifferential, MatchesReferenceBF16) {
  EINSTREAM_REQUIRE_GPU();
  run_differential(DataType::bf16, 5 * testing::kSeedsPerDataType);
}

// EINSTREAM_DIFFERENTIAL_SEED=<seed> reruns the one problem a failure named.
TEST(CudaDifferential, ReplaysTheSeedInTheEnvironment) {
  EINSTREAM_REQUIRE_GPU();
  const char* seed_text = std::getenv("EINSTREAM_DIFFERENTIAL_SEED");
  if (seed_text == nullptr) GTEST_SKIP() << "set EINSTREAM_DIFFERENTIAL_SEED to replay a problem";
  const auto seed = static_cast<std::uint32_t>(std::strtoul(seed_text, nullptr, 10));
  const CudaProblem drawn = draw_cuda_problem(seed);
  const Outcome outcome = run_cuda_problem(drawn);
  const std::string line = testing::reproduction(drawn.problem, drawn.where());
  EXPECT_EQ(outcome.failure, "") << line;
  std::printf("%s\n%s\n", line.c_str(),
              outcome.refused ? "refused: below the smallest block"
                              : (outcome.sliced ? "ran sliced" : "ran whole"));
}

}  // namespace
}  // namespace einstream
