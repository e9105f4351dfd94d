#include "planner/slice_search.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

// The search's knobs (see plan_slices for the approach; the model's are in
// slice_model.cpp).
// The descent: one survivor per weight of log(memory) against log(predicted
// seconds), infinity ranking by memory alone; it stops this many levels
// after the first fitting plan, or after kDescentLevels.
constexpr double kBeamWeights[] = {std::numeric_limits<double>::infinity(), 8.0, 2.0, 0.5};
constexpr int kLevelsAfterFit = 1;
constexpr int kDescentLevels = 400;
// The local search: from this many of the fastest fitting plans, at most
// kClimbPasses improving moves each. A pass estimates the kPassEstimates
// moves with the best time floors, lowers them in the order of their
// estimates, and stops kClimbTries lowerings after the first improvement
// or after kPassLowerings.
constexpr int kClimbSeeds = 3;
constexpr int kClimbPasses = 40;
constexpr std::size_t kPassEstimates = 64;
constexpr int kClimbTries = 3;
constexpr int kPassLowerings = 24;
// Block counts a move tries: below kFewerCounts every smaller one; the
// nearest counts dividing an extent evenly are looked for this far away.
constexpr std::int64_t kFewerCounts = 16;
constexpr int kDivisorScan = 64;

}  // namespace

SlicePlan SliceSearch::run() {
  const Blocks whole = problem_.extents;
  {
    const SlicePlan& plan = evaluate(whole);
    if (evaluator_.fits(plan)) {
      if (!pipeline_) return finish(whole);
      // Fits: slicing can only pay by overlapping copies with compute, so
      // climb from the whole problem while the time model says faster.
      Blocks state = whole;
      climb(state, plan.seconds);
      return finish(state);
    }
  }
  // Every mode in blocks of one index: usually the least memory there is,
  // and when even the operands' least memory is over the budget, nothing
  // else need be tried. (Evaluated whatever the budget, so that the least
  // need an error reports is always a budget that works.)
  Blocks finest = whole;
  for (std::int64_t& block : finest) block = std::min<std::int64_t>(block, 1);
  evaluate(finest);
  if (evaluator_.least_possible_memory() > evaluator_.budget()) fail();
  descend();
  if (fitting_.empty()) fail();

  std::sort(fitting_.begin(), fitting_.end());
  Blocks best = fitting_.front().second;
  double best_seconds = fitting_.front().first;
  const int seeds = std::min<int>(kClimbSeeds, static_cast<int>(fitting_.size()));
  for (int seed = 0; seed < seeds; ++seed) {
    Blocks state = fitting_[seed].second;
    if (seed > 0 && deadline_.passed()) break;
    const double seconds = climb(state, fitting_[seed].first);
    if (seconds < best_seconds) {
      best_seconds = seconds;
      best = state;
    }
  }
  return finish(best);
}

const SlicePlan& SliceSearch::evaluate(const Blocks& blocks) {
  const SlicePlan& plan = evaluator_.evaluate(blocks);
  least_ = std::min(least_, plan.device_bytes);
  return plan;
}

void SliceSearch::report() const {
  if (!stats_) return;
  stats_->lowered = evaluator_.lowered();
  stats_->estimated = evaluator_.estimated();
  stats_->pruned = pruned_;
}

SlicePlan SliceSearch::finish(const Blocks& blocks) {
  report();
  SlicePlan plan = evaluator_.evaluate(blocks);
  plan.stopped_at_budget = deadline_.was_passed();
  return plan;
}

void SliceSearch::fail() {
  report();
  const std::uint64_t budget = static_cast<std::uint64_t>(evaluator_.budget());
  throw MemoryError("the problem needs at least " + std::to_string(least_) +
                        " bytes of device memory even sliced into blocks; the memory limit is " +
                        std::to_string(budget) + " bytes",
                    least_, budget);
}

void SliceSearch::descend() {
  std::vector<Blocks> beam = {problem_.extents};
  int after_fit = -1;
  for (int level = 0; level < kDescentLevels && !beam.empty() && after_fit < kLevelsAfterFit;
       ++level) {
    if (!fitting_.empty() && deadline_.passed()) break;
    const std::vector<std::pair<Blocks, Estimate>> children = children_of(beam);
    if (!fitting_.empty()) ++after_fit;
    beam = survivors(children);
  }
}

std::vector<std::pair<Blocks, Estimate>> SliceSearch::children_of(const std::vector<Blocks>& beam) {
  std::vector<std::pair<Blocks, Estimate>> children;
  for (const Blocks& state : beam) {
    const double ratio = evaluator_.working_ratio(state);
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      if (state[mode] <= 1) continue;
      if (!fitting_.empty() && deadline_.passed()) return children;
      Blocks child = state;
      const std::int64_t extent = problem_.extents[mode];
      child[mode] = block_for(extent, blocks_of(extent, (state[mode] + 1) / 2));
      if (!seen_.insert(child).second) continue;
      const Estimate& estimate = evaluator_.estimate(child);
      if (estimate.memory + (ratio - 1) * evaluator_.working_floor(child) <= evaluator_.budget()) {
        const SlicePlan& plan = evaluate(child);
        if (evaluator_.fits(plan)) {
          fitting_.emplace_back(plan.seconds, child);
          continue;
        }
      }
      children.emplace_back(child, estimate);
    }
  }
  return children;
}

std::vector<Blocks> SliceSearch::survivors(
    const std::vector<std::pair<Blocks, Estimate>>& children) {
  std::vector<Blocks> beam;
  std::vector<bool> taken(children.size(), false);
  for (double weight : kBeamWeights) {
    int chosen = -1;
    double chosen_score = 0, chosen_seconds = 0;
    for (std::size_t k = 0; k < children.size(); ++k) {
      if (taken[k]) continue;
      const Estimate& estimate = children[k].second;
      const double memory = std::log(std::max(estimate.memory, 1.0));
      const double seconds = std::log(std::max(estimate.seconds, 1e-30));
      const double score = std::isinf(weight) ? memory : weight * memory + seconds;
      if (chosen < 0 || score < chosen_score ||
          (score == chosen_score && seconds < chosen_seconds)) {
        chosen = static_cast<int>(k);
        chosen_score = score;
        chosen_seconds = seconds;
      }
    }
    if (chosen < 0) break;
    taken[chosen] = true;
    const SlicePlan& plan = evaluate(children[chosen].first);
    if (evaluator_.fits(plan)) {
      fitting_.emplace_back(plan.seconds, children[chosen].first);
    } else {
      beam.push_back(children[chosen].first);
    }
  }
  return beam;
}

std::vector<std::int64_t> SliceSearch::counts_near(std::int64_t extent, std::int64_t count) {
  std::vector<std::int64_t> counts = {
      1, count - 1, count + 1, 2 * count, (count + 1) / 2, count * 3 / 2, count * 2 / 3};
  for (std::int64_t step = 1; step <= kDivisorScan; ++step) {
    if (count + step <= extent && extent % (count + step) == 0) {
      counts.push_back(count + step);
      break;
    }
  }
  for (std::int64_t step = 1; step <= kDivisorScan && count - step >= 1; ++step) {
    if (extent % (count - step) == 0) {
      counts.push_back(count - step);
      break;
    }
  }
  return counts;
}

std::vector<std::int64_t> SliceSearch::counts_below(std::int64_t count) {
  std::vector<std::int64_t> counts;
  if (count <= kFewerCounts) {
    for (std::int64_t fewer = count - 1; fewer >= 1; --fewer) counts.push_back(fewer);
    return counts;
  }
  for (double factor : {0.9, 0.75, 2.0 / 3, 0.5, 1.0 / 3, 0.25}) {
    counts.push_back(static_cast<std::int64_t>(static_cast<double>(count) * factor));
  }
  counts.push_back(count - 1);
  counts.push_back(1);
  return counts;
}

Blocks SliceSearch::with(const Blocks& from, Mode mode, std::int64_t count) const {
  Blocks next = from;
  const std::int64_t extent = problem_.extents[mode];
  next[mode] = block_for(extent, std::clamp<std::int64_t>(count, 1, extent));
  return next;
}

std::int64_t SliceSearch::least_fitting_count(const Blocks& state, Mode mode,
                                              std::int64_t count) const {
  const std::int64_t extent = problem_.extents[mode];
  auto fits = [&](std::int64_t trial) {
    return evaluator_.memory_floor(with(state, mode, trial)) <= evaluator_.budget();
  };
  std::int64_t low = std::max<std::int64_t>(count, 1) - 1, high = std::max<std::int64_t>(count, 1);
  while (!fits(high)) {
    if (high >= extent) return 0;
    low = high;
    high = std::min(extent, 2 * high);
  }
  while (high - low > 1) {
    const std::int64_t middle = low + (high - low) / 2;
    (fits(middle) ? high : low) = middle;
  }
  return high;
}

double SliceSearch::climb(Blocks& state, double seconds) {
  for (int pass = 0; pass < kClimbPasses && !deadline_.passed(); ++pass) {
    const std::vector<Blocks> moves = moves_from(state);
    const auto ranked = ranked_moves(moves, state, seconds);
    const Blocks* chosen = nullptr;
    double chosen_seconds = seconds;
    int tries = 0, lowered = 0;
    for (const auto& [unlikely, estimated, move] : ranked) {
      if ((chosen && ++tries > kClimbTries) || ++lowered > kPassLowerings) break;
      if (deadline_.passed()) break;
      if (evaluator_.seconds_floor(*move) >= chosen_seconds) {
        ++pruned_;
        continue;
      }
      const SlicePlan& plan = evaluate(*move);
      if (evaluator_.fits(plan) && plan.seconds < chosen_seconds) {
        chosen_seconds = plan.seconds;
        chosen = move;
      }
    }
    if (!chosen) break;
    state = *chosen;
    seconds = chosen_seconds;
  }
  return seconds;
}

std::vector<Blocks> SliceSearch::moves_from(const Blocks& state) const {
  const int modes = problem_.mode_count();
  std::vector<Blocks> moves;
  for (Mode mode = 0; mode < modes; ++mode) {
    const std::int64_t extent = problem_.extents[mode];
    if (extent <= 1) continue;
    const std::int64_t count = blocks_of(extent, state[mode]);
    for (std::int64_t next : counts_near(extent, count)) moves.push_back(with(state, mode, next));
  }
  for (Mode from = 0; from < modes; ++from) {
    const std::int64_t from_count = blocks_of(problem_.extents[from], state[from]);
    if (from_count <= 1) continue;
    for (std::int64_t fewer : counts_below(from_count)) {
      if (fewer < 1 || fewer >= from_count) continue;
      const Blocks coarser = with(state, from, fewer);
      for (Mode to = 0; to < modes; ++to) {
        if (to == from || problem_.extents[to] <= 1) continue;
        const std::int64_t to_count = blocks_of(problem_.extents[to], state[to]);
        const std::int64_t count = least_fitting_count(coarser, to, to_count + 1);
        if (count == 0) continue;
        moves.push_back(with(coarser, to, count));
        if (count < problem_.extents[to]) moves.push_back(with(coarser, to, count + 1));
      }
    }
  }
  std::sort(moves.begin(), moves.end());
  moves.erase(std::unique(moves.begin(), moves.end()), moves.end());
  return moves;
}

std::vector<std::tuple<bool, double, const Blocks*>> SliceSearch::ranked_moves(
    const std::vector<Blocks>& moves, const Blocks& state, double seconds) {
  // (predicted not to fit, time floor or estimate, move)
  std::vector<std::tuple<bool, double, const Blocks*>> ranked;
  const double ratio = evaluator_.working_ratio(state);
  for (const Blocks& move : moves) {
    if (move == state) continue;
    const double floor = evaluator_.memory_floor(move);
    const double fastest = evaluator_.seconds_floor(move);
    if (floor > evaluator_.budget() || fastest >= seconds) {
      ++pruned_;
      continue;
    }
    const double predicted = floor + (ratio - 1) * evaluator_.working_floor(move);
    ranked.emplace_back(predicted > evaluator_.budget(), fastest, &move);
  }
  // Estimates cost a placement each: only for the most promising.
  std::stable_sort(ranked.begin(), ranked.end());
  if (ranked.size() > kPassEstimates) ranked.resize(kPassEstimates);
  for (auto& [unlikely, score, move] : ranked) score = evaluator_.fitting_seconds(*move);
  std::stable_sort(ranked.begin(), ranked.end());
  return ranked;
}

}  // namespace einstream::detail
