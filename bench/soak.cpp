// Soak: random Plans created, executed and destroyed in one process for a
// given time, each result checked against the reference executor, while the
// device memory in use (cudaMemGetInfo) and the process's resident and
// locked host memory (/proc/self/status) are watched for growth.
//
// The problems are the differential tests' (tests/support/differential.hpp:
// the whole notation, every stride layout, alpha/beta, all four dtypes), one
// seed each. On the CUDA backend each problem's operands lie in host memory
// (sometimes registered with Options::register_host_memory), in device
// memory, or mixed; a budgeted problem on host operands gets a memory limit
// between the least any sliced plan needs and the whole problem's need, so it
// streams; a Plan is executed one to three times. On the host backend the
// problems keep their 4-64 KiB budgets.
//
// Memory is sampled every second; the baseline is the sample at the end of
// the warm-up (the first tenth of the run, when caches, kernels and pools
// settle), and growth is measured against it. Two summary lines at the end
// (runs, memory); a wrong result prints its reproduction, as does a CUDA
// refusal (a limit at or above the least need a MemoryError named must
// plan). Exit status 1 when a result is wrong or memory grew past the
// limits.
//
//   einstream_soak [--minutes M | --seconds S] [--backend auto|host|cuda] [--seed N]
//                  [--device-growth-mib N] [--rss-growth-mib N]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/device_memory.hpp"
#include "src/devices.hpp"
#include "tests/support/differential.hpp"

namespace einstream {
namespace {

using testing::DifferentialProblem;
using testing::StridedBuffer;
using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;

struct Settings {
  double seconds = 60;
  Backend backend = Backend::automatic;
  std::uint32_t first_seed = 1;
  double device_growth_mib = 64;
  double rss_growth_mib = 256;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "einstream_soak: %s\nusage: einstream_soak [--minutes M | --seconds S] "
               "[--backend auto|host|cuda] [--seed N] [--device-growth-mib N] "
               "[--rss-growth-mib N]\n",
               problem.c_str());
  std::exit(2);
}

double number_argument(const std::string& flag, const char* text) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= 0)) {
    usage(flag + " takes a non-negative number, got '" + text + "'");
  }
  return value;
}

Settings parse_settings(int argc, char** argv) {
  Settings settings;
  for (int index = 1; index < argc; ++index) {
    const std::string flag = argv[index];
    if (index + 1 >= argc) usage(flag + " needs a value");
    const char* value = argv[++index];
    if (flag == "--minutes") {
      settings.seconds = 60 * number_argument(flag, value);
    } else if (flag == "--seconds") {
      settings.seconds = number_argument(flag, value);
    } else if (flag == "--backend") {
      try {
        settings.backend = backend_from_string(value);
      } catch (const Error& error) {
        usage(error.what());
      }
    } else if (flag == "--seed") {
      settings.first_seed = static_cast<std::uint32_t>(number_argument(flag, value));
    } else if (flag == "--device-growth-mib") {
      settings.device_growth_mib = number_argument(flag, value);
    } else if (flag == "--rss-growth-mib") {
      settings.rss_growth_mib = number_argument(flag, value);
    } else {
      usage("unknown argument '" + flag + "'");
    }
  }
  return settings;
}

// Memory in use at one moment, in bytes.
struct MemorySample {
  double device = 0;  // device 0: total - free (all processes'; the GPU machine runs only this)
  double rss = 0;     // VmRSS
  double locked = 0;  // VmLck + VmPin (cudaMallocHost memory shows in RSS, not here)
};

double status_field_bytes(const std::string& status, const std::string& field) {
  const std::size_t at = status.find(field + ":");
  if (at == std::string::npos) return 0;
  std::istringstream value(status.substr(at + field.size() + 1));
  double kib = 0;
  value >> kib;
  return kib * 1024;
}

MemorySample sample_memory(bool cuda) {
  MemorySample sample;
  std::ifstream file("/proc/self/status");
  const std::string status((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  sample.rss = status_field_bytes(status, "VmRSS");
  sample.locked = status_field_bytes(status, "VmLck") + status_field_bytes(status, "VmPin");
  if (cuda) {
    const detail::DeviceInfo device = detail::list_devices().at(0);
    sample.device = static_cast<double>(device.total_memory - device.free_memory);
  }
  return sample;
}

// Where one soak run's operands lie and how often its Plan runs.
struct Run {
  DifferentialProblem problem;
  std::vector<bool> on_device;  // per input, then the output
  int executions = 1;
};

Run draw_run(std::uint32_t seed, Backend backend) {
  Run run;
  const DataType dtype = testing::kDifferentialDataTypes[seed % 4];
  run.problem = testing::draw_problem(seed, dtype);
  std::mt19937 random(seed ^ 0x50A6u);
  run.executions = 1 + static_cast<int>(random() % 3);
  const std::size_t operands = run.problem.inputs.size() + 1;
  run.on_device.assign(operands, false);
  if (backend == Backend::host) return run;

  DifferentialProblem& problem = run.problem;
  problem.options.backend = Backend::cuda;
  problem.options.memory_limit = MemoryLimit();
  const unsigned layout = random() % 4;
  for (std::size_t operand = 0; operand < operands; ++operand) {
    run.on_device[operand] = layout == 1 || (layout == 2 && random() % 2 == 0);
  }
  const bool on_host =
      std::none_of(run.on_device.begin(), run.on_device.end(), [](bool device) { return device; });
  problem.options.register_host_memory = on_host && random() % 4 == 0;
  bool budgeted = false;
  if (problem.budgeted && on_host) {
    const auto [whole, least] =
        testing::device_needs(problem.expression, problem.inputs, problem.output, problem.options);
    if (least > 0 && least < whole) {
      problem.options.memory_limit = MemoryLimit::from_bytes(least + random() % (whole - least));
      budgeted = true;
    }
  }
  problem.budgeted = budgeted;
  return run;
}

// Executes the run's Plan `executions` times (the output restored before
// each) with device operands as copies of the host buffers; a device output
// is copied back over `output`.
std::int64_t execute_run(const Run& run, const DifferentialProblem& problem,
                         std::vector<StridedBuffer>& inputs, StridedBuffer& output) {
  std::vector<std::unique_ptr<detail::DeviceAllocation>> copies;
  auto place = [&](bool on_device, StridedBuffer& buffer) -> unsigned char* {
    if (!on_device) return buffer.at_origin();
    copies.push_back(
        std::make_unique<detail::DeviceAllocation>(buffer.bytes.size(), problem.options.device));
    copies.back()->copy_from_host(buffer.bytes.data(), buffer.bytes.size());
    return static_cast<unsigned char*>(copies.back()->get()) +
           buffer.origin * static_cast<std::int64_t>(size_of(buffer.dtype));
  };
  std::vector<const void*> pointers;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    pointers.push_back(place(run.on_device[operand], inputs[operand]));
  }
  const bool output_on_device = run.on_device.back();
  const std::vector<unsigned char> initial_output = output.bytes;
  unsigned char* output_pointer = place(output_on_device, output);
  Plan plan(problem.expression, problem.inputs, problem.output, problem.options);
  for (int execution = 0; execution < run.executions; ++execution) {
    if (output_on_device) {
      copies.back()->copy_from_host(initial_output.data(), initial_output.size());
    } else {
      output.bytes = initial_output;
    }
    plan.execute(pointers, output_pointer, problem.alpha, problem.beta);
  }
  if (output_on_device) copies.back()->copy_to_host(output.bytes.data(), output.bytes.size());
  return plan.last_report().blocks;
}

struct Growth {
  double peak = 0;
  double end = 0;
  void add(double now, double baseline, bool last) {
    peak = std::max(peak, now - baseline);
    if (last) end = now - baseline;
  }
};

int soak(const Settings& settings) {
  const bool gpu = !detail::list_devices().empty();
  Backend backend = settings.backend;
  if (backend == Backend::automatic) backend = gpu ? Backend::cuda : Backend::host;
  if (backend == Backend::cuda && !gpu) {
    std::fprintf(stderr, "einstream_soak: --backend cuda, but no CUDA device is visible\n");
    return 2;
  }
  const bool cuda = backend == Backend::cuda;
  const std::string device_name = cuda ? detail::list_devices().at(0).name : "host";

  const Clock::time_point start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const double warm_up = settings.seconds / 10;
  MemorySample first = sample_memory(cuda);
  MemorySample baseline = first;
  bool warm = false;
  Growth device_growth, rss_growth, locked_growth;
  double next_sample = 1;
  std::int64_t runs = 0, executions = 0, failures = 0, refused = 0, sliced = 0, streamed = 0,
               with_device = 0, registered = 0;
  std::int64_t runs_of[4] = {0, 0, 0, 0};
  std::uint32_t seed = settings.first_seed;
  for (;; ++seed) {
    const Run run = draw_run(seed, backend);
    ++runs;
    const testing::Outcome outcome = testing::run_problem(
        run.problem,
        [&](const DifferentialProblem& problem, std::vector<StridedBuffer>& inputs,
            StridedBuffer& output) { return execute_run(run, problem, inputs, output); });
    ++runs_of[seed % 4];
    executions += run.executions;
    if (outcome.refused && ++refused <= 5 && cuda) {
      // A limit at or above the least need a MemoryError named was refused.
      std::printf("refused: %s\n", testing::reproduction(run.problem).c_str());
    }
    sliced += outcome.sliced;
    streamed += run.problem.budgeted;
    with_device += std::count(run.on_device.begin(), run.on_device.end(), true) > 0;
    registered += run.problem.options.register_host_memory;
    if (!outcome.failure.empty()) {
      if (++failures <= 20) {
        std::string where = ", operands on";
        for (const bool device : run.on_device) where += device ? " device" : " host";
        std::printf("FAILED: %s\n  reproduce: %s, %d executions\n", outcome.failure.c_str(),
                    testing::reproduction(run.problem, where).c_str(), run.executions);
      }
    }
    const double now = elapsed();
    const bool last = now >= settings.seconds;
    if (now >= next_sample || last) {
      next_sample = now + 1;
      const MemorySample sample = sample_memory(cuda);
      if (!warm && (now >= warm_up || last)) {
        warm = true;
        baseline = sample;
      }
      if (warm) {
        device_growth.add(sample.device, baseline.device, last);
        rss_growth.add(sample.rss, baseline.rss, last);
        locked_growth.add(sample.locked, baseline.locked, last);
      }
    }
    if (last) break;
  }
  const double seconds = elapsed();
  const bool device_ok = device_growth.end <= settings.device_growth_mib * kMiB;
  const bool rss_ok = rss_growth.end <= settings.rss_growth_mib * kMiB;
  std::printf(
      "soak: %s on %s, %.0f s, seeds %u-%u: %lld runs (f32 %lld, f64 %lld, c64 %lld, c128 %lld), "
      "%lld executions, %lld failures; %lld with a budget (%lld ran sliced, %lld refused), %lld "
      "with device operands, %lld registering host memory\n",
      to_string(backend), device_name.c_str(), seconds, settings.first_seed, seed,
      static_cast<long long>(runs), static_cast<long long>(runs_of[0]),
      static_cast<long long>(runs_of[1]), static_cast<long long>(runs_of[2]),
      static_cast<long long>(runs_of[3]), static_cast<long long>(executions),
      static_cast<long long>(failures), static_cast<long long>(streamed),
      static_cast<long long>(sliced), static_cast<long long>(refused),
      static_cast<long long>(with_device), static_cast<long long>(registered));
  std::printf(
      "soak memory (MiB at start, after the %.1f s warm-up, then growth beyond that: peak / at "
      "the end): device in use %.1f, %.1f, +%.1f / %+.1f%s; host RSS %.1f, %.1f, +%.1f / "
      "%+.1f%s; locked host %.1f, %.1f, +%.1f / %+.1f\n",
      warm_up, first.device / kMiB, baseline.device / kMiB, device_growth.peak / kMiB,
      device_growth.end / kMiB, device_ok ? "" : " (OVER THE LIMIT)", first.rss / kMiB,
      baseline.rss / kMiB, rss_growth.peak / kMiB, rss_growth.end / kMiB,
      rss_ok ? "" : " (OVER THE LIMIT)", first.locked / kMiB, baseline.locked / kMiB,
      locked_growth.peak / kMiB, locked_growth.end / kMiB);
  return failures == 0 && device_ok && rss_ok ? 0 : 1;
}

}  // namespace
}  // namespace einstream

int main(int argc, char** argv) {
  try {
    return einstream::soak(einstream::parse_settings(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "einstream_soak: %s\n", error.what());
    return 1;
  }
}
