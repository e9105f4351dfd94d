// The CUDA executor: plans per placement of the operands, one device
// allocation sized exactly from the plan's layout, and the block loop run
// on cuda/block_pipeline.
//
// A placement says which operands are in device memory (used in place);
// the plan for host operands is made when planning, others at the first
// execution that passes them (the memory limit was resolved once, when
// planning). The allocation is replaced only when a placement needs a
// different size, and freed first: two never coexist.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "cuda/block_pipeline.hpp"
#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/host_memory.hpp"
#include "cuda/op_runner.hpp"
#include "einstream/error.hpp"
#include "planner/block_assignment.hpp"
#include "src/cuda_executor.hpp"
#include "src/device_memory.hpp"
#include "src/devices.hpp"
#include "src/execution_log.hpp"

namespace einstream::detail {

namespace {

// Block buffers per streamed operand where the budget leaves room for them.
constexpr int kDeepBuffering = 3;

}  // namespace

bool cuda_backend_available() { return !list_devices().empty(); }

WorkspaceNeeds cuda_workspace_needs() {
  WorkspaceNeeds needs;  // reduce workspaces come from the Programs' launch plans
  needs.gemm_bytes = kCublasWorkspaceBytes;
  return needs;
}

struct CudaExecutor::State {
  Options options;
  const Problem* problem = nullptr;
  const ContractionPath* path = nullptr;
  std::vector<TensorDesc> buffers;  // the inputs, then the output
  std::vector<std::vector<std::int64_t>> input_strides;
  std::vector<std::int64_t> output_strides;
  std::size_t element = 4;
  std::uint64_t output_bytes = 0;
  SliceOptions slicing;
  // Per placement (one flag per input, then the output: in device memory).
  std::map<std::vector<bool>, PlacedPlan> plans;
  std::map<std::vector<bool>, PlacedPlan> share_plans;  // share_plan_for's
  const PlacedPlan* host_plan = nullptr;
  std::unique_ptr<PipelineResources> resources;
  std::unique_ptr<DeviceAllocation> memory;
  HostMemory host_memory;
  int staging_threads = 0;  // of the pool; 0: ThreadPool's default

  std::vector<TensorDesc> inputs() const { return {buffers.begin(), buffers.end() - 1}; }

  PlacedPlan& plan_for(const std::vector<bool>& on_device) {
    auto found = plans.find(on_device);
    if (found != plans.end()) return found->second;
    SliceOptions placed = slicing;
    placed.in_place_inputs.assign(on_device.begin(), on_device.end() - 1);
    placed.in_place_output = on_device.back();
    DevicePlan plan = plan_device(*problem, *path, inputs(), buffers.back(), placed,
                                  cuda_workspace_needs(), kDeepBuffering);
    return plans
        .emplace(on_device, place_plan(std::move(plan), input_strides, output_strides, element))
        .first->second;
  }

  // The plan a share runs under this placement: the host plan's blocks with
  // the device operands in place, so that shares on workers whose operands
  // sit in different places still partition the same blocks.
  PlacedPlan& share_plan_for(const std::vector<bool>& on_device) {
    if (std::find(on_device.begin(), on_device.end(), true) == on_device.end()) {
      return plan_for(on_device);
    }
    auto found = share_plans.find(on_device);
    if (found != share_plans.end()) return found->second;
    DevicePlan plan = plan_device_like(host_plan->plan, *problem, *path, inputs(), buffers.back(),
                                       {on_device.begin(), on_device.end() - 1}, on_device.back());
    return share_plans
        .emplace(on_device, place_plan(std::move(plan), input_strides, output_strides, element))
        .first->second;
  }

  PipelineResources& ready_resources() {
    if (!resources) {
      auto made = std::make_unique<PipelineResources>(staging_threads);
      EINSTREAM_CUBLAS_CHECK(cublasSetStream(made->cublas.get(), made->compute.get()));
      EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(made->cublas.get(), options.allow_tf32
                                                                       ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                       : CUBLAS_PEDANTIC_MATH));
      resources = std::move(made);
    }
    return *resources;
  }

  char* allocation(std::uint64_t bytes) {
    if (!memory || memory->bytes() != bytes) {
      memory.reset();  // free first: the old and new may not fit together
      memory = std::make_unique<DeviceAllocation>(bytes, options.device);
    }
    return static_cast<char*>(memory->get());
  }
};

CudaExecutor::CudaExecutor(const Options& options, const Problem& problem,
                           const ContractionPath& path, std::vector<TensorDesc> inputs,
                           TensorDesc output, SliceOptions slicing) {
  state_ = std::make_unique<State>();
  State& s = *state_;
  s.options = options;
  s.problem = &problem;
  s.path = &path;
  for (const TensorDesc& desc : inputs) s.input_strides.push_back(desc.effective_strides());
  s.output_strides = output.effective_strides();
  s.element = size_of(output.dtype);
  s.output_bytes = static_cast<std::uint64_t>(output.element_count()) * s.element;
  s.buffers = std::move(inputs);
  s.buffers.push_back(std::move(output));
  s.slicing = std::move(slicing);
  s.host_plan = &s.plan_for(std::vector<bool>(s.buffers.size(), false));
}

CudaExecutor::~CudaExecutor() {
  if (state_ && state_->resources) {
    cudaSetDevice(state_->options.device);
    cudaDeviceSynchronize();
  }
}

void CudaExecutor::share_host_threads(int pipelines) {
  if (pipelines < 1) throw Error("share_host_threads: " + std::to_string(pipelines) + " pipelines");
  const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads =
      std::max(1, std::min(hardware, static_cast<int>(ThreadPool::kMaxDefaultThreads)) / pipelines);
  if (state_->resources && state_->resources->pool.size() == threads) return;
  state_->staging_threads = threads;
  if (state_->resources) {
    EINSTREAM_CUDA_CHECK(cudaSetDevice(state_->options.device));
    EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
    state_->resources.reset();  // remade with the new pool at the next run
  }
}

const SlicePlan& CudaExecutor::host_plan() const { return state_->host_plan->plan.slice; }

std::uint64_t CudaExecutor::device_bytes() const { return state_->host_plan->plan.layout.total; }

void CudaExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                       Scalar beta, ExecutionReport& report,
                       std::optional<std::pair<int, int>> share, bool partial) {
  State& s = *state_;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(s.options.device));
  // Launch checks read cudaGetLastError(): clear an error a failed call of
  // the caller's left there, so it is not reported as ours.
  cudaGetLastError();
  if (s.buffers.back().element_count() == 0) return;
  std::vector<const void*> pointers(inputs);
  pointers.push_back(output);
  const std::vector<BufferPlace> places =
      s.host_memory.classify(s.buffers, pointers, s.options.device, s.options.register_host_memory);
  std::vector<bool> on_device;
  for (const BufferPlace& place : places) on_device.push_back(place.on_device);
  if (share && partial) {
    // A share accumulates (beta = 1) onto a zeroed partial output.
    const BufferPlace& out = places.back();
    auto* begin = reinterpret_cast<char*>(out.span.begin);
    const std::size_t bytes = out.span.end - out.span.begin;
    if (out.on_device) {
      // On the legacy default stream, which the pipeline's non-blocking
      // streams do not wait for: finished before the first block writes.
      EINSTREAM_CUDA_CHECK(cudaMemset(begin, 0, bytes));
      EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(nullptr));
    } else if (bytes > 0) {
      std::memset(begin, 0, bytes);
    }
  }
  PlacedPlan& placed = share ? s.share_plan_for(on_device) : s.plan_for(on_device);
  const DeviceLayout& layout = placed.plan.layout;
  report.blocks = placed.plan.slice.block_count;
  report.flops = placed.plan.slice.flops;
  report.device_bytes = layout.total;
  if (layout.total > s.slicing.budget) {
    throw MemoryError("backend 'cuda': the plan needs " + std::to_string(layout.total) +
                          " bytes of device memory, over the limit of " +
                          std::to_string(s.slicing.budget) + " bytes",
                      layout.total, s.slicing.budget);
  }
  PipelineResources& r = s.ready_resources();
  char* base = s.allocation(layout.total);

  std::optional<BlockRange> range;
  if (share) {
    range = assign_blocks(*s.problem, placed.plan.slice,
                          std::vector<double>(static_cast<std::size_t>(share->second), 1.0))
                .ranges[static_cast<std::size_t>(share->first)];
    report.blocks = range->size();
  }
  TransferTally tally;
  ExecutionLog log(s.options, "cuda device " + std::to_string(s.options.device),
                   range ? range->size() : placed.plan.slice.block_count,
                   [&tally] { return tally.to_device + tally.to_host; });
  log.start();
  const bool replay =
      s.options.graph_replay && !s.options.profile && placed.plan.slice.block_count == 1 && !share;
  const PipelineRun run{places,
                        inputs,
                        output,
                        base,
                        s.element,
                        s.output_bytes,
                        s.input_strides,
                        s.output_strides,
                        s.options.profile,
                        replay};
  r.timeline.start(r.h2d.get(), s.options.profile);
  if (s.options.profile) {
    StreamTimeline& timeline = r.timeline;
    r.pool.set_chunk_observer([&timeline](int thread, std::chrono::steady_clock::time_point begin,
                                          std::chrono::steady_clock::time_point end) {
      timeline.host_span("host thread " + std::to_string(thread), "copy", begin, end);
    });
  }
  CudaBlockBackend backend(placed, r, run, tally);
  try {
    run_block_loop(*s.problem, placed.plan.slice, placed.plan.shapes, s.input_strides,
                   s.output_strides, alpha, beta, backend, log.hook(), range);
  } catch (...) {
    backend.drain();
    r.pool.set_chunk_observer({});
    throw;
  }
  r.pool.set_chunk_observer({});
  report.bytes_to_device = tally.to_device;
  report.bytes_to_host = tally.to_host;
  report.bytes_direct = tally.direct;
  report.bytes_staged = tally.staged;
  report.staging_seconds = tally.staging_seconds;
  report.graph_replayed = backend.replayed();
  r.timeline.finish(report);
  log.finish(report);
}

}  // namespace einstream::detail
