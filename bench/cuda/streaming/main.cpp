// Out-of-core benchmark: einstream on problems whose operands live in host
// memory and exceed the device-memory limit, so they stream block by block.
//
//   einstream_streaming_bench bench/ooc.json --out results.json [--only a,b]
//       [--repeat 3] [--modes pageable,pinned,registered,device] [--trace-dir DIR]
//
// Each run first measures its own ceilings: pinned H2D and D2H bandwidth and
// pageable H2D bandwidth (1 GiB copies), and the cuBLAS GEMM rate (8192^3,
// pedantic math: no TF32). A problem's floor is the largest of input bytes
// at the pinned H2D rate, output bytes at the pinned D2H rate and the plan's
// FLOPs at the GEMM rate; the bench reports einstream's median time over it.
//
// Host memory modes: "pageable" (ordinary memory, every page touched),
// "pinned" (cudaMallocHost), "registered" (ordinary memory and
// Options::register_host_memory; the warm-up execution pays the
// registration); "device" (the operands and the output copied into device
// memory first, untimed: they are used in place, nothing crosses the link,
// and the floor is the GEMM term alone). Pageable, registered and device
// share one set of host buffers, filled once; the pinned set is allocated
// after they are freed, so a problem never holds two copies of its input.
//
// Correctness: output slices (the first output mode fixed at its first,
// middle and last index, and further output modes while the slice is costly)
// are recomputed in float64 by the host backend from the same inputs and
// compared norm-wise. Results go to --out after every mode, so a crash loses
// nothing already measured; a failing problem is recorded and the run goes on.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/cuda/streaming/arguments.hpp"
#include "bench/cuda/streaming/calibration.hpp"
#include "bench/cuda/streaming/host_memory.hpp"
#include "bench/cuda/streaming/json.hpp"
#include "bench/cuda/streaming/problem.hpp"
#include "bench/cuda/streaming/results.hpp"
#include "bench/cuda/streaming/run_problem.hpp"
#include "cuda/check.hpp"
#include "einstream/einstream.hpp"

namespace streaming_bench {
namespace {

// The problems of the file, only those of --only when it is given.
std::vector<OocProblem> selected_problems(const Arguments& arguments) {
  std::vector<OocProblem> problems = load_problems(arguments.problems_path);
  if (!arguments.only.empty()) {
    std::vector<std::string> known;
    for (const OocProblem& problem : problems) known.push_back(problem.name);
    for (const std::string& name : arguments.only) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        throw UsageError("--only: no problem named '" + name + "' (known: " + join(known, ", ") +
                         ")");
      }
    }
    problems.erase(std::remove_if(problems.begin(), problems.end(),
                                  [&](const OocProblem& problem) {
                                    return std::find(arguments.only.begin(), arguments.only.end(),
                                                     problem.name) == arguments.only.end();
                                  }),
                   problems.end());
  }
  return problems;
}

// The results document's header: the command, the start time, the device,
// the host and the settings.
Json start_document(const Arguments& arguments) {
  Json document;
  document["command"] = arguments.command_line;
  document["started"] = [] {
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
    return std::string(text);
  }();
  document["finished"] = false;
  document["einstream_version"] = einstream::version();
  document["device"] = device_json(arguments.device);
  document["host"] = {{"threads", std::thread::hardware_concurrency()},
                      {"available_bytes_at_start", available_host_bytes()}};
  document["settings"] = {{"repeat", arguments.repeat},
                          {"warmup", 1},
                          {"modes", arguments.modes},
                          {"problems_file", arguments.problems_path}};
  return document;
}

Calibration calibrate(int device, bool any_f64) {
  Calibration calibration;
  measure_link(device, calibration);
  measure_host_copy(calibration);
  measure_gemm(device, DataType::f32, calibration);
  if (any_f64) measure_gemm(device, DataType::f64, calibration);
  return calibration;
}

// Runs one problem into a new record of the document, which is written
// after; returns whether every mode ran and was correct.
bool run_and_record(const Context& context, const OocProblem& problem) {
  Json& document = context.document;
  bool all_good = true;
  document["problems"].push_back(describe(problem));
  Json& record = document["problems"].back();
  try {
    run_problem(context, problem, record);
  } catch (const std::exception& error) {
    record["failed"] = error.what();
    print_row(problem.name, "-", std::string("failed: ") + error.what());
  }
  const Json modes = record.value("modes", Json::object());
  for (const auto& [mode, entry] : modes.items()) {
    all_good = all_good && !entry.contains("failed") && entry.value("correct", false);
  }
  all_good = all_good && !record.contains("failed");
  write_document(context.document, context.arguments.out_path);
  return all_good;
}

int run(const Arguments& arguments) {
  const std::vector<OocProblem> problems = selected_problems(arguments);
  if (!arguments.trace_dir.empty()) std::filesystem::create_directories(arguments.trace_dir);
  const std::filesystem::path out_directory =
      std::filesystem::path(arguments.out_path).parent_path();
  if (!out_directory.empty()) std::filesystem::create_directories(out_directory);

  // The GPU from here on.
  int device_count = 0;
  const cudaError_t status = cudaGetDeviceCount(&device_count);
  if (status != cudaSuccess || device_count == 0) {
    std::fprintf(stderr, "einstream_streaming_bench: no CUDA device is visible (%s)\n",
                 status != cudaSuccess ? cudaGetErrorString(status) : "0 devices");
    return 1;
  }
  if (arguments.device < 0 || arguments.device >= device_count) {
    throw UsageError("--device " + std::to_string(arguments.device) + ": there are " +
                     std::to_string(device_count) + " devices");
  }
  EINSTREAM_CUDA_CHECK(cudaSetDevice(arguments.device));

  Json document = start_document(arguments);
  std::printf("einstream_streaming_bench on %s: %zu problems, modes %s, median of %d\n",
              document["device"]["name"].get<std::string>().c_str(), problems.size(),
              join(arguments.modes, ",").c_str(), arguments.repeat);
  std::fflush(stdout);

  bool any_f64 = false;
  for (const OocProblem& problem : problems) any_f64 = any_f64 || problem.dtype == DataType::f64;
  const Calibration calibration = calibrate(arguments.device, any_f64);
  document["calibration"] = calibration_json(calibration, arguments.devices);
  print_calibration(calibration, any_f64);

  document["problems"] = Json::array();
  const Context context{arguments, calibration, document};
  write_document(context.document, context.arguments.out_path);
  bool all_good = true;
  for (const OocProblem& problem : problems) {
    all_good = run_and_record(context, problem) && all_good;
  }
  document["finished"] = true;
  write_document(context.document, context.arguments.out_path);
  std::printf("\nwrote %s%s\n", arguments.out_path.c_str(),
              all_good ? "" : " (some problems failed or were wrong: see above)");
  return all_good ? 0 : 1;
}

}  // namespace
}  // namespace streaming_bench

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // stdout is piped on the GPU machine
  try {
    return streaming_bench::run(streaming_bench::parse_arguments(argc, argv));
  } catch (const streaming_bench::UsageError& error) {
    std::fprintf(stderr, "einstream_streaming_bench: %s\n%s", error.what(),
                 streaming_bench::kUsage);
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "einstream_streaming_bench: %s\n", error.what());
    return 1;
  }
}
