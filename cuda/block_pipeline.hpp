// The CUDA backend of the block loop (src/block_loop): three streams,
// host-to-device copies, compute and device-to-host copies, ordered by
// events. Every streamed operand has `buffering` device slots (and pinned
// staging buffers when its memory is pageable): while the GPU computes block
// k from one slot, the host threads gather block k+1 into another slot's
// staging buffer and the copy stream moves it to the device. A slot's
// staging buffer is refilled only after its previous copy finished, a
// device slot only after the block that read it computed. Resident operands
// cross once, whole (cuda/staging's ring); operands used in place (device
// memory) are read and written where they are. A streamed output block goes
// back through its own slot and is scattered into the caller's strided
// output by the host threads while later blocks compute.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuda/host_memory.hpp"
#include "cuda/op_runner.hpp"
#include "cuda/program_graph.hpp"
#include "cuda/resources.hpp"
#include "cuda/staging.hpp"
#include "cuda/stream_timeline.hpp"
#include "planner/device_plan.hpp"
#include "src/block_loop.hpp"
#include "src/staging/pitched_copies.hpp"
#include "src/staging/thread_pool.hpp"

namespace einstream::detail {

// A DevicePlan made ready to run: how each block shape's buffers split into
// in-place 2-D copies (empty: they cannot), and the streamed buffers' slots.
struct PlacedPlan {
  struct ShapeCopies {
    std::vector<std::optional<PitchedCopies>> inputs;
    std::optional<PitchedCopies> output;
  };
  DevicePlan plan;
  std::map<std::vector<std::int64_t>, ShapeCopies> copies;  // by level extents
  std::deque<Slots> input_slots;                            // Slots do not move
  Slots output_slots;
  // The captured Program of a one-block plan (cuda/program_graph).
  std::unique_ptr<ProgramGraph> graph = std::make_unique<ProgramGraph>();

  bool streamed(int input) const { return plan.slice.inputs[input] == Residency::streamed; }
  bool output_streamed() const { return plan.slice.output == Residency::streamed; }
};

PlacedPlan place_plan(DevicePlan plan, const std::vector<std::vector<std::int64_t>>& input_strides,
                      const std::vector<std::int64_t>& output_strides, std::size_t element);

// The CUDA objects and host threads of execution, made at the first run.
struct PipelineResources {
  // staging_threads: the host threads of the pool (0: ThreadPool's default).
  explicit PipelineResources(int staging_threads) : pool(staging_threads) {}
  Stream compute, h2d, d2h;
  CublasHandle cublas;
  ThreadPool pool;
  Event resident_ready;
  PinnedRing ring;
  StreamTimeline timeline;
};

// One execution's buffers and bookkeeping.
struct PipelineRun {
  const std::vector<BufferPlace>& places;  // inputs, then the output
  const std::vector<const void*>& inputs;
  void* output;
  char* base;  // the allocation, laid out as the plan says
  std::size_t element;
  std::uint64_t output_bytes;  // the output's elements, packed
  const std::vector<std::vector<std::int64_t>>& input_strides;
  const std::vector<std::int64_t>& output_strides;
  bool profile;
  // Run the block's Program through placed.graph (a one-block plan with
  // Options::graph_replay, not profiled).
  bool replay = false;
};

class CudaBlockBackend final : public BlockBackend {
 public:
  // Decides which streamed buffers are DMA'd in place this run and makes
  // their events and staging; binds cuBLAS to the plan's workspace.
  CudaBlockBackend(PlacedPlan& placed, PipelineResources& resources, const PipelineRun& run,
                   TransferTally& tally);

  void upload_residents(bool read_output) override;
  void load_input(int operand, std::int64_t offset, const BlockShape& shape) override;
  void start_output(std::int64_t offset, const BlockShape& shape, bool read) override;
  void compute(const BlockShape& shape, const BlockOffsets& offsets, Scalar alpha,
               Scalar beta) override;
  void store_output(std::int64_t offset, const BlockShape& shape) override;
  void finish() override;

  // Waits for everything enqueued, ignoring errors: after a failure nothing
  // may still run on memory a later execution reuses.
  void drain() noexcept;

  // Whether this run's compute was a replay of a captured graph.
  bool replayed() const { return replayed_; }

 private:
  // A scatter of an output block still waiting for its copy to the host.
  struct PendingScatter {
    const std::vector<std::int64_t>* extents = nullptr;  // a BlockShape's
    std::int64_t offset = 0;
    bool pending = false;
  };
  void prepare_slots();
  void flush(int slot);
  char* slot_pointer(const Slots& slots, int slot) const {
    return run_.base + slots.device_offset + static_cast<std::uint64_t>(slot) * slots.slot_bytes;
  }
  // A timeline name for the copy or compute of `block` (the current block
  // by default): "block 3: copy in1".
  std::string label(const char* what, int operand, std::int64_t block) const;
  std::string label(const char* what, int operand) const {
    return label(what, operand, block_number_);
  }

  PlacedPlan& placed_;
  PipelineResources& r_;
  PipelineRun run_;
  CopyContext context_;
  std::vector<char*> resident_inputs_;
  char* resident_output_ = nullptr;
  std::vector<PendingScatter> pending_;
  DevicePointers pointers_;
  std::int64_t block_number_ = 0;
  bool replayed_ = false;
};

}  // namespace einstream::detail
