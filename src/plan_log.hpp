// What planning tells the caller at debug level (Options::log): how the
// path was found and what it costs, then how the backend will run it
// (blocks, slicing, residency of each operand, workspace).
#pragma once

#include <cstdint>
#include <string>

#include "einstream/plan.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// The facts of a finished plan that its messages report.
struct PlannedFacts {
  const std::string& expression;
  const Problem& problem;
  const ContractionPath& path;
  double path_seconds;  // the path search's wall time
  Backend backend;
  // `slice` is the block plan when `sliced` (else the whole problem runs as
  // one block); workspace_bytes as Plan::workspace_bytes().
  bool sliced;
  const SlicePlan& slice;
  std::uint64_t workspace_bytes;
};

// Before the path search, which may take seconds: what it searches (debug).
void log_path_search(const Options& options, const std::string& expression, const Problem& problem);

// Logs the plan at debug level; nothing when Options::log would not take it.
void log_plan(const Options& options, const PlannedFacts& facts);

}  // namespace einstream::detail
