// The cap-bounded DP over the connected subsets of one component
// (planner/path_dp.cpp explains the method).
#include "planner/path_dp_subsets.hpp"

#include <algorithm>
#include <string>

#include "einstream/error.hpp"

namespace einstream::detail::dp {

SubsetSearch::SubsetSearch(const Network& network, std::vector<int> members, double memory_cap,
                           bool result_is_output, SearchDeadline& deadline)
    : network_(network),
      members_(std::move(members)),
      memory_cap_(memory_cap),
      result_is_output_(result_is_output),
      deadline_(deadline),
      count_(static_cast<int>(members_.size())),
      full_(count_ == kMaxComponentOperands ? ~Mask{0} : bit(count_) - 1),
      mode_users_(network.extents.size(), 0),
      by_size_(members_.size() + 1) {
  for (int local = 0; local < count_; ++local) {
    for (Mode mode : network_.operand_modes[members_[local]]) mode_users_[mode] |= bit(local);
  }
  // The root step involves every output mode and a mode its two halves
  // share; a shared mode outside the output is summed there. So it costs at
  // least (result size) x (the cheapest such mode: 1 if in the output, else
  // 2 x its extent).
  double result_size = 1;
  double cheapest_shared = kInfinity;
  for (std::size_t mode = 0; mode < mode_users_.size(); ++mode) {
    const Mask users = mode_users_[mode];
    if (users && network_.in_output[mode]) result_size *= network_.extents[mode];
    if (users & (users - 1)) {
      cheapest_shared =
          std::min(cheapest_shared, network_.in_output[mode] ? 1.0 : 2.0 * network_.extents[mode]);
    }
  }
  root_floor_ = result_size * (cheapest_shared == kInfinity ? 1.0 : cheapest_shared);
  for (int local = 0; local < count_; ++local) {
    Subtree leaf;
    leaf.operands = bit(local);
    for (Mode mode : network_.operand_modes[members_[local]]) leaf.neighbors |= mode_users_[mode];
    leaf.neighbors &= ~leaf.operands;
    add(leaf, network_.operand_modes[members_[local]]);
  }
}

void SubsetSearch::add(const Subtree& subtree, const std::vector<Mode>& legs) {
  const auto id = static_cast<std::uint32_t>(entries_.size());
  entries_.push_back(subtree);
  entries_.back().legs_begin = static_cast<std::uint32_t>(legs_.size());
  entries_.back().legs_count = static_cast<std::uint32_t>(legs.size());
  legs_.insert(legs_.end(), legs.begin(), legs.end());
  index_.emplace(subtree.operands, id);
  by_size_[subtree.size].push_back(id);
  parents_.emplace_back();
}

SubsetSearch::Join SubsetSearch::join(std::uint32_t first, std::uint32_t second, Mask joined) {
  const Subtree& a = entries_[first];
  const Subtree& b = entries_[second];
  const Mode* a_legs = legs_.data() + a.legs_begin;
  const Mode* b_legs = legs_.data() + b.legs_begin;
  const Mode* a_end = a_legs + a.legs_count;
  const Mode* b_end = b_legs + b.legs_count;
  kept_.clear();
  double involved = 1;
  double kept = 1;
  bool sums = false;
  // Merge the two ascending leg lists; a mode survives if the output or an
  // operand outside the joined set needs it.
  while (a_legs != a_end || b_legs != b_end) {
    Mode mode;
    if (b_legs == b_end || (a_legs != a_end && *a_legs < *b_legs)) {
      mode = *a_legs++;
    } else if (a_legs == a_end || *b_legs < *a_legs) {
      mode = *b_legs++;
    } else {
      mode = *a_legs++;
      ++b_legs;
    }
    const double extent = network_.extents[mode];
    involved *= extent;
    if (network_.in_output[mode] || (mode_users_[mode] & ~joined)) {
      kept_.push_back(mode);
      kept *= extent;
    } else {
      sums = true;
    }
  }
  Join result;
  result.flops = involved * (sums ? 2.0 : 1.0);
  result.result_size = kept;
  return result;
}

// Every entry's cheapest split has table entries as halves, so each entry
// containing operand `through` is reached from the leaf {through} by walking
// from halves to the entries they form (parents_). Along such a walk sets
// only grow and costs only rise, so the walk stops at the first set that
// overlaps `first` or a lower neighbor, outgrows `first`, or is over the
// budget: nothing above it qualifies either. Each partner has one cheapest
// split, so the walk meets it once.
void SubsetSearch::join_all(std::uint32_t first, int through, double cap, double& rejected) {
  const Mask first_operands = entries_[first].operands;
  const Mask neighbors = entries_[first].neighbors;
  const int first_size = entries_[first].size;
  const double first_cost = entries_[first].cost;
  // While a union cannot be the whole component, the root step is still to
  // come.
  const double still_to_come = 2 * first_size < count_ ? root_floor_ : 0;
  const double budget = cap - first_cost - still_to_come;
  const Mask excluded = first_operands | (neighbors & (bit(through) - 1));
  if (budget < 0) {
    rejected = std::min(rejected, first_cost + still_to_come);
    return;
  }

  walk_.assign(1, static_cast<std::uint32_t>(through));
  while (!walk_.empty()) {
    if (deadline_.passed_sampled()) return;
    const std::uint32_t second = walk_.back();
    walk_.pop_back();
    // Equal halves are joined from the one with the lower mask only.
    if (entries_[second].size < first_size || entries_[second].operands > first_operands) {
      const Mask joined = first_operands | entries_[second].operands;
      const Join step = join(first, second, joined);
      const double total = first_cost + entries_[second].cost + step.flops;
      const double bound = total + (joined == full_ ? 0 : std::max(step.result_size, root_floor_));
      const bool exempt = result_is_output_ && joined == full_;
      if (bound > cap) {
        rejected = std::min(rejected, bound);
      } else if (memory_cap_ > 0 && !exempt && step.result_size > memory_cap_) {
        // Not formed; no larger cost cap changes that.
      } else if (const auto found = index_.find(joined); found == index_.end()) {
        Subtree subtree;
        subtree.operands = joined;
        subtree.neighbors = (neighbors | entries_[second].neighbors) & ~joined;
        subtree.cost = total;
        subtree.size = first_size + entries_[second].size;
        subtree.left = first;
        subtree.right = second;
        add(subtree, kept_);
      } else if (total < entries_[found->second].cost) {
        Subtree& known = entries_[found->second];
        known.cost = total;
        known.left = first;
        known.right = second;
      }
    }
    for (std::uint32_t parent : parents_[second]) {
      const Subtree& above = entries_[parent];
      if (above.size > first_size) break;  // parents_ lists ascend by size
      if (above.operands & excluded) continue;
      if (above.cost > budget) {
        rejected = std::min(rejected, first_cost + above.cost + still_to_come);
        continue;
      }
      walk_.push_back(parent);
    }
  }
}

// Stage k tries every split whose larger half has k operands. Entries of up
// to k operands are final by then (their splits have smaller halves), and
// stage k only forms larger ones, so each stage reads a finished table.
double SubsetSearch::round(double cap) {
  double rejected = kInfinity;
  for (int size = 1; size < count_; ++size) {
    // List this size's now final entries under their halves for the walks of
    // join_all(). An entry whose split improved since it was listed is listed
    // again; the stale listing only costs a repeated visit.
    for (std::uint32_t id : by_size_[size]) {
      Subtree& entry = entries_[id];
      if (entry.left == kNoHalf || entry.listed_left == entry.left) continue;
      entry.listed_left = entry.left;
      for (std::uint32_t half : {entry.left, entry.right}) {
        std::vector<std::uint32_t>& parents = parents_[half];
        const auto larger = std::upper_bound(
            parents.begin(), parents.end(), size,
            [this](int bound, std::uint32_t other) { return bound < entries_[other].size; });
        parents.insert(larger, id);
      }
    }
    // Indexing, not iterators: join_all() only adds larger entries, but it
    // may move entries_.
    for (std::size_t k = 0; k < by_size_[size].size(); ++k) {
      const std::uint32_t first = by_size_[size][k];
      for (Mask rest = entries_[first].neighbors; rest; rest &= rest - 1) {
        join_all(first, lowest_bit(rest), cap, rejected);
      }
      if (deadline_.was_passed()) return rejected;
    }
  }
  return rejected;
}

Outcome SubsetSearch::run() {
  if (count_ == 1) return Outcome::reached;
  // Lower bounds to start from: every input takes part in some step, which
  // costs at least its size, and the root step costs at least root_floor_. Upper bound: a subset's
  // cost plus its completion bound is at most count_ x 2 x (all extents); a cap that high that
  // still misses the component means the memory cap forbids it.
  double cap = root_floor_;
  double ceiling = 2.0 * count_;
  std::vector<bool> seen(network_.extents.size(), false);
  for (int member : members_) {
    double size = 1;
    for (Mode mode : network_.operand_modes[member]) {
      size *= network_.extents[mode];
      // Extents of 0 count as 1 here: a cap this high must admit every tree.
      if (!seen[mode]) ceiling *= std::max(network_.extents[mode], 1.0);
      seen[mode] = true;
    }
    cap = std::max(cap, size);
  }
  while (true) {
    const double rejected = round(cap);
    // A round cut short may still have reached the component, but not
    // necessarily by its cheapest tree.
    if (deadline_.passed()) return Outcome::out_of_time;
    if (has_tree()) return Outcome::reached;
    if (rejected == kInfinity || cap >= ceiling) return Outcome::infeasible;
    // Grow the slack over root_floor_, not the cap itself: every proper subset
    // is charged at least root_floor_, so the slack is what the subsets'
    // own costs may use, and growing it geometrically keeps the last round
    // close to the optimum where root_floor_ is most of it. Jump straight to
    // the cheapest rejected candidate when that is further: rounds below it
    // cannot add anything new.
    const double slack = std::max(cap - root_floor_, 0.0);
    cap = std::min(std::max(root_floor_ + slack * kCapGrowth, rejected), ceiling);
  }
}

int SubsetSearch::emit_subtree(std::uint32_t id, std::vector<SsaStep>& steps,
                               int input_count) const {
  const Subtree& subtree = entries_[id];
  if (subtree.left == kNoHalf) return members_[lowest_bit(subtree.operands)];
  const int left = emit_subtree(subtree.left, steps, input_count);
  const int right = emit_subtree(subtree.right, steps, input_count);
  steps.emplace_back(left, right);
  return input_count + static_cast<int>(steps.size()) - 1;
}

int SubsetSearch::emit(std::vector<SsaStep>& steps, int input_count) const {
  return emit_subtree(index_.at(full_), steps, input_count);
}

std::vector<SsaStep> SubsetSearch::reconfigure(const LinearPath& path) const {
  const int count = count_;
  if (path.size() + 1 != static_cast<std::size_t>(count)) return {};
  for (int local = 0; local < count; ++local) {
    if (members_[local] != local) return {};
  }
  // The path's tree: node k < count is input k, node count + s the result of
  // step s, with its operands (as a mask) and its two halves.
  struct Node {
    Mask operands = 0;
    int left = -1;
    int right = -1;
    double best = 0;                // cheapest known cost of forming this node
    std::uint32_t table = kNoHalf;  // the table's tree where that is cheapest
  };
  std::vector<Node> nodes(count);
  for (int local = 0; local < count; ++local) nodes[local].operands = bit(local);
  std::vector<int> current(count);
  for (int k = 0; k < count; ++k) current[k] = k;
  for (std::vector<int> step : path) {
    std::sort(step.begin(), step.end());
    if (step.size() != 2 || step[0] == step[1] || step[0] < 0 ||
        step[1] >= static_cast<int>(current.size())) {
      return {};
    }
    Node node;
    node.left = current[step[0]];
    node.right = current[step[1]];
    // An input keeps every mode it has; an intermediate only those needed
    // outside it.
    const bool left_is_input = node.left < count;
    const bool right_is_input = node.right < count;
    const Mask left = nodes[node.left].operands;
    const Mask right = nodes[node.right].operands;
    node.operands = left | right;
    // As evaluate_path counts it: the step involves the modes of its halves,
    // and sums those that the joined set's result drops.
    double involved = 1;
    int involved_count = 0;
    int kept_count = 0;
    for (std::size_t mode = 0; mode < mode_users_.size(); ++mode) {
      const Mask users = mode_users_[mode];
      const bool out = network_.in_output[mode];
      const bool in_left = (users & left) && (left_is_input || out || (users & ~left));
      const bool in_right = (users & right) && (right_is_input || out || (users & ~right));
      if (!in_left && !in_right) continue;
      involved *= network_.extents[mode];
      ++involved_count;
      if (out || (users & ~node.operands)) ++kept_count;
    }
    const double flops = involved * (involved_count > kept_count ? 2.0 : 1.0);
    node.best = flops + nodes[node.left].best + nodes[node.right].best;
    if (const auto found = index_.find(node.operands);
        found != index_.end() && entries_[found->second].cost < node.best) {
      node.best = entries_[found->second].cost;
      node.table = found->second;
    }
    current.erase(current.begin() + step[1]);
    current.erase(current.begin() + step[0]);
    current.push_back(static_cast<int>(nodes.size()));
    nodes.push_back(node);
  }
  std::vector<SsaStep> steps;
  // Emits node `id`'s cheapest tree; returns its SSA id.
  auto emit_node = [&](auto&& self, int id) -> int {
    const Node& node = nodes[id];
    if (id < count) return id;
    if (node.table != kNoHalf) return emit_subtree(node.table, steps, count);
    const int left = self(self, node.left);
    const int right = self(self, node.right);
    steps.emplace_back(left, right);
    return count + static_cast<int>(steps.size()) - 1;
  };
  emit_node(emit_node, static_cast<int>(nodes.size()) - 1);
  return steps;
}

std::vector<Mode> SubsetSearch::result_modes() const {
  const Subtree& subtree = entries_[index_.at(full_)];
  return {legs_.begin() + subtree.legs_begin,
          legs_.begin() + subtree.legs_begin + subtree.legs_count};
}

}  // namespace einstream::detail::dp
