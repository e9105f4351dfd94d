#include "cuda/staging.hpp"

#include <algorithm>

#include "cuda/check.hpp"
#include "src/staging/block_copy.hpp"

namespace einstream::detail {

std::uint64_t packed_bytes(const std::vector<std::int64_t>& extents, std::size_t element) {
  std::uint64_t bytes = element;
  for (std::int64_t extent : extents) bytes *= static_cast<std::uint64_t>(extent);
  return bytes;
}

// Each of these grows its buffers one at a time up to the count, so an
// allocation that fails midway (pinned memory exhausted, an injected fault)
// leaves a consistent prefix that the next execution completes.
std::uint64_t PinnedRing::chunk_bytes(std::uint64_t span) {
  // Small spans take small chunks: a kilobyte operand costs no 128 MiB of
  // pinned memory; chunks only ever grow to kChunkBytes.
  const std::uint64_t rounded = (span + kChunkRounding - 1) / kChunkRounding * kChunkRounding;
  return std::min(kChunkBytes, std::max<std::uint64_t>(rounded, kChunkRounding));
}

void PinnedRing::allocate(std::uint64_t span) {
  const std::uint64_t size = chunk_bytes(span);
  const std::uint64_t needed = std::min<std::uint64_t>(kRingChunks, (span + size - 1) / size);
  for (std::size_t slot = 0; slot < needed; ++slot) {
    if (slot < chunks_.size() && chunks_[slot]->bytes() >= size) continue;
    copied_[slot].synchronize();  // an earlier copy may still read it
    if (slot < chunks_.size()) {
      chunks_[slot].reset();  // free first: the old and new may not fit together
      chunks_[slot] = std::make_unique<PinnedBuffer>(size);
    } else {
      chunks_.push_back(std::make_unique<PinnedBuffer>(size));
    }
  }
}

void PinnedRing::upload(CopyContext& context, const char* host, char* device, std::uint64_t bytes,
                        bool page_locked, cudaStream_t h2d, const std::string& name) {
  StreamTimeline& timeline = context.timeline;
  context.tally.to_device += bytes;
  if (page_locked) {
    context.tally.direct += bytes;
    const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
    EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, h2d));
    timeline.close(span, h2d);
    return;
  }
  // Pageable memory always goes through the ring, however small: a plain
  // pageable copy is slow, and fails outright (invalid argument) on a span
  // the caller registered in part.
  context.tally.staged += bytes;
  allocate(bytes);
  const std::uint64_t chunk_size = chunk_bytes(bytes);
  // The pool copies chunk k+1 into one pinned buffer while the DMA engine
  // moves chunk k out of another.
  for (std::uint64_t offset = 0, chunk = 0; offset < bytes; offset += chunk_size, ++chunk) {
    const int slot = static_cast<int>(chunk % kRingChunks);
    const std::uint64_t size = std::min(chunk_size, bytes - offset);
    copied_[slot].synchronize();
    context.timed(name, [&] {
      gather_block(host + offset, {static_cast<std::int64_t>(size)}, {1}, 1, chunks_[slot]->get(),
                   &context.pool);
    });
    const int span = timeline.open(StreamTimeline::kH2D, h2d, name);
    EINSTREAM_CUDA_CHECK(
        cudaMemcpyAsync(device + offset, chunks_[slot]->get(), size, cudaMemcpyHostToDevice, h2d));
    timeline.close(span, h2d);
    copied_[slot].record(h2d);
  }
}

void PinnedRing::download(CopyContext& context, const char* device, char* host, std::uint64_t bytes,
                          bool page_locked, cudaStream_t d2h) {
  StreamTimeline& timeline = context.timeline;
  context.tally.to_host += bytes;
  if (page_locked) {
    context.tally.direct += bytes;
    const int span = timeline.open(StreamTimeline::kD2H, d2h, "download out");
    EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, d2h));
    timeline.close(span, d2h);
    EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(d2h));
    return;
  }
  context.tally.staged += bytes;
  allocate(bytes);
  const std::uint64_t chunk_size = chunk_bytes(bytes);
  const std::uint64_t chunks = (bytes + chunk_size - 1) / chunk_size;
  auto enqueue = [&](std::uint64_t chunk) {
    const int slot = static_cast<int>(chunk % kRingChunks);
    const std::uint64_t offset = chunk * chunk_size;
    const int span = timeline.open(StreamTimeline::kD2H, d2h, "download out");
    EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(chunks_[slot]->get(), device + offset,
                                         std::min(chunk_size, bytes - offset),
                                         cudaMemcpyDeviceToHost, d2h));
    timeline.close(span, d2h);
    copied_[slot].record(d2h);
  };
  enqueue(0);
  for (std::uint64_t chunk = 0; chunk < chunks; ++chunk) {
    // Chunk k+1 goes to the next buffer, whose scatter (of an earlier
    // chunk) is done, while chunk k is scattered.
    if (chunk + 1 < chunks) enqueue(chunk + 1);
    const int slot = static_cast<int>(chunk % kRingChunks);
    const std::uint64_t offset = chunk * chunk_size;
    const std::uint64_t size = std::min(chunk_size, bytes - offset);
    copied_[slot].synchronize();
    context.timed("scatter out", [&] {
      scatter_block(chunks_[slot]->get(), {static_cast<std::int64_t>(size)}, {1}, 1, host + offset,
                    &context.pool);
    });
  }
}

void Slots::size(std::uint64_t offset, std::uint64_t bytes, int slots) {
  device_offset = offset;
  slot_bytes = bytes;
  count = slots;
  staging.clear();
  copied.clear();
  released.clear();
  restart();
}

void Slots::make_events() {
  while (static_cast<int>(copied.size()) < count) copied.push_back(std::make_unique<Event>());
  while (static_cast<int>(released.size()) < count) released.push_back(std::make_unique<Event>());
}

void Slots::make_staging() {
  if (direct) return;
  while (static_cast<int>(staging.size()) < count) {
    staging.push_back(std::make_unique<PinnedBuffer>(slot_bytes));
  }
}

void block_to_device(CopyContext& context, Slots& slots, int slot, char* device, const char* host,
                     const std::vector<std::int64_t>& extents,
                     const std::vector<std::int64_t>& strides, std::size_t element,
                     const std::optional<PitchedCopies>& copies, cudaStream_t h2d,
                     const std::string& name) {
  const std::uint64_t bytes = packed_bytes(extents, element);
  context.tally.to_device += bytes;
  if (slots.direct) {
    context.tally.direct += bytes;
    slots.released[slot]->wait_on(h2d);
    const int span = context.timeline.open(StreamTimeline::kH2D, h2d, name);
    enqueue_pitched(*copies, const_cast<char*>(host), device, true, h2d);
    context.timeline.close(span, h2d);
    return;
  }
  context.tally.staged += bytes;
  context.timed(name, [&] {
    gather_block(host, extents, strides, element, slots.staging[slot]->get(), &context.pool);
  });
  slots.released[slot]->wait_on(h2d);
  const int span = context.timeline.open(StreamTimeline::kH2D, h2d, name);
  EINSTREAM_CUDA_CHECK(
      cudaMemcpyAsync(device, slots.staging[slot]->get(), bytes, cudaMemcpyHostToDevice, h2d));
  context.timeline.close(span, h2d);
}

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

}  // namespace einstream::detail
