// The memory and time model of a block plan (planner/slice.hpp describes
// both): for one block-size vector, the block Program's working memory, the
// residency of every operand, the loop order and the pipeline's predicted
// time; and the floors and estimates that judge block sizes without
// lowering a Program. The search over block sizes (planner/slice_search)
// asks this model; nothing else includes it.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/device_layout.hpp"
#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "planner/program.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

// Bytes rounded up to whole device buffers (planner/device_layout aligns
// every buffer to kDeviceBufferAlignment).
inline double aligned(double bytes) {
  const auto alignment = static_cast<double>(kDeviceBufferAlignment);
  return std::ceil(bytes / alignment) * alignment;
}

// Block size per mode (the full extent where a mode is not sliced).
using Blocks = std::vector<std::int64_t>;

inline std::int64_t blocks_of(std::int64_t extent, std::int64_t block) {
  return block <= 0 ? 1 : (extent + block - 1) / block;
}

// The smallest block that cuts `extent` into at most `count` blocks: among
// blocks giving one count it needs the least memory for the same work.
inline std::int64_t block_for(std::int64_t extent, std::int64_t count) {
  return (extent + count - 1) / count;
}

// What one block-size vector costs before residency and loop order are
// chosen: the block Program's working memory and the compute of one block.
struct BlockModel {
  std::vector<SlicedMode> sliced;  // ascending mode
  double block_count = 1;
  double working = 0;              // aligned arena, fixed bytes and workspace
  double flops = 0;                // all blocks
  double compute = 0;              // seconds of one (average) block
  std::vector<double> slot_bytes;  // per input: one block at full block extents
  std::vector<double> pass_bytes;  // per input: every block of it once
  std::vector<bool> varies;        // per input: carries a sliced mode
  std::vector<char> carries;       // per input and sliced mode: whether it carries it
  double output_slot = 0;
  bool output_sliced = false;
  // Per streamed input and for the output: how much slower than a
  // contiguous copy a block's copy runs (short rows).
  std::vector<double> copy_slowdown;
  double output_copy_slowdown = 1;
};

// A loop order (indices into BlockModel::sliced, outermost first) with the
// residency of every operand.
struct Placement {
  std::vector<int> order;
  std::vector<Residency> inputs;
  Residency output = Residency::resident;
};

struct Estimate {
  double memory = 0;
  double seconds = 0;
};

struct Timing {
  double seconds = 0;
  double to_device = 0;
  double to_host = 0;
};

// The model of one problem under one set of options, memoizing what it has
// computed per block-size vector. It keeps references to the problem, the
// strides and the options: they must outlive it.
class Evaluator {
 public:
  Evaluator(const Problem& problem, const ContractionPath& path, DataType dtype,
            const std::vector<std::vector<std::int64_t>>& input_strides,
            const std::vector<std::int64_t>& output_strides, const SliceOptions& options);

  double budget() const { return budget_; }
  bool fits(const SlicePlan& plan) const {
    return static_cast<double>(plan.device_bytes) <= budget_;
  }
  int lowered() const { return static_cast<int>(plans_.size()); }
  int estimated() const;

  // The plan for these block sizes: residency, loop order and predictions.
  // Memoized: lowering the block Program is the expensive part.
  const SlicePlan& evaluate(const Blocks& blocks);

  // A plan's memory and time predicted without lowering its Program, with
  // each operand where it needs the least memory: the arena counts as its
  // largest intermediate, the ops as one per path step. The memory is a
  // floor of every plan with these blocks; both are budget-independent.
  const Estimate& estimate(const Blocks& blocks);

  // The time of estimate()'s block model placed as under the budget (inputs
  // made resident where that fits and pays), quickly: the heuristic loop
  // order with one pass of swaps.
  double fitting_seconds(const Blocks& blocks);

  // The working part of memory_floor(): fixed bytes and the largest
  // intermediate. For evaluated blocks, how many times that the exact
  // working memory (arena and workspace) is: a guide to the arena of blocks
  // nearby, whose working floor it scales.
  double working_floor(const Blocks& blocks) const;
  double working_ratio(const Blocks& blocks) const;

  // The memory of estimate() alone, computed directly (no loop orders).
  double memory_floor(const Blocks& blocks) const;

  // A floor of the time of any plan with these blocks: the larger of the
  // compute and the least traffic each way.
  double seconds_floor(const Blocks& blocks) const;

  // Below this no block sizes fit, whatever the arena: every operand at
  // its least (resident, or two one-element blocks).
  double least_possible_memory() const;

 private:
  int input_count() const { return static_cast<int>(problem_.inputs.size()); }

  std::vector<SlicedMode> sliced_modes(const Blocks& blocks) const;

  bool carries(int index, Mode mode) const { return multiplicity_[index][mode] > 0; }
  bool carries_any(int index, const std::vector<SlicedMode>& sliced) const;

  // Bytes a strided tensor's memory span covers (the whole tensor's extents):
  // what a resident operand occupies and what its one copy moves.
  double span(const std::vector<Mode>& modes, const std::vector<int>& axes,
              const std::vector<std::int64_t>& strides) const;

  // Packed bytes of input `index`'s block at full block extents: one slot.
  double slot_bytes(int index, const Blocks& blocks) const;
  double output_slot(const Blocks& blocks) const;

  // Bytes of every block of input `index` sent once: its dense size, except
  // that a diagonal's blocks (a mode repeated k times) hold sum(extent^k).
  double pass_bytes(int index, const Blocks& blocks) const;

  // FLOPs of all blocks: each path step's product of extents is multilinear,
  // so summed over the blocks it is the whole step's count times the blocks
  // of every sliced mode the step does not carry (the recomputation).
  double flops_of(const Blocks& blocks) const;

  double block_count(const Blocks& blocks) const;

  // Aligned bytes of the largest intermediate (a result other than the
  // output's) at block extents: the arena holds at least that.
  double intermediate_floor(const Blocks& blocks) const;

  // The block model of the Program lowered at these blocks, or without
  // one, the estimate of estimate().
  BlockModel block_model(const Blocks& blocks, const Program* program) const;
  // Its per-operand copy slowdowns (block_model's last part).
  void add_copy_slowdowns(const Blocks& blocks, BlockModel& model) const;

  // How much slower than a contiguous copy a block of these extents and
  // (caller's) strides crosses: by its innermost contiguous run.
  double copy_slowdown(const std::vector<std::int64_t>& extents,
                       const std::vector<std::int64_t>& strides) const;

  double memory(const BlockModel& model, const Placement& placement) const;

  // Seconds the copies of `in` and `out` seconds at link rates take when
  // they pass through the host threads' staging (pageable memory): the
  // threads do both in turn at Rates::staging. At least the link time.
  double staged(double in, double out) const;

  // The pipeline under a loop order. Resident inputs cross once before the
  // first block, a resident output once after the last. A streamed input
  // crosses again whenever the block indices of its sliced modes change
  // between consecutive blocks: at the steps where a loop level at or
  // inside its innermost carried level advances. Each step overlaps its
  // compute with the next step's input copies and the previous output
  // block's copy back, so a step costs the largest of the three; the first
  // block's copies in and the last output block's copy back are not hidden.
  // Every copy also pays one op's latency.
  Timing time_of(const BlockModel& model, const Placement& placement) const;
  // time_of's inputs: adds the streamed inputs' traffic to `timing` and
  // their per-level copy seconds to copy_in_; returns the first block's
  // copies in, and the resident inputs' bytes in `before`.
  double input_copies(const BlockModel& model, const Placement& placement, Timing& timing,
                      double& before) const;
  // time_of's output: its traffic into `timing`, its per-level copy
  // seconds into copy_out_; returns the last output block's copy back, and
  // a resident output's copy back in `after`.
  double output_copies(const BlockModel& model, const Placement& placement, Timing& timing,
                       double& after) const;

  bool valid(const BlockModel& model, const Placement& placement) const;

  // Every order of `levels` loop levels, built once per count.
  const std::vector<std::vector<int>>& orders(int levels) const;

  // The fastest valid loop order for `placement`'s residency, written into
  // it: every order up to kExhaustiveOrderLevels sliced modes, else the
  // modes of the largest streamed inputs outermost (they then never repeat)
  // refined by swapping neighbours. Not `exhaustive` (for estimates): the
  // latter always, with one pass of swaps.
  double choose_order(const BlockModel& model, Placement& placement, bool exhaustive = true) const;
  // choose_order's first way: the fastest of every valid order.
  double fastest_order(const BlockModel& model, Placement& placement) const;
  // choose_order's second way: the order by streamed weight, before swaps.
  std::vector<int> heuristic_order(const BlockModel& model, const Placement& placement) const;

  // Each operand where it needs the least memory (resident on ties).
  Placement least_memory(const BlockModel& model) const;

  static void flip(Residency& residency);

  // Flips inputs between resident and streamed while the plan fits and gets
  // faster: each pass tries the flips in the order of the time each saves
  // alone. Returns the new time.
  double refine_residency(const BlockModel& model, Placement& placement, double seconds) const;

  // Residency and loop order for one block model. Each operand starts where
  // it needs less memory (so a plan over the budget is the least it can be,
  // whatever the budget); when that fits, the fastest loop orders (with a
  // resident or a streamed output) get their inputs' residency refined
  // greedily: flip the input whose flip saves the most time while it fits.
  SlicePlan place(const BlockModel& model, bool exhaustive = true) const;
  // place's candidates when the base fits: (seconds, output residency,
  // order) of the fastest orders for each output residency that fits.
  std::vector<std::tuple<double, Residency, std::vector<int>>> order_candidates(
      const BlockModel& model, const Placement& base, bool exhaustive) const;
  // The plan a placement of a block model makes, with its predictions.
  SlicePlan plan_of(const BlockModel& model, const Placement& placement) const;

  const Problem& problem_;
  LinearPath linear_;
  DataType dtype_;
  double element_;
  const std::vector<std::vector<std::int64_t>>& input_strides_;
  const std::vector<std::int64_t>& output_strides_;
  const SliceOptions& options_;
  double budget_;
  double buffering_;
  std::vector<double> step_flops_;
  std::vector<std::vector<Mode>> step_modes_;  // per step: the modes it carries
  std::vector<bool> is_output_;
  std::vector<std::vector<int>> multiplicity_;  // per input and mode
  std::vector<double> input_span_;              // 0 for an operand used in place
  std::vector<bool> in_place_;                  // per input
  bool output_in_place_ = false;
  double output_span_ = 0, output_full_ = 0;
  std::vector<std::vector<Mode>> intermediates_;          // modes of each result but the output
  std::map<Blocks, std::pair<SlicePlan, double>> plans_;  // with the working memory
  std::map<Blocks, Estimate> estimates_;
  std::map<Blocks, double> fitting_seconds_;
  // Scratch of time_of and the loop orders of each level count.
  mutable std::vector<double> level_blocks_, copy_in_, copy_out_;
  mutable std::vector<std::vector<std::vector<int>>> orders_;
};

}  // namespace einstream::detail
