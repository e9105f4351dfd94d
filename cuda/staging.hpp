// Staging: how the caller's host memory and the device exchange bytes in
// one execution. Whole spans (resident operands) cross in one copy when the
// memory is page-locked, else through a pinned chunk ring that the
// host threads fill (or drain) while the DMA engine moves the chunk before;
// blocks of streamed operands cross through their slots, DMA'd in place
// from page-locked memory when they split into few long rows, else
// gathered by the host threads into the slot's pinned staging buffer.
// Every copy is recorded in the execution's timeline and tally.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuda/resources.hpp"
#include "cuda/stream_timeline.hpp"
#include "src/staging/pitched_copies.hpp"
#include "src/staging/thread_pool.hpp"

namespace einstream::detail {

// The pinned chunk ring: pageable cudaMemcpy runs at 6-8 GB/s, pinned DMA
// at 55 GB/s. Three chunks of 128 MiB: on the H200 the headline example at
// the default limit (6 GB of it resident) ran at 1.29x the link floor with
// two 64 MiB chunks, 1.27x with three of 128 MiB and 1.22x with four of
// 256 MiB, one run each (about 5% apart run to run); 384 MiB of pinned
// memory per executor is the compromise.
constexpr int kRingChunks = 3;
constexpr std::uint64_t kChunkBytes = std::uint64_t{128} << 20;
// Ring chunks for smaller spans are this size's multiples, just enough.
constexpr std::uint64_t kChunkRounding = std::uint64_t{1} << 20;

// What one execution moved each way (direct: DMA'd from page-locked memory;
// staged: through pinned buffers) and the host threads' staging time.
struct TransferTally {
  std::uint64_t to_device = 0, to_host = 0, direct = 0, staged = 0;
  double staging_seconds = 0;
};

// One execution's copy context.
struct CopyContext {
  StreamTimeline& timeline;
  ThreadPool& pool;
  TransferTally& tally;
  bool profile = false;

  // Runs a host threads' copy, timed for the report and the timeline.
  template <class Copy>
  void timed(const std::string& name, Copy&& copy) {
    const auto begin = std::chrono::steady_clock::now();
    copy();
    const auto end = std::chrono::steady_clock::now();
    tally.staging_seconds += std::chrono::duration<double>(end - begin).count();
    timeline.host_span("host staging", name, begin, end);
  }
};

class PinnedRing {
 public:
  // Whole span `host` -> `device` on `h2d`. Returns when the caller's memory
  // has been read (the last chunk may still be in flight on `h2d`).
  void upload(CopyContext& context, const char* host, char* device, std::uint64_t bytes,
              bool page_locked, cudaStream_t h2d, const std::string& name);
  // Whole span `device` -> `host` on `d2h`; returns when it is in `host`.
  void download(CopyContext& context, const char* device, char* host, std::uint64_t bytes,
                bool page_locked, cudaStream_t d2h);

 private:
  // A chunk's size for a span of `span` bytes.
  static std::uint64_t chunk_bytes(std::uint64_t span);
  // The chunks a span of `span` bytes crosses through, grown at first need.
  void allocate(std::uint64_t span);

  std::vector<std::unique_ptr<PinnedBuffer>> chunks_;
  Event copied_[kRingChunks];
};

// A streamed buffer's device and staging slots and their events.
struct Slots {
  std::uint64_t slot_bytes = 0;
  std::uint64_t device_offset = 0;  // of slot 0 in the allocation
  int count = 0;                    // the plan's buffering depth
  std::vector<std::unique_ptr<PinnedBuffer>> staging;
  // Per slot: staging -> device (or device -> staging) finished; the last
  // block reading (or writing) the device slot computed.
  std::vector<std::unique_ptr<Event>> copied, released;
  int current = 0;
  bool direct = false;  // this run DMAs the buffer's blocks in place

  // Sized by the layout; events and staging are made at the first run.
  void size(std::uint64_t offset, std::uint64_t bytes, int slots);
  void make_events();
  void make_staging();  // unless direct
  void restart() { current = count - 1; }
};

// Bytes of a packed block of these extents: what a slot copy moves.
std::uint64_t packed_bytes(const std::vector<std::int64_t>& extents, std::size_t element);

// Enqueues one block of a streamed buffer from the caller's memory at
// `host` (strided) to its packed device slot `slot` of `slots` at
// `device`, on `h2d`: in place when the slots are direct (`copies` splits
// the block into 2-D copies), else gathered into the slot's staging buffer
// first, which the caller has made sure is free. Waits on the slot's
// release event so it never overwrites a block still being computed.
void block_to_device(CopyContext& context, Slots& slots, int slot, char* device, const char* host,
                     const std::vector<std::int64_t>& extents,
                     const std::vector<std::int64_t>& strides, std::size_t element,
                     const std::optional<PitchedCopies>& copies, cudaStream_t h2d,
                     const std::string& name);

// Enqueues the 2-D copies of one block between strided page-locked host
// memory at `host` and the packed device buffer at `device`.
void enqueue_pitched(const PitchedCopies& copies, char* host, char* device, bool to_device,
                     cudaStream_t stream);

}  // namespace einstream::detail
