#include "planner/slice_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "planner/lower.hpp"

namespace einstream::detail {

namespace {

// The model's knobs (the search's are in slice_search.cpp, the loop
// orders' and residency's in slice_placement.cpp).
// A block that is not one contiguous run crosses as many rows: each row
// costs about this many bytes' worth of link time on top of its own (H100:
// 26 KB rows ran at 43 GB/s against 55 GB/s contiguous), up to
// kMostCopySlowdown, roughly what a host gather through staging costs.
constexpr double kRowOverheadBytes = 7000;
constexpr double kMostCopySlowdown = 3;

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

}  // namespace

Evaluator::Evaluator(const Problem& problem, const ContractionPath& path, DataType dtype,
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
  // An operand used in place takes no device bytes and crosses no link: it
  // is modelled as resident with an empty span, which least_memory keeps
  // resident and no flip improves; plan_of names it in place.
  output_in_place_ = options.in_place_output;
  output_span_ = output_in_place_ ? 0 : span(problem.output, output_axes, output_strides);
  output_full_ = element_;
  for (Mode mode : problem.output) output_full_ *= static_cast<double>(problem.extents[mode]);
  for (std::size_t index = 0; index < problem.inputs.size(); ++index) {
    const ProblemOperand& input = problem.inputs[index];
    std::vector<int> multiplicity(modes, 0);
    for (Mode mode : input.modes) ++multiplicity[mode];
    multiplicity_.push_back(std::move(multiplicity));
    in_place_.push_back(index < options.in_place_inputs.size() && options.in_place_inputs[index]);
    input_span_.push_back(in_place_.back() ? 0
                                           : span(input.modes, input.axes, input_strides[index]));
  }
}

int Evaluator::estimated() const {
  std::set<Blocks> estimated;
  for (const auto& entry : estimates_) estimated.insert(entry.first);
  for (const auto& entry : fitting_seconds_) estimated.insert(entry.first);
  return static_cast<int>(estimated.size());
}

const SlicePlan& Evaluator::evaluate(const Blocks& blocks) {
  auto found = plans_.find(blocks);
  if (found != plans_.end()) return found->second.first;
  Problem block = problem_;
  for (Mode mode = 0; mode < problem_.mode_count(); ++mode) block.extents[mode] = blocks[mode];
  const Program program =
      lower(block, evaluate_path(block, linear_), dtype_, input_strides_, output_strides_);
  const BlockModel model = block_model(blocks, &program);
  return plans_.emplace(blocks, std::make_pair(place(model), model.working)).first->second.first;
}

const Estimate& Evaluator::estimate(const Blocks& blocks) {
  auto found = estimates_.find(blocks);
  if (found != estimates_.end()) return found->second;
  const BlockModel model = block_model(blocks, nullptr);
  Placement placement = least_memory(model);
  Estimate estimate;
  estimate.seconds = choose_order(model, placement, false);
  estimate.memory = memory(model, placement);
  return estimates_.emplace(blocks, estimate).first->second;
}

double Evaluator::fitting_seconds(const Blocks& blocks) {
  auto found = fitting_seconds_.find(blocks);
  if (found != fitting_seconds_.end()) return found->second;
  const double seconds = place(block_model(blocks, nullptr), false).seconds;
  return fitting_seconds_.emplace(blocks, seconds).first->second;
}

double Evaluator::working_floor(const Blocks& blocks) const {
  return static_cast<double>(options_.fixed_bytes) + intermediate_floor(blocks);
}

double Evaluator::working_ratio(const Blocks& blocks) const {
  const double floor = working_floor(blocks);
  return floor > 0 ? plans_.at(blocks).second / floor : 1.0;
}

double Evaluator::memory_floor(const Blocks& blocks) const {
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

double Evaluator::seconds_floor(const Blocks& blocks) const {
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

double Evaluator::least_possible_memory() const {
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

std::vector<SlicedMode> Evaluator::sliced_modes(const Blocks& blocks) const {
  std::vector<SlicedMode> sliced;
  for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
    if (blocks[mode] < problem_.extents[mode]) {
      sliced.push_back({mode, blocks[mode], blocks_of(problem_.extents[mode], blocks[mode])});
    }
  }
  return sliced;
}

bool Evaluator::carries_any(int index, const std::vector<SlicedMode>& sliced) const {
  return std::any_of(sliced.begin(), sliced.end(),
                     [&](const SlicedMode& s) { return carries(index, s.mode); });
}

double Evaluator::span(const std::vector<Mode>& modes, const std::vector<int>& axes,
                       const std::vector<std::int64_t>& strides) const {
  double reach = 1;
  for (std::size_t k = 0; k < modes.size(); ++k) {
    const std::int64_t extent = problem_.extents[modes[k]];
    if (extent == 0) return 0;
    reach += static_cast<double>(extent - 1) * std::fabs(static_cast<double>(strides[axes[k]]));
  }
  return reach * element_;
}

double Evaluator::slot_bytes(int index, const Blocks& blocks) const {
  double count = element_;
  for (Mode mode : problem_.inputs[index].modes) count *= static_cast<double>(blocks[mode]);
  return count;
}

double Evaluator::output_slot(const Blocks& blocks) const {
  double count = element_;
  for (Mode mode : problem_.output) count *= static_cast<double>(blocks[mode]);
  return count;
}

double Evaluator::pass_bytes(int index, const Blocks& blocks) const {
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

double Evaluator::flops_of(const Blocks& blocks) const {
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

double Evaluator::block_count(const Blocks& blocks) const {
  double count = 1;
  for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
    count *= static_cast<double>(blocks_of(problem_.extents[mode], blocks[mode]));
  }
  return count;
}

double Evaluator::intermediate_floor(const Blocks& blocks) const {
  double largest = 0;
  for (const std::vector<Mode>& modes : intermediates_) {
    double count = element_;
    for (Mode mode : modes) count *= static_cast<double>(blocks[mode]);
    largest = std::max(largest, count);
  }
  return aligned(largest);
}

BlockModel Evaluator::block_model(const Blocks& blocks, const Program* program) const {
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
    model.varies.push_back(!in_place_[index] && carries_any(index, model.sliced));
    for (const SlicedMode& sliced : model.sliced) {
      model.carries.push_back(carries(index, sliced.mode));
    }
  }
  model.output_slot = output_slot(blocks);
  add_copy_slowdowns(blocks, model);
  return model;
}

void Evaluator::add_copy_slowdowns(const Blocks& blocks, BlockModel& model) const {
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
}

double Evaluator::copy_slowdown(const std::vector<std::int64_t>& extents,
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

double Evaluator::memory(const BlockModel& model, const Placement& placement) const {
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

double Evaluator::staged(double in, double out) const {
  const Rates& rates = options_.rates;
  const double link = std::max(in, out);
  if (rates.staging <= 0) return link;
  return std::max(link, (in * rates.host_to_device + out * rates.device_to_host) / rates.staging);
}

// The copies come first (input_copies, output_copies); then each loop
// level's steps cost the largest of the compute and the copies they overlap.
Timing Evaluator::time_of(const BlockModel& model, const Placement& placement) const {
  const Rates& rates = options_.rates;
  const int levels = static_cast<int>(placement.order.size());
  level_blocks_.resize(levels);
  copy_in_.assign(levels, 0.0);
  copy_out_.assign(levels, 0.0);
  for (int level = 0; level < levels; ++level) {
    level_blocks_[level] = static_cast<double>(model.sliced[placement.order[level]].blocks);
  }
  Timing timing;
  double before = 0;
  const double first_in = input_copies(model, placement, timing, before);
  double after = 0;
  const double last_out = output_copies(model, placement, timing, after);
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

double Evaluator::input_copies(const BlockModel& model, const Placement& placement, Timing& timing,
                               double& before) const {
  const Rates& rates = options_.rates;
  const std::vector<int>& order = placement.order;
  const int levels = static_cast<int>(order.size());
  double first_in = 0;
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
  return first_in;
}

double Evaluator::output_copies(const BlockModel& model, const Placement& placement, Timing& timing,
                                double& after) const {
  const Rates& rates = options_.rates;
  const std::vector<int>& order = placement.order;
  const int levels = static_cast<int>(order.size());
  if (placement.output == Residency::resident) {
    after = output_span_ / rates.device_to_host;
    timing.to_host = output_span_;
    return 0;
  }
  // Output levels are outermost: the output block changes when one advances.
  double output_blocks = 1;
  int output_levels = 0;
  while (output_levels < levels && is_output_[model.sliced[order[output_levels]].mode]) {
    output_blocks *= level_blocks_[output_levels++];
  }
  const double last_out =
      output_full_ / output_blocks / rates.device_to_host * model.output_copy_slowdown +
      rates.op_seconds;
  for (int level = 0; level < output_levels; ++level) copy_out_[level] = last_out;
  timing.to_host = output_full_;
  return last_out;
}

}  // namespace einstream::detail
