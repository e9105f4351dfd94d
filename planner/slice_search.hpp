// The search over block-size vectors behind plan_slices (planner/slice.hpp
// describes the approach): a beam descent from the whole problem to the
// first fitting plans, then a local climb from the fastest of them. It
// judges block sizes with the model of planner/slice_model.
#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "planner/path_budget.hpp"
#include "planner/problem.hpp"
#include "planner/slice.hpp"
#include "planner/slice_model.hpp"

namespace einstream::detail {

// The search over block-size vectors (see plan_slices).
class SliceSearch {
 public:
  // `seconds` as SliceOptions::seconds.
  SliceSearch(const Problem& problem, Evaluator& evaluator, bool pipeline, double seconds,
              SliceSearchStats* stats)
      : problem_(problem),
        evaluator_(evaluator),
        pipeline_(pipeline),
        deadline_(seconds),
        stats_(stats) {}

  // The fastest fitting plan found; throws MemoryError when none fits.
  SlicePlan run();

 private:
  const SlicePlan& evaluate(const Blocks& blocks);

  void report() const;

  SlicePlan finish(const Blocks& blocks);

  [[noreturn]] void fail();

  // Phase 1, a beam descent from the whole problem: each level halves one
  // mode's block in every survivor. The children are ranked by estimate()
  // under several weightings of memory against time (memory alone among
  // them, so the descent closes in on the budget); only the survivors, and
  // children whose memory floor is within the budget, are lowered. Fitting
  // plans are kept aside. Until a plan fits, which plans are lowered does
  // not depend on the budget, so the least memory seen is a budget that works.
  void descend();
  // One level of it: the unseen children of the beam that do not fit, with
  // their estimates (those that fit go to fitting_).
  std::vector<std::pair<Blocks, Estimate>> children_of(const std::vector<Blocks>& beam);
  // The next beam: one child per weighting of kBeamWeights, lowered (those
  // that fit go to fitting_ instead).
  std::vector<Blocks> survivors(const std::vector<std::pair<Blocks, Estimate>>& children);

  // Block counts worth trying for one mode from `count` blocks: one more
  // and one fewer, double, half, half as many again and two thirds, no
  // slicing, and the nearest counts that divide the extent evenly.
  static std::vector<std::int64_t> counts_near(std::int64_t extent, std::int64_t count);

  // Fewer blocks worth trying for a mode cut into `count`: every smaller
  // count up to kFewerCounts, else a spread of them down to one.
  static std::vector<std::int64_t> counts_below(std::int64_t count);

  Blocks with(const Blocks& from, Mode mode, std::int64_t count) const;

  // The fewest blocks of `mode`, from `count` up, whose memory floor fits
  // (by doubling, then bisection); 0 when none does.
  std::int64_t least_fitting_count(const Blocks& state, Mode mode, std::int64_t count) const;

  // Phase 2, local search from one fitting plan. Moves: one mode to a
  // block count of counts_near; and walks along the budget: fewer blocks of
  // a sliced mode (counts_below), with another mode cut into the fewest
  // blocks whose memory floor then fits (once more if that is not enough).
  // Each pass lowers the moves in the order of their estimated time,
  // skipping those whose memory floor is over the budget or whose time
  // floor is no better than the best found, and takes the best one after
  // kClimbTries more lowerings past the first improvement; it stops when no
  // move fits and is faster.
  double climb(Blocks& state, double seconds);
  // A pass's moves from `state`, sorted and without duplicates.
  std::vector<Blocks> moves_from(const Blocks& state) const;
  // (predicted not to fit, estimated seconds, move) of the most promising
  // moves, best first: those past the floors, the kPassEstimates with the
  // best time floors, ranked by fitting_seconds.
  std::vector<std::tuple<bool, double, const Blocks*>> ranked_moves(
      const std::vector<Blocks>& moves, const Blocks& state, double seconds);

  const Problem& problem_;
  Evaluator& evaluator_;
  bool pipeline_ = false;
  SearchDeadline deadline_;  // checked only once some plan fits
  SliceSearchStats* stats_;
  std::uint64_t least_ = std::numeric_limits<std::uint64_t>::max();
  std::set<Blocks> seen_;
  std::vector<std::pair<double, Blocks>> fitting_;  // (predicted seconds, blocks)
  int pruned_ = 0;
};

}  // namespace einstream::detail
