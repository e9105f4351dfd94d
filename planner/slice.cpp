#include "planner/slice.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>

#include "einstream/error.hpp"
#include "planner/slice_model.hpp"
#include "planner/slice_search.hpp"

// The public face of slicing: the model of a block plan is in slice_model,
// the search over block sizes in slice_search.

namespace einstream::detail {

Problem SlicePlan::block_problem(const Problem& problem) const {
  Problem block = problem;
  for (const SlicedMode& mode : sliced) block.extents[mode.mode] = mode.block;
  return block;
}

SlicePlan plan_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                      const std::vector<std::vector<std::int64_t>>& input_strides,
                      const std::vector<std::int64_t>& output_strides, const SliceOptions& options,
                      SliceSearchStats* stats) {
  Evaluator evaluator(problem, path, dtype, input_strides, output_strides, options);
  SlicePlan plan = SliceSearch(problem, evaluator, options.pipeline, options.seconds, stats).run();
  plan.unsliced_flops = path.flops;
  return plan;
}

SlicePlan evaluate_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                          const std::vector<std::vector<std::int64_t>>& input_strides,
                          const std::vector<std::int64_t>& output_strides,
                          const SliceOptions& options, const std::vector<std::int64_t>& blocks) {
  if (blocks.size() != problem.extents.size()) {
    throw Error("evaluate_slices: " + std::to_string(blocks.size()) + " block sizes for " +
                std::to_string(problem.extents.size()) + " modes");
  }
  Blocks clamped = blocks;
  for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
    clamped[mode] = std::clamp<std::int64_t>(
        blocks[mode], std::min<std::int64_t>(1, problem.extents[mode]), problem.extents[mode]);
  }
  Evaluator evaluator(problem, path, dtype, input_strides, output_strides, options);
  SlicePlan plan = evaluator.evaluate(clamped);
  plan.unsliced_flops = path.flops;
  return plan;
}

const char* to_string(Residency residency) {
  switch (residency) {
    case Residency::resident:
      return "resident";
    case Residency::streamed:
      return "streamed";
    case Residency::in_place:
      return "in-place";
  }
  return "?";
}

std::string to_string(const SlicePlan& plan, const Problem& problem) {
  std::ostringstream os;
  auto gigabytes = [](double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g GB", bytes * 1e-9);
    return std::string(text);
  };
  if (plan.sliced.empty()) {
    os << "  slicing       none (fits in " << plan.device_bytes << " bytes)\n";
  } else {
    os << "  slicing       " << plan.block_count << " blocks, loop order (outermost first):";
    for (const SlicedMode& mode : plan.sliced) {
      os << ' ' << problem.labels[mode.mode] << '=' << problem.extents[mode.mode] << " in "
         << mode.blocks << " x " << mode.block;
    }
    os << "\n";
  }
  os << "  residency    ";
  for (std::size_t index = 0; index < plan.inputs.size(); ++index) {
    os << " in" << index << ':' << to_string(plan.inputs[index]);
  }
  os << " out:" << to_string(plan.output) << '\n';
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3g s", plan.seconds);
  os << "  device bytes  " << plan.device_bytes << " (" << plan.buffering
     << " buffers per streamed tensor)"
     << ", to device " << gigabytes(plan.bytes_to_device) << ", to host "
     << gigabytes(plan.bytes_to_host) << ", predicted " << seconds << '\n';
  return os.str();
}

}  // namespace einstream::detail
