// Running one problem: its plan and floor, then each selected host memory
// mode (a fresh Plan, a warm-up, the timed executions, the check), recorded
// into the results document as it goes.
#pragma once

#include "bench/cuda/streaming/arguments.hpp"
#include "bench/cuda/streaming/calibration.hpp"
#include "bench/cuda/streaming/json.hpp"
#include "bench/cuda/streaming/problem.hpp"

namespace streaming_bench {

struct Context {
  const Arguments& arguments;
  const Calibration& calibration;
  Json& document;  // the --out file's content, rewritten after every mode
};

// Runs every selected mode of `problem` into `record` (one of
// context.document's problems), writing the document after each; a mode
// that fails is recorded as failed and the others still run.
void run_problem(const Context& context, const OocProblem& problem, Json& record);

}  // namespace streaming_bench
