// The host backend's executor: every plan runs on the one block loop
// (src/block_loop), each block the Program of its shape (lowered once when
// planning, every operand in the caller's layout) over views into the
// caller's tensors, so CI exercises the same slicing, loop order and
// accumulation the CUDA backend runs. Nothing is copied: residency is the
// CUDA model the plan simulates; here every operand is read in place. The
// whole problem is the one-block case (an unsliced plan).
#pragma once

#include <optional>
#include <vector>

#include "einstream/plan.hpp"
#include "einstream/report.hpp"
#include "einstream/tensor.hpp"
#include "planner/block_assignment.hpp"
#include "planner/device_layout.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"
#include "src/host/program_executor.hpp"

namespace einstream::detail {

class HostBlockExecutor {
 public:
  // `problem` must outlive the executor. `shapes`: every block shape of
  // `plan`, lowered with the caller's strides for every operand.
  HostBlockExecutor(const Problem& problem, DataType dtype,
                    std::vector<std::vector<std::int64_t>> input_strides,
                    std::vector<std::int64_t> output_strides, SlicePlan plan,
                    std::vector<BlockShape> shapes);

  // out = alpha * einsum + beta * out: a block that sums part of a sliced
  // summed mode adds into the output (beta = 1 after the first such block).
  // Fills the report's block count and compute time (the calling thread's
  // time in block Programs) and, with Options::profile, a timeline span per
  // op of every block on the track "host compute". Reports its start,
  // progress and end to Options::log and Options::progress.
  // With `range`, only those blocks of the loop order run (a worker's
  // share: see run_block_loop).
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           const Options& options, ExecutionReport& report,
           std::optional<BlockRange> range = std::nullopt);
  // The same reporting to nobody, `profile` as Options::profile.
  void run(const std::vector<const void*>& inputs, void* output, Scalar alpha, Scalar beta,
           bool profile, ExecutionReport& report);

  const SlicePlan& plan() const { return plan_; }
  const std::vector<BlockShape>& shapes() const { return shapes_; }

 private:
  const Problem& problem_;
  std::size_t element_;
  std::vector<std::vector<std::int64_t>> input_strides_;
  std::vector<std::int64_t> output_strides_;
  SlicePlan plan_;
  std::vector<BlockShape> shapes_;
  HostExecutor host_;
};

// block_shapes() of `plan` for the host backend: every operand in the
// caller's layout (nothing is packed, as nothing is copied).
std::vector<BlockShape> host_block_shapes(const Problem& problem, const ContractionPath& path,
                                          const SlicePlan& plan,
                                          const std::vector<TensorDesc>& inputs,
                                          const TensorDesc& output);

}  // namespace einstream::detail
