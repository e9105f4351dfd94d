// The ceilings a streaming run measures before its problems: pinned and
// pageable link bandwidth, both directions at once, host memory bandwidth
// and the cuBLAS GEMM rate per dtype.
#pragma once

#include <cstddef>
#include <map>

#include "bench/cuda/streaming/json.hpp"
#include "einstream/einstream.hpp"

namespace streaming_bench {

using einstream::DataType;

// Calibration: copies of this size, GEMMs of this order, median of this many.
constexpr std::size_t kCopyBytes = std::size_t{1} << 30;
constexpr int kGemmOrder = 8192;
constexpr int kCalibrationSamples = 5;

struct Calibration {
  // Bytes per second and FLOP per second, each the median of
  // kCalibrationSamples measurements.
  double h2d_pinned = 0;
  double d2h_pinned = 0;
  double h2d_pageable = 0;
  double both_directions = 0;  // H2D and D2H on two streams at once, bytes of both
  double host_copy = 0;        // pageable to pageable by the staging threads
  std::map<DataType, double> gemm_rate;
  Json samples = Json::object();
};

// Pinned H2D and D2H, pageable H2D and both directions at once, over
// kCopyBytes copies.
void measure_link(int device, Calibration& calibration);
// Host memory bandwidth as the staging threads see it: kCopyBytes copied
// between two pageable buffers by a ThreadPool of the default size (bytes
// copied per second; each byte is read once and written once).
void measure_host_copy(Calibration& calibration);
// kGemmOrder^3 GEMMs of `dtype` with pedantic math (no TF32).
void measure_gemm(int device, DataType dtype, Calibration& calibration);

}  // namespace streaming_bench
