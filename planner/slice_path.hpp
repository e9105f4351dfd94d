// Slicing with the path open to change: the block plan of planner/slice,
// with the sliced modes and the tree chosen together (planner/slice_finder)
// when the problem does not fit the budget unsliced.
#pragma once

#include <cstdint>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// The slice finder's share of the planning: its time budget and seed.
struct SlicePathOptions {
  double seconds = 0.5;
  std::uint64_t seed = 0;
  int trials = 16;
  // When the whole problem fits: run plan_slices on `path` (true), or
  // return the whole problem's one-block evaluation (false: for a caller
  // that slices the path itself, as the CUDA executor does).
  bool plan_when_fitting = true;
  // Slice `path` only, never another tree (the caller gave the path).
  bool keep_path = false;
};

struct PathSlices {
  ContractionPath path;  // the path the blocks run (`path` itself or a reconfigured one)
  SlicePlan slice;       // unsliced_flops: the cheaper of `path` and this path
  // Whether the finder's time budget cut it short.
  bool stopped_at_budget = false;
};

// The plan plan_slices makes of `path` when the whole problem fits the
// budget unsliced (see plan_when_fitting). Otherwise the fastest (by the time model) of the plans
// that fit among: plan_slices on `path`, and for a few element caps under
// the budget, the finder's path with exactly its sliced modes
// (evaluate_slices) and plan_slices on the finder's path (with keep_path,
// plan_slices on `path` alone). Throws the
// MemoryError of plan_slices on `path` when none fits.
PathSlices plan_path_and_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                                const std::vector<std::vector<std::int64_t>>& input_strides,
                                const std::vector<std::int64_t>& output_strides,
                                const SliceOptions& options, const SlicePathOptions& finder);

}  // namespace einstream::detail
