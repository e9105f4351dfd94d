// The CUDA backend: runs a Program's ops on one stream of one device.
//
// Memory: one device allocation per execution shape holds, each 256-byte
// aligned, the Program's arena, the largest reduce workspace, cuBLAS's
// workspace (so cuBLAS allocates nothing behind our back) and copies of the
// operands that live in host memory. Its size is computed before anything
// is allocated, checked against Options::memory_limit, and kept for the next
// execution, so a Plan executed repeatedly allocates once.
//
// Operands may be host or device pointers (cudaPointerGetAttributes). A host
// operand is copied in whole (its memory span, gaps included, so any strides
// work) and a host output copied back once at the end; the caller's output is
// therefore untouched when anything fails before that copy.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <memory>
#include <string>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/op_runner.hpp"
#include "cuda/resources.hpp"
#include "cuda/stream_timeline.hpp"
#include "einstream/error.hpp"
#include "src/device_executor.hpp"
#include "src/device_memory.hpp"
#include "src/devices.hpp"
#include "src/memory_span.hpp"

namespace einstream::detail {

namespace {

std::uint64_t aligned(std::uint64_t bytes) { return device_aligned(bytes); }

// Where an operand lives, and for a host operand the span to copy.
struct Operand {
  bool on_host = false;
  MemorySpan span;
  std::uint64_t staged_offset = 0;  // in the allocation, for host operands
};

Operand classify(const TensorDesc& desc, const void* data, int device, const std::string& what) {
  Operand operand;
  operand.span = memory_span(desc, data);
  if (desc.element_count() == 0) return operand;
  cudaPointerAttributes attributes{};
  EINSTREAM_CUDA_CHECK(cudaPointerGetAttributes(&attributes, data));
  switch (attributes.type) {
    case cudaMemoryTypeDevice:
    case cudaMemoryTypeManaged:
      if (attributes.device != device) {
        throw Error(what + " is in the memory of device " + std::to_string(attributes.device) +
                    " but the plan runs on device " + std::to_string(device) +
                    ": use Options::device, or copy the tensor");
      }
      return operand;
    default:
      operand.on_host = true;
      return operand;
  }
}

std::uint64_t span_bytes(const MemorySpan& span) { return span.end - span.begin; }

}  // namespace

bool cuda_backend_available() { return !list_devices().empty(); }

std::uint64_t device_workspace_bytes(const Program& program) {
  return aligned(static_cast<std::uint64_t>(program.arena_bytes)) +
         aligned(reduce_workspace(program)) + (has_gemm(program) ? kCublasWorkspaceBytes : 0);
}

struct DeviceExecutor::State {
  int device = 0;
  bool allow_tf32 = false;
  Stream stream;
  CublasHandle cublas;
  std::unique_ptr<DeviceAllocation> memory;
  std::uint64_t last_bytes = 0;
  std::uint64_t to_device = 0;
  std::uint64_t to_host = 0;
  // Profiling: the timeline, and the last run's timing.
  std::unique_ptr<StreamTimeline> timeline;
  ExecutionReport timing;
};

DeviceExecutor::DeviceExecutor(int device, bool allow_tf32) {
  const std::vector<DeviceInfo> devices = list_devices();
  if (device < 0 || device >= static_cast<int>(devices.size())) {
    throw Error("backend 'cuda': device " + std::to_string(device) + " does not exist (" +
                std::to_string(devices.size()) + " CUDA device(s) visible)");
  }
  EINSTREAM_CUDA_CHECK(cudaSetDevice(device));
  state_ = std::make_unique<State>();
  state_->device = device;
  state_->allow_tf32 = allow_tf32;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(state_->cublas.get(), state_->stream.get()));
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(
      state_->cublas.get(), allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
}

DeviceExecutor::~DeviceExecutor() {
  if (state_) cudaStreamSynchronize(state_->stream.get());
}

std::uint64_t DeviceExecutor::last_device_bytes() const { return state_->last_bytes; }
std::uint64_t DeviceExecutor::last_bytes_to_device() const { return state_->to_device; }
std::uint64_t DeviceExecutor::last_bytes_to_host() const { return state_->to_host; }

void DeviceExecutor::set_profile(bool profile) {
  if (profile && !state_->timeline) {
    // A whole execution is a handful of spans; a small pool suffices.
    state_->timeline = std::make_unique<StreamTimeline>(16);
  } else if (!profile) {
    state_->timeline.reset();
  }
}

void DeviceExecutor::fill_timing(ExecutionReport& report) const {
  if (!state_->timeline) return;
  report.h2d_seconds = state_->timing.h2d_seconds;
  report.compute_seconds = state_->timing.compute_seconds;
  report.d2h_seconds = state_->timing.d2h_seconds;
  report.overlap = state_->timing.overlap;
  report.timeline = state_->timing.timeline;
}

void DeviceExecutor::run(const Program& program, const std::vector<TensorDesc>& input_descs,
                         const std::vector<const void*>& inputs, const TensorDesc& output_desc,
                         void* output, Scalar alpha, Scalar beta, const MemoryLimit& memory_limit) {
  State& state = *state_;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(state.device));
  // Launch checks read cudaGetLastError(): clear an error a failed call of
  // the caller's left there, so it is not reported as ours.
  cudaGetLastError();
  const std::int64_t output_elements = output_desc.element_count();
  if (output_elements == 0) return;

  // Layout of the one allocation: workspace, then staged operands.
  const std::uint64_t arena_bytes = aligned(static_cast<std::uint64_t>(program.arena_bytes));
  const std::uint64_t reduce_bytes = aligned(reduce_workspace(program));
  const std::uint64_t cublas_bytes = has_gemm(program) ? kCublasWorkspaceBytes : 0;
  std::uint64_t total = arena_bytes + reduce_bytes + cublas_bytes;
  std::vector<Operand> operands;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    operands.push_back(classify(input_descs[index], inputs[index], state.device,
                                "input " + std::to_string(index)));
    if (operands.back().on_host) {
      operands.back().staged_offset = total;
      total += aligned(span_bytes(operands.back().span));
    }
  }
  Operand result = classify(output_desc, output, state.device, "the output");
  if (result.on_host) {
    result.staged_offset = total;
    total += aligned(span_bytes(result.span));
  }

  std::size_t free_bytes = 0, device_bytes = 0;
  EINSTREAM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &device_bytes));
  const std::uint64_t budget = memory_limit.resolve(device_bytes);
  if (total > budget) {
    throw MemoryError("backend 'cuda': this execution needs " + std::to_string(total) +
                          " bytes of device memory (workspace " +
                          std::to_string(arena_bytes + reduce_bytes + cublas_bytes) +
                          ", operands copied from host " +
                          std::to_string(total - arena_bytes - reduce_bytes - cublas_bytes) +
                          "), over the memory limit of " + std::to_string(budget) + " bytes (" +
                          to_string(memory_limit) +
                          "); raise Options::memory_limit or pass device-resident operands",
                      total, budget);
  }
  if (!state.memory || state.memory->bytes() != total) {
    state.memory.reset();  // free first: the old and new may not fit together
    state.memory = std::make_unique<DeviceAllocation>(total, state.device);
  }
  state.last_bytes = total;
  state.to_device = 0;
  state.to_host = 0;
  char* base = static_cast<char*>(state.memory->get());
  const cudaStream_t stream = state.stream.get();
  // One stream does everything here, so spans never overlap; they still say
  // how the time splits between copies and compute.
  StreamTimeline* timeline = state.timeline.get();
  if (timeline != nullptr) timeline->start(stream, true);
  auto open = [&](StreamTimeline::Track track, const char* name) {
    return timeline != nullptr ? timeline->open(track, stream, name) : -1;
  };
  auto close = [&](int span) {
    if (timeline != nullptr) timeline->close(span, stream);
  };

  try {
    // Device pointers to element (0, ..., 0) of each operand.
    auto device_pointer = [&](const Operand& operand, const void* data) -> char* {
      if (!operand.on_host) return static_cast<char*>(const_cast<void*>(data));
      return base + operand.staged_offset +
             (reinterpret_cast<std::uintptr_t>(data) - operand.span.begin);
    };
    std::vector<const void*> device_inputs;
    for (std::size_t index = 0; index < inputs.size(); ++index) {
      const Operand& operand = operands[index];
      if (operand.on_host && span_bytes(operand.span) > 0) {
        const int span = open(StreamTimeline::kH2D, "upload inputs");
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(
            base + operand.staged_offset, reinterpret_cast<const void*>(operand.span.begin),
            span_bytes(operand.span), cudaMemcpyHostToDevice, stream));
        close(span);
        state.to_device += span_bytes(operand.span);
      }
      device_inputs.push_back(device_pointer(operand, inputs[index]));
    }
    char* device_output = device_pointer(result, output);
    const std::uint64_t output_dense_bytes =
        static_cast<std::uint64_t>(output_elements) * size_of(output_desc.dtype);
    // A staged output goes back whole, so its gaps must hold the caller's
    // bytes; and beta != 0 reads it.
    if (result.on_host && (beta != Scalar(0.0) || span_bytes(result.span) != output_dense_bytes)) {
      const int span = open(StreamTimeline::kH2D, "upload output");
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(
          base + result.staged_offset, reinterpret_cast<const void*>(result.span.begin),
          span_bytes(result.span), cudaMemcpyHostToDevice, stream));
      close(span);
      state.to_device += span_bytes(result.span);
    }
    if (cublas_bytes > 0) {
      EINSTREAM_CUBLAS_CHECK(
          cublasSetWorkspace(state.cublas.get(), base + arena_bytes + reduce_bytes, cublas_bytes));
    }
    DevicePointers pointers;
    pointers.inputs = device_inputs;
    pointers.output = device_output;
    pointers.arena = base;
    pointers.reduce_workspace = base + arena_bytes;
    pointers.reduce_workspace_bytes = reduce_bytes;
    const int compute_span = open(StreamTimeline::kCompute, "compute");
    run_program(program, pointers, Epilogue::scaled(alpha, beta), stream, state.cublas.get());
    close(compute_span);
    if (result.on_host) {
      const int span = open(StreamTimeline::kD2H, "download output");
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(reinterpret_cast<void*>(result.span.begin),
                                           base + result.staged_offset, span_bytes(result.span),
                                           cudaMemcpyDeviceToHost, stream));
      close(span);
      state.to_host += span_bytes(result.span);
    }
    state.stream.synchronize();
    if (timeline != nullptr) timeline->finish(state.timing);
  } catch (...) {
    // Nothing may still be running on memory that a later run reuses.
    cudaStreamSynchronize(stream);
    throw;
  }
}

}  // namespace einstream::detail
