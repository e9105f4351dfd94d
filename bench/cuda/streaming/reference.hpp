// The correctness check: output slices (the first output mode fixed at its
// first, middle and last index, and further output modes while the slice is
// costly) recomputed in float64 by the host backend from the same inputs and
// compared norm-wise.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/cuda/streaming/problem.hpp"

namespace streaming_bench {

struct ReferenceSlice {
  std::map<char, std::int64_t> fixed;
  std::vector<double> values;  // float64, C order over the sliced output
};

struct Reference {
  std::string fixed_modes;
  std::vector<ReferenceSlice> slices;
  double flops_per_slice = 0;
  double seconds = 0;
};

// The float64 slices the streamed outputs are checked against, computed once
// per problem from the (deterministic) inputs of whichever mode ran first.
Reference compute_reference(const OocProblem& problem, const std::vector<const void*>& inputs);

// Largest norm-wise relative error ||x - ref|| / ||ref|| over the slices.
double relative_error(const OocProblem& problem, const Reference& reference, const void* output);

// The largest relative error a correct output of `problem` may have.
double error_tolerance(const OocProblem& problem);

}  // namespace streaming_bench
