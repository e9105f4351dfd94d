// The CUDA backend (whole einsums, every op kind) against the reference
// executor, on host and device operands; its memory accounting; its errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/lower.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "src/cuda_executor.hpp"
#include "src/reference.hpp"
#include "tests/support/differential.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/half_precision.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::DeviceMemory;
using testing::random_tensor;
using testing::relative_error;
using testing::tolerance;

enum class Placement { host, device };

struct Case {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  DataType dtype = DataType::f32;
  Scalar alpha = 1.0;
  Scalar beta = 0.0;
  Placement placement = Placement::host;
  // Reverse the last axis of every input (negative strides) and give the
  // output a padded innermost stride (gaps the backend must not touch).
  bool exotic_strides = false;
};

// Runs the case on the CUDA backend and on the reference; returns the
// relative error (for f16 and bf16 relative to the magnitude bound,
// tests/support/half_precision.hpp), and checks the output's gaps survived.
double cuda_versus_reference(const Case& c, std::mt19937& random) {
  const std::size_t element = size_of(c.dtype);
  std::vector<TensorDesc> descs;
  std::vector<std::vector<unsigned char>> storage;
  std::vector<const void*> host_pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (const auto& shape : c.shapes) {
    TensorDesc desc(c.dtype, shape);
    std::int64_t offset = 0;  // elements from the buffer start to element (0, ..., 0)
    if (c.exotic_strides && !shape.empty() && shape.back() > 1) {
      std::vector<std::int64_t> strides = desc.effective_strides();
      offset = (shape.back() - 1) * strides.back();
      strides.back() = -strides.back();
      desc = TensorDesc(c.dtype, shape, strides);
    }
    storage.push_back(
        random_tensor(c.dtype, std::max<std::int64_t>(desc.element_count(), 1), random));
    host_pointers.push_back(storage.back().data() + offset * element);
    reference_inputs.push_back({host_pointers.back(), c.dtype, desc.effective_strides()});
    descs.push_back(desc);
  }
  const detail::Problem problem = detail::parse(c.expression, c.shapes);
  const std::vector<std::int64_t> output_extents = problem.output_extents();
  std::vector<std::int64_t> output_strides;
  std::int64_t output_span = 1;
  for (std::size_t axis = output_extents.size(); axis-- > 0;) {
    const std::int64_t step = c.exotic_strides && axis + 1 == output_extents.size() ? 2 : 1;
    output_strides.insert(output_strides.begin(), output_span * step);
    output_span *= std::max<std::int64_t>(output_extents[axis], 1) * step;
  }
  const TensorDesc output_desc(c.dtype, output_extents, output_strides);

  Options options;
  options.backend = Backend::cuda;
  Plan plan(c.expression, descs, output_desc, options);
  const std::vector<unsigned char> initial = random_tensor(c.dtype, output_span, random);
  std::vector<unsigned char> actual = initial;
  std::vector<unsigned char> expected = initial;

  if (c.placement == Placement::host) {
    plan.execute(host_pointers, actual.data(), c.alpha, c.beta);
  } else {
    std::vector<std::unique_ptr<DeviceMemory>> device_inputs;
    std::vector<const void*> device_pointers;
    for (std::size_t index = 0; index < storage.size(); ++index) {
      device_inputs.push_back(std::make_unique<DeviceMemory>(storage[index].size()));
      device_inputs.back()->upload(storage[index]);
      const std::ptrdiff_t offset =
          static_cast<const unsigned char*>(host_pointers[index]) - storage[index].data();
      device_pointers.push_back(static_cast<unsigned char*>(device_inputs.back()->get()) + offset);
    }
    DeviceMemory device_output(actual.size());
    device_output.upload(actual);
    plan.execute(device_pointers, device_output.get(), c.alpha, c.beta);
    actual = device_output.download<unsigned char>(actual.size());
  }
  detail::reference_einsum(problem, reference_inputs, {expected.data(), c.dtype, output_strides},
                           c.alpha, c.beta);
  // Bytes outside the output view (the gaps) are as they were.
  if (c.exotic_strides) {
    for (std::int64_t index = 1; index < output_span; index += 2) {
      EXPECT_EQ(
          std::memcmp(actual.data() + index * element, initial.data() + index * element, element),
          0)
          << "gap element " << index << " was written";
    }
  }
  if (testing::is_half_type(c.dtype)) {
    std::vector<std::vector<std::int64_t>> input_strides;
    for (const TensorDesc& desc : descs) input_strides.push_back(desc.effective_strides());
    const double bound =
        testing::half_magnitude_bound(problem, c.shapes, c.dtype, host_pointers, input_strides,
                                      initial.data(), output_strides, c.alpha, c.beta);
    return testing::half_error(c.dtype, actual.data(), expected.data(), output_span, bound);
  }
  return relative_error(c.dtype, actual.data(), expected.data(), output_span);
}

const std::vector<DataType> kDtypes{DataType::f32, DataType::f64, DataType::c64, DataType::c128};

TEST(CudaBackend, RandomExpressionsMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  for (unsigned seed = 0; seed < 300; ++seed) {
    std::mt19937 random(seed);
    const testing::RandomProblem problem = testing::random_problem(random);
    Case c;
    c.expression = problem.expression;
    c.shapes = problem.shapes;
    c.dtype = kDtypes[seed % 4];
    const bool complex = is_complex(c.dtype);
    c.alpha = complex ? Scalar(0.5, -1.5) : Scalar(1.5);
    c.beta = seed % 3 == 0 ? Scalar(0.0) : (complex ? Scalar(0.25, 0.5) : Scalar(-0.5));
    c.placement = seed % 2 ? Placement::device : Placement::host;
    c.exotic_strides = seed % 5 == 1;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + c.expression + " " + to_string(c.dtype));
    EXPECT_LE(cuda_versus_reference(c, random), tolerance(c.dtype));
  }
}

// Sizes past launch-overhead scale, where every kernel variant and cuBLAS
// path (transposed operands, batches, row-major and column-major C) run.
// The reference loops over every index at once, so no case has more than
// about 10^8 index combinations (the chain's 60*70*24*30*40): at 1.2*10^9
// this test took 87 s on the H200 machine's host.
TEST(CudaBackend, LargerContractionsMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<Case> cases = {
      {"abcd,dbef->aecf", {{24, 16, 20, 12}, {12, 16, 18, 10}}},
      {"abc,bcd->ad", {{64, 40, 30}, {40, 30, 50}}},
      {"ij,jk,kl,lm->im", {{60, 70}, {70, 24}, {24, 30}, {30, 40}}},
      {"bij,bjk->bik", {{12, 33, 47}, {12, 47, 29}}},
      {"bij,bkj->bki", {{12, 33, 47}, {12, 29, 47}}},
      {"ij,ij->ij", {{300, 257}, {300, 257}}},
      {"i,j->ij", {{300}, {257}}},
      {"ijk->ki", {{64, 50, 70}}},
      {"ijk->", {{64, 50, 70}}},
      {"iij->j", {{30, 30, 17}}},
      {"abcdef->fdbeac", {{6, 5, 4, 7, 3, 5}}},
      {"ab,acd,ce,bfg,dfhi,ehj,gk,ikl,jl->",
       {{4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4, 4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4}}},
  };
  std::mt19937 random(11);
  // Two dtypes and both placements per case, rotating through all four
  // dtypes (the host reference dominates the time).
  for (std::size_t index = 0; index < cases.size(); ++index) {
    for (DataType dtype : {kDtypes[index % 4], kDtypes[(index + 1) % 4]}) {
      for (Placement placement : {Placement::host, Placement::device}) {
        Case c = cases[index];
        c.dtype = dtype;
        c.placement = placement;
        c.alpha = 0.75;
        c.beta = index % 2 ? Scalar(0.0) : Scalar(-1.25);
        c.exotic_strides = index % 3 == 0;
        SCOPED_TRACE(c.expression + " " + to_string(dtype) +
                     (placement == Placement::host ? " host" : " device"));
        // The nine-operand network's scalar sums 4^12 random terms: it cancels
        // to about 4^6 times below their magnitudes, and its rounding errors
        // do not (2.1e-12 seen in c128), so f64 and c128 get ten times the
        // usual 1e-12 there; f32 and c64's 1e-5 hold.
        const double scale = c.shapes.size() == 9 && tolerance(dtype) < 1e-6 ? 10.0 : 1.0;
        EXPECT_LE(cuda_versus_reference(c, random), scale * tolerance(dtype));
      }
    }
  }
}

// Tensors of many short modes, as tensor networks have (bond 2): permutes,
// reductions, products and GEMM operands whose layouts keep more axes after
// merging than the tuned kernels hold (16 for permutes, 12 for products, 12
// kept and 8 summed for reductions), against the reference. f32 from host
// memory and c128 from device memory, alpha and beta applied.
TEST(CudaBackend, TensorsOfManyShortModesMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  const auto bond2 = [](std::size_t modes) { return std::vector<std::int64_t>(modes, 2); };
  const auto interleave = [](const std::string& left, const std::string& right) {
    std::string modes;
    for (std::size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
      if (i < left.size()) modes += left[i];
      if (i < right.size()) modes += right[i];
    }
    return modes;
  };
  const std::string twenty = "abcdefghijklmnopqrst";
  const std::string reversed(twenty.rbegin(), twenty.rend());
  const std::string fourteen = twenty.substr(0, 14);
  // Kept (m), summed (k) and kept (n) modes interleaved in both operands: 17
  // axes each, none adjacent in the GEMM's order (2^25 index combinations).
  const std::string m = "abcdefgh", k = "ijklmnopz", n = "qrstuvwx";
  const std::vector<Case> cases = {
      {twenty + "->" + reversed, {bond2(20)}},
      {twenty + "->acegikmoqs", {bond2(20)}},
      {"acegikmoqs,bdfhjlnprt->" + twenty, {bond2(10), bond2(10)}},
      {fourteen + "," + std::string(fourteen.rbegin(), fourteen.rend()) + "->" + fourteen,
       {bond2(14), bond2(14)}},
      {interleave(m, k) + "," + interleave(k, n) + "->" + m + n, {bond2(17), bond2(17)}},
  };
  std::mt19937 random(12);
  for (const Case& base : cases) {
    for (const auto& [dtype, placement] : {std::pair{DataType::f32, Placement::host},
                                           std::pair{DataType::c128, Placement::device}}) {
      Case c = base;
      c.dtype = dtype;
      c.placement = placement;
      c.alpha = 0.75;
      c.beta = -0.5;
      SCOPED_TRACE(c.expression + " " + to_string(dtype));
      EXPECT_LE(cuda_versus_reference(c, random), tolerance(dtype));
    }
  }
}

// f16 and bf16 (the reference computes in double and rounds once; the
// backend stores each intermediate in the dtype, hence half_tolerance's
// rounding per store, against the magnitude bound): random expressions over every op kind, host and
// device operands, negative and padded strides, alpha and beta.
TEST(CudaBackend, HalfPrecisionRandomExpressionsMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  for (unsigned seed = 0; seed < 200; ++seed) {
    std::mt19937 random(seed);
    const testing::RandomProblem problem = testing::random_problem(random);
    Case c;
    c.expression = problem.expression;
    c.shapes = problem.shapes;
    c.dtype = seed % 2 ? DataType::bf16 : DataType::f16;
    c.alpha = 1.5;
    c.beta = seed % 3 == 0 ? Scalar(0.0) : Scalar(-0.5);
    c.placement = seed % 4 < 2 ? Placement::device : Placement::host;
    c.exotic_strides = seed % 5 == 1;
    // random_problem's extents are at most 3 over at most 8 labels: 3^8 terms.
    const double allowed = testing::half_tolerance(
        c.dtype, testing::half_stores(static_cast<int>(c.shapes.size())), 6561);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + c.expression + " " + to_string(c.dtype));
    EXPECT_LE(cuda_versus_reference(c, random), allowed);
  }
}

// The larger cases in both half types and placements: tensor-core GEMMs
// with transposed operands and batches, long reductions, tiled permutes of
// 2-byte elements, 8-element packets, and a nine-operand network.
TEST(CudaBackend, HalfPrecisionLargerContractionsMatchTheReference) {
  EINSTREAM_REQUIRE_GPU();
  struct Sized {
    Case c;
    std::int64_t summed_terms;  // the most terms an output element sums
  };
  const std::vector<Sized> cases = {
      {{"abcd,dbef->aecf", {{24, 16, 20, 12}, {12, 16, 18, 10}}}, 16 * 12},
      {{"abc,bcd->ad", {{64, 40, 30}, {40, 30, 50}}}, 40 * 30},
      {{"ij,jk,kl,lm->im", {{60, 70}, {70, 24}, {24, 30}, {30, 40}}}, 70 * 24 * 30},
      {{"bij,bjk->bik", {{12, 33, 47}, {12, 47, 29}}}, 47},
      {{"bij,bkj->bki", {{12, 33, 47}, {12, 29, 47}}}, 47},
      {{"ij,jk->ik", {{256, 512}, {512, 128}}}, 512},
      {{"ij,ij->ij", {{300, 257}, {300, 257}}}, 1},
      {{"i,j->ij", {{300}, {257}}}, 1},
      {{"ijk->ki", {{64, 50, 70}}}, 50},
      {{"ijk->", {{64, 50, 70}}}, 64 * 50 * 70},
      {{"iij->j", {{30, 30, 17}}}, 30},
      {{"abcdef->fdbeac", {{6, 5, 4, 7, 3, 5}}}, 1},
      {{"ab,acd,ce,bfg,dfhi,ehj,gk,ikl,jl->",
        {{4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4, 4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4}}},
       std::int64_t{1} << 24},
  };
  std::mt19937 random(12);
  for (std::size_t index = 0; index < cases.size(); ++index) {
    for (DataType dtype : {DataType::f16, DataType::bf16}) {
      for (Placement placement : {Placement::host, Placement::device}) {
        Case c = cases[index].c;
        c.dtype = dtype;
        c.placement = placement;
        c.alpha = 0.75;
        c.beta = index % 2 ? Scalar(0.0) : Scalar(-1.25);
        c.exotic_strides = index % 3 == 0;
        const double allowed =
            testing::half_tolerance(dtype, testing::half_stores(static_cast<int>(c.shapes.size())),
                                    cases[index].summed_terms);
        SCOPED_TRACE(c.expression + " " + to_string(dtype) +
                     (placement == Placement::host ? " host" : " device") + ", seed 12");
        EXPECT_LE(cuda_versus_reference(c, random), allowed);
      }
    }
  }
}

// The backend allocates exactly what the plan lays out, for every placement
// of the operands: with host operands what Plan::workspace_bytes() says
// (the arena, workspaces and each operand's span); with device operands,
// used in place, the arena and workspaces alone, and nothing crosses.
TEST(CudaBackend, AllocatesExactlyThePlansReportedMemory) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "ij,jk,kl->il";
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 48}, {48, 32}, {32, 16}};
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(DataType::f32, shape);
  Options options;
  options.backend = Backend::cuda;
  Plan plan(expression, descs, options);

  std::mt19937 random(3);
  std::vector<std::vector<unsigned char>> host;
  std::vector<const void*> host_pointers, device_pointers;
  std::vector<std::unique_ptr<DeviceMemory>> device;
  std::uint64_t spans = 0;
  for (const TensorDesc& desc : descs) {
    host.push_back(random_tensor(DataType::f32, desc.element_count(), random));
    host_pointers.push_back(host.back().data());
    device.push_back(std::make_unique<DeviceMemory>(host.back().size()));
    device.back()->upload(host.back());
    device_pointers.push_back(device.back()->get());
    spans += (host.back().size() + 255) / 256 * 256;
  }
  std::vector<float> out(64 * 16);
  spans += (out.size() * sizeof(float) + 255) / 256 * 256;
  DeviceMemory device_out(out.size() * sizeof(float));

  plan.execute(host_pointers, out.data());
  EXPECT_EQ(plan.last_report().device_bytes, plan.workspace_bytes());
  EXPECT_GE(plan.workspace_bytes(), spans);
  plan.execute(device_pointers, device_out.get());
  const ExecutionReport in_place = plan.last_report();
  EXPECT_EQ(in_place.device_bytes, plan.workspace_bytes() - spans);
  EXPECT_EQ(in_place.bytes_to_device, 0u);
  EXPECT_EQ(in_place.bytes_to_host, 0u);
  const std::vector<float> on_device = device_out.download<float>(out.size());
  for (std::size_t index = 0; index < out.size(); ++index) {
    ASSERT_NEAR(on_device[index], out[index], 1e-4f * (1.0f + std::fabs(out[index])));
  }

  // Device operands under a limit far below the GEMM library's workspace:
  // the workspace shrinks to what the limit leaves; the result is the same.
  Options tight = options;
  tight.memory_limit = MemoryLimit::from_bytes(std::uint64_t{64} << 10);
  Plan limited(expression, descs, tight);
  DeviceMemory limited_out(out.size() * sizeof(float));
  limited.execute(device_pointers, limited_out.get());
  EXPECT_LE(limited.last_report().device_bytes, std::uint64_t{64} << 10);
  const std::vector<float> again = limited_out.download<float>(out.size());
  for (std::size_t index = 0; index < out.size(); ++index) {
    ASSERT_NEAR(again[index], out[index], 1e-4f * (1.0f + std::fabs(out[index])));
  }
}

TEST(CudaBackend, ExecutorAccountingMatchesTheWorkspace) {
  EINSTREAM_REQUIRE_GPU();
  const std::string expression = "abc,bcd->ad";
  const std::vector<std::vector<std::int64_t>> shapes = {{40, 30, 20}, {30, 20, 50}};
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(DataType::f64, shape);
  Options options;
  options.backend = Backend::cuda;
  Plan plan(expression, descs, options);
  std::mt19937 random(5);
  std::vector<std::vector<unsigned char>> host;
  std::vector<const void*> pointers;
  for (const TensorDesc& desc : descs) {
    host.push_back(random_tensor(DataType::f64, desc.element_count(), random));
    pointers.push_back(host.back().data());
  }
  std::vector<double> out(40 * 50);
  // Two executions reuse one allocation, exactly the plan's workspace: the
  // arena, workspaces and the host operands' spans on the device.
  plan.execute(pointers, out.data());
  plan.execute(pointers, out.data());
  std::uint64_t spans = 0;
  for (const auto& bytes : host) spans += (bytes.size() + 255) / 256 * 256;
  spans += (out.size() * sizeof(double) + 255) / 256 * 256;
  EXPECT_EQ(plan.last_report().device_bytes, plan.workspace_bytes());
  EXPECT_GE(plan.workspace_bytes(), spans);
  Options exact_options = options;
  exact_options.memory_limit = MemoryLimit::from_bytes(plan.workspace_bytes());
  Plan fits(expression, descs, exact_options);
  EXPECT_NO_THROW(fits.execute(pointers, out.data()));
  EXPECT_EQ(fits.last_report().device_bytes, fits.workspace_bytes());
  EXPECT_LE(fits.workspace_bytes(), plan.workspace_bytes());
  // Under the least budget that runs it whole (the GEMM workspace shrinks
  // first) the plan slices it and streams the blocks instead, and still
  // allocates exactly its workspace.
  const testing::DeviceNeeds needs =
      testing::device_needs(expression, descs, plan.output(), options);
  ASSERT_LT(needs.least, needs.whole);
  exact_options.memory_limit = MemoryLimit::from_bytes(needs.whole - 1);
  Plan streams(expression, descs, exact_options);
  EXPECT_NE(streams.explain().find("blocks, loop order"), std::string::npos) << streams.explain();
  EXPECT_NO_THROW(streams.execute(pointers, out.data()));
  // The report counts the blocks and at least every input and output byte
  // once across the link (re-sent blocks add more).
  const ExecutionReport& report = streams.last_report();
  EXPECT_EQ(report.backend, Backend::cuda);
  EXPECT_GT(report.blocks, 1);
  std::uint64_t input_bytes = 0;
  for (const auto& bytes : host) input_bytes += bytes.size();
  EXPECT_GE(report.bytes_to_device, input_bytes);
  EXPECT_GE(report.bytes_to_host, out.size() * sizeof(double));
  EXPECT_GT(report.seconds, 0);
  EXPECT_EQ(report.device_bytes, streams.workspace_bytes());
  EXPECT_LT(report.device_bytes, plan.workspace_bytes());
}

TEST(CudaBackend, FailedCallsSurfaceAsCudaError) {
  EINSTREAM_REQUIRE_GPU();
  try {
    EINSTREAM_CUDA_CHECK(cudaSetDevice(1 << 20));
    ADD_FAILURE() << "expected CudaError";
  } catch (const CudaError& error) {
    EXPECT_NE(error.call().find("cudaSetDevice"), std::string::npos);
    EXPECT_NE(error.file().find("executor_test.cpp"), std::string::npos);
    EXPECT_GT(error.line(), 0);
  }
  // The failed call left its error as the runtime's last error; an
  // execution after it must not mistake it for its own.
  Options gpu;
  gpu.backend = Backend::cuda;
  Plan after("ij,j->i", {TensorDesc(DataType::f32, {2, 3}), TensorDesc(DataType::f32, {3})}, gpu);
  std::vector<float> matrix(6, 1.0f), vector(3, 2.0f), product(2);
  EXPECT_NO_THROW(after.execute({matrix.data(), vector.data()}, product.data()));
  EXPECT_EQ(product, (std::vector<float>{6.0f, 6.0f}));
  try {
    EINSTREAM_CUBLAS_CHECK(cublasSetStream(nullptr, nullptr));
    ADD_FAILURE() << "expected CudaError";
  } catch (const CudaError& error) {
    EXPECT_NE(error.call().find("cublasSetStream"), std::string::npos);
  }
  // A plan on a device that does not exist is refused with a clear Error.
  Options options;
  options.backend = Backend::cuda;
  options.device = 1 << 10;
  try {
    Plan plan("ij->ji", {TensorDesc(DataType::f32, {2, 3})}, options);
    ADD_FAILURE() << "expected Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("device 1024 does not exist"), std::string::npos)
        << error.what();
  }
}

TEST(CudaBackend, AutomaticBackendPicksTheGpu) {
  EINSTREAM_REQUIRE_GPU();
  Plan plan("ij,jk->ik", {TensorDesc(DataType::f32, {2, 3}), TensorDesc(DataType::f32, {3, 4})});
  EXPECT_EQ(plan.backend(), Backend::cuda);
}

}  // namespace
}  // namespace einstream
