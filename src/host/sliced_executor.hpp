// The host backend's block loop: runs a SlicePlan block by block, each
// block the Program of the block's extents (cached per distinct extents:
// edge blocks are shorter) over views into the caller's tensors, so CI
// exercises the same slicing, loop order and accumulation the CUDA streaming
// executor runs. The whole problem is the one-block case (an unsliced plan).
#pragma once

#include <map>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"
#include "src/host/program_executor.hpp"

namespace einstream::detail {

class SlicedHostExecutor {
 public:
  SlicedHostExecutor(const Problem& problem, const ContractionPath& path, DataType dtype,
                     std::vector<std::vector<std::int64_t>> input_strides,
                     std::vector<std::int64_t> output_strides, SlicePlan plan);

  // out = alpha * einsum + beta * out: a block that sums part of a sliced
  // summed mode adds into the output (beta = 1 after the first such block).
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta);

  // Runs blocks of these level extents (one per sliced mode; none for the
  // whole problem) with `program` instead of lowering one: the Plan's
  // Program, already lowered, for the one-block case.
  void use_program(const std::vector<std::int64_t>& level_extents, Program program);

  const SlicePlan& plan() const { return plan_; }
  int programs_built() const { return static_cast<int>(programs_.size()); }

 private:
  const Program& program_for(const std::vector<std::int64_t>& block_extents);

  const Problem& problem_;
  LinearPath linear_;
  DataType dtype_;
  std::vector<std::vector<std::int64_t>> input_strides_;
  std::vector<std::int64_t> output_strides_;
  SlicePlan plan_;
  std::map<std::vector<std::int64_t>, Program> programs_;
  HostExecutor host_;
};

}  // namespace einstream::detail
