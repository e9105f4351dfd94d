// Plan: validation of descriptors, planning (parse + path) and dispatch of
// execution to a backend.
#include "einstream/plan.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "einstream/error.hpp"
#include "planner/block_assignment.hpp"
#include "planner/device_layout.hpp"
#include "planner/device_scaling.hpp"
#include "planner/lower.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "planner/slice.hpp"
#include "planner/slice_path.hpp"
#include "src/cuda_executor.hpp"
#include "src/desc_check.hpp"
#include "src/devices.hpp"
#include "src/explain.hpp"
#include "src/host/block_executor.hpp"
#include "src/memory_span.hpp"
#include "src/multi_device.hpp"
#include "src/output_reversal.hpp"
#include "src/plan_log.hpp"

namespace einstream {

namespace detail {

struct PlanState {
  std::string expression;
  std::vector<TensorDesc> inputs;
  TensorDesc output;
  Options options;
  Backend backend = Backend::host;
  Problem problem;
  ContractionPath path;
  PathInfo path_info;
  Program program;
  // The block plan: with a memory limit in bytes on the host backend, the
  // blocks that fit it (a simulation of the device budget the CUDA backend
  // streams under); on the CUDA backend, the plan for host operands.
  // `sliced` says explain() shows it.
  bool sliced = false;
  SlicePlan slice;
  // The descriptors the backends plan and run with: the caller's, with
  // output axes of negative stride reversed in every operand.
  OutputReversal reversal;
  // One executor per backend, each running the one block loop; the whole
  // problem is its one-block case.
  std::unique_ptr<HostBlockExecutor> host;
  std::unique_ptr<CudaExecutor> cuda;
  // Options::devices beyond the first: the shares of the other devices.
  std::unique_ptr<MultiDeviceExecutor> devices;
  ExecutionReport report;
};

}  // namespace detail

namespace {

// The search knobs of Options, the memory cap converted from bytes to
// elements of `dtype`.
detail::PathSearchOptions path_search_options(const Options& options, DataType dtype) {
  detail::PathSearchOptions search;
  search.memory_cap =
      static_cast<double>(options.max_intermediate_bytes) / static_cast<double>(size_of(dtype));
  search.trials = options.path_trials;
  search.seconds = options.path_seconds;
  search.seed = options.path_seed;
  return search;
}

// The caller's path (Options::given_path), else the search's.
detail::ContractionPath path_of(const detail::Problem& problem, const Options& options,
                                DataType dtype) {
  if (!options.given_path.empty()) return detail::given_path(problem, options.given_path);
  return detail::find_path(problem, options.path, path_search_options(options, dtype));
}

using detail::PlanState;

Backend resolve_backend(Backend requested) {
  switch (requested) {
    case Backend::automatic:
      return detail::cuda_backend_available() ? Backend::cuda : Backend::host;
    case Backend::host:
      return Backend::host;
    case Backend::cuda:
      if (!detail::cuda_enabled()) {
        throw Error(
            "backend 'cuda': this build of einstream has no CUDA backend (configure with "
            "-DEINSTREAM_ENABLE_CUDA=ON on a machine with the CUDA toolkit); use backend 'host' "
            "or 'auto'");
      }
      if (!detail::cuda_backend_available()) {
        throw Error("backend 'cuda': no CUDA device is visible; use backend 'host' or 'auto'");
      }
      return Backend::cuda;
  }
  throw Error("invalid Backend value");
}

// The slicing planner's rates. Pageable caller memory crosses through the
// host threads' staging copies, which on the H100 machine ran at 40-44 GB/s
// while the DMA engines read the staging buffers, and serve a block's
// inputs and outputs in turn; so re-sending an operand costs more than the
// 54 GB/s link suggests. The planner cannot know where the pointers will
// point; unless the caller asks for registration, it plans for pageable.
detail::Rates slice_rates(const Options& options) {
  constexpr double kStagingBytesPerSecond = 40e9;
  detail::Rates rates;
  if (!options.register_host_memory) rates.staging = kStagingBytesPerSecond;
  return rates;
}

// Over the budget, the slices and the path are chosen together
// (planner/slice_path, with half of path_seconds); a path the finder
// reconfigured replaces the search's (in path() and the Program). Returns
// the block plan; without `plan_when_fitting`, a problem that fits whole
// gets only its one-block evaluation.
detail::SlicePlan choose_sliced_path(PlanState& state, const detail::SliceOptions& slicing,
                                     bool plan_when_fitting) {
  std::vector<std::vector<std::int64_t>> input_strides;
  for (const TensorDesc& desc : state.reversal.inputs) {
    input_strides.push_back(desc.effective_strides());
  }
  detail::SlicePathOptions finder;
  finder.seconds = state.options.path_seconds / 2;
  finder.seed = state.options.path_seed;
  finder.plan_when_fitting = plan_when_fitting;
  finder.keep_path = !state.options.given_path.empty();
  detail::PathSlices chosen =
      detail::plan_path_and_slices(state.problem, state.path, state.output.dtype, input_strides,
                                   state.reversal.output.effective_strides(), slicing, finder);
  if (chosen.path.linear() != state.path.linear()) {
    state.path = std::move(chosen.path);
    state.path_info.path = state.path.linear();
    state.path_info.flops = state.path.flops;
    state.path_info.largest_intermediate = state.path.largest_intermediate;
    state.program = detail::lower(state.problem, state.path, state.output.dtype, input_strides,
                                  state.reversal.output.effective_strides());
  }
  return std::move(chosen.slice);
}

// The devices an execution runs on (Options::devices, else Options::device)
// and the smallest one's memory: the limit is resolved against it.
std::uint64_t check_devices(Options& options) {
  if (options.devices.empty()) options.devices = {options.device};
  options.device = options.devices.front();
  const std::vector<detail::DeviceInfo> visible = detail::list_devices();
  std::uint64_t smallest = 0;
  for (int device : options.devices) {
    std::uint64_t total = 0;
    for (const detail::DeviceInfo& info : visible) {
      if (info.index == device) total = info.total_memory;
    }
    if (total == 0) {
      throw Error("backend 'cuda': device " + std::to_string(device) + " does not exist (" +
                  std::to_string(visible.size()) + " CUDA device(s) visible); set " +
                  (options.devices.size() > 1 ? "Options::devices" : "Options::device") +
                  " to devices that exist");
    }
    smallest = smallest == 0 ? total : std::min(smallest, total);
  }
  return smallest;
}

// CUDA backend: the executor plans the blocks for host operands now (and
// for device operands, used in place, at the first execution that passes
// them). Over the budget the problem is cut into blocks that fit; within
// it, blocks are cut only where the time model predicts that overlapping
// block k+1's copies with block k's compute pays. Pageable memory always
// crosses through pinned staging. planner/device_plan lays the blocks out
// exactly; nothing is created on the device until the first execution.
void plan_cuda(PlanState& state) {
  const std::uint64_t device_total = check_devices(state.options);
  detail::SliceOptions slicing;
  slicing.budget = state.options.memory_limit.resolve(device_total);
  slicing.pipeline = true;
  slicing.rates = slice_rates(state.options);
  slicing.seconds = state.options.path_seconds / 4;
  // Over the budget, the path is chosen with its slices; the executor then
  // slices that path for the device's exact layout (and reports a budget
  // nothing fits in its own words).
  const double unsliced_flops = state.path.flops;
  try {
    choose_sliced_path(state, slicing, false);
  } catch (const MemoryError&) {
    // The executor's planning below names what the device needs.
  }
  state.cuda =
      std::make_unique<detail::CudaExecutor>(state.options, state.problem, state.path,
                                             state.reversal.inputs, state.reversal.output, slicing);
  if (state.options.devices.size() > 1) {
    state.devices = std::make_unique<detail::MultiDeviceExecutor>(
        *state.cuda, state.options.devices, state.options, state.problem, state.path,
        state.reversal.inputs, state.reversal.output, slicing);
  }
  state.slice = state.cuda->host_plan();
  state.slice.unsliced_flops = std::min(unsliced_flops, state.path.flops);
  state.sliced = true;
}

// Host backend: one block loop. With a memory limit in bytes, the blocks
// that fit it; otherwise the whole problem as one block, running the Program
// already lowered.
void plan_host(PlanState& state, const std::vector<std::vector<std::int64_t>>& input_strides) {
  std::vector<detail::BlockShape> shapes;
  if (state.options.memory_limit.kind == MemoryLimit::Kind::bytes) {
    detail::SliceOptions slicing;
    slicing.budget = state.options.memory_limit.resolve(0);
    slicing.rates = slice_rates(state.options);
    slicing.seconds = state.options.path_seconds / 4;
    state.slice = choose_sliced_path(state, slicing, true);
    state.sliced = true;
  } else {
    state.slice = detail::SlicePlan{};
    state.slice.inputs.assign(state.inputs.size(), detail::Residency::resident);
    state.slice.flops = state.path.flops;
  }
  if (state.slice.sliced.empty()) {
    detail::BlockShape whole;
    whole.program = state.program;
    for (const TensorDesc& desc : state.reversal.inputs)
      whole.input_extents.push_back(desc.extents);
    whole.output_extents = state.output.extents;
    shapes.push_back(std::move(whole));
  } else {
    shapes = detail::host_block_shapes(state.problem, state.path, state.slice,
                                       state.reversal.inputs, state.reversal.output);
  }
  state.host = std::make_unique<detail::HostBlockExecutor>(
      state.problem, state.output.dtype, input_strides, state.reversal.output.effective_strides(),
      state.slice, std::move(shapes));
}

std::unique_ptr<PlanState> make_plan(std::string_view expression, std::vector<TensorDesc> inputs,
                                     const TensorDesc* output, const Options& options) {
  auto state = std::make_unique<PlanState>();
  state->expression = std::string(expression);
  state->options = options;

  if (inputs.empty()) throw ShapeError("einsum needs at least one input operand");
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const std::string what = "input " + std::to_string(index);
    if (!is_supported(inputs[index].dtype)) {
      throw Error(what + " has data type value " +
                  std::to_string(static_cast<int>(inputs[index].dtype)) +
                  ", which is not a DataType: expected f32, f64, c64, c128, f16 or bf16");
    }
    if (inputs[index].dtype != inputs[0].dtype) {
      throw ShapeError(what + " has data type " + to_string(inputs[index].dtype) +
                       " but input 0 has " + to_string(inputs[0].dtype) +
                       ": all operands must share one data type");
    }
    detail::check_desc(inputs[index], what);
  }

  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : inputs) shapes.push_back(desc.extents);
  const auto start = std::chrono::steady_clock::now();
  state->problem = detail::parse(expression, shapes);
  detail::log_path_search(options, state->expression, state->problem);
  state->path = path_of(state->problem, options, inputs[0].dtype);
  const auto stop = std::chrono::steady_clock::now();

  state->path_info.path = state->path.linear();
  state->path_info.flops = state->path.flops;
  state->path_info.largest_intermediate = state->path.largest_intermediate;
  state->path_info.seconds = std::chrono::duration<double>(stop - start).count();

  const TensorDesc expected(inputs[0].dtype, state->problem.output_extents());
  detail::check_desc(expected, "the result of '" + state->expression + "',");
  if (output != nullptr) {
    if (output->dtype != expected.dtype || output->extents != expected.extents) {
      throw ShapeError("output " + to_string(*output) + " does not match the result of '" +
                       state->expression + "': expected " + to_string(expected) + " (any strides)");
    }
    detail::check_desc(*output, "output");
    if (!detail::elements_are_distinct(output->extents, output->effective_strides())) {
      throw ShapeError("output " + to_string(*output) +
                       " has strides under which distinct elements share memory");
    }
    state->output = *output;
  } else {
    state->output = expected;
  }
  state->inputs = std::move(inputs);
  state->backend = resolve_backend(options.backend);
  state->reversal =
      detail::reverse_negative_output_axes(state->problem, state->inputs, state->output);
  std::vector<std::vector<std::int64_t>> input_strides;
  for (const TensorDesc& desc : state->reversal.inputs) {
    input_strides.push_back(desc.effective_strides());
  }
  state->program = detail::lower(state->problem, state->path, state->output.dtype, input_strides,
                                 state->reversal.output.effective_strides());
  if (state->backend == Backend::cuda) plan_cuda(*state);
  if (state->backend == Backend::host) plan_host(*state, input_strides);
  const std::uint64_t workspace = state->backend == Backend::cuda
                                      ? state->cuda->device_bytes()
                                      : static_cast<std::uint64_t>(state->program.arena_bytes);
  detail::log_plan(options,
                   {state->expression, state->problem, state->path, state->path_info.seconds,
                    state->backend, state->sliced, state->slice, workspace});
  return state;
}

// The expression for integer modes: dense id d is labelled a-z, A-Z for
// d < 52, then U+00C0 + (d - 52), stepping over the surrogates, so any mode
// count fits and the integer form shares every check of the parser. The
// output is checked here first so that its errors name the caller's ids.
std::string expression_from_modes(const std::vector<std::vector<std::int64_t>>& input_modes,
                                  const std::vector<std::int64_t>& output_modes,
                                  std::size_t input_count) {
  if (input_modes.size() != input_count) {
    throw ShapeError(std::to_string(input_modes.size()) + " mode lists were given for " +
                     std::to_string(input_count) + " inputs: expected one mode list per input");
  }
  std::map<std::int64_t, std::string> labels;
  auto label_of = [&labels](std::int64_t mode) -> const std::string& {
    auto found = labels.find(mode);
    if (found != labels.end()) return found->second;
    constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const std::size_t dense = labels.size();
    std::string label;
    if (dense < 52) {
      label = std::string(1, kLetters[dense]);
    } else {
      auto code_point = static_cast<std::uint32_t>(0xc0 + (dense - 52));
      if (code_point >= 0xd800) code_point += 0x800;
      if (code_point > 0x10ffff) {
        throw Error("more than " + std::to_string(dense) + " distinct modes: too many to label");
      }
      label = detail::encode_utf8(static_cast<char32_t>(code_point));
    }
    return labels.emplace(mode, std::move(label)).first->second;
  };
  std::string expression;
  bool ellipsis = false;  // in some input
  for (std::size_t input = 0; input < input_modes.size(); ++input) {
    if (input > 0) expression += ',';
    if (std::count(input_modes[input].begin(), input_modes[input].end(), Plan::kEllipsis) > 1) {
      throw ShapeError("input " + std::to_string(input) +
                       "'s mode list has kEllipsis more than once: at most one per list");
    }
    for (std::int64_t mode : input_modes[input]) {
      const bool broadcast = mode == Plan::kEllipsis;
      ellipsis = ellipsis || broadcast;
      expression += broadcast ? std::string("...") : label_of(mode);
    }
  }
  expression += "->";
  std::map<std::int64_t, std::size_t> output_axis;
  for (std::size_t axis = 0; axis < output_modes.size(); ++axis) {
    const std::int64_t mode = output_modes[axis];
    if (mode == Plan::kEllipsis) {
      if (!ellipsis) {
        throw ShapeError("output axis " + std::to_string(axis) +
                         " is kEllipsis, but no input's mode list has it: the output may "
                         "broadcast only what the inputs do");
      }
      expression += "...";
      continue;
    }
    const std::string where =
        "output mode " + std::to_string(mode) + " (output axis " + std::to_string(axis) + ")";
    if (labels.count(mode) == 0) {
      throw ShapeError(where +
                       " is in no input's mode list: every output mode must appear in "
                       "an input");
    }
    if (!output_axis.emplace(mode, axis).second) {
      throw ShapeError(where + " repeats output axis " + std::to_string(output_axis[mode]) +
                       ": a mode may appear at most once in the output");
    }
    expression += labels[mode];
  }
  return expression;
}

}  // namespace

Plan::Plan(const std::vector<std::vector<std::int64_t>>& input_modes,
           const std::vector<std::int64_t>& output_modes, std::vector<TensorDesc> inputs,
           const Options& options) {
  // Built before `inputs` is moved from (argument order is unspecified).
  const std::string expression = expression_from_modes(input_modes, output_modes, inputs.size());
  state_ = make_plan(expression, std::move(inputs), nullptr, options);
}

Plan::Plan(std::string_view expression, std::vector<TensorDesc> inputs, const Options& options)
    : state_(make_plan(expression, std::move(inputs), nullptr, options)) {}

Plan::Plan(std::string_view expression, std::vector<TensorDesc> inputs, TensorDesc output,
           const Options& options)
    : state_(make_plan(expression, std::move(inputs), &output, options)) {}

Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

detail::PlanState& Plan::state() const {
  if (!state_) {
    throw Error(
        "this Plan was moved from: it holds no plan; use the Plan it was moved to, or "
        "assign a new Plan to it");
  }
  return *state_;
}

const std::string& Plan::expression() const { return state().expression; }
const std::vector<TensorDesc>& Plan::inputs() const { return state().inputs; }
const TensorDesc& Plan::output() const { return state().output; }
const Options& Plan::options() const { return state().options; }
Backend Plan::backend() const { return state().backend; }
const PathInfo& Plan::path() const { return state().path_info; }
std::uint64_t Plan::workspace_bytes() const {
  if (state().backend == Backend::cuda) return state_->cuda->device_bytes();
  return static_cast<std::uint64_t>(state_->program.arena_bytes);
}

double Plan::bytes_moved() const {
  double bytes = 0;
  for (const detail::Op& op : state().program.ops) bytes += op.bytes;
  return bytes;
}

namespace {

// explain()'s scaling line: a CUDA plan's predicted time on 2, 4 and 8
// devices (and on Options::devices' count).
std::vector<detail::DeviceScaling> scaling_of(const PlanState& state) {
  if (state.backend != Backend::cuda) return {};
  detail::ScalingInputs inputs;
  for (std::size_t index = 0; index < state.reversal.inputs.size(); ++index) {
    if (state.slice.inputs[index] == detail::Residency::resident) {
      inputs.resident_bytes +=
          static_cast<double>(detail::span_bytes(state.reversal.inputs[index]));
    }
  }
  inputs.output_bytes = static_cast<double>(detail::span_bytes(state.reversal.output));
  std::vector<int> counts = {2, 4, 8};
  const int listed = static_cast<int>(state.options.devices.size());
  if (listed > 1 && std::find(counts.begin(), counts.end(), listed) == counts.end()) {
    counts.push_back(listed);
    std::sort(counts.begin(), counts.end());
  }
  std::vector<detail::DeviceScaling> scaling;
  const detail::Rates rates = slice_rates(state.options);
  for (int count : counts) {
    scaling.push_back(detail::predict_on_devices(state.problem, state.slice, count, rates, inputs));
  }
  return scaling;
}

}  // namespace

std::string Plan::explain(ExplainDetail level) const {
  const PlanState& state = this->state();
  const detail::ExplainedPlan plan{
      state.expression, state.problem, state.path,    state.path_info.seconds,
      state.options,    state.backend, state.inputs,  state.output,
      state.sliced,     state.slice,   state.program, scaling_of(state)};
  return detail::render_explain(plan, level);
}

const ExecutionReport& Plan::last_report() const { return state().report; }

void Plan::execute(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                   Scalar beta) {
  state();  // throws on a moved-from Plan
  const auto start = std::chrono::steady_clock::now();
  ExecutionReport report;
  report.backend = state_->backend;
  report.flops =
      state_->sliced && !state_->slice.sliced.empty() ? state_->slice.flops : state_->path.flops;
  execute_on_backend(inputs, output, alpha, beta, report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state_->report = report;
}

int Plan::pipelines() const {
  state();  // throws on a moved-from Plan
  return state_->devices ? static_cast<int>(state_->options.devices.size()) : 1;
}

void Plan::execute_share(const std::vector<const void*>& inputs, void* partial, int worker,
                         int workers, Scalar alpha) {
  state();                          // throws on a moved-from Plan
  const int devices = pipelines();  // one share each
  if (workers < 1 || worker < 0 || worker > workers - devices) {
    const std::string expected =
        devices == 1 ? "0 <= worker < workers"
                     : "0 <= worker <= workers - " + std::to_string(devices) + " (a plan of " +
                           std::to_string(devices) + " devices runs shares worker to worker + " +
                           std::to_string(devices - 1) + ")";
    throw Error("execute_share: worker " + std::to_string(worker) + " of " +
                std::to_string(workers) + "; expected " + expected);
  }
  const auto start = std::chrono::steady_clock::now();
  ExecutionReport report;
  report.backend = state_->backend;
  const std::pair<int, int> share{worker, workers};
  execute_on_backend(inputs, partial, alpha, Scalar(1.0), report, &share);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state_->report = report;
}

void Plan::execute_on_backend(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                              Scalar beta, ExecutionReport& report,
                              const std::pair<int, int>* share) {
  const PlanState& state = *state_;
  if (inputs.size() != state.inputs.size()) {
    throw Error("execute: " + std::to_string(inputs.size()) +
                " input pointers given, the plan for '" + state.expression + "' has " +
                std::to_string(state.inputs.size()) + " inputs");
  }
  if (!is_complex(state.output.dtype) && (alpha.imag() != 0.0 || beta.imag() != 0.0)) {
    throw Error("execute: alpha and beta must be real for data type " +
                std::string(to_string(state.output.dtype)));
  }
  std::vector<detail::MemorySpan> input_spans;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const TensorDesc& desc = state.inputs[index];
    if (inputs[index] == nullptr && desc.element_count() > 0) {
      throw Error("execute: input " + std::to_string(index) + " is a null pointer");
    }
    input_spans.push_back(detail::memory_span(desc, inputs[index]));
  }
  if (output == nullptr && state.output.element_count() > 0) {
    throw Error("execute: output is a null pointer");
  }
  const detail::MemorySpan output_span = detail::memory_span(state.output, output);
  for (std::size_t index = 0; index < input_spans.size(); ++index) {
    if (detail::overlaps(output_span, input_spans[index])) {
      throw Error("execute: the output overlaps input " + std::to_string(index) +
                  "; einsum cannot write over its own inputs");
    }
  }
  const detail::OutputReversal& reversal = state.reversal;
  const std::vector<const void*> views = reversal.reverses() ? reversal.inputs_of(inputs) : inputs;
  void* view = reversal.output_of(output);
  if (state.backend == Backend::cuda && state_->devices) {
    if (share == nullptr) {
      state_->devices->run(views, view, alpha, beta, report);
    } else {
      state_->devices->run_share(views, view, alpha, share->first, share->second, report);
    }
    return;
  }
  if (state.backend == Backend::cuda) {
    // The CUDA executor zeroes a share's partial where it lives.
    state_->cuda->run(views, view, alpha, beta, report,
                      share ? std::optional<std::pair<int, int>>(*share) : std::nullopt);
    return;
  }
  std::optional<detail::BlockRange> range;
  if (share != nullptr) {
    if (output_span.end > output_span.begin) {  // an empty output may be null
      std::memset(reinterpret_cast<void*>(output_span.begin), 0,
                  output_span.end - output_span.begin);
    }
    const detail::SlicePlan& blocks = state_->host->plan();
    range = detail::assign_blocks(state.problem, blocks,
                                  std::vector<double>(static_cast<std::size_t>(share->second), 1.0))
                .ranges[static_cast<std::size_t>(share->first)];
  }
  state_->host->run(views, view, alpha, beta, state.options, report, range);
}

PathInfo contraction_path(std::string_view expression,
                          const std::vector<std::vector<std::int64_t>>& shapes,
                          const Options& options, DataType dtype) {
  for (std::size_t index = 0; index < shapes.size(); ++index) {
    detail::check_desc(TensorDesc(dtype, shapes[index]), "operand " + std::to_string(index));
  }
  const auto start = std::chrono::steady_clock::now();
  const detail::Problem problem = detail::parse(expression, shapes);
  detail::check_desc(TensorDesc(dtype, problem.output_extents()),
                     "the result of '" + std::string(expression) + "',");
  const detail::ContractionPath path = path_of(problem, options, dtype);
  const auto stop = std::chrono::steady_clock::now();
  PathInfo info;
  info.path = path.linear();
  info.flops = path.flops;
  info.largest_intermediate = path.largest_intermediate;
  info.seconds = std::chrono::duration<double>(stop - start).count();
  return info;
}

void einsum(std::string_view expression, const std::vector<ConstTensorView>& inputs,
            const TensorView& output, const Options& options) {
  einsum(expression, inputs, output, 1.0, 0.0, options);
}

void einsum(std::string_view expression, const std::vector<ConstTensorView>& inputs,
            const TensorView& output, Scalar alpha, Scalar beta, const Options& options) {
  std::vector<TensorDesc> descs;
  std::vector<const void*> pointers;
  for (const ConstTensorView& input : inputs) {
    descs.push_back(input.desc);
    pointers.push_back(input.data);
  }
  Plan plan(expression, std::move(descs), output.desc, options);
  plan.execute(pointers, output.data, alpha, beta);
}

void einsum(const std::vector<std::vector<std::int64_t>>& input_modes,
            const std::vector<std::int64_t>& output_modes,
            const std::vector<ConstTensorView>& inputs, const TensorView& output,
            const Options& options) {
  einsum(input_modes, output_modes, inputs, output, 1.0, 0.0, options);
}

void einsum(const std::vector<std::vector<std::int64_t>>& input_modes,
            const std::vector<std::int64_t>& output_modes,
            const std::vector<ConstTensorView>& inputs, const TensorView& output, Scalar alpha,
            Scalar beta, const Options& options) {
  einsum(expression_from_modes(input_modes, output_modes, inputs.size()), inputs, output, alpha,
         beta, options);
}

}  // namespace einstream
