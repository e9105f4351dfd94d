// What the streaming bench writes: the --out JSON document (rewritten whole
// after every measurement) and the table it prints as it goes.
#pragma once

#include <string>
#include <vector>

#include "bench/cuda/streaming/calibration.hpp"
#include "bench/cuda/streaming/json.hpp"
#include "bench/cuda/streaming/problem.hpp"
#include "einstream/einstream.hpp"

namespace streaming_bench {

// An execution's report; a multi-device report nests one per device.
Json report_json(const einstream::ExecutionReport& report);
// A problem's record before it runs: its definition and sizes.
Json describe(const OocProblem& problem);
// The device's name, memory and the CUDA driver and runtime versions.
Json device_json(int device);
// The measured ceilings in GB/s and TFLOP/s, how they were measured, and
// every sample.
Json calibration_json(const Calibration& calibration, const std::vector<int>& devices);

// Writes `document` to a ".partial" file beside `path` and renames it over
// `path`, so a crash never leaves a truncated file.
void write_document(const Json& document, const std::string& path);

// The one line of measured ceilings (f64 GEMM too when a problem is f64).
void print_calibration(const Calibration& calibration, bool any_f64);
void print_row(const std::string& problem, const std::string& mode, const std::string& rest);
void print_header();

}  // namespace streaming_bench
