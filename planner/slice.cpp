#include "planner/slice.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "einstream/error.hpp"
#include "planner/lower.hpp"

namespace einstream::detail {

namespace {

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

// Block size per mode (the full extent where a mode is not sliced).
using Blocks = std::vector<std::int64_t>;

std::int64_t blocks_of(std::int64_t extent, std::int64_t block) {
  return block <= 0 ? 1 : (extent + block - 1) / block;
}

class Evaluator {
 public:
  Evaluator(const Problem& problem, const ContractionPath& path, DataType dtype,
            const std::vector<std::vector<std::int64_t>>& input_strides,
            const std::vector<std::int64_t>& output_strides, const SliceOptions& options)
      : problem_(problem),
        linear_(path.linear()),
        dtype_(dtype),
        element_(static_cast<double>(size_of(dtype))),
        input_strides_(input_strides),
        output_strides_(output_strides),
        options_(options) {
    for (std::size_t axis = 0; axis < problem.output.size(); ++axis) {
      output_axes_.push_back(static_cast<int>(axis));
    }
  }

  // The plan for these block sizes: residency, loop order and predictions.
  SlicePlan evaluate(const Blocks& blocks) const {
    SlicePlan plan;
    std::vector<SlicedMode> sliced;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      if (blocks[mode] < problem_.extents[mode]) {
        sliced.push_back({mode, blocks[mode], blocks_of(problem_.extents[mode], blocks[mode])});
      }
    }
    plan.sliced = sliced;
    const Problem block = plan.block_problem(problem_);
    const ContractionPath block_path = evaluate_path(block, linear_);
    const Program program = lower(block, block_path, dtype_, input_strides_, output_strides_);
    plan.block_count = 1;
    for (const SlicedMode& mode : sliced) plan.block_count *= mode.blocks;

    const bool output_sliced = std::any_of(sliced.begin(), sliced.end(), [&](const SlicedMode& s) {
      return contains(problem_.output, s.mode);
    });
    const double output_full = bytes(problem_.output, problem_.extents);
    const double output_block = bytes(problem_.output, block.extents);

    // Loop orders: a streamed output needs its blocks finished one at a
    // time, so output modes go outermost; otherwise every order is tried
    // (up to 5 sliced modes) for the least input traffic.
    std::vector<std::vector<SlicedMode>> orders;
    std::vector<SlicedMode> order = sliced;
    std::stable_sort(order.begin(), order.end(), [&](const SlicedMode& a, const SlicedMode& b) {
      return contains(problem_.output, a.mode) && !contains(problem_.output, b.mode);
    });
    if (sliced.size() <= 5) {
      std::sort(order.begin(), order.end(),
                [](const SlicedMode& a, const SlicedMode& b) { return a.mode < b.mode; });
      const auto by_mode = [](const SlicedMode& a, const SlicedMode& b) { return a.mode < b.mode; };
      do {
        // A streamed output's modes must all be outside the summed ones.
        bool valid = true;
        bool seen_summed = false;
        for (const SlicedMode& mode : order) {
          const bool in_output = contains(problem_.output, mode.mode);
          if (in_output && seen_summed && output_sliced) valid = false;
          seen_summed = seen_summed || !in_output;
        }
        if (valid) orders.push_back(order);
      } while (std::next_permutation(order.begin(), order.end(), by_mode));
    } else {
      orders.push_back(order);
    }

    double best_seconds = std::numeric_limits<double>::infinity();
    for (const auto& candidate : orders) {
      SlicePlan trial = plan;
      trial.sliced = candidate;
      place(trial, block, program, output_sliced, output_full, output_block);
      if (trial.seconds < best_seconds) {
        best_seconds = trial.seconds;
        plan = trial;
      }
    }
    plan.flops = block_path.flops * static_cast<double>(plan.block_count);
    return plan;
  }

 private:
  static double aligned(double bytes) { return std::ceil(bytes / 256.0) * 256.0; }

  // Bytes a strided tensor's memory span covers (the whole tensor's extents).
  double span(const std::vector<Mode>& modes, const std::vector<int>& axes,
              const std::vector<std::int64_t>& strides) const {
    double reach = 1;
    for (std::size_t k = 0; k < modes.size(); ++k) {
      const std::int64_t extent = problem_.extents[modes[k]];
      if (extent == 0) return 0;
      reach += static_cast<double>(extent - 1) * std::fabs(static_cast<double>(strides[axes[k]]));
    }
    return reach * element_;
  }

  double bytes(const std::vector<Mode>& modes, const std::vector<std::int64_t>& extents) const {
    double count = element_;
    for (Mode mode : modes) count *= static_cast<double>(extents[mode]);
    return count;
  }

  // How many times input `index` crosses the link under `order`: once per
  // block of every loop mode outside its innermost carried mode that it does
  // not carry (those blocks revisit the same input block).
  double repeats(const std::vector<SlicedMode>& order, int index) const {
    const std::vector<Mode>& modes = problem_.inputs[index].modes;
    int innermost = -1;
    for (int level = 0; level < static_cast<int>(order.size()); ++level) {
      if (contains(modes, order[level].mode)) innermost = level;
    }
    double count = 1;
    for (int level = 0; level < innermost; ++level) {
      if (!contains(modes, order[level].mode)) count *= static_cast<double>(order[level].blocks);
    }
    return count;
  }

  void place(SlicePlan& plan, const Problem& block, const Program& program, bool output_sliced,
             double output_full, double output_block) const {
    const int count = static_cast<int>(problem_.inputs.size());
    const double buffering = std::max(options_.buffering, 1);
    // Memory counts what the executor allocates: every buffer 256-byte
    // aligned, resident operands as their whole memory span (gaps of strided
    // layouts included), streamed blocks packed.
    double memory = aligned(static_cast<double>(program.arena_bytes)) +
                    static_cast<double>(options_.fixed_bytes);
    if (options_.workspace_of) memory += static_cast<double>(options_.workspace_of(program));
    plan.output = output_sliced ? Residency::streamed : Residency::resident;
    memory += output_sliced ? buffering * aligned(output_block)
                            : aligned(span(problem_.output, output_axes_, output_strides_));

    plan.inputs.assign(count, Residency::streamed);
    std::vector<double> full(count), block_bytes(count), traffic(count), resident(count),
        streamed_bytes(count);
    for (int index = 0; index < count; ++index) {
      const ProblemOperand& input = problem_.inputs[index];
      full[index] = bytes(input.modes, problem_.extents);
      block_bytes[index] = bytes(input.modes, block.extents);
      resident[index] = aligned(span(input.modes, input.axes, input_strides_[index]));
      streamed_bytes[index] = buffering * aligned(block_bytes[index]);
      const bool varies = std::any_of(plan.sliced.begin(), plan.sliced.end(), [&](const auto& s) {
        return contains(problem_.inputs[index].modes, s.mode);
      });
      traffic[index] = full[index] * repeats(plan.sliced, index);
      if (!varies) plan.inputs[index] = Residency::resident;
      memory += varies ? streamed_bytes[index] : resident[index];
    }
    // Make streamed inputs resident while they fit, the most re-sent first.
    std::vector<int> by_saving(count);
    for (int index = 0; index < count; ++index) by_saving[index] = index;
    std::sort(by_saving.begin(), by_saving.end(),
              [&](int a, int b) { return traffic[a] - full[a] > traffic[b] - full[b]; });
    for (int index : by_saving) {
      if (plan.inputs[index] == Residency::resident) continue;
      const double grown = memory - streamed_bytes[index] + resident[index];
      if (grown <= static_cast<double>(options_.budget)) {
        memory = grown;
        plan.inputs[index] = Residency::resident;
      }
    }
    plan.device_bytes = static_cast<std::uint64_t>(memory);

    plan.bytes_to_device = 0;
    double streamed = 0;
    for (int index = 0; index < count; ++index) {
      if (plan.inputs[index] == Residency::resident) {
        plan.bytes_to_device += full[index];
      } else {
        plan.bytes_to_device += traffic[index];
        streamed += traffic[index];
      }
    }
    plan.bytes_to_host = output_full;

    // Per block: compute overlaps the next block's transfer; resident inputs
    // and a resident output's copy-back are paid once, outside the loop.
    double op_bytes = 0;
    for (const Op& op : program.ops) op_bytes += op.bytes;
    const double blocks = static_cast<double>(plan.block_count);
    const ContractionPath block_path = evaluate_path(block, linear_);
    const Rates& rates = options_.rates;
    const double compute = block_path.flops / rates.gemm_flops + op_bytes / rates.device_bytes +
                           static_cast<double>(program.ops.size()) * rates.op_seconds;
    const double transfer_in = streamed / blocks / rates.host_to_device;
    const double transfer_out = output_sliced ? output_full / blocks / rates.device_to_host : 0.0;
    const double resident_in = (plan.bytes_to_device - streamed) / rates.host_to_device;
    const double once_out = output_sliced ? 0.0 : output_full / rates.device_to_host;
    plan.seconds = resident_in + once_out + transfer_in +
                   blocks * std::max({compute, transfer_in, transfer_out});
  }

  const Problem& problem_;
  LinearPath linear_;
  DataType dtype_;
  double element_;
  const std::vector<std::vector<std::int64_t>>& input_strides_;
  const std::vector<std::int64_t>& output_strides_;
  std::vector<int> output_axes_;
  const SliceOptions& options_;
};

}  // namespace

Problem SlicePlan::block_problem(const Problem& problem) const {
  Problem block = problem;
  for (const SlicedMode& mode : sliced) block.extents[mode.mode] = mode.block;
  return block;
}

BlockCursor::BlockCursor(const Problem& problem, const SlicePlan& plan)
    : problem_(problem),
      plan_(plan),
      index_(plan.sliced.size(), 0),
      level_extents_(plan.sliced.size()),
      start_(problem.mode_count(), 0) {
  for (const SlicedMode& sliced : plan.sliced)
    summed_.push_back(!contains(problem.output, sliced.mode));
  update();
}

void BlockCursor::update() {
  first_of_sum_ = last_of_sum_ = true;
  for (std::size_t level = 0; level < plan_.sliced.size(); ++level) {
    const SlicedMode& sliced = plan_.sliced[level];
    start_[sliced.mode] = index_[level] * sliced.block;
    level_extents_[level] =
        std::min(sliced.block, problem_.extents[sliced.mode] - start_[sliced.mode]);
    if (summed_[level]) {
      first_of_sum_ = first_of_sum_ && index_[level] == 0;
      last_of_sum_ = last_of_sum_ && index_[level] + 1 == sliced.blocks;
    }
  }
}

std::int64_t BlockCursor::offset(int operand, const std::vector<std::int64_t>& strides) const {
  std::int64_t offset = 0;
  if (operand < 0) {
    for (std::size_t axis = 0; axis < problem_.output.size(); ++axis) {
      offset += start_[problem_.output[axis]] * strides[axis];
    }
    return offset;
  }
  const ProblemOperand& input = problem_.inputs[operand];
  for (std::size_t k = 0; k < input.modes.size(); ++k) {
    offset += start_[input.modes[k]] * strides[input.axes[k]];
  }
  return offset;
}

bool BlockCursor::next() {
  for (std::size_t level = plan_.sliced.size(); level-- > 0;) {
    if (++index_[level] < plan_.sliced[level].blocks) {
      update();
      return true;
    }
    index_[level] = 0;
  }
  return false;
}

SlicePlan plan_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                      const std::vector<std::vector<std::int64_t>>& input_strides,
                      const std::vector<std::int64_t>& output_strides,
                      const SliceOptions& options) {
  const Evaluator evaluator(problem, path, dtype, input_strides, output_strides, options);
  const double budget = static_cast<double>(options.budget);
  Blocks blocks = problem.extents;
  SlicePlan current = evaluator.evaluate(blocks);
  // Smaller blocks do not always need less memory (each buffer is aligned
  // and double-buffered), so the least need seen is what an error reports.
  std::uint64_t least = current.device_bytes;
  // Halve one mode's block at a time: the fitting candidate with the least
  // predicted time if any fits, else the one that saves the most memory.
  while (static_cast<double>(current.device_bytes) > budget) {
    bool found = false;
    bool found_fits = false;
    SlicePlan chosen;
    Blocks chosen_blocks;
    for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
      if (blocks[mode] <= 1) continue;
      Blocks trial_blocks = blocks;
      trial_blocks[mode] = (blocks[mode] + 1) / 2;
      const SlicePlan trial = evaluator.evaluate(trial_blocks);
      const bool fits = static_cast<double>(trial.device_bytes) <= budget;
      bool better = !found;
      if (found) {
        if (fits != found_fits) {
          better = fits;
        } else if (fits) {
          better = trial.seconds < chosen.seconds;
        } else {
          better = trial.device_bytes < chosen.device_bytes ||
                   (trial.device_bytes == chosen.device_bytes && trial.seconds < chosen.seconds);
        }
      }
      if (better) {
        chosen = trial;
        chosen_blocks = trial_blocks;
        found = true;
        found_fits = fits;
      }
    }
    if (!found) {
      // Every mode is down to blocks of one index.
      throw MemoryError("the problem needs at least " + std::to_string(least) +
                            " bytes of device memory even in blocks of one index per mode; "
                            "the memory limit is " +
                            std::to_string(options.budget) + " bytes",
                        least, options.budget);
    }
    blocks = chosen_blocks;
    current = chosen;
    least = std::min(least, current.device_bytes);
  }
  return current;
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
    os << " in" << index << ':'
       << (plan.inputs[index] == Residency::resident ? "resident" : "streamed");
  }
  os << " out:" << (plan.output == Residency::resident ? "resident" : "streamed") << '\n';
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3g s", plan.seconds);
  os << "  device bytes  " << plan.device_bytes << ", to device " << gigabytes(plan.bytes_to_device)
     << ", to host " << gigabytes(plan.bytes_to_host) << ", predicted " << seconds << '\n';
  return os.str();
}

}  // namespace einstream::detail
