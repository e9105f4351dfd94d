// Host backend: executes a Program with plain loops on the calling thread.
//
// The same Program the CUDA backend runs, op by op, so everything but the
// kernels is exercised on any machine. Products and sums accumulate in double
// (complex double), then round once to the Program's dtype.
#pragma once

#include <vector>

#include "einstream/plan.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

class HostExecutor {
 public:
  // out = alpha * einsum + beta * out, as the Program computes it. The arena
  // is allocated on first use and kept for later executions.
  void run(const Program& program, const std::vector<const void*>& inputs, void* output,
           Scalar alpha, Scalar beta);

 private:
  std::vector<unsigned char> arena_;
};

}  // namespace einstream::detail
