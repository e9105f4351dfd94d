// Slicing: cut a problem into blocks that fit a device-memory budget.
//
// A sliced mode is iterated over blocks of `block` indices (the last block
// may be shorter); every block runs the same contraction path on the block's
// extents. Any mode may be sliced: a sliced output mode writes disjoint
// blocks of the output, a sliced summed mode accumulates into the output
// (beta = 1 after its first block), at the price of recomputing, per block,
// the steps that do not carry the mode.
//
// The memory model is the CUDA backend's: per execution, the arena of the
// block's Program, the backend's fixed workspace, each input either resident
// (copied once, whole) or streamed (`buffering` block buffers, so the next
// block's copy overlaps the current block's compute), and the output either
// resident (copied back once, whatever is sliced) or streamed back block by
// block (then its modes are the outermost loops, so each output block is
// finished before the next starts). The planner picks the sliced modes,
// block sizes, residency and loop order that fit the budget with the least
// predicted time.
//
// The time model follows the executor's pipeline: resident inputs cross
// first; a streamed input crosses again only when the block indices of its
// sliced modes change between consecutive blocks; each block costs the
// largest of its compute (all its FLOPs, recomputation included, at the GEMM
// rate, plus its ops' memory traffic and launch latency) and the copies it
// overlaps (each at its rate plus one op's latency); the first block's
// copies in and the last output block's copy back are not hidden. Rates are
// H100 measurements (DESIGN.md, "Measured anchors").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

// Throughputs of the time model.
struct Rates {
  double host_to_device = 54e9;  // bytes/s, pinned
  double device_to_host = 54e9;  // bytes/s, pinned
  double gemm_flops = 51e12;     // FLOP/s (f32, TF32 off; f64 is close on an H100)
  double device_bytes = 2.9e12;  // bytes/s, device memory traffic
  double op_seconds = 5e-6;      // launch and synchronization cost of one op
  // Bytes/s of the host threads' copies between pageable caller memory and
  // pinned staging; 0 when the operands are page-locked (no staging). The
  // threads gather inputs and scatter outputs in turn, so a block's copies
  // in and out share this rate (H100 machine: 40-44 GB/s while the DMA
  // engines read the staging buffers).
  double staging = 0;
};

struct SliceOptions {
  // Device bytes one execution may use.
  std::uint64_t budget = 0;
  // Bytes the backend needs besides the arena and the operands (kernel and
  // cuBLAS workspaces): a constant, plus what `workspace_of` (when set) says
  // a block's Program needs. The backend supplies the function, so the
  // planner needs no CUDA to count what the CUDA backend allocates.
  std::uint64_t fixed_bytes = 0;
  std::function<std::uint64_t(const Program&)> workspace_of;
  // Block buffers per streamed operand: 2 overlaps copy and compute.
  int buffering = 2;
  // Operands the backend reads and writes where they are (a CUDA plan's
  // operands in device memory): they take no device bytes of the budget and
  // cross no link; their blocks are views into the caller's layout. One flag
  // per input (empty: none); the output's alone.
  std::vector<bool> in_place_inputs;
  bool in_place_output = false;
  // When the whole problem fits: also search sliced plans and keep one the
  // time model predicts faster (block k+1's copies overlapping block k's
  // compute and block k-1's copy back). A backend that overlaps copies with
  // compute (CUDA) sets it; without it a fitting problem runs unsliced.
  bool pipeline = false;
  Rates rates;
  // Wall seconds for improving on the first fitting block plan (the beam
  // descent's later levels and the local climb); <= 0: no limit. Reaching a
  // first plan that fits is never cut short. The Plan gives each search a
  // quarter of Options::path_seconds: a network of hundreds of modes lowers
  // a Program per candidate, and the search ran 1-2 s there.
  double seconds = 0;
};

struct SlicedMode {
  Mode mode = 0;
  std::int64_t block = 0;   // indices per block
  std::int64_t blocks = 1;  // ceil(extent / block)
};

// resident: copied to the device once, whole, in the caller's layout;
// streamed: moved block by block through packed device slots; in_place:
// used where it is (already in device memory, or the host backend's views).
enum class Residency { resident, streamed, in_place };

const char* to_string(Residency residency);

struct SlicePlan {
  // Sliced modes in loop order, outermost first; empty when the whole
  // problem fits.
  std::vector<SlicedMode> sliced;
  std::vector<Residency> inputs;
  Residency output = Residency::resident;
  std::int64_t block_count = 1;
  // Device buffers per streamed operand (and streamed output): 2 overlaps
  // one block's copies with the previous block's compute; the backend may
  // deepen it where the budget leaves room.
  int buffering = 2;
  // Exact device bytes of one execution under this plan (the model above).
  std::uint64_t device_bytes = 0;
  // Predictions of the time model. The bytes are what an executor moves:
  // each resident input's memory span once, and each streamed input block
  // every time the block indices of that input's sliced modes change
  // between consecutive blocks; the output's span once, or its blocks once
  // each when it streams (an output that is read because beta is not zero
  // is not counted).
  double bytes_to_device = 0;
  double bytes_to_host = 0;
  double flops = 0;  // all blocks, recomputation included, exactly
  double seconds = 0;
  // FLOPs of the cheapest unsliced path the planner found: the smaller of
  // the path search's and the block path's own (a tree the slice finder
  // reconfigured can be cheaper unsliced too). So overhead() >= 1.
  double unsliced_flops = 0;
  // Whether the slice finder (planner/slice_path, which chose the sliced
  // modes with the path) or the block-size search (SliceOptions::seconds)
  // stopped at its time budget: the slices are the best it found, not all
  // it would have tried.
  bool stopped_at_budget = false;

  // The slicing overhead: FLOPs of every block over unsliced_flops (1 when
  // nothing is sliced).
  double overhead() const { return unsliced_flops > 0 ? flops / unsliced_flops : 1; }

  // The problem with each sliced mode's extent set to its block.
  Problem block_problem(const Problem& problem) const;
};

// What plan_slices' search did: block Programs it lowered (one per distinct
// block-size vector it evaluated exactly), block-size vectors it only
// estimated, and moves it dismissed by memory or time floors.
struct SliceSearchStats {
  int lowered = 0;
  int estimated = 0;
  int pruned = 0;
};

// The plan with the least predicted time among those that fit
// options.budget; the whole problem unsliced when it fits (unless
// options.pipeline finds a faster sliced one). Throws
// MemoryError naming the least memory any plan it tried needs when none
// fits (that budget then works). `input_strides`/`output_strides` are the
// caller's (they shape the block Programs whose arenas are measured).
//
// The search works on block-size vectors. A beam descent from the whole
// problem, halving one mode's block per level, reaches fitting plans; a
// local search from the fastest of them then changes block counts (any
// count, not only halvings) and moves slicing between modes along the
// budget while the plan fits and gets faster. Lowering a block Program is
// the expensive part (tens to hundreds of microseconds), so candidates are
// first judged by floors and estimates that need none, and each block-size
// vector is lowered at most once.
SlicePlan plan_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                      const std::vector<std::vector<std::int64_t>>& input_strides,
                      const std::vector<std::int64_t>& output_strides, const SliceOptions& options,
                      SliceSearchStats* stats = nullptr);

// The plan plan_slices would make of these block sizes (one per mode; the
// mode's extent means not sliced): its loop order, residency under
// options.budget, memory and predictions. device_bytes may exceed the
// budget. For explain-style tooling and for checking the search.
SlicePlan evaluate_slices(const Problem& problem, const ContractionPath& path, DataType dtype,
                          const std::vector<std::vector<std::int64_t>>& input_strides,
                          const std::vector<std::int64_t>& output_strides,
                          const SliceOptions& options, const std::vector<std::int64_t>& blocks);

// Readable account for explain(): sliced modes, blocks, residency, bytes
// moved and predicted time.
std::string to_string(const SlicePlan& plan, const Problem& problem);

}  // namespace einstream::detail
