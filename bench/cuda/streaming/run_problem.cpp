#include "bench/cuda/streaming/run_problem.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/cuda/streaming/host_memory.hpp"
#include "bench/cuda/streaming/reference.hpp"
#include "bench/cuda/streaming/results.hpp"
#include "bench/cuda/streaming/timing.hpp"
#include "einstream/einstream.hpp"
#include "src/device_memory.hpp"

namespace streaming_bench {
namespace {

using einstream::Backend;
using einstream::Error;
using einstream::ExecutionReport;
using einstream::Options;
using einstream::Plan;

struct Floor {
  double h2d_seconds = 0;
  double d2h_seconds = 0;
  double gemm_seconds = 0;
  double seconds() const { return std::max({h2d_seconds, d2h_seconds, gemm_seconds}); }
  const char* term() const {
    if (gemm_seconds >= h2d_seconds && gemm_seconds >= d2h_seconds) return "GEMM";
    return h2d_seconds >= d2h_seconds ? "H2D" : "D2H";
  }
};

std::string sanitize(const std::string& name) {
  std::string text = name;
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return text;
}

Options cuda_options(const Context& context, const OocProblem& problem) {
  Options options;
  options.backend = Backend::cuda;
  options.device = context.arguments.device;
  if (context.arguments.devices.size() > 1) options.devices = context.arguments.devices;
  options.memory_limit = einstream::MemoryLimit::parse(problem.memory_limit);
  return options;
}

// Device mode: copies in device memory, which the plan uses in place;
// `inputs` and `output` are pointed at them.
std::vector<std::unique_ptr<einstream::detail::DeviceAllocation>> copy_to_device(
    const Context& context, const OocProblem& problem, std::vector<const void*>& inputs,
    void*& output) {
  std::vector<std::unique_ptr<einstream::detail::DeviceAllocation>> on_device;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    const auto bytes = static_cast<std::size_t>(problem.input_elements(operand)) *
                       einstream::size_of(problem.dtype);
    on_device.push_back(
        std::make_unique<einstream::detail::DeviceAllocation>(bytes, context.arguments.device));
    on_device.back()->copy_from_host(inputs[operand], bytes);
    inputs[operand] = on_device.back()->get();
  }
  on_device.push_back(std::make_unique<einstream::detail::DeviceAllocation>(
      static_cast<std::size_t>(problem.output_bytes()), context.arguments.device));
  output = on_device.back()->get();
  return on_device;
}

// Checks `output` against the float64 reference slices (computed on first
// use, from `inputs`) into `entry`; returns the table's check column.
std::string check_output(const OocProblem& problem, const std::vector<const void*>& inputs,
                         const void* output, std::optional<Reference>& reference,
                         Json& problem_record, Json& entry) {
  std::string check;
  try {
    if (!reference) {
      reference = compute_reference(problem, inputs);
      problem_record["check"] = {
          {"fixed_modes", reference->fixed_modes},
          {"slices", reference->slices.size()},
          {"reference_flops_per_slice", reference->flops_per_slice},
          {"reference_seconds", reference->seconds},
      };
    }
    const double error = relative_error(problem, *reference, output);
    const double tolerance = error_tolerance(problem);
    const bool correct = error <= tolerance;
    entry["rel_error"] = error;
    entry["tolerance"] = tolerance;
    entry["correct"] = correct;
    char text[64];
    std::snprintf(text, sizeof text, "%.1e %s", error, correct ? "ok" : "WRONG");
    check = text;
  } catch (const std::exception& error) {
    entry["correct"] = false;
    entry["check_failed"] = error.what();
    check = std::string("check failed: ") + error.what();
  }
  return check;
}

// One execution of a fresh profiled plan, written as a Chrome trace into
// --trace-dir; a failure is recorded, not thrown.
void write_trace(const Context& context, const OocProblem& problem, const Options& options,
                 const std::vector<const void*>& inputs, void* output, Json& problem_record) {
  try {
    Options traced_options = options;
    traced_options.profile = true;
    Plan traced(problem.expression, problem.descs(), traced_options);
    const auto start = std::chrono::steady_clock::now();
    traced.execute(inputs, output);
    const double traced_seconds = seconds_since(start);
    const std::string path =
        (std::filesystem::path(context.arguments.trace_dir) / (sanitize(problem.name) + ".json"))
            .string();
    std::ofstream file(path);
    file << einstream::to_chrome_trace(traced.last_report());
    if (!file) throw Error("cannot write '" + path + "'");
    problem_record["trace"] = {{"path", path},
                               {"seconds", traced_seconds},
                               {"spans", traced.last_report().timeline.size()},
                               {"note", "one execution of a fresh profiled plan, pinned"}};
  } catch (const std::exception& error) {
    problem_record["trace"] = {{"failed", error.what()}};
  }
}

// One host memory mode of one problem: a fresh Plan, a warm-up execution,
// --repeat timed ones, the check, and (pinned, with --trace-dir) a trace.
Json run_mode(const Context& context, const OocProblem& problem, const std::string& mode,
              const Floor& floor, const ProblemBuffers& buffers,
              std::optional<Reference>& reference, Json& problem_record) {
  Json entry;
  Options options = cuda_options(context, problem);
  options.register_host_memory = mode == "registered";
  std::vector<const void*> inputs = buffers.input_pointers();
  void* output = buffers.output->get();
  std::vector<std::unique_ptr<einstream::detail::DeviceAllocation>> on_device;
  const bool device_mode = mode == "device";
  if (device_mode) on_device = copy_to_device(context, problem, inputs, output);
  const double floor_seconds = device_mode ? floor.gemm_seconds : floor.seconds();
  const char* floor_term = device_mode ? "GEMM" : floor.term();

  std::vector<double> seconds;
  std::vector<ExecutionReport> reports;
  {
    Plan plan(problem.expression, problem.descs(), options);
    auto start = std::chrono::steady_clock::now();
    plan.execute(inputs, output);
    entry["warmup_seconds"] = seconds_since(start);
    for (int run = 0; run < context.arguments.repeat; ++run) {
      start = std::chrono::steady_clock::now();
      plan.execute(inputs, output);
      seconds.push_back(seconds_since(start));
      reports.push_back(plan.last_report());
      reports.back().timeline.clear();
    }
  }  // a registered plan unregisters the buffers here, before they are freed
  if (device_mode) {
    on_device.back()->copy_to_host(buffers.output->get(),
                                   static_cast<std::size_t>(problem.output_bytes()));
    output = buffers.output->get();
    inputs = buffers.input_pointers();
    on_device.clear();
  }

  std::vector<std::size_t> order(seconds.size());
  for (std::size_t index = 0; index < order.size(); ++index) order[index] = index;
  std::sort(order.begin(), order.end(),
            [&](std::size_t left, std::size_t right) { return seconds[left] < seconds[right]; });
  const ExecutionReport& report = reports[order[(order.size() - 1) / 2]];
  const double median_seconds = median(seconds);
  const double link_bytes = static_cast<double>(report.bytes_to_device + report.bytes_to_host);
  entry["median_seconds"] = median_seconds;
  entry["min_seconds"] = *std::min_element(seconds.begin(), seconds.end());
  entry["times_seconds"] = seconds;
  entry["ratio_to_floor"] = median_seconds / floor_seconds;
  entry["floor_seconds"] = floor_seconds;
  entry["link_GBps"] = link_bytes / median_seconds / 1e9;
  entry["problem_GBps"] = (problem.input_bytes() + problem.output_bytes()) / median_seconds / 1e9;
  entry["TFLOPps"] = problem_record["flops"].get<double>() / median_seconds / 1e12;
  entry["report"] = report_json(report);

  const std::string check = check_output(problem, inputs, output, reference, problem_record, entry);

  // Of the bytes crossing the link, those DMA'd straight from the caller's
  // page-locked memory (registration can fall back to staging silently).
  const double crossed = static_cast<double>(report.bytes_direct + report.bytes_staged);
  const double direct = crossed > 0 ? static_cast<double>(report.bytes_direct) / crossed : 0;
  char row[256];
  std::snprintf(
      row, sizeof row, "%10.4f %10.4f (%-4s) %7.3fx %7lld %8.2f %10.1f %7.0f%% %6.0f%% %10.3f  %s",
      median_seconds, floor_seconds, floor_term, median_seconds / floor_seconds,
      static_cast<long long>(report.blocks), static_cast<double>(report.bytes_to_device) / 1e9,
      link_bytes / median_seconds / 1e9, report.overlap * 100, direct * 100, report.staging_seconds,
      check.c_str());
  print_row(problem.name, mode, row);

  if (mode == "pinned" && !context.arguments.trace_dir.empty()) {
    write_trace(context, problem, options, inputs, output, problem_record);
  }
  return entry;
}

// Plans `problem` once (printing its explain table, recording its FLOPs and
// path) and returns its floor under the calibration, recorded and printed.
Floor record_plan_and_floor(const Context& context, const OocProblem& problem, Json& record) {
  double flops = 0;
  {
    Plan plan(problem.expression, problem.descs(), cuda_options(context, problem));
    std::cout << plan.explain() << std::flush;
    flops = plan.path().flops;
    record["flops"] = flops;
    record["path"] = plan.path().path;
    record["workspace_bytes"] = plan.workspace_bytes();
  }
  Floor floor;
  floor.h2d_seconds = problem.input_bytes() / context.calibration.h2d_pinned;
  floor.d2h_seconds = problem.output_bytes() / context.calibration.d2h_pinned;
  floor.gemm_seconds = flops / context.calibration.gemm_rate.at(problem.dtype);
  record["floor"] = {{"seconds", floor.seconds()},
                     {"term", floor.term()},
                     {"h2d_seconds", floor.h2d_seconds},
                     {"d2h_seconds", floor.d2h_seconds},
                     {"gemm_seconds", floor.gemm_seconds}};
  std::printf("floor %.4f s, set by %s (H2D %.4f s, D2H %.4f s, GEMM %.4f s)\n", floor.seconds(),
              floor.term(), floor.h2d_seconds, floor.d2h_seconds, floor.gemm_seconds);
  return floor;
}

}  // namespace

void run_problem(const Context& context, const OocProblem& problem, Json& record) {
  std::printf("\n== %s: %s %s, %s, limit %s: %.2f GB in, %.2f GB out\n", problem.name.c_str(),
              problem.expression.c_str(), nlohmann::json(problem.shapes).dump().c_str(),
              einstream::to_string(problem.dtype), problem.memory_limit.c_str(),
              problem.input_bytes() / 1e9, problem.output_bytes() / 1e9);
  std::fflush(stdout);
  const Floor floor = record_plan_and_floor(context, problem, record);
  print_header();
  record["modes"] = Json::object();

  const auto wanted = [&](const std::string& mode) {
    const auto& modes = context.arguments.modes;
    return std::find(modes.begin(), modes.end(), mode) != modes.end();
  };
  std::optional<Reference> reference;
  // Pageable and registered share ordinary buffers; the pinned ones are
  // allocated after those are freed.
  const std::vector<std::pair<bool, std::vector<std::string>>> groups = {
      {false, {"pageable", "registered", "device"}}, {true, {"pinned"}}};
  for (const auto& [pinned, modes] : groups) {
    std::vector<std::string> selected;
    for (const std::string& mode : modes) {
      if (wanted(mode)) selected.push_back(mode);
    }
    if (selected.empty()) continue;
    std::unique_ptr<ProblemBuffers> buffers;
    try {
      buffers = std::make_unique<ProblemBuffers>(problem, pinned);
      record[pinned ? "allocate_fill_seconds_pinned" : "allocate_fill_seconds_pageable"] =
          buffers->fill_seconds;
    } catch (const std::exception& error) {
      for (const std::string& mode : selected) {
        record["modes"][mode] = {
            {"failed", std::string("allocating host memory: ") + error.what()}};
        print_row(problem.name, mode, std::string("failed: ") + error.what());
      }
      write_document(context.document, context.arguments.out_path);
      continue;
    }
    for (const std::string& mode : selected) {
      try {
        record["modes"][mode] =
            run_mode(context, problem, mode, floor, *buffers, reference, record);
      } catch (const std::exception& error) {
        record["modes"][mode] = {{"failed", error.what()}};
        print_row(problem.name, mode, std::string("failed: ") + error.what());
      }
      write_document(context.document, context.arguments.out_path);
    }
  }
}

}  // namespace streaming_bench
