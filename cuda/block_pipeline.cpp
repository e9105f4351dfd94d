#include "cuda/block_pipeline.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/nvtx.hpp"
#include "src/staging/block_copy.hpp"

namespace einstream::detail {

namespace {

// A block of page-locked memory is DMA'd in place when it is at most this
// many 2-D copies of rows of at least this many bytes (shorter rows make the
// DMA engine slower than a host gather plus one copy).
constexpr std::int64_t kMinDirectRowBytes = 4096;
constexpr std::int64_t kMaxDirectCopies = 64;

}  // namespace

PlacedPlan place_plan(DevicePlan plan, const std::vector<std::vector<std::int64_t>>& input_strides,
                      const std::vector<std::int64_t>& output_strides, std::size_t element) {
  PlacedPlan placed;
  placed.plan = std::move(plan);
  for (const BlockShape& shape : placed.plan.shapes) {
    PlacedPlan::ShapeCopies copies;
    for (std::size_t index = 0; index < input_strides.size(); ++index) {
      copies.inputs.push_back(pitched_copies(shape.input_extents[index], input_strides[index],
                                             element, kMinDirectRowBytes, kMaxDirectCopies));
    }
    copies.output = pitched_copies(shape.output_extents, output_strides, element,
                                   kMinDirectRowBytes, kMaxDirectCopies);
    placed.copies.emplace(shape.level_extents, std::move(copies));
  }
  const DeviceLayout& layout = placed.plan.layout;
  placed.input_slots.resize(layout.inputs.size());
  for (std::size_t index = 0; index < layout.inputs.size(); ++index) {
    const OperandLayout& operand = layout.inputs[index];
    if (operand.streamed)
      placed.input_slots[index].size(operand.offset, operand.bytes, operand.slots);
  }
  if (layout.output.streamed) {
    placed.output_slots.size(layout.output.offset, layout.output.bytes, layout.output.slots);
  }
  return placed;
}

CudaBlockBackend::CudaBlockBackend(PlacedPlan& placed, PipelineResources& resources,
                                   const PipelineRun& run, TransferTally& tally)
    : placed_(placed),
      r_(resources),
      run_(run),
      context_{resources.timeline, resources.pool, tally, run.profile},
      resident_inputs_(run.inputs.size(), nullptr),
      pending_(static_cast<std::size_t>(std::max(placed.output_slots.count, 1))) {
  prepare_slots();
  const DeviceLayout& layout = placed_.plan.layout;
  // cuBLAS works in the plan's workspace, or in none: it never allocates
  // behind the plan's back.
  EINSTREAM_CUBLAS_CHECK(cublasSetWorkspace(
      r_.cublas.get(), layout.gemm_bytes > 0 ? run_.base + layout.gemm_offset() : nullptr,
      layout.gemm_bytes));
  pointers_.inputs.resize(run_.inputs.size());
  pointers_.arena = run_.base;
  pointers_.reduce_workspace = run_.base + layout.reduce_offset();
  pointers_.reduce_workspace_bytes = layout.reduce_bytes;
}

void CudaBlockBackend::prepare_slots() {
  // Blocks are DMA'd in place when every block shape decomposes into few
  // long rows; otherwise they are gathered through staging.
  const auto decomposes = [&](int index) {
    for (const auto& [level_extents, copies] : placed_.copies) {
      if (!(index < 0 ? copies.output : copies.inputs[index])) return false;
    }
    return true;
  };
  const auto prepare = [&](Slots& slots, int index, const BufferPlace& place) {
    slots.direct = place.page_locked && decomposes(index);
    slots.make_events();
    slots.make_staging();
    slots.restart();
  };
  for (int index = 0; index < static_cast<int>(run_.inputs.size()); ++index) {
    if (placed_.streamed(index)) prepare(placed_.input_slots[index], index, run_.places[index]);
  }
  if (placed_.output_streamed()) prepare(placed_.output_slots, -1, run_.places.back());
}

std::string CudaBlockBackend::label(const char* what, int operand, std::int64_t block) const {
  // Names only matter in a kept timeline; otherwise nothing is formatted.
  if (!run_.profile) return std::string();
  std::string name = "block " + std::to_string(block) + ": " + what;
  if (operand >= 0) name += " in" + std::to_string(operand);
  if (operand == -1) name += " out";
  return name;
}

void CudaBlockBackend::upload_residents(bool read_output) {
  const NvtxRange range("einstream: upload resident operands");
  const cudaStream_t h2d = r_.h2d.get();
  const SlicePlan& slice = placed_.plan.slice;
  const DeviceLayout& layout = placed_.plan.layout;
  for (std::size_t index = 0; index < run_.inputs.size(); ++index) {
    const auto* data = static_cast<const char*>(run_.inputs[index]);
    if (slice.inputs[index] == Residency::in_place) {
      resident_inputs_[index] = const_cast<char*>(data);
      continue;
    }
    if (slice.inputs[index] != Residency::resident) continue;
    const BufferPlace& place = run_.places[index];
    char* device = run_.base + layout.inputs[index].offset;
    if (place.span.end > place.span.begin) {
      r_.ring.upload(context_, reinterpret_cast<const char*>(place.span.begin), device,
                     place.span.end - place.span.begin, place.page_locked, h2d,
                     run_.profile ? "upload in" + std::to_string(index) : "");
    }
    resident_inputs_[index] = device + (reinterpret_cast<std::uintptr_t>(data) - place.span.begin);
  }
  if (slice.output == Residency::in_place) {
    resident_output_ = static_cast<char*>(run_.output);
  } else if (slice.output == Residency::resident) {
    const BufferPlace& place = run_.places.back();
    char* device = run_.base + layout.output.offset;
    const std::uint64_t span = place.span.end - place.span.begin;
    // The output goes back whole, so its gaps must hold the caller's bytes;
    // and beta != 0 reads it.
    if (span > 0 && (read_output || span != run_.output_bytes)) {
      r_.ring.upload(context_, reinterpret_cast<const char*>(place.span.begin), device, span,
                     place.page_locked, h2d, "upload out");
    }
    resident_output_ = device + (reinterpret_cast<std::uintptr_t>(run_.output) - place.span.begin);
  }
  r_.resident_ready.record(h2d);
  r_.resident_ready.wait_on(r_.compute.get());
}

void CudaBlockBackend::load_input(int operand, std::int64_t offset, const BlockShape& shape) {
  Slots& slots = placed_.input_slots[operand];
  slots.current = (slots.current + 1) % slots.count;
  const int slot = slots.current;
  slots.copied[slot]->synchronize();  // its staging buffer is free again
  const auto* host = static_cast<const char*>(run_.inputs[operand]) +
                     offset * static_cast<std::int64_t>(run_.element);
  block_to_device(context_, slots, slot, slot_pointer(slots, slot), host,
                  shape.input_extents[operand], run_.input_strides[operand], run_.element,
                  placed_.copies.at(shape.level_extents).inputs[operand], r_.h2d.get(),
                  label("copy", operand));
  slots.copied[slot]->record(r_.h2d.get());
  slots.copied[slot]->wait_on(r_.compute.get());
}

void CudaBlockBackend::start_output(std::int64_t offset, const BlockShape& shape, bool read) {
  Slots& slots = placed_.output_slots;
  slots.current = (slots.current + 1) % slots.count;
  const int slot = slots.current;
  flush(slot);  // its staging buffer and device slot are free after this
  slots.copied[slot]->wait_on(r_.compute.get());
  if (!read) return;
  const cudaStream_t h2d = r_.h2d.get();
  slots.copied[slot]->wait_on(h2d);  // the slot's last block is back on the host
  const char* host =
      static_cast<const char*>(run_.output) + offset * static_cast<std::int64_t>(run_.element);
  block_to_device(context_, slots, slot, slot_pointer(slots, slot), host, shape.output_extents,
                  run_.output_strides, run_.element, placed_.copies.at(shape.level_extents).output,
                  h2d, label("copy", -1));
  slots.released[slot]->record(h2d);
  slots.released[slot]->wait_on(r_.compute.get());
}

void CudaBlockBackend::compute(const BlockShape& shape, const BlockOffsets& offsets, Scalar alpha,
                               Scalar beta) {
  char range_name[48];
  std::snprintf(range_name, sizeof range_name, "einstream: block %lld",
                static_cast<long long>(block_number_));
  const NvtxRange range(range_name);
  const auto element = static_cast<std::int64_t>(run_.element);
  for (std::size_t operand = 0; operand < run_.inputs.size(); ++operand) {
    const int index = static_cast<int>(operand);
    pointers_.inputs[operand] =
        placed_.streamed(index)
            ? slot_pointer(placed_.input_slots[operand], placed_.input_slots[operand].current)
            : resident_inputs_[operand] + offsets.inputs[operand] * element;
  }
  pointers_.output = placed_.output_streamed()
                         ? slot_pointer(placed_.output_slots, placed_.output_slots.current)
                         : resident_output_ + offsets.output * element;
  const cudaStream_t compute = r_.compute.get();
  const int span = r_.timeline.open(StreamTimeline::kCompute, compute, label("compute", -2));
  const Epilogue epilogue = Epilogue::scaled(alpha, beta);
  if (run_.replay) {
    replayed_ = placed_.graph->run(shape.program, pointers_, epilogue, compute, r_.cublas.get());
  } else {
    run_program(shape.program, pointers_, epilogue, compute, r_.cublas.get());
  }
  r_.timeline.close(span, compute);
  for (std::size_t operand = 0; operand < run_.inputs.size(); ++operand) {
    if (!placed_.streamed(static_cast<int>(operand))) continue;
    Slots& slots = placed_.input_slots[operand];
    slots.released[slots.current]->record(compute);
  }
  ++block_number_;
}

void CudaBlockBackend::store_output(std::int64_t offset, const BlockShape& shape) {
  Slots& slots = placed_.output_slots;
  const int slot = slots.current;
  const cudaStream_t d2h = r_.d2h.get();
  slots.released[slot]->record(r_.compute.get());
  slots.released[slot]->wait_on(d2h);
  const std::vector<std::int64_t>& extents = shape.output_extents;
  const std::uint64_t bytes = packed_bytes(extents, run_.element);
  char* device = slot_pointer(slots, slot);
  TransferTally& tally = context_.tally;
  tally.to_host += bytes;
  // The copy back belongs to the block just computed.
  const int span =
      r_.timeline.open(StreamTimeline::kD2H, d2h, label("copy back", -1, block_number_ - 1));
  if (slots.direct) {
    tally.direct += bytes;
    char* host = static_cast<char*>(run_.output) + offset * static_cast<std::int64_t>(run_.element);
    enqueue_pitched(*placed_.copies.at(shape.level_extents).output, host, device, false, d2h);
  } else {
    tally.staged += bytes;
    EINSTREAM_CUDA_CHECK(
        cudaMemcpyAsync(slots.staging[slot]->get(), device, bytes, cudaMemcpyDeviceToHost, d2h));
    pending_[slot] = {&extents, offset, true};
  }
  r_.timeline.close(span, d2h);
  slots.copied[slot]->record(d2h);
}

void CudaBlockBackend::flush(int slot) {
  PendingScatter& job = pending_[slot];
  if (!job.pending) return;
  Slots& slots = placed_.output_slots;
  slots.copied[slot]->synchronize();
  char* host =
      static_cast<char*>(run_.output) + job.offset * static_cast<std::int64_t>(run_.element);
  context_.timed(run_.profile ? "scatter out" : "", [&] {
    scatter_block(slots.staging[slot]->get(), *job.extents, run_.output_strides, run_.element, host,
                  &r_.pool);
  });
  job.pending = false;
}

void CudaBlockBackend::finish() {
  const SlicePlan& slice = placed_.plan.slice;
  if (slice.output == Residency::streamed) {
    for (int slot = 0; slot < placed_.output_slots.count; ++slot) flush(slot);
  } else if (slice.output == Residency::resident) {
    const NvtxRange range("einstream: download output");
    const BufferPlace& place = run_.places.back();
    EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(r_.compute.get()));
    r_.ring.download(context_, run_.base + placed_.plan.layout.output.offset,
                     reinterpret_cast<char*>(place.span.begin), place.span.end - place.span.begin,
                     place.page_locked, r_.d2h.get());
  }
  r_.compute.synchronize();
  r_.d2h.synchronize();
  r_.h2d.synchronize();
}

void CudaBlockBackend::drain() noexcept {
  cudaStreamSynchronize(r_.compute.get());
  cudaStreamSynchronize(r_.h2d.get());
  cudaStreamSynchronize(r_.d2h.get());
}

}  // namespace einstream::detail
