// einstream demo: the old tool's headline example
//   jrl,ijr,ijrk,ijrl,ikmn->imn
// on random float32 data, checked against the reference executor on a slice
// of the output. On a GPU it runs at full size (12.5 GB of input) under a
// 2 GiB device-memory limit, so the problem streams; on the host backend
// every extent above 16 is divided by --scale (default 8) so it runs in
// seconds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "planner/parse.hpp"
#include "src/cli/commands.hpp"
#include "src/cuda_executor.hpp"
#include "src/reference.hpp"
#include "src/staging/thread_pool.hpp"

namespace einstream::cli {

namespace {

constexpr const char* kExpression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
const std::vector<std::string> kTerms = {"jrl", "ijr", "ijrk", "ijrl", "ikmn"};
const std::vector<std::vector<std::int64_t>> kFullShapes = {
    {1000, 3, 1024}, {500, 1000, 3}, {500, 1000, 3, 1024}, {500, 1000, 3, 1024}, {500, 1024, 9, 9}};
// Extents at or below this are structural (r, m, n) and never scaled.
constexpr std::int64_t kSmallestScaledExtent = 17;

struct DemoFlags {
  PlanFlags plan;
  double scale = 0;  // 0: 1 on the CUDA backend, 8 on the host
  unsigned seed = 2026;
  std::string trace;  // empty: no trace
};

// The default device budget of the demo: far under the input, so it streams.
constexpr const char* kDemoMemoryLimit = "2GiB";

// Uniform [-1, 1) floats from a counter-based hash, filled by the pool: the
// full demo's 3.1e9 inputs in about a second rather than a minute.
void fill_random(std::vector<float>& values, std::uint64_t seed, detail::ThreadPool& pool) {
  pool.parallel_for(
      static_cast<std::int64_t>(values.size()), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t index = begin; index < end; ++index) {
          std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(index);
          z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
          z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
          z ^= z >> 31;
          values[static_cast<std::size_t>(index)] =
              static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0);
        }
      });
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The output slice checked against the reference: every n of output row
// (i = 0, m = 0); the reference visits j*r*k*l products per element.
struct Restriction {
  char label;
  std::int64_t count;
};
const std::vector<Restriction> kCheckedSlice = {{'i', 1}, {'m', 1}};
// At full size one output element is 3e9 products for the reference: check
// a single one (n = 0 too).
const std::vector<Restriction> kCheckedElement = {{'i', 1}, {'m', 1}, {'n', 1}};

void run_demo(const DemoFlags& given) {
  DemoFlags flags = given;
  const bool on_gpu = flags.plan.backend == "cuda" ||
                      (flags.plan.backend == "auto" && detail::cuda_backend_available());
  if (on_gpu && !flags.plan.memory_limit) flags.plan.memory_limit = kDemoMemoryLimit;
  if (flags.scale == 0) flags.scale = on_gpu ? 1 : 8;
  Options options = flags.plan.options();
  options.profile = !flags.trace.empty();
  if (!(flags.scale >= 1.0))
    throw Error("--scale must be at least 1, got " + std::to_string(flags.scale));
  std::optional<TraceFile> trace;
  if (!flags.trace.empty()) trace.emplace(flags.trace);

  std::vector<std::vector<std::int64_t>> shapes = kFullShapes;
  for (auto& shape : shapes) {
    for (auto& extent : shape) {
      if (extent >= kSmallestScaledExtent) {
        extent = std::max<std::int64_t>(1, std::llround(static_cast<double>(extent) / flags.scale));
      }
    }
  }
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(DataType::f32, shape);

  std::printf("einstream demo: %s, float32, extents above 16 divided by %g\n", kExpression,
              flags.scale);
  const auto plan_start = std::chrono::steady_clock::now();
  Plan plan(kExpression, descs, options);
  const double plan_seconds = seconds_since(plan_start);
  std::cout << plan.explain() << std::flush;

  detail::ThreadPool pool(0);
  std::vector<std::vector<float>> inputs;
  double input_bytes = 0;
  for (std::size_t operand = 0; operand < descs.size(); ++operand) {
    std::vector<float> values(static_cast<std::size_t>(descs[operand].element_count()));
    fill_random(values, flags.seed * 16 + operand, pool);
    input_bytes += static_cast<double>(values.size()) * sizeof(float);
    inputs.push_back(std::move(values));
  }
  std::vector<const void*> pointers;
  for (const auto& values : inputs) pointers.push_back(values.data());
  std::vector<float> output(static_cast<std::size_t>(plan.output().element_count()));

  const auto execute_start = std::chrono::steady_clock::now();
  plan.execute(pointers, output.data());
  const double execute_seconds = seconds_since(execute_start);
  // A second execution: the first pays one-time costs (allocations, pinned
  // staging, cuBLAS and kernel loading).
  const auto again_start = std::chrono::steady_clock::now();
  plan.execute(pointers, output.data());
  const double again_seconds = seconds_since(again_start);
  std::printf(
      "input %.3g GB, planned in %.3f ms, executed in %.3f s, again in %.3f s on the %s backend "
      "(%.2f GFLOP/s, %.1f GB/s of input)\n",
      input_bytes / 1e9, plan_seconds * 1e3, execute_seconds, again_seconds,
      to_string(plan.backend()), plan.path().flops / again_seconds / 1e9,
      input_bytes / again_seconds / 1e9);
  std::cout << to_string(plan.last_report()) << std::flush;
  // The trace is of the second execution, the one timed above, and is written
  // before the check so that a failing check still leaves it.
  if (trace) {
    trace->write(plan.last_report());
    std::printf("timeline of the second execution (%zu spans) written to %s\n",
                plan.last_report().timeline.size(), flags.trace.c_str());
  }

  // Reference on the slice: the same operands with i and m cut to their first
  // index (pointers unchanged, extents shortened, strides kept).
  std::vector<std::vector<std::int64_t>> slice_shapes = shapes;
  for (std::size_t operand = 0; operand < kTerms.size(); ++operand) {
    for (std::size_t axis = 0; axis < kTerms[operand].size(); ++axis) {
      for (const Restriction& restriction : flags.scale < 4 ? kCheckedElement : kCheckedSlice) {
        if (kTerms[operand][axis] == restriction.label) {
          slice_shapes[operand][axis] = std::min(slice_shapes[operand][axis], restriction.count);
        }
      }
    }
  }
  const detail::Problem slice = detail::parse(kExpression, slice_shapes);
  std::vector<detail::ReferenceInput> slice_inputs;
  for (std::size_t operand = 0; operand < descs.size(); ++operand) {
    slice_inputs.push_back({pointers[operand], DataType::f32, descs[operand].effective_strides()});
  }
  const std::vector<std::int64_t> slice_extents = slice.output_extents();
  std::vector<double> expected(
      static_cast<std::size_t>(TensorDesc(DataType::f64, slice_extents).element_count()));
  const auto check_start = std::chrono::steady_clock::now();
  detail::reference_einsum(slice, slice_inputs,
                           {expected.data(), DataType::f64, c_order_strides(slice_extents)});
  const double check_seconds = seconds_since(check_start);

  // Output element (0, 0, n) of imn sits at offset n.
  double largest_error = 0;
  double largest_value = 0;
  for (std::size_t n = 0; n < expected.size(); ++n) {
    largest_error = std::max(largest_error, std::abs(expected[n] - static_cast<double>(output[n])));
    largest_value = std::max(largest_value, std::abs(expected[n]));
  }
  const double relative_error = largest_value > 0 ? largest_error / largest_value : largest_error;
  constexpr double kTolerance = 1e-4;  // float32 output of sums accumulated in double
  const bool passed = relative_error <= kTolerance && !expected.empty();
  std::printf(
      "check against the reference on %zu output elements (i=0, m=0): max relative error %.2e (%s, "
      "%.2f s)\n",
      expected.size(), relative_error, passed ? "OK" : "FAILED", check_seconds);
  if (!passed) {
    std::fprintf(stderr,
                 "einstream: demo result differs from the reference (relative error %.2e > %.0e)\n",
                 relative_error, kTolerance);
    throw CommandFailed{1};
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* command = app.add_subcommand(
      "demo", "Run the headline example jrl,ijr,ijrk,ijrl,ikmn->imn on random float32 data");
  flags->plan.add_to(*command, true);
  command->add_option("--scale", flags->scale,
                      "divide every extent above 16 by this factor (>= 1; default 1 on a GPU, "
                      "8 on the host)");
  command->add_option("--seed", flags->seed, "random seed for the input data")
      ->capture_default_str();
  command
      ->add_option("--trace", flags->trace,
                   "write the timed (second) execution's timeline to FILE.json as a Chrome trace, "
                   "for Perfetto or chrome://tracing")
      ->type_name("FILE.json");
  command->callback([flags] { run_guarded([&] { run_demo(*flags); }); });
}

}  // namespace einstream::cli
