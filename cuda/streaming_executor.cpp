// The CUDA backend over budget: a SlicePlan run block by block.
//
// Three streams: host-to-device copies, compute, device-to-host copies.
// Every streamed operand has two device block buffers and two pinned
// staging buffers (slots); while the GPU computes block k from one slot, the
// host thread pool gathers block k+1 from the caller's pageable memory into
// the other slot's staging buffer and the copy stream moves it to the
// device. Events order it all: a slot's staging buffer is refilled only
// after its previous copy finished, a device slot only after the block that
// read it computed. A block whose operand's indices did not change since the
// previous block reuses the slot (the loop order of the plan makes this
// common). Resident operands are copied once. A sliced summed mode
// accumulates into the output block (beta = 1 after its first block); a
// streamed output block goes back through its own pinned slot and is
// scattered into the caller's strided output by the pool while later blocks
// compute.
//
// Page-locked caller memory (cudaMallocHost, registered by the caller, or
// registered here when Options::register_host_memory asks) skips staging:
// blocks whose rows are long enough are DMA'd straight between it and the
// device as a few 2-D copies (src/staging/pitched_copies), and resident
// operands as one copy.
//
// Every copy and every block's compute is bracketed by timing events
// (cuda/stream_timeline) for the report's stream times and overlap, and, when
// Options::profile is set, its timeline; NVTX ranges name the phases.
//
// Memory: one device allocation, sized exactly before anything runs.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/nvtx.hpp"
#include "cuda/op_runner.hpp"
#include "cuda/resources.hpp"
#include "cuda/stream_timeline.hpp"
#include "einstream/error.hpp"
#include "planner/block_cursor.hpp"
#include "planner/device_layout.hpp"
#include "src/device_memory.hpp"
#include "src/memory_span.hpp"
#include "src/staging/block_copy.hpp"
#include "src/staging/pitched_copies.hpp"
#include "src/staging/thread_pool.hpp"
#include "src/streaming_executor.hpp"

namespace einstream::detail {

namespace {

// The pinned chunk ring for resident operands in pageable memory: the pool
// fills chunk k+1 while the DMA engine moves chunk k (pageable cudaMemcpy
// runs at 6-8 GB/s, pinned DMA at 55 GB/s). Three chunks of 128 MiB: on the
// H200 the headline example at the default limit (6 GB of it resident) ran
// at 1.29x the link floor with two 64 MiB chunks, 1.27x with three of 128 MiB
// and 1.22x with four of 256 MiB, one run each (about 5% apart run to run);
// 384 MiB of pinned memory per Plan is the compromise.
constexpr int kRingChunks = 3;
constexpr std::uint64_t kChunkBytes = std::uint64_t{128} << 20;
// Resident operands up to this size cross in one copy.
constexpr std::uint64_t kDirectCopyBytes = std::uint64_t{4} << 20;
// A block of page-locked memory is DMA'd in place when it is at most this
// many 2-D copies of rows of at least this many bytes (shorter rows make the
// DMA engine slower than a host gather plus one copy).
constexpr std::int64_t kMinDirectRowBytes = 4096;
constexpr std::int64_t kMaxDirectCopies = 64;

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

std::int64_t product(const std::vector<std::int64_t>& extents) {
  std::int64_t count = 1;
  for (std::int64_t extent : extents) count *= extent;
  return count;
}

// A streamed operand's device and staging slots and their events.
struct Slots {
  std::uint64_t slot_bytes = 0;
  std::uint64_t device_offset = 0;  // of slot 0 in the allocation
  std::vector<std::unique_ptr<PinnedBuffer>> staging;
  int count = 0;                    // slots: the plan's buffering depth
  std::unique_ptr<Event[]> copied;  // staging -> device (or device -> staging) finished
  std::unique_ptr<Event[]>
      released;  // the last block reading (or writing) the device slot computed
  int current = 0;

  // Sizes the slots; their CUDA events are made at the first run
  // (make_events), so planning creates no CUDA object.
  void make(int slots) {
    count = slots;
    copied.reset();
    released.reset();
    current = slots - 1;
  }
  void make_events() {
    if (copied) return;
    copied = std::make_unique<Event[]>(static_cast<std::size_t>(count));
    released = std::make_unique<Event[]>(static_cast<std::size_t>(count));
  }
  std::vector<std::int64_t> key;  // block indices of the operand's sliced modes
  bool loaded = false;
  bool direct = false;  // this run DMAs the operand's blocks in place
};

// Enqueues the 2-D copies of one block between strided page-locked host
// memory at `host` and the packed device buffer at `device`.
void enqueue_pitched(const PitchedCopies& copies, char* host, char* device, bool to_device,
                     cudaStream_t stream) {
  const std::int64_t copy_bytes = copies.width * copies.height;
  for (std::int64_t copy = 0; copy < copies.count(); ++copy) {
    char* strided = host + copies.offset(copy);
    char* packed = device + copy * copy_bytes;
    const auto width = static_cast<std::size_t>(copies.width);
    const auto height = static_cast<std::size_t>(copies.height);
    const auto pitch = static_cast<std::size_t>(copies.pitch);
    if (to_device) {
      EINSTREAM_CUDA_CHECK(cudaMemcpy2DAsync(packed, width, strided, pitch, width, height,
                                             cudaMemcpyHostToDevice, stream));
    } else {
      EINSTREAM_CUDA_CHECK(cudaMemcpy2DAsync(strided, pitch, packed, width, width, height,
                                             cudaMemcpyDeviceToHost, stream));
    }
  }
}

}  // namespace

WorkspaceNeeds cuda_workspace_needs() {
  WorkspaceNeeds needs;
  needs.reduce_bytes = [](const Program& program) { return reduce_workspace(program); };
  needs.gemm_bytes = kCublasWorkspaceBytes;
  return needs;
}

struct StreamingExecutor::State {
  Options options;
  const Problem* problem = nullptr;
  std::vector<TensorDesc> inputs;
  TensorDesc output;
  // The caller's strides, computed once (read for every block).
  std::vector<std::vector<std::int64_t>> input_strides;
  std::vector<std::int64_t> output_strides;
  SlicePlan plan;
  DataType dtype = DataType::f32;
  std::size_t element = 4;

  // The CUDA objects and host threads of execution, made at the first run:
  // building a Plan creates none.
  struct Resources {
    Stream compute, h2d, d2h;
    CublasHandle cublas;
    ThreadPool pool{0};
    Event resident_ready;
    // The chunk ring for resident operands (its buffers allocated at first need).
    std::vector<std::unique_ptr<PinnedBuffer>> ring;
    Event ring_copied[kRingChunks];
  };
  std::unique_ptr<Resources> resources;
  // Device bytes one run may use: the memory limit, resolved when planning.
  std::uint64_t budget = 0;

  // Every distinct block shape, lowered once when planning
  // (planner/device_layout), and how a block of each buffer splits into
  // in-place 2-D copies (empty: it cannot).
  std::vector<BlockShape> block_shapes;
  struct ShapeCopies {
    const BlockShape* block = nullptr;
    std::vector<std::optional<PitchedCopies>> input_copies;
    std::optional<PitchedCopies> output_copies;
  };
  std::map<std::vector<std::int64_t>, ShapeCopies> shapes;  // by level extents
  // Where every buffer lives in the one allocation (planner/device_layout).
  DeviceLayout layout;
  std::uint64_t arena_bytes = 0, reduce_bytes = 0, cublas_bytes = 0;
  std::vector<std::uint64_t> resident_offset;  // per input, when resident
  std::deque<Slots> input_slots;               // per input, when streamed (Slots do not move)
  std::uint64_t output_offset = 0;             // resident output span
  Slots output_slots;
  std::uint64_t total = 0;
  std::unique_ptr<DeviceAllocation> memory;
  StreamTimeline timeline;
  // Caller buffers this executor registered (inputs, then the output).
  std::vector<std::unique_ptr<HostRegistration>> registrations;

  bool streamed(int input) const { return plan.inputs[input] == Residency::streamed; }
  bool output_streamed() const { return plan.output == Residency::streamed; }

  // The allocation as the planner laid it out.
  void lay_out() {
    arena_bytes = layout.arena_bytes;
    reduce_bytes = layout.reduce_bytes;
    cublas_bytes = layout.gemm_bytes;
    const int count = static_cast<int>(inputs.size());
    resident_offset.assign(count, 0);
    const auto place = [](const OperandLayout& operand, Slots& slots) {
      slots.slot_bytes = operand.bytes;
      slots.device_offset = operand.offset;
      slots.make(operand.slots);
    };
    for (int index = 0; index < count; ++index) {
      if (layout.inputs[index].streamed) {
        place(layout.inputs[index], input_slots[index]);
      } else {
        resident_offset[index] = layout.inputs[index].offset;
      }
    }
    if (layout.output.streamed) {
      place(layout.output, output_slots);
    } else {
      output_offset = layout.output.offset;
    }
    total = layout.total;
  }

  const ShapeCopies& shape_for(const std::vector<std::int64_t>& level_extents) const {
    return shapes.at(level_extents);
  }
};

StreamingExecutor::StreamingExecutor(const Options& options, const Problem& problem,
                                     std::vector<TensorDesc> inputs, TensorDesc output,
                                     DevicePlan plan, std::uint64_t budget) {
  state_ = std::make_unique<State>();
  State& s = *state_;
  s.options = options;
  s.budget = budget;
  s.problem = &problem;
  s.inputs = std::move(inputs);
  s.output = std::move(output);
  s.plan = std::move(plan.slice);
  s.block_shapes = std::move(plan.shapes);
  s.layout = std::move(plan.layout);
  s.dtype = s.output.dtype;
  for (const TensorDesc& desc : s.inputs) s.input_strides.push_back(desc.effective_strides());
  s.output_strides = s.output.effective_strides();
  s.element = size_of(s.dtype);

  for (const BlockShape& block : s.block_shapes) {
    State::ShapeCopies copies;
    copies.block = &block;
    for (std::size_t index = 0; index < s.inputs.size(); ++index) {
      copies.input_copies.push_back(pitched_copies(block.input_extents[index],
                                                   s.input_strides[index], s.element,
                                                   kMinDirectRowBytes, kMaxDirectCopies));
    }
    copies.output_copies = pitched_copies(block.output_extents, s.output_strides, s.element,
                                          kMinDirectRowBytes, kMaxDirectCopies);
    s.shapes.emplace(block.level_extents, std::move(copies));
  }
  s.input_slots.resize(s.inputs.size());
  s.lay_out();
}

StreamingExecutor::~StreamingExecutor() {
  if (state_ && state_->resources) {
    cudaSetDevice(state_->options.device);
    cudaDeviceSynchronize();
  }
}

std::uint64_t StreamingExecutor::device_bytes() const { return state_->total; }

void StreamingExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                            Scalar beta, ExecutionReport& report) {
  State& s = *state_;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(s.options.device));
  // Launch checks read cudaGetLastError(): clear an error a failed call of
  // the caller's left there, so it is not reported as ours.
  cudaGetLastError();
  report.blocks = s.plan.block_count;
  report.device_bytes = s.total;
  if (s.output.element_count() == 0) return;
  const int count = static_cast<int>(inputs.size());
  if (s.total > s.budget) {
    throw MemoryError("backend 'cuda': the sliced plan needs " + std::to_string(s.total) +
                          " bytes of device memory, over the limit of " + std::to_string(s.budget) +
                          " bytes",
                      s.total, s.budget);
  }
  if (!s.resources) {
    auto made = std::make_unique<State::Resources>();
    EINSTREAM_CUBLAS_CHECK(cublasSetStream(made->cublas.get(), made->compute.get()));
    EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(made->cublas.get(), s.options.allow_tf32
                                                                     ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                     : CUBLAS_PEDANTIC_MATH));
    s.resources = std::move(made);
  }
  State::Resources& r = *s.resources;
  for (Slots& slots : s.input_slots) slots.make_events();
  s.output_slots.make_events();

  // Where the caller's buffers live: page-locked ones are DMA'd in place.
  // Registrations follow the pointers: a buffer registered for an earlier
  // run is released when this run passes another one.
  std::vector<MemorySpan> spans;
  for (int index = 0; index < count; ++index) {
    spans.push_back(memory_span(s.inputs[index], inputs[index]));
  }
  spans.push_back(memory_span(s.output, output));
  s.registrations.resize(spans.size());
  std::vector<bool> page_locked(spans.size(), false);
  for (std::size_t index = 0; index < spans.size(); ++index) {
    const MemorySpan& span = spans[index];
    std::unique_ptr<HostRegistration>& registration = s.registrations[index];
    if (registration && (reinterpret_cast<std::uintptr_t>(registration->get()) != span.begin ||
                         registration->bytes() != span.end - span.begin)) {
      registration.reset();
    }
    if (span.end == span.begin) continue;
    const auto* begin = reinterpret_cast<const void*>(span.begin);
    // Both ends: a span that starts in a page-locked range (one the caller
    // registered, say) may run past it.
    page_locked[index] =
        registration != nullptr ||
        (is_page_locked(begin) && is_page_locked(reinterpret_cast<const void*>(span.end - 1)));
    if (!page_locked[index] && s.options.register_host_memory) {
      const NvtxRange range("einstream: register host memory");
      registration =
          HostRegistration::try_register(const_cast<void*>(begin), span.end - span.begin);
      page_locked[index] = registration != nullptr;
    }
  }
  const bool output_page_locked = page_locked.back();

  // Blocks are DMA'd in place when every block shape decomposes into few
  // long rows; otherwise they are gathered through staging.
  auto decomposes = [&](int index) {
    for (const auto& [level_extents, shape] : s.shapes) {
      if (!(index < 0 ? shape.output_copies : shape.input_copies[index])) return false;
    }
    return true;
  };
  for (int index = 0; index < count; ++index) {
    Slots& slots = s.input_slots[index];
    slots.direct = s.streamed(index) && page_locked[index] && decomposes(index);
  }
  s.output_slots.direct = s.output_streamed() && output_page_locked && decomposes(-1);

  if (!s.memory) s.memory = std::make_unique<DeviceAllocation>(s.total, s.options.device);
  // Staging for the streamed buffers that need it (kept across runs).
  auto stage = [&](Slots& slots) {
    if (slots.direct || !slots.staging.empty()) return;
    for (int slot = 0; slot < slots.count; ++slot) {
      slots.staging.push_back(std::make_unique<PinnedBuffer>(slots.slot_bytes));
    }
  };
  for (int index = 0; index < count; ++index) {
    if (s.streamed(index)) stage(s.input_slots[index]);
  }
  if (s.output_streamed()) stage(s.output_slots);

  char* base = static_cast<char*>(s.memory->get());
  const cudaStream_t compute = r.compute.get();
  const cudaStream_t h2d = r.h2d.get();
  const cudaStream_t d2h = r.d2h.get();
  const std::int64_t element = static_cast<std::int64_t>(s.element);
  StreamTimeline& timeline = s.timeline;
  const bool profile = s.options.profile;
  timeline.start(h2d, profile);
  if (profile) {
    r.pool.set_chunk_observer([&timeline](int thread, std::chrono::steady_clock::time_point begin,
                                          std::chrono::steady_clock::time_point end) {
      timeline.host_span("host thread " + std::to_string(thread), "copy", begin, end);
    });
  }
  std::uint64_t to_device = 0, to_host = 0, direct = 0, staged = 0;
  double staging_seconds = 0;
  // Names only matter in a kept timeline; otherwise nothing is formatted.
  std::int64_t block_number = 0;
  auto label = [&](const char* what, int operand) {
    if (!profile) return std::string();
    std::string name = "block " + std::to_string(block_number) + ": " + what;
    if (operand >= 0) name += " in" + std::to_string(operand);
    if (operand == -1) name += " out";
    return name;
  };
  // Host threads' gathers and scatters, timed for the report.
  auto timed = [&](const std::string& name, auto&& copy) {
    const auto begin = std::chrono::steady_clock::now();
    copy();
    const auto end = std::chrono::steady_clock::now();
    staging_seconds += std::chrono::duration<double>(end - begin).count();
    timeline.host_span("host staging", name, begin, end);
  };
  // Whole contiguous spans between the caller's memory and the device: in
  // one copy when the memory is page-locked or small, else through the
  // pinned chunk ring, the pool copying chunk k+1 into one pinned buffer
  // while the DMA engine moves chunk k out of the other.
  auto ring_ready = [&] {
    if (r.ring.empty()) {
      for (int slot = 0; slot < kRingChunks; ++slot) {
        r.ring.push_back(std::make_unique<PinnedBuffer>(kChunkBytes));
      }
    }
  };
  auto upload = [&](const char* host, char* device, std::uint64_t bytes, bool locked,
                    const std::string& name) {
    to_device += bytes;
    if (locked || bytes <= kDirectCopyBytes) {
      (locked ? direct : staged) += bytes;
      const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, h2d));
      timeline.close(span, h2d);
      return;
    }
    staged += bytes;
    ring_ready();
    for (std::uint64_t offset = 0, chunk = 0; offset < bytes; offset += kChunkBytes, ++chunk) {
      const int slot = static_cast<int>(chunk % kRingChunks);
      const std::uint64_t size = std::min(kChunkBytes, bytes - offset);
      r.ring_copied[slot].synchronize();
      timed(name, [&] {
        gather_block(host + offset, {static_cast<std::int64_t>(size)}, {1}, 1, r.ring[slot]->get(),
                     &r.pool);
      });
      const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
      EINSTREAM_CUDA_CHECK(
          cudaMemcpyAsync(device + offset, r.ring[slot]->get(), size, cudaMemcpyHostToDevice, h2d));
      timeline.close(span, h2d);
      r.ring_copied[slot].record(h2d);
    }
  };
  auto download = [&](const char* device, char* host, std::uint64_t bytes, bool locked) {
    to_host += bytes;
    if (locked || bytes <= kDirectCopyBytes) {
      (locked ? direct : staged) += bytes;
      const int span = timeline.open(StreamTimeline::kD2H, d2h, "download out");
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, d2h));
      timeline.close(span, d2h);
      EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(d2h));
      return;
    }
    staged += bytes;
    ring_ready();
    const std::uint64_t chunks = (bytes + kChunkBytes - 1) / kChunkBytes;
    auto enqueue = [&](std::uint64_t chunk) {
      const int slot = static_cast<int>(chunk % kRingChunks);
      const std::uint64_t offset = chunk * kChunkBytes;
      const int span = timeline.open(StreamTimeline::kD2H, d2h, "download out");
      EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(r.ring[slot]->get(), device + offset,
                                           std::min(kChunkBytes, bytes - offset),
                                           cudaMemcpyDeviceToHost, d2h));
      timeline.close(span, d2h);
      r.ring_copied[slot].record(d2h);
    };
    enqueue(0);
    for (std::uint64_t chunk = 0; chunk < chunks; ++chunk) {
      // Chunk k+1 goes to the next buffer, whose scatter (of an earlier chunk)
      // is done, while chunk k is scattered.
      if (chunk + 1 < chunks) enqueue(chunk + 1);
      const int slot = static_cast<int>(chunk % kRingChunks);
      const std::uint64_t offset = chunk * kChunkBytes;
      const std::uint64_t size = std::min(kChunkBytes, bytes - offset);
      r.ring_copied[slot].synchronize();
      timed("scatter out", [&] {
        scatter_block(r.ring[slot]->get(), {static_cast<std::int64_t>(size)}, {1}, 1, host + offset,
                      &r.pool);
      });
    }
  };
  // One block of a streamed buffer between the caller's memory at `host`
  // (strided) and device slot `slot` (packed), on `stream`: in place when
  // the slots are direct, else through the slot's staging buffer, which the
  // caller has made sure is free (to the device) or filled (to the host).
  auto block_to_device = [&](Slots& slots, int slot, const char* host,
                             const std::vector<std::int64_t>& extents,
                             const std::vector<std::int64_t>& strides,
                             const std::optional<PitchedCopies>& copies, const std::string& name) {
    const std::uint64_t bytes = static_cast<std::uint64_t>(product(extents)) * s.element;
    char* device = base + slots.device_offset + slot * slots.slot_bytes;
    to_device += bytes;
    if (slots.direct) {
      direct += bytes;
      slots.released[slot].wait_on(h2d);
      const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
      enqueue_pitched(*copies, const_cast<char*>(host), device, true, h2d);
      timeline.close(span, h2d);
      return;
    }
    staged += bytes;
    timed(name, [&] {
      gather_block(host, extents, strides, s.element, slots.staging[slot]->get(), &r.pool);
    });
    slots.released[slot].wait_on(h2d);
    const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
    EINSTREAM_CUDA_CHECK(
        cudaMemcpyAsync(device, slots.staging[slot]->get(), bytes, cudaMemcpyHostToDevice, h2d));
    timeline.close(span, h2d);
  };

  for (Slots& slots : s.input_slots) {
    slots.loaded = false;
    slots.current = slots.count - 1;
  }
  s.output_slots.loaded = false;
  s.output_slots.current = s.output_slots.count - 1;

  // A scatter of an output block still waiting for its copy to the host.
  struct PendingScatter {
    int slot = -1;
    const std::vector<std::int64_t>* extents = nullptr;  // a BlockShape's
    std::int64_t offset = 0;
  };
  std::vector<PendingScatter> pending(static_cast<std::size_t>(std::max(s.output_slots.count, 1)));
  const std::vector<std::int64_t>& output_strides = s.output_strides;
  auto flush = [&](int slot) {
    PendingScatter& job = pending[slot];
    if (job.slot < 0) return;
    s.output_slots.copied[slot].synchronize();
    timed(profile ? "scatter out" : "", [&] {
      scatter_block(s.output_slots.staging[slot]->get(), *job.extents, output_strides, s.element,
                    static_cast<char*>(output) + job.offset * element, &r.pool);
    });
    job.slot = -1;
  };

  try {
    // Resident operands: whole spans, once.
    std::vector<char*> resident_input(inputs.size(), nullptr);
    {
      const NvtxRange range("einstream: upload resident operands");
      for (int index = 0; index < count; ++index) {
        if (s.streamed(index)) continue;
        const MemorySpan& span = spans[index];
        char* device = base + s.resident_offset[index];
        if (span.end > span.begin) {
          upload(reinterpret_cast<const char*>(span.begin), device, span.end - span.begin,
                 page_locked[index], profile ? "upload in" + std::to_string(index) : "");
        }
        resident_input[index] =
            device + (reinterpret_cast<std::uintptr_t>(inputs[index]) - span.begin);
      }
    }
    char* resident_output = nullptr;
    if (!s.output_streamed()) {
      const MemorySpan& span = spans.back();
      char* device = base + s.output_offset;
      const std::uint64_t dense = static_cast<std::uint64_t>(s.output.element_count()) * s.element;
      if (beta != Scalar(0.0) || span.end - span.begin != dense) {
        upload(reinterpret_cast<const char*>(span.begin), device, span.end - span.begin,
               output_page_locked, "upload out");
      }
      resident_output = device + (reinterpret_cast<std::uintptr_t>(output) - span.begin);
    }
    r.resident_ready.record(h2d);
    r.resident_ready.wait_on(compute);
    if (s.cublas_bytes > 0) {
      EINSTREAM_CUBLAS_CHECK(cublasSetWorkspace(
          r.cublas.get(), base + device_aligned(s.arena_bytes) + device_aligned(s.reduce_bytes),
          s.cublas_bytes));
    }

    const std::size_t levels = s.plan.sliced.size();
    DevicePointers pointers;
    pointers.inputs.resize(inputs.size());
    pointers.arena = base;
    pointers.reduce_workspace = base + device_aligned(s.arena_bytes);
    pointers.reduce_workspace_bytes = s.reduce_bytes;
    BlockCursor cursor(*s.problem, s.plan);
    std::vector<std::int64_t> key;
    do {
      char range_name[48];
      std::snprintf(range_name, sizeof range_name, "einstream: block %lld",
                    static_cast<long long>(block_number));
      const NvtxRange range(range_name);
      const std::vector<std::int64_t>& index = cursor.index();
      const std::vector<std::int64_t>& level_extents = cursor.level_extents();
      const bool first_of_sum = cursor.first_of_sum();
      const bool last_of_sum = cursor.last_of_sum();
      const State::ShapeCopies& shape = s.shape_for(level_extents);

      // Streamed inputs whose block changed: gather, copy.
      for (int operand = 0; operand < count; ++operand) {
        const std::int64_t offset = cursor.offset(operand, s.input_strides[operand]);
        if (!s.streamed(operand)) {
          pointers.inputs[operand] = resident_input[operand] + offset * element;
          continue;
        }
        Slots& slots = s.input_slots[operand];
        key.clear();
        for (std::size_t level = 0; level < levels; ++level) {
          if (contains(s.problem->inputs[operand].modes, s.plan.sliced[level].mode)) {
            key.push_back(index[level]);
          }
        }
        if (!slots.loaded || key != slots.key) {
          slots.current = (slots.current + 1) % slots.count;
          const int slot = slots.current;
          slots.copied[slot].synchronize();  // its staging buffer is free again
          block_to_device(slots, slot, static_cast<const char*>(inputs[operand]) + offset * element,
                          shape.block->input_extents[operand], s.input_strides[operand],
                          shape.input_copies[operand], label("copy", operand));
          slots.copied[slot].record(h2d);
          slots.copied[slot].wait_on(compute);
          slots.key = key;
          slots.loaded = true;
        }
        pointers.inputs[operand] = base + slots.device_offset + slots.current * slots.slot_bytes;
      }

      // The output block.
      const std::int64_t output_offset = cursor.offset(-1, s.output_strides);
      char* output_block = static_cast<char*>(output) + output_offset * element;
      Scalar block_beta = first_of_sum ? beta : Scalar(1.0);
      if (s.output_streamed()) {
        Slots& slots = s.output_slots;
        if (first_of_sum) {
          slots.current = (slots.current + 1) % slots.count;
          const int slot = slots.current;
          flush(slot);  // its staging buffer and device slot are free after this
          slots.copied[slot].wait_on(compute);
          if (beta != Scalar(0.0)) {
            slots.copied[slot].wait_on(h2d);  // the slot's last block is back on the host
            block_to_device(slots, slot, output_block, shape.block->output_extents, output_strides,
                            shape.output_copies, label("copy", -1));
            slots.released[slot].record(h2d);
            slots.released[slot].wait_on(compute);
          }
        }
        pointers.output = base + slots.device_offset + slots.current * slots.slot_bytes;
      } else {
        pointers.output = resident_output + output_offset * element;
      }

      const int compute_span =
          timeline.open(StreamTimeline::kCompute, compute, label("compute", -2));
      run_program(shape.block->program, pointers, Epilogue::scaled(alpha, block_beta), compute,
                  r.cublas.get());
      timeline.close(compute_span, compute);
      for (int operand = 0; operand < count; ++operand) {
        if (s.streamed(operand)) {
          Slots& slots = s.input_slots[operand];
          slots.released[slots.current].record(compute);
        }
      }
      if (s.output_streamed() && last_of_sum) {
        Slots& slots = s.output_slots;
        const int slot = slots.current;
        slots.released[slot].record(compute);
        slots.released[slot].wait_on(d2h);
        const std::vector<std::int64_t>& extents = shape.block->output_extents;
        const std::uint64_t bytes = static_cast<std::uint64_t>(product(extents)) * s.element;
        char* device = base + slots.device_offset + slot * slots.slot_bytes;
        to_host += bytes;
        const int span = timeline.open(StreamTimeline::kD2H, d2h, label("copy back", -1));
        if (slots.direct) {
          direct += bytes;
          enqueue_pitched(*shape.output_copies, output_block, device, false, d2h);
        } else {
          staged += bytes;
          EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(slots.staging[slot]->get(), device, bytes,
                                               cudaMemcpyDeviceToHost, d2h));
          pending[slot] = {slot, &extents, output_offset};
        }
        timeline.close(span, d2h);
        slots.copied[slot].record(d2h);
      }
      ++block_number;
    } while (cursor.next());

    if (s.output_streamed()) {
      for (int slot = 0; slot < s.output_slots.count; ++slot) flush(slot);
    } else {
      const NvtxRange range("einstream: download output");
      const MemorySpan& span = spans.back();
      EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(compute));
      download(base + s.output_offset, reinterpret_cast<char*>(span.begin), span.end - span.begin,
               output_page_locked);
    }
    r.compute.synchronize();
    r.d2h.synchronize();
    r.h2d.synchronize();
    r.pool.set_chunk_observer({});
  } catch (...) {
    cudaStreamSynchronize(compute);
    cudaStreamSynchronize(h2d);
    cudaStreamSynchronize(d2h);
    r.pool.set_chunk_observer({});
    throw;
  }
  report.bytes_to_device = to_device;
  report.bytes_to_host = to_host;
  report.bytes_direct = direct;
  report.bytes_staged = staged;
  report.staging_seconds = staging_seconds;
  timeline.finish(report);
}

}  // namespace einstream::detail
