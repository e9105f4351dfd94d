// Host backend: executes a Program with plain loops on the calling thread.
//
// The same Program the CUDA backend runs, op by op, so everything but the
// kernels is exercised on any machine. Products and sums accumulate in double
// (complex double), then round once to the Program's dtype.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

class HostExecutor {
 public:
  // out = alpha * einsum + beta * out, as the Program computes it. The arena
  // is allocated on first use and kept for later executions.
  // `observer`, when set, is called after each op with its index in the
  // Program and the steady-clock interval it ran in (for profiling).
  using OpObserver = std::function<void(std::size_t op, std::chrono::steady_clock::time_point begin,
                                        std::chrono::steady_clock::time_point end)>;
  void run(const Program& program, const std::vector<const void*>& inputs, void* output,
           Scalar alpha, Scalar beta, const OpObserver* observer = nullptr);

 private:
  std::vector<unsigned char> arena_;
};

}  // namespace einstream::detail
