// The CUDA backend over budget: sliced, streamed execution against the
// reference, at budgets from just under the whole problem's need down to the
// smallest the planner accepts.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/device_memory.hpp"
#include "src/memory_span.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/differential.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/half_precision.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

Options cuda_with_limit(std::uint64_t bytes) {
  Options options;
  options.backend = Backend::cuda;
  options.memory_limit = MemoryLimit::from_bytes(bytes);
  return options;
}

std::vector<TensorDesc> descs_of(const std::vector<std::vector<std::int64_t>>& shapes,
                                 DataType dtype) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
  return descs;
}

// The least budget that runs the whole problem unsliced with host operands,
// and the least any sliced plan needs (from the MemoryError of a one-byte
// limit): budgets in between slice.
std::pair<std::uint64_t, std::uint64_t> needs(const std::string& expression,
                                              const std::vector<std::vector<std::int64_t>>& shapes,
                                              DataType dtype) {
  const std::vector<TensorDesc> descs = descs_of(shapes, dtype);
  Options generous;
  generous.backend = Backend::cuda;
  const TensorDesc output = Plan(expression, descs, generous).output();
  const testing::DeviceNeeds found = testing::device_needs(expression, descs, output, generous);
  return {found.whole, found.least};
}

TEST(CudaStreaming, RandomProblemsMatchTheReferenceUnderTightBudgets) {
  EINSTREAM_REQUIRE_GPU();
  int streamed = 0, deep = 0;
  for (unsigned seed = 0; seed < 60; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 12;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = std::vector<DataType>{DataType::f32, DataType::f64, DataType::c64,
                                                 DataType::c128}[seed % 4];
    const bool complex = is_complex(dtype);
    const Scalar alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : (complex ? Scalar(0.25, 0.5) : Scalar(-0.5));
    const auto [whole, least] = needs(problem.expression, problem.shapes, dtype);
    if (least == 0 || least >= whole) continue;  // nothing to slice
    for (std::uint64_t budget : {whole - 1, least + (whole - least) / 2, least}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " budget " + std::to_string(budget));
      const testing::AgainstReference run = testing::plan_against_reference(
          problem.expression, problem.shapes, dtype, cuda_with_limit(budget), alpha, beta, random);
      EXPECT_LE(run.error, testing::tolerance(dtype)) << run.explain;
      if (run.explain.find("blocks, loop order") != std::string::npos) ++streamed;
      if (run.explain.find("(3 buffers per streamed tensor)") != std::string::npos) ++deep;
    }
  }
  std::printf("streamed executions: %d, %d of them with three buffers\n", streamed, deep);
  EXPECT_GT(streamed, 30);
  // Budgets just under the whole problem's leave room for a third buffer.
  EXPECT_GT(deep, 0);
}

// The error of a half-type output against the reference, relative to the
// magnitude bound (tests/support/half_precision.hpp); C-order operands.
double half_error_of(const std::string& expression,
                     const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                     const std::vector<const void*>& inputs, const TensorDesc& output,
                     const std::vector<unsigned char>& initial,
                     const std::vector<unsigned char>& actual,
                     const std::vector<unsigned char>& expected, Scalar alpha, Scalar beta) {
  std::vector<std::vector<std::int64_t>> strides;
  for (const auto& shape : shapes) strides.push_back(TensorDesc(dtype, shape).effective_strides());
  const double bound = testing::half_magnitude_bound(detail::parse(expression, shapes), shapes,
                                                     dtype, inputs, strides, initial.data(),
                                                     output.effective_strides(), alpha, beta);
  return testing::half_error(dtype, actual.data(), expected.data(), output.element_count(), bound);
}

// An execution against the reference, with the blocks it ran: in f16 and
// bf16 each block of a sliced summed mode adds its partial sum into the
// output with beta = 1, a rounding in the dtype per block. The error is
// relative to the magnitude bound.
struct BlockedRun {
  double error = 0;
  std::int64_t blocks = 0;
  std::string explain;
};

BlockedRun run_blocked(const std::string& expression,
                       const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                       const Options& options, Scalar alpha, Scalar beta, std::mt19937& random) {
  const testing::RandomOperands operands = testing::random_operands(shapes, dtype, random);
  Plan plan(expression, operands.descs, options);
  const std::int64_t count = plan.output().element_count();
  const std::vector<unsigned char> initial = testing::random_tensor(dtype, count, random);
  std::vector<unsigned char> actual = initial;
  plan.execute(operands.pointers, actual.data(), alpha, beta);
  const std::vector<unsigned char> expected =
      testing::reference_result(expression, operands, plan.output(), initial, alpha, beta);
  return {half_error_of(expression, shapes, dtype, operands.pointers, plan.output(), initial,
                        actual, expected, alpha, beta),
          plan.last_report().blocks, plan.explain()};
}

// The half types streamed: random problems at budgets from just under the
// whole need to the least, held to one rounding per stored intermediate
// and per block.
TEST(CudaStreaming, HalfPrecisionRandomProblemsMatchTheReferenceUnderTightBudgets) {
  EINSTREAM_REQUIRE_GPU();
  int streamed = 0;
  for (unsigned seed = 0; seed < 40; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 12;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = seed % 2 ? DataType::bf16 : DataType::f16;
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : Scalar(-0.5);
    const auto [whole, least] = needs(problem.expression, problem.shapes, dtype);
    if (least == 0 || least >= whole) continue;  // nothing to slice
    for (std::uint64_t budget : {whole - 1, least + (whole - least) / 2, least}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " budget " + std::to_string(budget));
      const BlockedRun run = run_blocked(problem.expression, problem.shapes, dtype,
                                         cuda_with_limit(budget), 1.5, beta, random);
      const int stores = testing::half_stores(static_cast<int>(problem.shapes.size())) +
                         static_cast<int>(run.blocks);
      // The f32 sums' share (2^16 terms) stays far below the roundings'.
      EXPECT_LE(run.error, testing::half_tolerance(dtype, stores, std::int64_t{1} << 16))
          << run.explain;
      if (run.explain.find("blocks, loop order") != std::string::npos) ++streamed;
    }
  }
  std::printf("half-precision streamed executions: %d\n", streamed);
  EXPECT_GT(streamed, 15);
}

// A long summed mode sliced in f16 and bf16: each block's partial product
// accumulates into the device output, which holds the dtype.
TEST(CudaStreaming, HalfPrecisionSlicedSummedModeAccumulates) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 1 << 14}, {1 << 14, 64}};
  for (DataType dtype : {DataType::f16, DataType::bf16}) {
    const auto [whole, least] = needs("ij,jk->ik", shapes, dtype);
    std::mt19937 random(4);
    const BlockedRun run =
        run_blocked("ij,jk->ik", shapes, dtype, cuda_with_limit(whole - (whole - least) * 3 / 4),
                    1.0, 0.5, random);
    SCOPED_TRACE(std::string(to_string(dtype)) + ", seed 4, " + std::to_string(run.blocks) +
                 " blocks");
    EXPECT_GT(run.blocks, 1) << run.explain;
    EXPECT_NE(run.explain.find("j=16384 in"), std::string::npos) << run.explain;
    EXPECT_LE(run.error, testing::half_tolerance(dtype, 1 + static_cast<int>(run.blocks), 1 << 14))
        << run.explain;
  }
}

// A network whose inputs and output all stream, with alpha and beta.
TEST(CudaStreaming, HeadlineNetworkStreamsInputsAndOutput) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
  const std::vector<std::vector<std::int64_t>> shapes = {
      {30, 3, 16}, {20, 30, 3}, {20, 30, 3, 16}, {20, 30, 3, 16}, {20, 16, 3, 3}};
  for (DataType dtype : {DataType::f32, DataType::f64}) {
    const auto [whole, least] = needs(expression, shapes, dtype);
    ASSERT_LT(least, whole);
    std::mt19937 random(9);
    for (std::uint64_t budget : {least + (whole - least) / 2, least + (whole - least) / 8, least}) {
      SCOPED_TRACE(std::string(to_string(dtype)) + " budget " + std::to_string(budget));
      const testing::AgainstReference run = testing::plan_against_reference(
          expression, shapes, dtype, cuda_with_limit(budget), 0.5, -2.0, random);
      EXPECT_LE(run.error, testing::tolerance(dtype)) << run.explain;
      EXPECT_NE(run.explain.find("streamed"), std::string::npos) << run.explain;
    }
  }
}

// A long summed mode sliced: partial products accumulate on the device.
TEST(CudaStreaming, SlicedSummedModeAccumulates) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 1 << 16}, {1 << 16, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f64);
  std::mt19937 random(4);
  const testing::AgainstReference run = testing::plan_against_reference(
      "ij,jk->ik", shapes, DataType::f64, cuda_with_limit(whole - (whole - least) * 3 / 4), 1.0,
      0.5, random);
  EXPECT_LE(run.error, 1e-12) << run.explain;
  EXPECT_NE(run.explain.find("j=65536 in"), std::string::npos) << run.explain;
}

TEST(CudaStreaming, BudgetUnderTheSmallestBlockNamesTheMinimum) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{300, 400}, {400, 500}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  ASSERT_GT(least, 0u);
  try {
    Plan plan("ij,jk->ik", descs_of(shapes, DataType::f32), cuda_with_limit(least - 1));
    ADD_FAILURE() << "expected MemoryError";
  } catch (const MemoryError& error) {
    EXPECT_EQ(error.bytes_needed(), least);
    EXPECT_EQ(error.bytes_available(), least - 1);
  }
  (void)whole;
}

// Where a test keeps the caller's buffers.
enum class HostMemory { pageable, pinned };

// Host memory that is either ordinary or from cudaMallocHost.
class HostBuffer {
 public:
  HostBuffer(HostMemory kind, const std::vector<unsigned char>& contents) : kind_(kind) {
    if (kind == HostMemory::pinned) {
      EINSTREAM_CUDA_CHECK(cudaMallocHost(&pinned_, std::max<std::size_t>(contents.size(), 1)));
      std::memcpy(pinned_, contents.data(), contents.size());
    } else {
      pageable_ = contents;
    }
  }
  ~HostBuffer() {
    if (pinned_ != nullptr) cudaFreeHost(pinned_);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  unsigned char* data() {
    return kind_ == HostMemory::pinned ? static_cast<unsigned char*>(pinned_) : pageable_.data();
  }

 private:
  HostMemory kind_;
  void* pinned_ = nullptr;
  std::vector<unsigned char> pageable_;
};

struct HostMemoryRun {
  double error = 0;
  std::string explain;
  ExecutionReport report;
};

// Like plan_against_reference, with the caller's buffers in `memory`
// (inputs, and the output when output_memory says so), executed `runs` times
// on fresh random data each time (each run checked; the worst error kept).
HostMemoryRun run_in_host_memory(const std::string& expression,
                                 const std::vector<std::vector<std::int64_t>>& shapes,
                                 DataType dtype, const Options& options, HostMemory memory,
                                 HostMemory output_memory, Scalar alpha, Scalar beta,
                                 std::mt19937& random, int runs = 1) {
  const std::vector<TensorDesc> descs = descs_of(shapes, dtype);
  // Every run's buffers outlive the Plan, which may hold them registered.
  std::vector<std::unique_ptr<HostBuffer>> buffers;
  Plan plan(expression, descs, options);
  HostMemoryRun result;
  result.explain = plan.explain();
  const detail::Problem problem = detail::parse(expression, shapes);
  for (int run = 0; run < runs; ++run) {
    std::vector<const void*> pointers;
    std::vector<detail::ReferenceInput> reference_inputs;
    for (const TensorDesc& desc : descs) {
      const std::vector<unsigned char> values =
          testing::random_tensor(dtype, desc.element_count(), random);
      buffers.push_back(std::make_unique<HostBuffer>(memory, values));
      pointers.push_back(buffers.back()->data());
      reference_inputs.push_back({buffers.back()->data(), dtype, desc.effective_strides()});
    }
    const std::int64_t count = plan.output().element_count();
    const std::vector<unsigned char> initial = testing::random_tensor(dtype, count, random);
    buffers.push_back(std::make_unique<HostBuffer>(output_memory, initial));
    HostBuffer& actual = *buffers.back();
    std::vector<unsigned char> expected = initial;
    plan.execute(pointers, actual.data(), alpha, beta);
    detail::reference_einsum(problem, reference_inputs,
                             {expected.data(), dtype, plan.output().effective_strides()}, alpha,
                             beta);
    result.error = std::max(result.error,
                            testing::relative_error(dtype, actual.data(), expected.data(), count));
  }
  result.report = plan.last_report();
  return result;
}

// The streamed operand's blocks are whole rows of a C-order matrix: with
// pinned buffers every byte is DMA'd in place, none staged.
TEST(CudaHostMemory, PinnedBuffersAreDmaDirectly) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{4096, 256}, {256, 32}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  std::mt19937 random(11);
  const HostMemoryRun run = run_in_host_memory(
      "ij,jk->ik", shapes, DataType::f32, cuda_with_limit(least + (whole - least) / 3),
      HostMemory::pinned, HostMemory::pinned, 1.0, 0.5, random, 2);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32)) << run.explain;
  EXPECT_GT(run.report.blocks, 1) << run.explain;
  EXPECT_EQ(run.report.bytes_staged, 0u) << to_string(run.report);
  EXPECT_EQ(run.report.bytes_direct, run.report.bytes_to_device + run.report.bytes_to_host);
}

// Blocks of a transposed (column-major) pinned operand have rows of one
// element: they are gathered through staging, with the same result.
TEST(CudaHostMemory, PinnedBlocksWithShortRowsGoThroughStaging) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{256, 4096}, {32, 256}};
  const auto [whole, least] = needs("ji,kj->ik", shapes, DataType::f64);
  std::mt19937 random(12);
  const HostMemoryRun run = run_in_host_memory(
      "ji,kj->ik", shapes, DataType::f64, cuda_with_limit(least + (whole - least) / 3),
      HostMemory::pinned, HostMemory::pinned, 1.0, 0.0, random);
  EXPECT_LE(run.error, testing::tolerance(DataType::f64)) << run.explain;
  EXPECT_GT(run.report.blocks, 1) << run.explain;
  EXPECT_GT(run.report.bytes_staged + run.report.bytes_direct, 0u);
}

// Pageable buffers registered by the Plan: DMA'd in place, registered while
// the Plan uses them, re-registered when the pointers change, released with
// the Plan.
TEST(CudaHostMemory, RegisteredBuffersFollowThePointersAndAreReleased) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{4096, 256}, {256, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  Options options = cuda_with_limit(least + (whole - least) / 4);
  options.register_host_memory = true;
  std::mt19937 random(13);
  const HostMemoryRun run =
      run_in_host_memory("ij,jk->ik", shapes, DataType::f32, options, HostMemory::pageable,
                         HostMemory::pageable, 2.0, 0.0, random, 3);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32)) << run.explain;
  EXPECT_GT(run.report.bytes_direct, 0u) << to_string(run.report);
  EXPECT_EQ(run.report.bytes_staged, 0u) << to_string(run.report);

  auto page_locked = [](const void* pointer) {
    cudaPointerAttributes attributes{};
    EINSTREAM_CUDA_CHECK(cudaPointerGetAttributes(&attributes, pointer));
    return attributes.type == cudaMemoryTypeHost;
  };
  std::vector<float> a(4096 * 256, 0.5f), b(256 * 64, 0.25f), c(4096 * 64, 0.0f);
  {
    Plan plan("ij,jk->ik", descs_of(shapes, DataType::f32), options);
    plan.execute({a.data(), b.data()}, c.data());
    EXPECT_TRUE(page_locked(a.data()));
    EXPECT_TRUE(page_locked(c.data()));
    EXPECT_FLOAT_EQ(c[12345], 256 * 0.125f);
  }
  EXPECT_FALSE(page_locked(a.data()));
  EXPECT_FALSE(page_locked(c.data()));
}

// An input whose first pages the caller registered, but not the rest: it is
// not page-locked as a whole, so its blocks are staged (a direct DMA would
// read unlocked pages as if they were locked).
TEST(CudaHostMemory, PartlyRegisteredBufferIsStaged) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{4096, 256}, {256, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  std::mt19937 random(18);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(4096 * 256), b(256 * 64), c(4096 * 64, 0.0f);
  for (float& value : a) value = uniform(random);
  for (float& value : b) value = uniform(random);
  const std::size_t half = a.size() * sizeof(float) / 2;
  EINSTREAM_CUDA_CHECK(cudaHostRegister(a.data(), half, cudaHostRegisterDefault));
  {
    Plan plan("ij,jk->ik", descs_of(shapes, DataType::f32),
              cuda_with_limit(least + (whole - least) / 4));
    plan.execute({a.data(), b.data()}, c.data());
    EXPECT_GT(plan.last_report().blocks, 1) << plan.explain();
    EXPECT_EQ(plan.last_report().bytes_direct, 0u) << to_string(plan.last_report());
  }
  EINSTREAM_CUDA_CHECK(cudaHostUnregister(a.data()));
  double error = 0, norm = 0;
  for (std::int64_t i = 0; i < 4096; i += 37) {
    for (std::int64_t k = 0; k < 64; ++k) {
      double expected = 0;
      for (std::int64_t j = 0; j < 256; ++j) {
        expected += static_cast<double>(a[i * 256 + j]) * b[j * 64 + k];
      }
      error += (c[i * 64 + k] - expected) * (c[i * 64 + k] - expected);
      norm += expected * expected;
    }
  }
  EXPECT_LE(std::sqrt(error / norm), testing::tolerance(DataType::f32));
}

// A streamed output in pinned memory with beta != 0: its blocks go up and
// come back in place.
TEST(CudaHostMemory, StreamedPinnedOutputWithBeta) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{2048, 16}, {16, 2048}};
  const auto [whole, least] = needs("ik,kj->ij", shapes, DataType::f32);
  std::mt19937 random(14);
  for (HostMemory memory : {HostMemory::pinned, HostMemory::pageable}) {
    const HostMemoryRun run = run_in_host_memory("ik,kj->ij", shapes, DataType::f32,
                                                 cuda_with_limit(least + (whole - least) / 4),
                                                 memory, memory, 0.5, -1.5, random, 2);
    EXPECT_LE(run.error, testing::tolerance(DataType::f32)) << run.explain;
    EXPECT_NE(run.explain.find("out:streamed"), std::string::npos) << run.explain;
    if (memory == HostMemory::pinned) {
      EXPECT_GT(run.report.bytes_direct, 0u) << to_string(run.report);
    } else {
      EXPECT_EQ(run.report.bytes_direct, 0u) << to_string(run.report);
    }
  }
}

// A resident output over the direct-copy size comes back from pageable
// memory through the pinned chunk ring (and, with beta != 0, goes up through
// it). The product is too large for the reference executor, so a sample of
// its elements is checked against dot products in double precision.
TEST(CudaHostMemory, LargeResidentOutputComesBackThroughTheRing) {
  EINSTREAM_REQUIRE_GPU();
  const std::int64_t rows = 1024, inner = 16384, columns = 2048;
  const std::vector<std::vector<std::int64_t>> shapes = {{rows, inner}, {inner, columns}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  // Under 80 MiB neither input fits beside the cuBLAS workspace, so the
  // cheapest plan slices the summed mode and keeps the output resident.
  const std::uint64_t budget = std::uint64_t{80} << 20;
  ASSERT_LT(budget, whole);
  ASSERT_GT(budget, least);
  std::mt19937 random(15);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(rows * inner));
  std::vector<float> b(static_cast<std::size_t>(inner * columns));
  std::vector<float> c(static_cast<std::size_t>(rows * columns));
  for (float& value : a) value = uniform(random);
  for (float& value : b) value = uniform(random);
  for (float& value : c) value = uniform(random);
  const std::vector<float> initial = c;
  Plan plan("ij,jk->ik", descs_of(shapes, DataType::f32), cuda_with_limit(budget));
  plan.execute({a.data(), b.data()}, c.data(), 1.0, -0.5);
  EXPECT_NE(plan.explain().find("out:resident"), std::string::npos) << plan.explain();
  EXPECT_GT(plan.last_report().bytes_staged, 0u);
  double error = 0, norm = 0;
  for (int sample = 0; sample < 4000; ++sample) {
    const std::int64_t i = static_cast<std::int64_t>(random() % rows);
    const std::int64_t k = static_cast<std::int64_t>(random() % columns);
    double expected = -0.5 * initial[i * columns + k];
    for (std::int64_t j = 0; j < inner; ++j) {
      expected += static_cast<double>(a[i * inner + j]) * b[j * columns + k];
    }
    error += (c[i * columns + k] - expected) * (c[i * columns + k] - expected);
    norm += expected * expected;
  }
  EXPECT_LE(std::sqrt(error / norm), testing::tolerance(DataType::f32)) << plan.explain();
}

// Profiling: every stream's work is timed, the timeline holds each block's
// copies and compute and the host threads' gathers, and the trace names
// every track.
TEST(CudaProfile, StreamingTimelineCoversStreamsAndHostThreads) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{8192, 128}, {128, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  Options options = cuda_with_limit(least + (whole - least) / 4);
  options.profile = true;
  std::mt19937 random(16);
  const HostMemoryRun run =
      run_in_host_memory("ij,jk->ik", shapes, DataType::f32, options, HostMemory::pageable,
                         HostMemory::pageable, 1.0, 0.0, random);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32)) << run.explain;
  const ExecutionReport& report = run.report;
  EXPECT_GT(report.blocks, 1);
  EXPECT_GT(report.h2d_seconds, 0.0);
  EXPECT_GT(report.compute_seconds, 0.0);
  EXPECT_GT(report.d2h_seconds, 0.0);
  EXPECT_GE(report.overlap, 0.0);
  EXPECT_LE(report.overlap, 1.0);
  std::map<std::string, int> spans;
  double previous = -1;
  for (const TraceSpan& span : report.timeline) {
    ++spans[span.track];
    EXPECT_GE(span.seconds, 0.0) << span.name;
    EXPECT_GE(span.start, previous) << span.name;  // sorted
    EXPECT_LE(span.start + span.seconds, report.seconds * 1.5 + 1e-3) << span.name;
    previous = span.start;
  }
  EXPECT_EQ(spans["compute stream"], report.blocks);
  EXPECT_GE(spans["H2D stream"], report.blocks);
  EXPECT_GE(spans["host staging"], report.blocks);
  EXPECT_GT(spans["D2H stream"], 0);
  const std::string trace = to_chrome_trace(report);
  for (const char* track : {"H2D stream", "compute stream", "D2H stream", "host staging"}) {
    EXPECT_NE(trace.find(track), std::string::npos) << track;
  }
  std::printf("%s", to_string(report).c_str());
}

// Without profiling a streaming plan still times its streams, but keeps no
// timeline; a whole-problem execution times its copies and compute when
// profiling (one stream: no overlap).
TEST(CudaProfile, WholeExecutionsAreTimedWhenProfiling) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{1024, 256}, {256, 128}};
  std::mt19937 random(17);
  Options options;
  options.backend = Backend::cuda;
  options.profile = true;
  const HostMemoryRun whole =
      run_in_host_memory("ij,jk->ik", shapes, DataType::f32, options, HostMemory::pageable,
                         HostMemory::pageable, 1.0, 0.0, random);
  EXPECT_LE(whole.error, testing::tolerance(DataType::f32));
  EXPECT_GT(whole.report.h2d_seconds, 0.0);
  EXPECT_GT(whole.report.compute_seconds, 0.0);
  EXPECT_GT(whole.report.d2h_seconds, 0.0);
  EXPECT_EQ(whole.report.overlap, 0.0);
  // Two uploads, compute, download on the streams; the pageable operands'
  // gathers into pinned memory and the output's scatter on the host tracks.
  std::map<std::string, int> whole_spans;
  for (const TraceSpan& span : whole.report.timeline) ++whole_spans[span.track];
  EXPECT_EQ(whole_spans["H2D stream"], 2);
  EXPECT_EQ(whole_spans["compute stream"], 1);
  EXPECT_EQ(whole_spans["D2H stream"], 1);
  EXPECT_GE(whole_spans["host staging"], 3);

  const auto [need, least] = needs("ij,jk->ik", shapes, DataType::f32);
  const HostMemoryRun streamed = run_in_host_memory(
      "ij,jk->ik", shapes, DataType::f32, cuda_with_limit(least + (need - least) / 4),
      HostMemory::pageable, HostMemory::pageable, 1.0, 0.0, random);
  EXPECT_LE(streamed.error, testing::tolerance(DataType::f32));
  EXPECT_GT(streamed.report.compute_seconds, 0.0);
  EXPECT_TRUE(streamed.report.timeline.empty());
}

// Runs `expression` with input k on the device where bit k of `on_device`
// is set, and the output there where bit `shapes.size()` is; the relative
// error against the reference and the execution's report.
struct PlacedRun {
  double error = 0;
  ExecutionReport report;
  std::string explain;
};

PlacedRun run_placed(const std::string& expression,
                     const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                     const Options& options, unsigned on_device, Scalar alpha, Scalar beta,
                     std::mt19937& random) {
  const std::vector<TensorDesc> descs = descs_of(shapes, dtype);
  Plan plan(expression, descs, options);
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<std::unique_ptr<testing::DeviceMemory>> device;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (std::size_t index = 0; index < descs.size(); ++index) {
    inputs.push_back(testing::random_tensor(dtype, descs[index].element_count(), random));
    reference_inputs.push_back({inputs.back().data(), dtype, descs[index].effective_strides()});
    if (on_device >> index & 1) {
      device.push_back(std::make_unique<testing::DeviceMemory>(inputs.back().size()));
      device.back()->upload(inputs.back());
      pointers.push_back(device.back()->get());
    } else {
      pointers.push_back(inputs.back().data());
    }
  }
  const std::int64_t count = plan.output().element_count();
  const std::vector<unsigned char> initial = testing::random_tensor(dtype, count, random);
  std::vector<unsigned char> actual = initial, expected = initial;
  if (on_device >> descs.size() & 1) {
    testing::DeviceMemory output(actual.size());
    output.upload(actual);
    plan.execute(pointers, output.get(), alpha, beta);
    actual = output.download<unsigned char>(actual.size());
  } else {
    plan.execute(pointers, actual.data(), alpha, beta);
  }
  detail::reference_einsum(detail::parse(expression, shapes), reference_inputs,
                           {expected.data(), dtype, plan.output().effective_strides()}, alpha,
                           beta);
  if (testing::is_half_type(dtype)) {
    // Relative to the magnitude bound, read from the host copies.
    std::vector<const void*> host_inputs;
    for (const auto& input : inputs) host_inputs.push_back(input.data());
    return {half_error_of(expression, shapes, dtype, host_inputs, plan.output(), initial, actual,
                          expected, alpha, beta),
            plan.last_report(), plan.explain()};
  }
  return {testing::relative_error(dtype, actual.data(), expected.data(), count), plan.last_report(),
          plan.explain()};
}

// Device-resident operands whose intermediate does not fit the budget are
// sliced, not refused; PyTorch runs out of memory on such problems. In
// 'ab,bc,ca->a' every pair makes a 256 KiB intermediate (f32), over the
// 128 KiB budget. Every mix of host and device operands under a budget the
// host operands must stream in gives the reference's result.
TEST(CudaInPlace, DeviceOperandsWhoseIntermediatesDoNotFitAreSliced) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "ab,bc,ca->a";
  const std::vector<std::vector<std::int64_t>> shapes = {{256, 256}, {256, 256}, {256, 256}};
  std::mt19937 random(21);
  const unsigned everything = (1u << (shapes.size() + 1)) - 1;
  const PlacedRun all =
      run_placed(expression, shapes, DataType::f32, cuda_with_limit(std::uint64_t{128} << 10),
                 everything, 1.0, 0.0, random);
  EXPECT_LE(all.error, testing::tolerance(DataType::f32)) << all.explain;
  EXPECT_GT(all.report.blocks, 1) << all.explain;
  EXPECT_LE(all.report.device_bytes, std::uint64_t{128} << 10);
  EXPECT_EQ(all.report.bytes_to_device, 0u);
  EXPECT_EQ(all.report.bytes_to_host, 0u);
  for (unsigned placement = 0; placement <= everything; ++placement) {
    SCOPED_TRACE("placement " + std::to_string(placement));
    const PlacedRun run =
        run_placed(expression, shapes, DataType::f64, cuda_with_limit(std::uint64_t{1} << 20),
                   placement, 0.5, -1.0, random);
    EXPECT_LE(run.error, testing::tolerance(DataType::f64)) << run.explain;
    EXPECT_LE(run.report.device_bytes, std::uint64_t{1} << 20);
  }
}

// Random problems with every operand on the device, under budgets halving
// from just under their in-place need until one is refused (the GEMM
// workspace shrinks first, then the intermediates are sliced).
TEST(CudaInPlace, RandomDeviceProblemsMatchTheReferenceUnderTightBudgets) {
  EINSTREAM_REQUIRE_GPU();
  int sliced = 0, refused = 0;
  for (unsigned seed = 0; seed < 60; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 16;
    limits.allow_zero_extents = false;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    // Seeds 40-59: the half types.
    const DataType dtype = seed < 40
                               ? std::vector<DataType>{DataType::f32, DataType::f64, DataType::c64,
                                                       DataType::c128}[seed % 4]
                               : (seed % 2 ? DataType::bf16 : DataType::f16);
    const unsigned everything = (1u << (problem.shapes.size() + 1)) - 1;
    Options generous;
    generous.backend = Backend::cuda;
    const std::uint64_t whole = run_placed(problem.expression, problem.shapes, dtype, generous,
                                           everything, 1.0, 0.0, random)
                                    .report.device_bytes;
    for (std::uint64_t budget = whole - 1; budget > 0 && whole > 0; budget /= 2) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + " " +
                   to_string(dtype) + " budget " + std::to_string(budget));
      try {
        const PlacedRun run = run_placed(problem.expression, problem.shapes, dtype,
                                         cuda_with_limit(budget), everything, 1.5, -0.5, random);
        // The half types: a rounding per stored intermediate and per block.
        const double allowed =
            testing::is_half_type(dtype)
                ? testing::half_tolerance(
                      dtype,
                      testing::half_stores(static_cast<int>(problem.shapes.size())) +
                          static_cast<int>(run.report.blocks),
                      std::int64_t{1} << 16)
                : testing::tolerance(dtype);
        EXPECT_LE(run.error, allowed) << run.explain;
        EXPECT_LE(run.report.device_bytes, budget);
        if (run.report.blocks > 1) ++sliced;
      } catch (const MemoryError& error) {
        ++refused;  // not even one element's block fits: said so, never run
        EXPECT_GT(error.bytes_needed(), budget);
        break;
      }
    }
  }
  std::printf("in-place executions sliced: %d, refused: %d\n", sliced, refused);
  EXPECT_GT(sliced, 10);
}

// Two pipelines on one GPU (the ordinal listed twice, as two GPUs would
// be): each runs its share of the blocks into host memory and the shares
// add up to the reference's result, pageable and pinned, with alpha, beta.
TEST(CudaDevices, TwoPipelinesOnOneGpuShareTheBlocks) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
  const std::vector<std::vector<std::int64_t>> shapes = {
      {30, 3, 16}, {20, 30, 3}, {20, 30, 3, 16}, {20, 30, 3, 16}, {20, 16, 3, 3}};
  const auto [whole, least] = needs(expression, shapes, DataType::f64);
  std::mt19937 random(31);
  for (HostMemory memory : {HostMemory::pageable, HostMemory::pinned}) {
    Options options = cuda_with_limit(least + (whole - least) / 8);
    options.devices = {0, 0};
    options.profile = true;
    const HostMemoryRun run = run_in_host_memory(expression, shapes, DataType::f64, options, memory,
                                                 memory, 0.5, -2.0, random);
    EXPECT_LE(run.error, testing::tolerance(DataType::f64)) << run.explain;
    ASSERT_EQ(run.report.devices.size(), 2u);
    EXPECT_GT(run.report.devices[0].blocks, 0);
    EXPECT_GT(run.report.devices[1].blocks, 0);
    EXPECT_EQ(run.report.devices[0].blocks + run.report.devices[1].blocks, run.report.blocks);
    bool second_track = false;
    for (const TraceSpan& span : run.report.timeline) {
      second_track = second_track || span.track.rfind("device 1: ", 0) == 0;
    }
    EXPECT_TRUE(second_track);
  }
  // A device that does not exist is named when planning.
  Options missing;
  missing.backend = Backend::cuda;
  missing.devices = {0, 1 << 20};
  EXPECT_THROW(Plan(expression, descs_of(shapes, DataType::f64), missing), Error);
}

// Devices that own whole blocks of a streamed output write them straight
// into the caller's output (no partials to add): three pipelines on one
// GPU, a product whose output is what the blocks cut, with beta.
TEST(CudaDevices, OwnersOfStreamedOutputBlocksWriteThemInPlace) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "ik,kj->ij";
  const std::vector<std::vector<std::int64_t>> shapes = {{600, 40}, {40, 500}};
  const auto [whole, least] = needs(expression, shapes, DataType::f64);
  std::mt19937 random(33);
  bool streamed = false;
  for (std::uint64_t part : {16u, 8u, 4u}) {
    Options options = cuda_with_limit(least + (whole - least) / part);
    options.devices = {0, 0, 0};
    const HostMemoryRun run =
        run_in_host_memory(expression, shapes, DataType::f64, options, HostMemory::pageable,
                           HostMemory::pageable, 1.5, -2.0, random);
    EXPECT_LE(run.error, testing::tolerance(DataType::f64)) << run.explain;
    ASSERT_EQ(run.report.devices.size(), 3u);
    if (run.explain.find("out:streamed") == std::string::npos) continue;
    streamed = true;
    EXPECT_EQ(run.report.combine_seconds, 0.0) << run.explain;
    for (const ExecutionReport& device : run.report.devices) EXPECT_GT(device.blocks, 0);
  }
  EXPECT_TRUE(streamed) << "no budget streamed the output";
}

// Two pipelines registering the same pageable buffers: one registration
// serves both (CUDA refuses a second), so every block is DMA'd in place on
// both, executions after the first included, and the results are right.
TEST(CudaDevices, PipelinesShareOneRegistrationOfTheCallersBuffers) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{4096, 256}, {256, 64}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  Options options = cuda_with_limit(least + (whole - least) / 4);
  options.register_host_memory = true;
  options.devices = {0, 0};
  std::mt19937 random(41);
  const HostMemoryRun run =
      run_in_host_memory("ij,jk->ik", shapes, DataType::f32, options, HostMemory::pageable,
                         HostMemory::pageable, 2.0, 0.0, random, 3);
  EXPECT_LE(run.error, testing::tolerance(DataType::f32)) << run.explain;
  ASSERT_EQ(run.report.devices.size(), 2u);
  for (const ExecutionReport& device : run.report.devices) {
    EXPECT_GT(device.bytes_direct, 0u) << to_string(device);
    EXPECT_EQ(device.bytes_staged, 0u) << to_string(device);
  }
}

// Plan::execute_share on the CUDA backend: host and device partials.
TEST(CudaDevices, SharesOfACudaPlanSumToItsResult) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{300, 200}, {200, 100}};
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  std::mt19937 random(32);
  const std::vector<TensorDesc> descs = descs_of(shapes, DataType::f32);
  Plan plan("ij,jk->ik", descs, cuda_with_limit(least + (whole - least) / 8));
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (const TensorDesc& desc : descs) {
    inputs.push_back(testing::random_tensor(DataType::f32, desc.element_count(), random));
    pointers.push_back(inputs.back().data());
    reference_inputs.push_back({inputs.back().data(), DataType::f32, desc.effective_strides()});
  }
  const std::int64_t count = plan.output().element_count();
  std::vector<unsigned char> sum(count * sizeof(float), 0), partial(sum.size());
  for (int worker = 0; worker < 3; ++worker) {
    if (worker == 1) {  // this share's partial in device memory
      testing::DeviceMemory device(partial.size());
      plan.execute_share(pointers, device.get(), worker, 3, 1.5);
      partial = device.download<unsigned char>(partial.size());
    } else {
      plan.execute_share(pointers, partial.data(), worker, 3, 1.5);
    }
    EXPECT_GT(plan.last_report().blocks, 0) << "worker " << worker;
    accumulate(plan.output(), partial.data(), sum.data(), 1.0);
  }
  std::vector<unsigned char> expected(sum.size(), 0);
  detail::reference_einsum(detail::parse("ij,jk->ik", shapes), reference_inputs,
                           {expected.data(), DataType::f32, plan.output().effective_strides()}, 1.5,
                           0.0);
  EXPECT_LE(testing::relative_error(DataType::f32, sum.data(), expected.data(), count),
            testing::tolerance(DataType::f32));
}

// A plan of two devices is two workers of execute_share: with a plan of
// one device beside it (three workers), the shares add up to the result,
// whether the devices own whole output blocks (ik,kj->ij, streamed output)
// or sum into partials (the headline example's summed modes).
TEST(CudaDevices, APlanOfTwoDevicesRunsTwoShares) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::pair<std::string, std::vector<std::vector<std::int64_t>>>> problems = {
      {"ik,kj->ij", {{600, 40}, {40, 500}}},
      {"jrl,ijr,ijrk,ijrl,ikmn->imn",
       {{30, 3, 16}, {20, 30, 3}, {20, 30, 3, 16}, {20, 30, 3, 16}, {20, 16, 3, 3}}}};
  std::mt19937 random(34);
  for (const auto& [expression, shapes] : problems) {
    SCOPED_TRACE(expression);
    const std::vector<TensorDesc> descs = descs_of(shapes, DataType::f64);
    const auto [whole, least] = needs(expression, shapes, DataType::f64);
    Options two = cuda_with_limit(least + (whole - least) / 8);
    Options one = two;
    two.devices = {0, 0};
    Plan pair(expression, descs, two), single(expression, descs, one);
    EXPECT_EQ(pair.pipelines(), 2);
    EXPECT_EQ(single.pipelines(), 1);
    std::vector<std::vector<unsigned char>> inputs;
    std::vector<const void*> pointers;
    std::vector<detail::ReferenceInput> reference_inputs;
    for (const TensorDesc& desc : descs) {
      inputs.push_back(testing::random_tensor(DataType::f64, desc.element_count(), random));
      pointers.push_back(inputs.back().data());
      reference_inputs.push_back({inputs.back().data(), DataType::f64, desc.effective_strides()});
    }
    const std::int64_t count = pair.output().element_count();
    std::vector<unsigned char> sum(count * sizeof(double), 0), partial(sum.size(), 0xff);
    pair.execute_share(pointers, partial.data(), 0, 3, 1.5);  // shares 0 and 1
    EXPECT_EQ(pair.last_report().devices.size(), 2u);
    accumulate(pair.output(), partial.data(), sum.data(), 1.0);
    std::fill(partial.begin(), partial.end(), 0xff);
    single.execute_share(pointers, partial.data(), 2, 3, 1.5);
    accumulate(pair.output(), partial.data(), sum.data(), 1.0);
    std::vector<unsigned char> expected(sum.size(), 0);
    detail::reference_einsum(detail::parse(expression, shapes), reference_inputs,
                             {expected.data(), DataType::f64, pair.output().effective_strides()},
                             1.5, 0.0);
    EXPECT_LE(testing::relative_error(DataType::f64, sum.data(), expected.data(), count),
              testing::tolerance(DataType::f64))
        << pair.explain();
    // Its two shares must both be among the workers.
    EXPECT_THROW(pair.execute_share(pointers, partial.data(), 2, 3, 1.5), Error);
  }
}

// With several devices an output in device memory goes through the host:
// out = alpha * einsum + beta * out, and the gaps of a strided output (a
// padded row) come back as they were.
TEST(CudaDevices, ADeviceOutputOfSeveralDevicesKeepsItsGaps) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<std::vector<std::int64_t>> shapes = {{300, 200}, {200, 100}};
  const std::vector<TensorDesc> descs = descs_of(shapes, DataType::f32);
  const TensorDesc padded(DataType::f32, {300, 100}, {128, 1});
  const auto [whole, least] = needs("ij,jk->ik", shapes, DataType::f32);
  Options options = cuda_with_limit(least + (whole - least) / 8);
  options.devices = {0, 0};
  Plan plan("ij,jk->ik", descs, padded, options);
  std::mt19937 random(35);
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (const TensorDesc& desc : descs) {
    inputs.push_back(testing::random_tensor(DataType::f32, desc.element_count(), random));
    pointers.push_back(inputs.back().data());
    reference_inputs.push_back({inputs.back().data(), DataType::f32, desc.effective_strides()});
  }
  const std::int64_t span = padded.span().elements;
  const std::vector<unsigned char> before =
      testing::random_tensor(DataType::f32, span, random);  // gaps included
  testing::DeviceMemory output(before.size());
  output.upload(before);
  plan.execute(pointers, output.get(), 1.5, -0.5);
  const std::vector<unsigned char> after = output.download<unsigned char>(before.size());
  std::vector<unsigned char> expected = before;
  detail::reference_einsum(detail::parse("ij,jk->ik", shapes), reference_inputs,
                           {expected.data(), DataType::f32, padded.effective_strides()}, 1.5, -0.5);
  std::vector<float> got(span), want(span);
  std::memcpy(got.data(), after.data(), after.size());
  std::memcpy(want.data(), expected.data(), expected.size());
  double worst = 0, scale = 0;
  int gaps_changed = 0;
  for (std::int64_t i = 0; i < span; ++i) {
    if (i % 128 >= 100) {
      gaps_changed += std::memcmp(&got[i], &before[i * sizeof(float)], sizeof(float)) != 0;
      continue;
    }
    worst = std::max(worst, static_cast<double>(std::fabs(got[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  EXPECT_EQ(gaps_changed, 0);
  EXPECT_LE(worst, testing::tolerance(DataType::f32) * scale) << plan.explain();
  EXPECT_EQ(plan.last_report().devices.size(), 2u);
}

}  // namespace
}  // namespace einstream
