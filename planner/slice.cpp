#include "planner/slice.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>

#include "einstream/error.hpp"
#include "planner/lower.hpp"

namespace einstream::detail {

namespace {

// The search's knobs (see plan_slices for the approach).
// Loop orders: every order is tried up to this many sliced modes; the best
// few then get their inputs' residency refined, in this many passes.
constexpr int kExhaustiveOrderLevels = 5;
constexpr int kOrdersRefined = 3;
constexpr int kResidencyPasses = 2;
// The descent: one survivor per weight of log(memory) against log(predicted
// seconds), infinity ranking by memory alone; it stops this many levels
// after the first fitting plan, or after kDescentLevels.
constexpr double kBeamWeights[] = {std::numeric_limits<double>::infinity(), 8.0, 2.0, 0.5};
constexpr int kLevelsAfterFit = 1;
constexpr int kDescentLevels = 400;
// The local search: from this many of the fastest fitting plans, at most
// kClimbPasses improving moves each. A pass estimates the kPassEstimates
// moves with the best time floors, lowers them in the order of their
// estimates, and stops kClimbTries lowerings after the first improvement
// or after kPassLowerings.
constexpr int kClimbSeeds = 3;
constexpr int kClimbPasses = 40;
constexpr std::size_t kPassEstimates = 64;
constexpr int kClimbTries = 3;
constexpr int kPassLowerings = 24;
// Block counts a move tries: below kFewerCounts every smaller one; the
// nearest counts dividing an extent evenly are looked for this far away.
constexpr std::int64_t kFewerCounts = 16;
constexpr int kDivisorScan = 64;
constexpr double kAlignment = 256;  // every device buffer is aligned to this
// A block that is not one contiguous run crosses as many rows: each row
// costs about this many bytes' worth of link time on top of its own (H100:
// 26 KB rows ran at 43 GB/s against 55 GB/s contiguous), up to
// kMostCopySlowdown, roughly what a host gather through staging costs.
constexpr double kRowOverheadBytes = 7000;
constexpr double kMostCopySlowdown = 3;

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

// Block size per mode (the full extent where a mode is not sliced).
using Blocks = std::vector<std::int64_t>;

std::int64_t blocks_of(std::int64_t extent, std::int64_t block) {
  return block <= 0 ? 1 : (extent + block - 1) / block;
}

// The smallest block that cuts `extent` into at most `count` blocks: among
// blocks giving one count it needs the least memory for the same work.
std::int64_t block_for(std::int64_t extent, std::int64_t count) {
  return (extent + count - 1) / count;
}

double aligned(double bytes) { return std::ceil(bytes / kAlignment) * kAlignment; }

// What one block-size vector costs before residency and loop order are
// chosen: the block Program's working memory and the compute of one block.
struct BlockModel {
  std::vector<SlicedMode> sliced;  // ascending mode
  double block_count = 1;
  double working = 0;              // aligned arena, fixed bytes and workspace
  double flops = 0;                // all blocks
  double compute = 0;              // seconds of one (average) block
  std::vector<double> slot_bytes;  // per input: one block at full block extents
  std::vector<double> pass_bytes;  // per input: every block of it once
  std::vector<bool> varies;        // per input: carries a sliced mode
  std::vector<char> carries;       // per input and sliced mode: whether it carries it
  double output_slot = 0;
  bool output_sliced = false;
  // Per streamed input and for the output: how much slower than a
  // contiguous copy a block's copy runs (short rows).
  std::vector<double> copy_slowdown;
  double output_copy_slowdown = 1;
};

// A loop order (indices into BlockModel::sliced, outermost first) with the
// residency of every operand.
struct Placement {
  std::vector<int> order;
  std::vector<Residency> inputs;
  Residency output = Residency::resident;
};

struct Estimate {
  double memory = 0;
  double seconds = 0;
};

struct Timing {
  double seconds = 0;
  double to_device = 0;
  double to_host = 0;
};

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
        options_(options),
        budget_(static_cast<double>(options.budget)),
        buffering_(std::max(options.buffering, 1)) {
    const int modes = problem.mode_count();
    for (const PathStep& step : evaluate_path(problem, linear_).steps) {
      std::vector<Mode> involved;
      for (const auto& operand : step.operand_modes) {
        for (Mode mode : operand) {
          if (!contains(involved, mode)) involved.push_back(mode);
        }
      }
      step_flops_.push_back(step.flops);
      step_modes_.push_back(std::move(involved));
      intermediates_.push_back(step.result);
    }
    if (!intermediates_.empty()) intermediates_.pop_back();  // the output
    is_output_.assign(modes, false);
    for (Mode mode : problem.output) is_output_[mode] = true;
    std::vector<int> output_axes(problem.output.size());
    std::iota(output_axes.begin(), output_axes.end(), 0);
    output_span_ = span(problem.output, output_axes, output_strides);
    output_full_ = element_;
    for (Mode mode : problem.output) output_full_ *= static_cast<double>(problem.extents[mode]);
    for (std::size_t index = 0; index < problem.inputs.size(); ++index) {
      const ProblemOperand& input = problem.inputs[index];
      std::vector<int> multiplicity(modes, 0);
      for (Mode mode : input.modes) ++multiplicity[mode];
      multiplicity_.push_back(std::move(multiplicity));
      input_span_.push_back(span(input.modes, input.axes, input_strides[index]));
    }
  }

  double budget() const { return budget_; }
  bool fits(const SlicePlan& plan) const {
    return static_cast<double>(plan.device_bytes) <= budget_;
  }
  int lowered() const { return static_cast<int>(plans_.size()); }
  int estimated() const {
    std::set<Blocks> estimated;
    for (const auto& entry : estimates_) estimated.insert(entry.first);
    for (const auto& entry : fitting_seconds_) estimated.insert(entry.first);
    return static_cast<int>(estimated.size());
  }

  // The plan for these block sizes: residency, loop order and predictions.
  // Memoized: lowering the block Program is the expensive part.
  const SlicePlan& evaluate(const Blocks& blocks) {
    auto found = plans_.find(blocks);
    if (found != plans_.end()) return found->second.first;
    Problem block = problem_;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) block.extents[mode] = blocks[mode];
    const Program program =
        lower(block, evaluate_path(block, linear_), dtype_, input_strides_, output_strides_);
    const BlockModel model = block_model(blocks, &program);
    return plans_.emplace(blocks, std::make_pair(place(model), model.working)).first->second.first;
  }

  // A plan's memory and time predicted without lowering its Program, with
  // each operand where it needs the least memory: the arena counts as its
  // largest intermediate, the ops as one per path step. The memory is a
  // floor of every plan with these blocks; both are budget-independent.
  const Estimate& estimate(const Blocks& blocks) {
    auto found = estimates_.find(blocks);
    if (found != estimates_.end()) return found->second;
    const BlockModel model = block_model(blocks, nullptr);
    Placement placement = least_memory(model);
    Estimate estimate;
    estimate.seconds = choose_order(model, placement, false);
    estimate.memory = memory(model, placement);
    return estimates_.emplace(blocks, estimate).first->second;
  }

  // The time of estimate()'s block model placed as under the budget (inputs
  // made resident where that fits and pays), quickly: the heuristic loop
  // order with one pass of swaps.
  double fitting_seconds(const Blocks& blocks) {
    auto found = fitting_seconds_.find(blocks);
    if (found != fitting_seconds_.end()) return found->second;
    const double seconds = place(block_model(blocks, nullptr), false).seconds;
    return fitting_seconds_.emplace(blocks, seconds).first->second;
  }

  // The working part of memory_floor(): fixed bytes and the largest
  // intermediate. For evaluated blocks, how many times that the exact
  // working memory (arena and workspace) is: a guide to the arena of blocks
  // nearby, whose working floor it scales.
  double working_floor(const Blocks& blocks) const {
    return static_cast<double>(options_.fixed_bytes) + intermediate_floor(blocks);
  }
  double working_ratio(const Blocks& blocks) const {
    const double floor = working_floor(blocks);
    return floor > 0 ? plans_.at(blocks).second / floor : 1.0;
  }

  // The memory of estimate() alone, computed directly (no loop orders).
  double memory_floor(const Blocks& blocks) const {
    double memory = working_floor(blocks);
    bool output_sliced = false;
    for (Mode mode : problem_.output) {
      output_sliced = output_sliced || blocks[mode] < problem_.extents[mode];
    }
    for (int index = 0; index < input_count(); ++index) {
      const double resident = aligned(input_span_[index]);
      bool varies = false;
      for (Mode mode : problem_.inputs[index].modes) {
        varies = varies || blocks[mode] < problem_.extents[mode];
      }
      memory +=
          varies ? std::min(resident, buffering_ * aligned(slot_bytes(index, blocks))) : resident;
    }
    const double resident = aligned(output_span_);
    memory +=
        output_sliced ? std::min(resident, buffering_ * aligned(output_slot(blocks))) : resident;
    return memory;
  }

  // A floor of the time of any plan with these blocks: the larger of the
  // compute and the least traffic each way.
  double seconds_floor(const Blocks& blocks) const {
    const Rates& rates = options_.rates;
    double in = 0;
    for (int index = 0; index < input_count(); ++index) {
      in += std::min(input_span_[index], pass_bytes(index, blocks));
    }
    const double out = std::min(output_span_, output_full_);
    const double ops = static_cast<double>(step_flops_.size()) * block_count(blocks);
    return std::max({flops_of(blocks) / rates.gemm_flops + ops * rates.op_seconds,
                     in / rates.host_to_device, out / rates.device_to_host});
  }

  // Below this no block sizes fit, whatever the arena: every operand at
  // its least (resident, or two one-element blocks).
  double least_possible_memory() const {
    double memory = static_cast<double>(options_.fixed_bytes);
    for (int index = 0; index < input_count(); ++index) {
      const double resident = aligned(input_span_[index]);
      const bool sliceable =
          std::any_of(problem_.inputs[index].modes.begin(), problem_.inputs[index].modes.end(),
                      [&](Mode mode) { return problem_.extents[mode] > 1; });
      memory += sliceable ? std::min(resident, buffering_ * aligned(element_)) : resident;
    }
    const bool sliceable = std::any_of(problem_.output.begin(), problem_.output.end(),
                                       [&](Mode mode) { return problem_.extents[mode] > 1; });
    const double resident = aligned(output_span_);
    memory += sliceable ? std::min(resident, buffering_ * aligned(element_)) : resident;
    return memory;
  }

 private:
  int input_count() const { return static_cast<int>(problem_.inputs.size()); }

  std::vector<SlicedMode> sliced_modes(const Blocks& blocks) const {
    std::vector<SlicedMode> sliced;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      if (blocks[mode] < problem_.extents[mode]) {
        sliced.push_back({mode, blocks[mode], blocks_of(problem_.extents[mode], blocks[mode])});
      }
    }
    return sliced;
  }

  bool carries(int index, Mode mode) const { return multiplicity_[index][mode] > 0; }
  bool carries_any(int index, const std::vector<SlicedMode>& sliced) const {
    return std::any_of(sliced.begin(), sliced.end(),
                       [&](const SlicedMode& s) { return carries(index, s.mode); });
  }

  // Bytes a strided tensor's memory span covers (the whole tensor's extents):
  // what a resident operand occupies and what its one copy moves.
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

  // Packed bytes of input `index`'s block at full block extents: one slot.
  double slot_bytes(int index, const Blocks& blocks) const {
    double count = element_;
    for (Mode mode : problem_.inputs[index].modes) count *= static_cast<double>(blocks[mode]);
    return count;
  }
  double output_slot(const Blocks& blocks) const {
    double count = element_;
    for (Mode mode : problem_.output) count *= static_cast<double>(blocks[mode]);
    return count;
  }

  // Bytes of every block of input `index` sent once: its dense size, except
  // that a diagonal's blocks (a mode repeated k times) hold sum(extent^k).
  double pass_bytes(int index, const Blocks& blocks) const {
    double count = element_;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      const int power = multiplicity_[index][mode];
      if (power == 0) continue;
      const std::int64_t extent = problem_.extents[mode];
      const std::int64_t block = std::max<std::int64_t>(blocks[mode], 1);
      const std::int64_t count_of = blocks_of(extent, block);
      const double last = static_cast<double>(extent - (count_of - 1) * block);
      double full_power = 1, last_power = 1;
      for (int k = 0; k < power; ++k) {
        full_power *= static_cast<double>(block);
        last_power *= last;
      }
      count *= static_cast<double>(count_of - 1) * full_power + last_power;
    }
    return count;
  }

  // FLOPs of all blocks: each path step's product of extents is multilinear,
  // so summed over the blocks it is the whole step's count times the blocks
  // of every sliced mode the step does not carry (the recomputation).
  double flops_of(const Blocks& blocks) const {
    double all = 1;  // the product of every mode's block count
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      all *= static_cast<double>(blocks_of(problem_.extents[mode], blocks[mode]));
    }
    double flops = 0;
    for (std::size_t step = 0; step < step_flops_.size(); ++step) {
      double carried = 1;
      for (Mode mode : step_modes_[step]) {
        carried *= static_cast<double>(blocks_of(problem_.extents[mode], blocks[mode]));
      }
      flops += step_flops_[step] * (all / carried);
    }
    return flops;
  }

  double block_count(const Blocks& blocks) const {
    double count = 1;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      count *= static_cast<double>(blocks_of(problem_.extents[mode], blocks[mode]));
    }
    return count;
  }

  // Aligned bytes of the largest intermediate (a result other than the
  // output's) at block extents: the arena holds at least that.
  double intermediate_floor(const Blocks& blocks) const {
    double largest = 0;
    for (const std::vector<Mode>& modes : intermediates_) {
      double count = element_;
      for (Mode mode : modes) count *= static_cast<double>(blocks[mode]);
      largest = std::max(largest, count);
    }
    return aligned(largest);
  }

  // The block model of the Program lowered at these blocks, or without
  // one, the estimate of estimate().
  BlockModel block_model(const Blocks& blocks, const Program* program) const {
    BlockModel model;
    model.sliced = sliced_modes(blocks);
    double fill = 1;  // average block volume over the full block's
    for (const SlicedMode& sliced : model.sliced) {
      model.block_count *= static_cast<double>(sliced.blocks);
      fill *= static_cast<double>(problem_.extents[sliced.mode]) /
              static_cast<double>(sliced.blocks * sliced.block);
      model.output_sliced = model.output_sliced || is_output_[sliced.mode];
    }
    model.flops = flops_of(blocks);
    const Rates& rates = options_.rates;
    model.working = static_cast<double>(options_.fixed_bytes);
    model.compute = model.flops / model.block_count / rates.gemm_flops;
    if (program) {
      model.working += aligned(static_cast<double>(program->arena_bytes));
      if (options_.workspace_of)
        model.working += static_cast<double>(options_.workspace_of(*program));
      double op_bytes = 0;
      for (const Op& op : program->ops) op_bytes += op.bytes;
      model.compute += op_bytes * fill / rates.device_bytes +
                       static_cast<double>(program->ops.size()) * rates.op_seconds;
    } else {
      model.working += intermediate_floor(blocks);
      model.compute += static_cast<double>(step_flops_.size()) * rates.op_seconds;
    }
    for (int index = 0; index < input_count(); ++index) {
      model.slot_bytes.push_back(slot_bytes(index, blocks));
      model.pass_bytes.push_back(pass_bytes(index, blocks));
      model.varies.push_back(carries_any(index, model.sliced));
      for (const SlicedMode& sliced : model.sliced) {
        model.carries.push_back(carries(index, sliced.mode));
      }
    }
    model.output_slot = output_slot(blocks);
    for (int index = 0; index < input_count(); ++index) {
      const ProblemOperand& input = problem_.inputs[index];
      std::vector<std::int64_t> extents, strides;
      for (std::size_t k = 0; k < input.modes.size(); ++k) {
        extents.push_back(blocks[input.modes[k]]);
        strides.push_back(input_strides_[index][input.axes[k]]);
      }
      model.copy_slowdown.push_back(copy_slowdown(extents, strides));
    }
    std::vector<std::int64_t> output_extents;
    for (Mode mode : problem_.output) output_extents.push_back(blocks[mode]);
    model.output_copy_slowdown = copy_slowdown(output_extents, output_strides_);
    return model;
  }

  // How much slower than a contiguous copy a block of these extents and
  // (caller's) strides crosses: by its innermost contiguous run.
  double copy_slowdown(const std::vector<std::int64_t>& extents,
                       const std::vector<std::int64_t>& strides) const {
    double run = 1;  // elements
    bool whole = true;
    for (std::size_t axis = extents.size(); axis-- > 0;) {
      if (extents[axis] == 1) continue;
      if (strides[axis] != static_cast<std::int64_t>(run)) {
        whole = false;
        break;
      }
      run *= static_cast<double>(extents[axis]);
    }
    if (whole) return 1;
    return std::min(1 + kRowOverheadBytes / (run * element_), kMostCopySlowdown);
  }

  double memory(const BlockModel& model, const Placement& placement) const {
    double memory = model.working;
    for (int index = 0; index < input_count(); ++index) {
      memory += placement.inputs[index] == Residency::resident
                    ? aligned(input_span_[index])
                    : buffering_ * aligned(model.slot_bytes[index]);
    }
    memory += placement.output == Residency::resident ? aligned(output_span_)
                                                      : buffering_ * aligned(model.output_slot);
    return memory;
  }

  // Seconds the copies of `in` and `out` seconds at link rates take when
  // they pass through the host threads' staging (pageable memory): the
  // threads do both in turn at Rates::staging. At least the link time.
  double staged(double in, double out) const {
    const Rates& rates = options_.rates;
    const double link = std::max(in, out);
    if (rates.staging <= 0) return link;
    return std::max(link, (in * rates.host_to_device + out * rates.device_to_host) / rates.staging);
  }

  // The pipeline under a loop order. Resident inputs cross once before the
  // first block, a resident output once after the last. A streamed input
  // crosses again whenever the block indices of its sliced modes change
  // between consecutive blocks: at the steps where a loop level at or
  // inside its innermost carried level advances. Each step overlaps its
  // compute with the next step's input copies and the previous output
  // block's copy back, so a step costs the largest of the three; the first
  // block's copies in and the last output block's copy back are not hidden.
  // Every copy also pays one op's latency.
  Timing time_of(const BlockModel& model, const Placement& placement) const {
    const Rates& rates = options_.rates;
    const std::vector<int>& order = placement.order;
    const int levels = static_cast<int>(order.size());
    level_blocks_.resize(levels);
    copy_in_.assign(levels, 0.0);
    copy_out_.assign(levels, 0.0);
    for (int level = 0; level < levels; ++level) {
      level_blocks_[level] = static_cast<double>(model.sliced[order[level]].blocks);
    }
    Timing timing;
    double before = 0, first_in = 0;
    for (int index = 0; index < input_count(); ++index) {
      if (placement.inputs[index] == Residency::resident) {
        before += input_span_[index];
        continue;
      }
      const char* carried = &model.carries[index * model.sliced.size()];
      int innermost = -1;
      double carried_blocks = 1, repeats = 1;
      for (int level = 0; level < levels; ++level) {
        if (carried[order[level]]) {
          innermost = level;
          carried_blocks *= level_blocks_[level];
        }
      }
      for (int level = 0; level < innermost; ++level) {
        if (!carried[order[level]]) repeats *= level_blocks_[level];
      }
      timing.to_device += model.pass_bytes[index] * repeats;
      const double seconds = model.pass_bytes[index] / carried_blocks / rates.host_to_device *
                                 model.copy_slowdown[index] +
                             rates.op_seconds;
      first_in += seconds;
      for (int level = 0; level <= innermost; ++level) copy_in_[level] += seconds;
    }
    timing.to_device += before;
    double after = 0, last_out = 0;
    if (placement.output == Residency::resident) {
      after = output_span_ / rates.device_to_host;
      timing.to_host = output_span_;
    } else {
      // Output levels are outermost: the output block changes when one advances.
      double output_blocks = 1;
      int output_levels = 0;
      while (output_levels < levels && is_output_[model.sliced[order[output_levels]].mode]) {
        output_blocks *= level_blocks_[output_levels++];
      }
      last_out = output_full_ / output_blocks / rates.device_to_host * model.output_copy_slowdown +
                 rates.op_seconds;
      for (int level = 0; level < output_levels; ++level) copy_out_[level] = last_out;
      timing.to_host = output_full_;
    }
    double steps = model.compute;  // the first block
    double outer = 1;
    for (int level = 0; level < levels; ++level) {
      steps += outer * (level_blocks_[level] - 1) *
               std::max({model.compute, copy_in_[level], copy_out_[level],
                         staged(copy_in_[level], copy_out_[level])});
      outer *= level_blocks_[level];
    }
    timing.seconds = staged(before / rates.host_to_device, 0) + staged(first_in, 0) + steps +
                     staged(0, after) + staged(0, last_out);
    return timing;
  }

  bool valid(const BlockModel& model, const Placement& placement) const {
    if (placement.output == Residency::resident) return true;
    bool summed_seen = false;
    for (int level : placement.order) {
      const bool kept = is_output_[model.sliced[level].mode];
      if (kept && summed_seen) return false;
      summed_seen = summed_seen || !kept;
    }
    return true;
  }

  // Every order of `levels` loop levels, built once per count.
  const std::vector<std::vector<int>>& orders(int levels) const {
    if (static_cast<int>(orders_.size()) <= levels) orders_.resize(levels + 1);
    std::vector<std::vector<int>>& all = orders_[levels];
    if (all.empty()) {
      std::vector<int> order(levels);
      std::iota(order.begin(), order.end(), 0);
      do {
        all.push_back(order);
      } while (std::next_permutation(order.begin(), order.end()));
    }
    return all;
  }

  // The fastest valid loop order for `placement`'s residency, written into
  // it: every order up to kExhaustiveOrderLevels sliced modes, else the
  // modes of the largest streamed inputs outermost (they then never repeat)
  // refined by swapping neighbours. Not `exhaustive` (for estimates): the
  // latter always, with one pass of swaps.
  double choose_order(const BlockModel& model, Placement& placement, bool exhaustive = true) const {
    const int levels = static_cast<int>(model.sliced.size());
    double best = std::numeric_limits<double>::infinity();
    if (exhaustive && levels <= kExhaustiveOrderLevels) {
      const std::vector<int>* chosen = nullptr;
      for (const std::vector<int>& order : orders(levels)) {
        placement.order = order;
        if (!valid(model, placement)) continue;
        const double seconds = time_of(model, placement).seconds;
        if (seconds < best) {
          best = seconds;
          chosen = &order;
        }
      }
      placement.order = *chosen;
      return best;
    }
    std::vector<double> weight(levels, 0.0);
    for (int level = 0; level < levels; ++level) {
      for (int index = 0; index < input_count(); ++index) {
        if (placement.inputs[index] == Residency::streamed &&
            model.carries[index * levels + level]) {
          weight[level] = std::max(weight[level], model.pass_bytes[index]);
        }
      }
    }
    const bool output_first = placement.output == Residency::streamed;
    std::vector<int> order(levels);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      const bool kept_a = is_output_[model.sliced[a].mode] && output_first;
      const bool kept_b = is_output_[model.sliced[b].mode] && output_first;
      if (kept_a != kept_b) return kept_a;
      return weight[a] > weight[b];
    });
    placement.order = order;
    best = time_of(model, placement).seconds;
    const int passes = exhaustive ? levels : 1;
    bool improved = true;
    for (int pass = 0; improved && pass < passes; ++pass) {
      improved = false;
      for (int level = 0; level + 1 < levels; ++level) {
        std::swap(placement.order[level], placement.order[level + 1]);
        const double seconds = valid(model, placement) ? time_of(model, placement).seconds : best;
        if (seconds < best) {
          best = seconds;
          improved = true;
        } else {
          std::swap(placement.order[level], placement.order[level + 1]);
        }
      }
    }
    return best;
  }

  // Each operand where it needs the least memory (resident on ties).
  Placement least_memory(const BlockModel& model) const {
    Placement placement;
    placement.inputs.assign(input_count(), Residency::resident);
    for (int index = 0; index < input_count(); ++index) {
      if (model.varies[index] &&
          buffering_ * aligned(model.slot_bytes[index]) < aligned(input_span_[index])) {
        placement.inputs[index] = Residency::streamed;
      }
    }
    if (model.output_sliced && buffering_ * aligned(model.output_slot) < aligned(output_span_)) {
      placement.output = Residency::streamed;
    }
    return placement;
  }

  static void flip(Residency& residency) {
    residency = residency == Residency::resident ? Residency::streamed : Residency::resident;
  }

  // Flips inputs between resident and streamed while the plan fits and gets
  // faster: each pass tries the flips in the order of the time each saves
  // alone. Returns the new time.
  double refine_residency(const BlockModel& model, Placement& placement, double seconds) const {
    std::vector<std::pair<double, int>> flips;
    for (int pass = 0; pass < kResidencyPasses; ++pass) {
      flips.clear();
      for (int index = 0; index < input_count(); ++index) {
        if (!model.varies[index]) continue;
        flip(placement.inputs[index]);
        if (memory(model, placement) <= budget_) {
          const double trial = time_of(model, placement).seconds;
          if (trial < seconds) flips.emplace_back(trial, index);
        }
        flip(placement.inputs[index]);
      }
      if (flips.empty()) break;
      std::sort(flips.begin(), flips.end());
      for (const auto& [alone, index] : flips) {
        flip(placement.inputs[index]);
        const double trial =
            memory(model, placement) <= budget_ ? time_of(model, placement).seconds : seconds;
        if (trial < seconds) {
          seconds = trial;
        } else {
          flip(placement.inputs[index]);
        }
      }
    }
    return seconds;
  }

  // Residency and loop order for one block model. Each operand starts where
  // it needs less memory (so a plan over the budget is the least it can be,
  // whatever the budget); when that fits, the fastest loop orders (with a
  // resident or a streamed output) get their inputs' residency refined
  // greedily: flip the input whose flip saves the most time while it fits.
  SlicePlan place(const BlockModel& model, bool exhaustive = true) const {
    const int levels = static_cast<int>(model.sliced.size());
    const Placement base = least_memory(model);
    Placement best = base;
    double best_seconds = std::numeric_limits<double>::infinity();
    if (memory(model, base) > budget_) {
      best_seconds = choose_order(model, best, exhaustive);
    } else {
      // (seconds, output residency, order) of the fastest orders.
      std::vector<std::tuple<double, Residency, std::vector<int>>> candidates;
      for (Residency output : {Residency::resident, Residency::streamed}) {
        if (output == Residency::streamed && !model.output_sliced) continue;
        Placement placement = base;
        placement.output = output;
        if (memory(model, placement) > budget_) continue;
        if (exhaustive && levels <= kExhaustiveOrderLevels) {
          for (const std::vector<int>& order : orders(levels)) {
            placement.order = order;
            if (valid(model, placement)) {
              candidates.emplace_back(time_of(model, placement).seconds, output, order);
            }
          }
        } else {
          const double seconds = choose_order(model, placement, exhaustive);
          candidates.emplace_back(seconds, output, placement.order);
        }
      }
      const std::size_t kept = std::min<std::size_t>(candidates.size(), kOrdersRefined);
      std::partial_sort(
          candidates.begin(), candidates.begin() + kept, candidates.end(),
          [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
      for (std::size_t candidate = 0; candidate < kept; ++candidate) {
        Placement placement = base;
        double seconds = std::get<0>(candidates[candidate]);
        placement.output = std::get<1>(candidates[candidate]);
        placement.order = std::get<2>(candidates[candidate]);
        seconds = refine_residency(model, placement, seconds);
        if (seconds < best_seconds) {
          best_seconds = seconds;
          best = placement;
        }
      }
      if (exhaustive) choose_order(model, best);
    }

    SlicePlan plan;
    for (int level : best.order) plan.sliced.push_back(model.sliced[level]);
    plan.inputs = best.inputs;
    plan.output = best.output;
    plan.block_count = model.block_count < 9.2e18 ? static_cast<std::int64_t>(model.block_count)
                                                  : std::numeric_limits<std::int64_t>::max();
    plan.device_bytes = static_cast<std::uint64_t>(memory(model, best));
    const Timing timing = time_of(model, best);
    plan.bytes_to_device = timing.to_device;
    plan.bytes_to_host = timing.to_host;
    plan.flops = model.flops;
    plan.seconds = timing.seconds;
    plan.buffering = static_cast<int>(buffering_);
    return plan;
  }

  const Problem& problem_;
  LinearPath linear_;
  DataType dtype_;
  double element_;
  const std::vector<std::vector<std::int64_t>>& input_strides_;
  const std::vector<std::int64_t>& output_strides_;
  const SliceOptions& options_;
  double budget_;
  double buffering_;
  std::vector<double> step_flops_;
  std::vector<std::vector<Mode>> step_modes_;  // per step: the modes it carries
  std::vector<bool> is_output_;
  std::vector<std::vector<int>> multiplicity_;  // per input and mode
  std::vector<double> input_span_;
  double output_span_ = 0, output_full_ = 0;
  std::vector<std::vector<Mode>> intermediates_;          // modes of each result but the output
  std::map<Blocks, std::pair<SlicePlan, double>> plans_;  // with the working memory
  std::map<Blocks, Estimate> estimates_;
  std::map<Blocks, double> fitting_seconds_;
  // Scratch of time_of and the loop orders of each level count.
  mutable std::vector<double> level_blocks_, copy_in_, copy_out_;
  mutable std::vector<std::vector<std::vector<int>>> orders_;
};

// The search over block-size vectors (see plan_slices).
class SliceSearch {
 public:
  SliceSearch(const Problem& problem, Evaluator& evaluator, bool pipeline, SliceSearchStats* stats)
      : problem_(problem), evaluator_(evaluator), pipeline_(pipeline), stats_(stats) {}

  SlicePlan run() {
    const Blocks whole = problem_.extents;
    {
      const SlicePlan& plan = evaluate(whole);
      if (evaluator_.fits(plan)) {
        if (!pipeline_) return finish(whole);
        // Fits: slicing can only pay by overlapping copies with compute, so
        // climb from the whole problem while the time model says faster.
        Blocks state = whole;
        climb(state, plan.seconds);
        return finish(state);
      }
    }
    // Every mode in blocks of one index: usually the least memory there is,
    // and when even the operands' least memory is over the budget, nothing
    // else need be tried. (Evaluated whatever the budget, so that the least
    // need an error reports is always a budget that works.)
    Blocks finest = whole;
    for (std::int64_t& block : finest) block = std::min<std::int64_t>(block, 1);
    evaluate(finest);
    if (evaluator_.least_possible_memory() > evaluator_.budget()) fail();
    descend();
    if (fitting_.empty()) fail();

    std::sort(fitting_.begin(), fitting_.end());
    Blocks best = fitting_.front().second;
    double best_seconds = fitting_.front().first;
    const int seeds = std::min<int>(kClimbSeeds, static_cast<int>(fitting_.size()));
    for (int seed = 0; seed < seeds; ++seed) {
      Blocks state = fitting_[seed].second;
      const double seconds = climb(state, fitting_[seed].first);
      if (seconds < best_seconds) {
        best_seconds = seconds;
        best = state;
      }
    }
    return finish(best);
  }

 private:
  const SlicePlan& evaluate(const Blocks& blocks) {
    const SlicePlan& plan = evaluator_.evaluate(blocks);
    least_ = std::min(least_, plan.device_bytes);
    return plan;
  }

  void report() const {
    if (!stats_) return;
    stats_->lowered = evaluator_.lowered();
    stats_->estimated = evaluator_.estimated();
    stats_->pruned = pruned_;
  }

  SlicePlan finish(const Blocks& blocks) {
    report();
    return evaluator_.evaluate(blocks);
  }

  [[noreturn]] void fail() {
    report();
    const std::uint64_t budget = static_cast<std::uint64_t>(evaluator_.budget());
    throw MemoryError("the problem needs at least " + std::to_string(least_) +
                          " bytes of device memory even sliced into blocks; the memory limit is " +
                          std::to_string(budget) + " bytes",
                      least_, budget);
  }

  // Phase 1, a beam descent from the whole problem: each level halves one
  // mode's block in every survivor. The children are ranked by estimate()
  // under several weightings of memory against time (memory alone among
  // them, so the descent closes in on the budget); only the survivors, and
  // children whose memory floor is within the budget, are lowered. Fitting
  // plans are kept aside. Until a plan fits, which plans are lowered does
  // not depend on the budget, so the least memory seen is a budget that works.
  void descend() {
    std::vector<Blocks> beam = {problem_.extents};
    int after_fit = -1;
    for (int level = 0; level < kDescentLevels && !beam.empty() && after_fit < kLevelsAfterFit;
         ++level) {
      std::vector<std::pair<Blocks, Estimate>> children;
      for (const Blocks& state : beam) {
        const double ratio = evaluator_.working_ratio(state);
        for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
          if (state[mode] <= 1) continue;
          Blocks child = state;
          const std::int64_t extent = problem_.extents[mode];
          child[mode] = block_for(extent, blocks_of(extent, (state[mode] + 1) / 2));
          if (!seen_.insert(child).second) continue;
          const Estimate& estimate = evaluator_.estimate(child);
          if (estimate.memory + (ratio - 1) * evaluator_.working_floor(child) <=
              evaluator_.budget()) {
            const SlicePlan& plan = evaluate(child);
            if (evaluator_.fits(plan)) {
              fitting_.emplace_back(plan.seconds, child);
              continue;
            }
          }
          children.emplace_back(child, estimate);
        }
      }
      if (!fitting_.empty()) ++after_fit;
      beam.clear();
      std::vector<bool> taken(children.size(), false);
      for (double weight : kBeamWeights) {
        int chosen = -1;
        double chosen_score = 0, chosen_seconds = 0;
        for (std::size_t k = 0; k < children.size(); ++k) {
          if (taken[k]) continue;
          const Estimate& estimate = children[k].second;
          const double memory = std::log(std::max(estimate.memory, 1.0));
          const double seconds = std::log(std::max(estimate.seconds, 1e-30));
          const double score = std::isinf(weight) ? memory : weight * memory + seconds;
          if (chosen < 0 || score < chosen_score ||
              (score == chosen_score && seconds < chosen_seconds)) {
            chosen = static_cast<int>(k);
            chosen_score = score;
            chosen_seconds = seconds;
          }
        }
        if (chosen < 0) break;
        taken[chosen] = true;
        const SlicePlan& plan = evaluate(children[chosen].first);
        if (evaluator_.fits(plan)) {
          fitting_.emplace_back(plan.seconds, children[chosen].first);
        } else {
          beam.push_back(children[chosen].first);
        }
      }
    }
  }

  // Block counts worth trying for one mode from `count` blocks: one more
  // and one fewer, double, half, half as many again and two thirds, no
  // slicing, and the nearest counts that divide the extent evenly.
  static std::vector<std::int64_t> counts_near(std::int64_t extent, std::int64_t count) {
    std::vector<std::int64_t> counts = {
        1, count - 1, count + 1, 2 * count, (count + 1) / 2, count * 3 / 2, count * 2 / 3};
    for (std::int64_t step = 1; step <= kDivisorScan; ++step) {
      if (count + step <= extent && extent % (count + step) == 0) {
        counts.push_back(count + step);
        break;
      }
    }
    for (std::int64_t step = 1; step <= kDivisorScan && count - step >= 1; ++step) {
      if (extent % (count - step) == 0) {
        counts.push_back(count - step);
        break;
      }
    }
    return counts;
  }

  // Fewer blocks worth trying for a mode cut into `count`: every smaller
  // count up to kFewerCounts, else a spread of them down to one.
  static std::vector<std::int64_t> counts_below(std::int64_t count) {
    std::vector<std::int64_t> counts;
    if (count <= kFewerCounts) {
      for (std::int64_t fewer = count - 1; fewer >= 1; --fewer) counts.push_back(fewer);
      return counts;
    }
    for (double factor : {0.9, 0.75, 2.0 / 3, 0.5, 1.0 / 3, 0.25}) {
      counts.push_back(static_cast<std::int64_t>(static_cast<double>(count) * factor));
    }
    counts.push_back(count - 1);
    counts.push_back(1);
    return counts;
  }

  Blocks with(const Blocks& from, Mode mode, std::int64_t count) const {
    Blocks next = from;
    const std::int64_t extent = problem_.extents[mode];
    next[mode] = block_for(extent, std::clamp<std::int64_t>(count, 1, extent));
    return next;
  }

  // The fewest blocks of `mode`, from `count` up, whose memory floor fits
  // (by doubling, then bisection); 0 when none does.
  std::int64_t least_fitting_count(const Blocks& state, Mode mode, std::int64_t count) const {
    const std::int64_t extent = problem_.extents[mode];
    auto fits = [&](std::int64_t trial) {
      return evaluator_.memory_floor(with(state, mode, trial)) <= evaluator_.budget();
    };
    std::int64_t low = std::max<std::int64_t>(count, 1) - 1,
                 high = std::max<std::int64_t>(count, 1);
    while (!fits(high)) {
      if (high >= extent) return 0;
      low = high;
      high = std::min(extent, 2 * high);
    }
    while (high - low > 1) {
      const std::int64_t middle = low + (high - low) / 2;
      (fits(middle) ? high : low) = middle;
    }
    return high;
  }

  // Phase 2, local search from one fitting plan. Moves: one mode to a
  // block count of counts_near; and walks along the budget: fewer blocks of
  // a sliced mode (counts_below), with another mode cut into the fewest
  // blocks whose memory floor then fits (once more if that is not enough).
  // Each pass lowers the moves in the order of their estimated time,
  // skipping those whose memory floor is over the budget or whose time
  // floor is no better than the best found, and takes the best one after
  // kClimbTries more lowerings past the first improvement; it stops when no
  // move fits and is faster.
  double climb(Blocks& state, double seconds) {
    const int modes = problem_.mode_count();
    for (int pass = 0; pass < kClimbPasses; ++pass) {
      std::vector<Blocks> moves;
      for (Mode mode = 0; mode < modes; ++mode) {
        const std::int64_t extent = problem_.extents[mode];
        if (extent <= 1) continue;
        const std::int64_t count = blocks_of(extent, state[mode]);
        for (std::int64_t next : counts_near(extent, count))
          moves.push_back(with(state, mode, next));
      }
      for (Mode from = 0; from < modes; ++from) {
        const std::int64_t from_count = blocks_of(problem_.extents[from], state[from]);
        if (from_count <= 1) continue;
        for (std::int64_t fewer : counts_below(from_count)) {
          if (fewer < 1 || fewer >= from_count) continue;
          const Blocks coarser = with(state, from, fewer);
          for (Mode to = 0; to < modes; ++to) {
            if (to == from || problem_.extents[to] <= 1) continue;
            const std::int64_t to_count = blocks_of(problem_.extents[to], state[to]);
            const std::int64_t count = least_fitting_count(coarser, to, to_count + 1);
            if (count == 0) continue;
            moves.push_back(with(coarser, to, count));
            if (count < problem_.extents[to]) moves.push_back(with(coarser, to, count + 1));
          }
        }
      }
      std::sort(moves.begin(), moves.end());
      moves.erase(std::unique(moves.begin(), moves.end()), moves.end());
      // (predicted not to fit, time floor or estimate, move)
      std::vector<std::tuple<bool, double, const Blocks*>> ranked;
      const double ratio = evaluator_.working_ratio(state);
      for (const Blocks& move : moves) {
        if (move == state) continue;
        const double floor = evaluator_.memory_floor(move);
        const double fastest = evaluator_.seconds_floor(move);
        if (floor > evaluator_.budget() || fastest >= seconds) {
          ++pruned_;
          continue;
        }
        const double predicted = floor + (ratio - 1) * evaluator_.working_floor(move);
        ranked.emplace_back(predicted > evaluator_.budget(), fastest, &move);
      }
      // Estimates cost a placement each: only for the most promising.
      std::stable_sort(ranked.begin(), ranked.end());
      if (ranked.size() > kPassEstimates) ranked.resize(kPassEstimates);
      for (auto& [unlikely, score, move] : ranked) score = evaluator_.fitting_seconds(*move);
      std::stable_sort(ranked.begin(), ranked.end());
      const Blocks* chosen = nullptr;
      double chosen_seconds = seconds;
      int tries = 0, lowered = 0;
      for (const auto& [unlikely, estimated, move] : ranked) {
        if ((chosen && ++tries > kClimbTries) || ++lowered > kPassLowerings) break;
        if (evaluator_.seconds_floor(*move) >= chosen_seconds) {
          ++pruned_;
          continue;
        }
        const SlicePlan& plan = evaluate(*move);
        if (evaluator_.fits(plan) && plan.seconds < chosen_seconds) {
          chosen_seconds = plan.seconds;
          chosen = move;
        }
      }
      if (!chosen) break;
      state = *chosen;
      seconds = chosen_seconds;
    }
    return seconds;
  }

  const Problem& problem_;
  Evaluator& evaluator_;
  bool pipeline_ = false;
  SliceSearchStats* stats_;
  std::uint64_t least_ = std::numeric_limits<std::uint64_t>::max();
  std::set<Blocks> seen_;
  std::vector<std::pair<double, Blocks>> fitting_;  // (predicted seconds, blocks)
  int pruned_ = 0;
};

}  // namespace

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
  return SliceSearch(problem, evaluator, options.pipeline, stats).run();
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
  return evaluator.evaluate(clamped);
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
  os << "  device bytes  " << plan.device_bytes << " (" << plan.buffering
     << " buffers per streamed tensor)"
     << ", to device " << gigabytes(plan.bytes_to_device) << ", to host "
     << gigabytes(plan.bytes_to_host) << ", predicted " << seconds << '\n';
  return os.str();
}

}  // namespace einstream::detail
