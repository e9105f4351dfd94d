// exact_join: the subset DP of path_dp.cpp cut down to a handful of tensors,
// so that it can run thousands of times a search. Modes become bits of one
// word, a subset's modes the OR of its tensors', and what a subset keeps is
// what it shares with the rest of the group or with the group's outside; the
// product of the extents of a mode mask is read from tables of 8-bit chunks,
// so a split costs a few lookups. Up to kExhaustiveJoinTensors tensors every
// split of every subset is tried (3^k / 2), outer products included; above,
// a connected group is split only into connected halves, as opt_einsum's dp
// does: on the frontiers reconfiguration builds (10 tensors of a sparse
// network) that skips most of the 29524 splits, and halved the time of
// reconfiguring 387-operand circuit trees, finding the same trees.
#include "planner/path_hyper_join.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace einstream::detail {

namespace {

using ModeMask = std::uint64_t;
constexpr int kMaskBits = 64;
constexpr int kChunkBits = 8;
constexpr int kChunks = kMaskBits / kChunkBits;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

int lowest_bit(std::uint32_t mask) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctz(mask);
#else
  int index = 0;
  while (!(mask & 1u)) {
    mask >>= 1;
    ++index;
  }
  return index;
#endif
}

// Product of the extents of the modes in a mask.
class MaskProduct {
 public:
  explicit MaskProduct(const std::vector<double>& extents) {
    chunks_ = static_cast<int>((extents.size() + kChunkBits - 1) / kChunkBits);
    for (int chunk = 0; chunk < chunks_; ++chunk) {
      std::array<double, 256>& table = tables_[chunk];
      table[0] = 1;
      for (int bits = 1; bits < 256; ++bits) {
        const int low = lowest_bit(static_cast<std::uint32_t>(bits));
        const std::size_t mode = static_cast<std::size_t>(chunk * kChunkBits + low);
        const double extent = mode < extents.size() ? extents[mode] : 1.0;
        table[bits] = table[bits & (bits - 1)] * extent;
      }
    }
  }
  double operator()(ModeMask mask) const {
    double product = 1;
    for (int chunk = 0; chunk < chunks_ && mask != 0; ++chunk, mask >>= kChunkBits) {
      product *= tables_[chunk][mask & 0xff];
    }
    return product;
  }

 private:
  int chunks_ = 0;
  std::array<std::array<double, 256>, kChunks> tables_{};
};

// NaN (0 x inf) would make a comparison false both ways.
double ordered(double value) { return std::isnan(value) ? kInfinity : value; }

// Whether each subset of the tensors is connected, two tensors being
// adjacent where they share a mode: a set is connected where some member is
// adjacent to the rest and the rest is connected (every connected graph has
// a member whose removal leaves it connected).
void connected_subsets(const std::vector<ModeMask>& tensor_modes, char* connected) {
  const int count = static_cast<int>(tensor_modes.size());
  std::vector<std::uint32_t> adjacent(count, 0);
  for (int a = 0; a < count; ++a) {
    for (int b = 0; b < count; ++b) {
      if (a != b && (tensor_modes[a] & tensor_modes[b]) != 0) adjacent[a] |= std::uint32_t{1} << b;
    }
  }
  const std::uint32_t full = (std::uint32_t{1} << count) - 1;
  connected[0] = 0;
  for (std::uint32_t set = 1; set <= full; ++set) {
    connected[set] = (set & (set - 1)) == 0 ? 1 : 0;
    if (connected[set]) continue;
    for (std::uint32_t members = set; members != 0 && !connected[set]; members &= members - 1) {
      const int member = lowest_bit(members);
      const std::uint32_t rest = set ^ (std::uint32_t{1} << member);
      connected[set] = connected[rest] && (adjacent[member] & rest) != 0 ? 1 : 0;
    }
  }
}

// exact_join's tables, one entry per subset of the tensors.
struct JoinScratch {
  void resize(std::size_t subsets) {
    held.resize(subsets);
    kept.resize(subsets);
    kept_size.resize(subsets);
    best.resize(subsets);
    split.resize(subsets);
    connected.resize(subsets);
  }
  std::vector<ModeMask> held;
  std::vector<ModeMask> kept;
  std::vector<double> kept_size;
  std::vector<double> best;
  std::vector<std::uint32_t> split;
  std::vector<char> connected;
};

// The results of `nodes` as a problem of their own, for greedy_search.
Problem group_problem(const PathTree& tree, const std::vector<int>& nodes) {
  // Each tensor's modes renumbered densely, the output what the group keeps.
  const std::vector<Mode> modes = modes_of(tree, nodes);
  auto local = [&](Mode mode) {
    return static_cast<Mode>(std::lower_bound(modes.begin(), modes.end(), mode) - modes.begin());
  };
  Problem group;
  for (Mode mode : modes) {
    group.extents.push_back(static_cast<std::int64_t>(tree.network().extents[mode]));
  }
  group.labels.assign(modes.size(), std::string());
  for (int id : nodes) {
    ProblemOperand operand;
    for (Mode mode : tree.node(id).modes) operand.modes.push_back(local(mode));
    operand.rank = static_cast<int>(operand.modes.size());
    for (int axis = 0; axis < operand.rank; ++axis) operand.axes.push_back(axis);
    group.inputs.push_back(std::move(operand));
  }
  for (Mode mode : kept_modes(tree, nodes)) group.output.push_back(local(mode));
  return group;
}

}  // namespace

bool exact_join(const PathTree& tree, const std::vector<int>& nodes, double memory_cap,
                JoinOrder* order) {
  const int count = static_cast<int>(nodes.size());
  if (count < 2 || count > kExactJoinMaxTensors) return false;
  // Local bits for the group's modes.
  const std::vector<Mode> modes = modes_of(tree, nodes);
  if (modes.size() > static_cast<std::size_t>(kMaskBits)) return false;
  std::vector<double> extents;
  for (Mode mode : modes) extents.push_back(tree.network().extents[mode]);
  const MaskProduct product(extents);
  auto bit_of = [&](Mode mode) {
    return ModeMask{1} << (std::lower_bound(modes.begin(), modes.end(), mode) - modes.begin());
  };
  std::vector<ModeMask> tensor_modes(count, 0);
  for (int k = 0; k < count; ++k) {
    for (Mode mode : tree.node(nodes[k]).modes) tensor_modes[k] |= bit_of(mode);
  }
  ModeMask outside = 0;
  for (Mode mode : kept_modes(tree, nodes)) outside |= bit_of(mode);

  const std::uint32_t full = (std::uint32_t{1} << count) - 1;
  const std::size_t subsets = std::size_t{full} + 1;
  // Scratch reused across calls: a search makes thousands of them.
  thread_local JoinScratch scratch;
  scratch.resize(subsets);
  ModeMask* const held = scratch.held.data();
  ModeMask* const kept = scratch.kept.data();
  double* const kept_size = scratch.kept_size.data();
  double* const best = scratch.best.data();
  std::uint32_t* const split = scratch.split.data();
  char* const connected = scratch.connected.data();
  connected_subsets(tensor_modes, connected);
  const bool connected_only = count > kExhaustiveJoinTensors && connected[full];
  held[0] = 0;
  for (std::uint32_t set = 1; set <= full; ++set) {
    held[set] = held[set & (set - 1)] | tensor_modes[lowest_bit(set)];
  }
  // A tensor itself holds modes no other has (an input's own summed modes):
  // the first step on it pays for them, so a single tensor keeps them all.
  for (std::uint32_t set = 1; set <= full; ++set) {
    const bool single = (set & (set - 1)) == 0;
    kept[set] = single ? held[set] : held[set] & (held[full ^ set] | outside);
    kept_size[set] = !connected_only || connected[set] ? product(kept[set]) : kInfinity;
    best[set] = single ? 0 : kInfinity;
    split[set] = 0;
  }
  // A step involves at least the modes of either half, so with extents of
  // at least 1 it costs at least the larger half's size: a split whose
  // children plus that floor cannot beat the cheapest so far needs no
  // product of its modes (most of them, on networks of small extents).
  const bool floors =
      std::all_of(extents.begin(), extents.end(), [](double extent) { return extent >= 1; });
  for (std::uint32_t set = 1; set <= full; ++set) {
    if ((set & (set - 1)) == 0) continue;
    if (memory_cap > 0 && set != full && kept_size[set] > memory_cap) continue;
    if (connected_only && !connected[set]) continue;
    // Splits whose first half holds the set's lowest tensor, each once.
    const std::uint32_t low = set & (~set + 1);
    const std::uint32_t rest = set ^ low;
    double cheapest = kInfinity;
    std::uint32_t cheapest_split = 0;
    for (std::uint32_t sub = rest;; sub = (sub - 1) & rest) {
      const std::uint32_t first = low | sub;
      const std::uint32_t second = set ^ first;
      if (second != 0 && (!connected_only || (connected[first] && connected[second]))) {
        const double below = best[first] + best[second];
        if (below < cheapest &&
            (!floors || below + std::max(kept_size[first], kept_size[second]) < cheapest)) {
          const ModeMask involved = kept[first] | kept[second];
          const double step = product(involved) * (involved != kept[set] ? 2.0 : 1.0);
          const double cost = ordered(below + step);
          if (cost < cheapest) {
            cheapest = cost;
            cheapest_split = first;
          }
        }
      }
      if (sub == 0) break;
    }
    best[set] = cheapest;
    split[set] = cheapest_split;
  }
  if (!(best[full] < kInfinity)) return false;

  // Steps children first, in SSA numbering.
  JoinOrder result;
  result.flops = best[full];
  std::vector<std::pair<std::uint32_t, bool>> stack{{full, false}};
  std::vector<int> slot_of(subsets, -1);
  for (int k = 0; k < count; ++k) slot_of[std::uint32_t{1} << k] = k;
  while (!stack.empty()) {
    auto [set, expanded] = stack.back();
    stack.pop_back();
    if (slot_of[set] >= 0) continue;
    const std::uint32_t first = split[set];
    const std::uint32_t second = set ^ first;
    if (expanded) {
      result.steps.emplace_back(slot_of[first], slot_of[second]);
      slot_of[set] = count + static_cast<int>(result.steps.size()) - 1;
      continue;
    }
    stack.push_back({set, true});
    stack.push_back({second, false});
    stack.push_back({first, false});
  }
  *order = std::move(result);
  return true;
}

int apply_join(PathTree& tree, const std::vector<int>& nodes, const JoinOrder& order) {
  std::vector<int> slots = nodes;
  for (const auto& [first, second] : order.steps)
    slots.push_back(tree.join(slots[first], slots[second]));
  return slots.back();
}

int greedy_join(PathTree& tree, const std::vector<int>& nodes, const GreedyParameters& parameters,
                std::mt19937_64* random) {
  if (nodes.size() == 1) return nodes[0];
  GreedyParameters unbounded = parameters;
  unbounded.flops_bound = kInfinity;
  return tree.join_path(nodes, greedy_search(group_problem(tree, nodes), unbounded, random).path);
}

int best_join(PathTree& tree, const std::vector<int>& nodes, const GreedyParameters& parameters,
              std::mt19937_64* random) {
  if (nodes.size() == 1) return nodes[0];
  JoinOrder order;
  if (exact_join(tree, nodes, parameters.memory_cap, &order)) return apply_join(tree, nodes, order);
  return greedy_join(tree, nodes, parameters, random);
}

}  // namespace einstream::detail
