// The placement half of the block model (planner/slice_model.hpp): loop
// orders and the residency of every operand for one block model, and the
// plan they make. The memory and time of a placement are in slice_model.cpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "planner/slice_model.hpp"

namespace einstream::detail {

namespace {

// Loop orders: every order is tried up to this many sliced modes; the best
// few then get their inputs' residency refined, in this many passes.
constexpr int kExhaustiveOrderLevels = 5;
constexpr int kOrdersRefined = 3;
constexpr int kResidencyPasses = 2;

}  // namespace

bool Evaluator::valid(const BlockModel& model, const Placement& placement) const {
  if (placement.output == Residency::resident) return true;
  bool summed_seen = false;
  for (int level : placement.order) {
    const bool kept = is_output_[model.sliced[level].mode];
    if (kept && summed_seen) return false;
    summed_seen = summed_seen || !kept;
  }
  return true;
}

const std::vector<std::vector<int>>& Evaluator::orders(int levels) const {
  if (static_cast<int>(orders_.size()) <= levels) orders_.resize(levels + 1);
  std::vector<std::vector<int>>& all = orders_[levels];
  if (all.empty()) {
    std::vector<int> order(levels);
    std::iota(order.begin(), order.end(), 0);
    do {
      all.push_back(order);
    } while (std::next_permutation(order.begin(), order.end()));
  }
  return all;
}

double Evaluator::choose_order(const BlockModel& model, Placement& placement,
                               bool exhaustive) const {
  const int levels = static_cast<int>(model.sliced.size());
  if (exhaustive && levels <= kExhaustiveOrderLevels) return fastest_order(model, placement);
  placement.order = heuristic_order(model, placement);
  double best = time_of(model, placement).seconds;
  const int passes = exhaustive ? levels : 1;
  bool improved = true;
  for (int pass = 0; improved && pass < passes; ++pass) {
    improved = false;
    for (int level = 0; level + 1 < levels; ++level) {
      std::swap(placement.order[level], placement.order[level + 1]);
      const double seconds = valid(model, placement) ? time_of(model, placement).seconds : best;
      if (seconds < best) {
        best = seconds;
        improved = true;
      } else {
        std::swap(placement.order[level], placement.order[level + 1]);
      }
    }
  }
  return best;
}

double Evaluator::fastest_order(const BlockModel& model, Placement& placement) const {
  const int levels = static_cast<int>(model.sliced.size());
  double best = std::numeric_limits<double>::infinity();
  const std::vector<int>* chosen = nullptr;
  for (const std::vector<int>& order : orders(levels)) {
    placement.order = order;
    if (!valid(model, placement)) continue;
    const double seconds = time_of(model, placement).seconds;
    if (seconds < best) {
      best = seconds;
      chosen = &order;
    }
  }
  placement.order = *chosen;
  return best;
}

std::vector<int> Evaluator::heuristic_order(const BlockModel& model,
                                            const Placement& placement) const {
  const int levels = static_cast<int>(model.sliced.size());
  std::vector<double> weight(levels, 0.0);
  for (int level = 0; level < levels; ++level) {
    for (int index = 0; index < input_count(); ++index) {
      if (placement.inputs[index] == Residency::streamed && model.carries[index * levels + level]) {
        weight[level] = std::max(weight[level], model.pass_bytes[index]);
      }
    }
  }
  const bool output_first = placement.output == Residency::streamed;
  std::vector<int> order(levels);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const bool kept_a = is_output_[model.sliced[a].mode] && output_first;
    const bool kept_b = is_output_[model.sliced[b].mode] && output_first;
    if (kept_a != kept_b) return kept_a;
    return weight[a] > weight[b];
  });
  return order;
}

Placement Evaluator::least_memory(const BlockModel& model) const {
  Placement placement;
  placement.inputs.assign(input_count(), Residency::resident);
  for (int index = 0; index < input_count(); ++index) {
    if (model.varies[index] &&
        buffering_ * aligned(model.slot_bytes[index]) < aligned(input_span_[index])) {
      placement.inputs[index] = Residency::streamed;
    }
  }
  if (model.output_sliced && buffering_ * aligned(model.output_slot) < aligned(output_span_)) {
    placement.output = Residency::streamed;
  }
  return placement;
}

void Evaluator::flip(Residency& residency) {
  residency = residency == Residency::resident ? Residency::streamed : Residency::resident;
}

double Evaluator::refine_residency(const BlockModel& model, Placement& placement,
                                   double seconds) const {
  std::vector<std::pair<double, int>> flips;
  for (int pass = 0; pass < kResidencyPasses; ++pass) {
    flips.clear();
    for (int index = 0; index < input_count(); ++index) {
      if (!model.varies[index]) continue;
      flip(placement.inputs[index]);
      if (memory(model, placement) <= budget_) {
        const double trial = time_of(model, placement).seconds;
        if (trial < seconds) flips.emplace_back(trial, index);
      }
      flip(placement.inputs[index]);
    }
    if (flips.empty()) break;
    std::sort(flips.begin(), flips.end());
    for (const auto& [alone, index] : flips) {
      flip(placement.inputs[index]);
      const double trial =
          memory(model, placement) <= budget_ ? time_of(model, placement).seconds : seconds;
      if (trial < seconds) {
        seconds = trial;
      } else {
        flip(placement.inputs[index]);
      }
    }
  }
  return seconds;
}

SlicePlan Evaluator::place(const BlockModel& model, bool exhaustive) const {
  const Placement base = least_memory(model);
  Placement best = base;
  double best_seconds = std::numeric_limits<double>::infinity();
  if (memory(model, base) > budget_) {
    best_seconds = choose_order(model, best, exhaustive);
  } else {
    auto candidates = order_candidates(model, base, exhaustive);
    const std::size_t kept = std::min<std::size_t>(candidates.size(), kOrdersRefined);
    std::partial_sort(candidates.begin(), candidates.begin() + kept, candidates.end(),
                      [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
    for (std::size_t candidate = 0; candidate < kept; ++candidate) {
      Placement placement = base;
      double seconds = std::get<0>(candidates[candidate]);
      placement.output = std::get<1>(candidates[candidate]);
      placement.order = std::get<2>(candidates[candidate]);
      seconds = refine_residency(model, placement, seconds);
      if (seconds < best_seconds) {
        best_seconds = seconds;
        best = placement;
      }
    }
    if (exhaustive) choose_order(model, best);
  }
  return plan_of(model, best);
}

std::vector<std::tuple<double, Residency, std::vector<int>>> Evaluator::order_candidates(
    const BlockModel& model, const Placement& base, bool exhaustive) const {
  const int levels = static_cast<int>(model.sliced.size());
  std::vector<std::tuple<double, Residency, std::vector<int>>> candidates;
  for (Residency output : {Residency::resident, Residency::streamed}) {
    if (output == Residency::streamed && (!model.output_sliced || output_in_place_)) continue;
    Placement placement = base;
    placement.output = output;
    if (memory(model, placement) > budget_) continue;
    if (exhaustive && levels <= kExhaustiveOrderLevels) {
      for (const std::vector<int>& order : orders(levels)) {
        placement.order = order;
        if (valid(model, placement)) {
          candidates.emplace_back(time_of(model, placement).seconds, output, order);
        }
      }
    } else {
      const double seconds = choose_order(model, placement, exhaustive);
      candidates.emplace_back(seconds, output, placement.order);
    }
  }
  return candidates;
}

SlicePlan Evaluator::plan_of(const BlockModel& model, const Placement& placement) const {
  SlicePlan plan;
  for (int level : placement.order) plan.sliced.push_back(model.sliced[level]);
  plan.inputs = placement.inputs;
  plan.output = placement.output;
  for (int index = 0; index < input_count(); ++index) {
    if (in_place_[index]) plan.inputs[index] = Residency::in_place;
  }
  if (output_in_place_) plan.output = Residency::in_place;
  plan.block_count = model.block_count < 9.2e18 ? static_cast<std::int64_t>(model.block_count)
                                                : std::numeric_limits<std::int64_t>::max();
  plan.device_bytes = static_cast<std::uint64_t>(memory(model, placement));
  const Timing timing = time_of(model, placement);
  plan.bytes_to_device = timing.to_device;
  plan.bytes_to_host = timing.to_host;
  plan.flops = model.flops;
  plan.seconds = timing.seconds;
  plan.buffering = static_cast<int>(buffering_);
  return plan;
}

}  // namespace einstream::detail
