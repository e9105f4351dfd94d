#include "bench/cuda/streaming/results.hpp"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cuda/check.hpp"

namespace streaming_bench {

using einstream::Error;
using einstream::ExecutionReport;

Json report_json(const ExecutionReport& report) {
  Json entry;
  entry["backend"] = einstream::to_string(report.backend);
  entry["blocks"] = report.blocks;
  entry["bytes_to_device"] = report.bytes_to_device;
  entry["bytes_to_host"] = report.bytes_to_host;
  entry["device_bytes"] = report.device_bytes;
  entry["seconds"] = report.seconds;
  entry["staging_seconds"] = report.staging_seconds;
  entry["flops"] = report.flops;
  entry["h2d_seconds"] = report.h2d_seconds;
  entry["compute_seconds"] = report.compute_seconds;
  entry["d2h_seconds"] = report.d2h_seconds;
  entry["overlap"] = report.overlap;
  entry["bytes_direct"] = report.bytes_direct;
  entry["bytes_staged"] = report.bytes_staged;
  if (!report.devices.empty()) {
    entry["combine_seconds"] = report.combine_seconds;
    entry["combined_with"] = report.combined_with;
    entry["devices"] = Json::array();
    for (const ExecutionReport& device : report.devices)
      entry["devices"].push_back(report_json(device));
  }
  return entry;
}

Json describe(const OocProblem& problem) {
  Json record;
  record["name"] = problem.name;
  record["kind"] = problem.kind;
  record["expression"] = problem.expression;
  record["shapes"] = problem.shapes;
  record["dtype"] = einstream::to_string(problem.dtype);
  record["memory_limit"] = problem.memory_limit;
  record["note"] = problem.note;
  record["input_bytes"] = problem.input_bytes();
  record["output_bytes"] = problem.output_bytes();
  return record;
}

Json device_json(int device) {
  cudaDeviceProp properties{};
  EINSTREAM_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  int driver = 0;
  int runtime = 0;
  EINSTREAM_CUDA_CHECK(cudaDriverGetVersion(&driver));
  EINSTREAM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return {{"index", device},
          {"name", properties.name},
          {"total_memory", properties.totalGlobalMem},
          {"cuda_driver", driver},
          {"cuda_runtime", runtime}};
}

Json calibration_json(const Calibration& calibration, const std::vector<int>& devices) {
  Json measured;
  measured["h2d_pinned_GBps"] = calibration.h2d_pinned / 1e9;
  measured["d2h_pinned_GBps"] = calibration.d2h_pinned / 1e9;
  measured["h2d_pageable_GBps"] = calibration.h2d_pageable / 1e9;
  measured["both_directions_GBps"] = calibration.both_directions / 1e9;
  measured["host_copy_GBps"] = calibration.host_copy / 1e9;
  measured["devices"] = devices;
  for (const auto& [dtype, rate] : calibration.gemm_rate) {
    measured[std::string("gemm_") + einstream::to_string(dtype) + "_TFLOPps"] = rate / 1e12;
  }
  measured["method"] =
      "1 GiB cudaMemcpyAsync (pinned: CUDA events; pageable: wall clock), cuBLAS gemm " +
      std::to_string(kGemmOrder) + "^3 with CUBLAS_PEDANTIC_MATH; median of " +
      std::to_string(kCalibrationSamples) + " after one warm-up";
  measured["samples"] = calibration.samples;
  return measured;
}

void write_document(const Json& document, const std::string& path) {
  const std::string partial = path + ".partial";
  {
    std::ofstream file(partial);
    file << document.dump(1) << '\n';
    if (!file) throw Error("cannot write '" + partial + "'");
  }
  std::filesystem::rename(partial, path);
}

void print_calibration(const Calibration& calibration, bool any_f64) {
  std::printf(
      "measured: H2D pinned %.1f GB/s, D2H pinned %.1f GB/s, H2D pageable %.1f GB/s, both "
      "directions %.1f GB/s, GEMM f32 %.1f TFLOP/s",
      calibration.h2d_pinned / 1e9, calibration.d2h_pinned / 1e9, calibration.h2d_pageable / 1e9,
      calibration.both_directions / 1e9, calibration.gemm_rate.at(DataType::f32) / 1e12);
  if (any_f64) std::printf(", f64 %.1f TFLOP/s", calibration.gemm_rate.at(DataType::f64) / 1e12);
  std::printf("\n");
  std::fflush(stdout);
}

void print_row(const std::string& problem, const std::string& mode, const std::string& rest) {
  std::printf("%-22s %-11s %s\n", problem.c_str(), mode.c_str(), rest.c_str());
  std::fflush(stdout);
}

void print_header() {
  print_row("problem", "mode",
            "  median s    floor s (term)   ratio  blocks   H2D GB  link GB/s  overlap  direct  "
            "staging s  check");
}

}  // namespace streaming_bench
