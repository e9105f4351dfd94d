// Dynamic-programming contraction path (Pfeifer, Haegeman and Verstraete,
// Phys. Rev. E 90, 033315 (2014)), after opt_einsum's 'dp' with
// minimize='flops' and search_outer=False.
//
// Why a DP over subsets works: the result of contracting a set of operands
// does not depend on the order. It keeps exactly the modes of the set that an
// operand outside it or the output needs (evaluate_path keeps a mode while a
// remaining operand needs it, and every intermediate outside the set keeps the
// modes the set needs). So a subset's cheapest tree is its cheapest split into
// two halves plus the halves' cheapest trees, and subsets can be solved in
// order of size. Within a connected component only halves that share a mode
// are combined (no outer products), which keeps every subset connected.
//
// Why a cost cap: a round keeps a subset only if its cheapest tree, plus a
// lower bound on what any completion must still pay, fits under `cap`. The
// bound: the step that consumes the subset's result costs at least that
// result's size, and the component's root step at least the component's
// result size times the cheapest mode its two halves can share, so a proper
// subset pays at least the larger of the two on top of its own cost. Every subtree of a tree within
// the cap passes this test (its own cost plus its parent step plus the root step are all part of
// the tree's cost), so a round finds the exact optimum of every subset it keeps, and the first
// round that reaches the whole component has its exact optimum. Rounds start from a lower bound on
// the total and the cap grows until the component is reached; entries of earlier rounds stay valid.
// The cap is what makes 30-40 operand networks tractable: subsets with a long boundary, or that are
// costly where a large result must still be formed, never enter the table.
//
// Why the search is fast on sparse networks: partners for a subset are not
// looked up in per-size lists (mostly overlapping sets on a sparse graph) but
// reached by walking the table upwards from a neighboring operand, a walk
// that stops at the first overlap (see join_all()).
//
// Components are joined at the end by outer products, the two smallest
// results first, as opt_einsum does.
//
// The table can still grow exponentially (on dense or random regular
// networks of 30 operands the last rounds take seconds), so the search
// watches the time budget. A table cut short rarely holds a tree of the whole
// network (and one it holds need not be the cheapest), but it holds trees of
// many subsets, each costing what the table says or less. So dp then takes a
// known path (greedy's, and the caller's best where given) and replaces each
// of its subtrees by the table's tree for the same operands where that is
// cheaper: the result of a subset does not depend on how it was formed, so
// the rest of the path costs the same (see reconfigure()).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "planner/path.hpp"
#include "planner/path_budget.hpp"

namespace einstream::detail {

namespace {

// A set of operands of one component, bit k for the component's k-th operand.
using Mask = std::uint64_t;

constexpr int kMaxComponentOperands = 64;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
// How fast the cost cap's slack (see run()) grows between rounds: a larger
// factor means fewer rounds but a final round that prunes less.
constexpr double kCapGrowth = 2.0;

constexpr std::uint32_t kNoHalf = std::numeric_limits<std::uint32_t>::max();

Mask bit(int index) { return Mask{1} << index; }

int lowest_bit(Mask mask) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(mask);
#else
  int index = 0;
  while (!(mask & 1)) {
    mask >>= 1;
    ++index;
  }
  return index;
#endif
}

// One pairwise contraction, with operands named by SSA id: inputs are
// 0..n-1 and the k-th step's result is n+k.
using SsaStep = std::pair<int, int>;

// Facts about the whole problem that every component search reads.
struct Network {
  // Unique modes of each input, ascending.
  std::vector<std::vector<Mode>> operand_modes;
  std::vector<bool> in_output;
  std::vector<double> extents;
};

// The cheapest known tree of one connected subset of a component.
struct Subtree {
  Mask operands = 0;
  // Operands outside the subset that share a mode with it.
  Mask neighbors = 0;
  double cost = 0;
  int size = 1;
  // Entry ids of the two halves it was formed from (kNoHalf for a single
  // operand), and the left half under which it is listed in parents_.
  std::uint32_t left = kNoHalf;
  std::uint32_t right = kNoHalf;
  std::uint32_t listed_left = kNoHalf;
  // The modes of its result (ascending), as a range of SubsetSearch::legs_.
  std::uint32_t legs_begin = 0;
  std::uint32_t legs_count = 0;
};

// How a search ended.
enum class Outcome {
  reached,      // the whole network (or component) has its cheapest tree
  infeasible,   // the memory cap rules out every tree
  out_of_time,  // the time budget ran out first
};

// The cap-bounded DP over the connected subsets of one component.
class SubsetSearch {
 public:
  // `members`: the component's inputs (problem positions). `result_is_output`:
  // the component is the whole problem, so its result is exempt from the cap.
  SubsetSearch(const Network& network, std::vector<int> members, double memory_cap,
               bool result_is_output, SearchDeadline& deadline);

  // Fills the table until the whole component is reached.
  Outcome run();

  // Whether the table holds a tree of the whole component: always after
  // Outcome::reached, sometimes after Outcome::out_of_time.
  bool has_tree() const { return index_.count(full_) > 0; }

  // Appends the steps of the component's cheapest tree; returns the SSA id of
  // its result.
  int emit(std::vector<SsaStep>& steps, int input_count) const;

  // Modes of the component's result.
  std::vector<Mode> result_modes() const;

  // For a component of every input of the problem (in order): `path` (linear
  // format, pairwise steps) with each subtree replaced by the table's tree of
  // the same operands where the table's is cheaper, in SSA form. Empty when
  // `path` does not fit that shape.
  std::vector<SsaStep> reconfigure(const LinearPath& path) const;

 private:
  struct Join {
    double flops = 0;
    double result_size = 0;
  };
  // Flops and result size of joining two entries into `joined`; the result
  // modes are left in kept_.
  Join join(std::uint32_t first, std::uint32_t second, Mask joined);
  void add(const Subtree& subtree, const std::vector<Mode>& legs);
  // Tries every split whose larger half is `first` and whose other half
  // contains its neighbor `through` but no lower neighbor.
  void join_all(std::uint32_t first, int through, double cap, double& rejected);
  // One pass over all subset sizes under `cap`; returns the smallest total
  // cost it rejected for the cap (a lower bound where it stopped early).
  double round(double cap);
  int emit_subtree(std::uint32_t id, std::vector<SsaStep>& steps, int input_count) const;

  const Network& network_;
  std::vector<int> members_;
  double memory_cap_;
  bool result_is_output_;
  SearchDeadline& deadline_;
  int count_;
  Mask full_;
  // A lower bound on the cost of the component's root step (see the
  // constructor).
  double root_floor_ = 1;
  // For each mode of the problem, the component operands that carry it.
  std::vector<Mask> mode_users_;

  // The table: entries (the first count_ are the single operands, in local
  // order), their result modes, and the entry of each subset.
  std::vector<Subtree> entries_;
  std::vector<Mode> legs_;
  std::unordered_map<Mask, std::uint32_t> index_;
  // Entry ids by subset size.
  std::vector<std::vector<std::uint32_t>> by_size_;
  // For each entry, the entries whose cheapest split has it as a half, by
  // ascending size.
  std::vector<std::vector<std::uint32_t>> parents_;
  std::vector<std::uint32_t> walk_;
  std::vector<Mode> kept_;
};

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

// Connected components of the operand graph (operands sharing a mode), each
// listed in input order, in order of their first input.
std::vector<std::vector<int>> components_of(const Network& network) {
  const int count = static_cast<int>(network.operand_modes.size());
  std::vector<std::vector<int>> users(network.extents.size());
  for (int operand = 0; operand < count; ++operand) {
    for (Mode mode : network.operand_modes[operand]) users[mode].push_back(operand);
  }
  std::vector<int> component_of(count, -1);
  std::vector<std::vector<int>> components;
  for (int start = 0; start < count; ++start) {
    if (component_of[start] >= 0) continue;
    const int id = static_cast<int>(components.size());
    std::vector<int> members{start};
    component_of[start] = id;
    for (std::size_t k = 0; k < members.size(); ++k) {
      for (Mode mode : network.operand_modes[members[k]]) {
        for (int other : users[mode]) {
          if (component_of[other] < 0) {
            component_of[other] = id;
            members.push_back(other);
          }
        }
      }
    }
    std::sort(members.begin(), members.end());
    components.push_back(std::move(members));
  }
  return components;
}

// The whole tree in SSA form into `steps`, unless the memory cap forbids it
// or the deadline passes first. Outcome::out_of_time leaves `steps` empty,
// or a complete tree that is not proven cheapest; for a connected network it
// also leaves the table cut short in `cut_table`.
Outcome search(const Network& network, double memory_cap, SearchDeadline& deadline,
               std::vector<SsaStep>& steps, std::unique_ptr<SubsetSearch>& cut_table) {
  const int input_count = static_cast<int>(network.operand_modes.size());
  const std::vector<std::vector<int>> components = components_of(network);
  const bool single = components.size() == 1;

  // A component's result, waiting to be joined to the others.
  struct Part {
    int id = 0;
    std::vector<Mode> modes;
    double size = 1;
  };
  steps.clear();
  bool cut_short = false;
  std::vector<Part> parts;
  for (const std::vector<int>& members : components) {
    if (members.size() > static_cast<std::size_t>(kMaxComponentOperands)) {
      throw Error("dp path search: a connected part of the network has " +
                  std::to_string(members.size()) + " operands, over the " +
                  std::to_string(kMaxComponentOperands) +
                  " the search handles; use the greedy or random-greedy search");
    }
    auto table = std::make_unique<SubsetSearch>(network, members, memory_cap, single, deadline);
    SubsetSearch& component = *table;
    const Outcome outcome = component.run();
    if (outcome == Outcome::infeasible) return outcome;
    if (outcome == Outcome::out_of_time) {
      if (single) cut_table = std::move(table);
      if (!cut_table || !cut_table->has_tree()) {
        steps.clear();
        return outcome;
      }
      cut_short = true;
    }
    Part part;
    part.id = component.emit(steps, input_count);
    part.modes = component.result_modes();
    for (Mode mode : part.modes) part.size *= network.extents[mode];
    parts.push_back(std::move(part));
  }

  // Outer products between components, the two smallest first. No other
  // component shares a mode with a part, so a join keeps its output modes.
  while (parts.size() > 1) {
    std::stable_sort(parts.begin(), parts.end(),
                     [](const Part& a, const Part& b) { return a.size < b.size; });
    Part joined;
    for (int k = 0; k < 2; ++k) {
      for (Mode mode : parts[k].modes) {
        if (network.in_output[mode]) {
          joined.modes.push_back(mode);
          joined.size *= network.extents[mode];
        }
      }
    }
    std::sort(joined.modes.begin(), joined.modes.end());
    const bool last = parts.size() == 2;
    if (memory_cap > 0 && !last && joined.size > memory_cap) return Outcome::infeasible;
    steps.emplace_back(parts[0].id, parts[1].id);
    joined.id = input_count + static_cast<int>(steps.size()) - 1;
    parts.erase(parts.begin(), parts.begin() + 2);
    parts.push_back(std::move(joined));
  }
  return cut_short ? Outcome::out_of_time : Outcome::reached;
}

// SSA ids -> positions in the current operand list (removed, result appended).
LinearPath to_linear(int input_count, const std::vector<SsaStep>& steps) {
  std::vector<int> current(input_count);
  for (int k = 0; k < input_count; ++k) current[k] = k;
  LinearPath path;
  int next_id = input_count;
  for (const SsaStep& step : steps) {
    int first =
        static_cast<int>(std::find(current.begin(), current.end(), step.first) - current.begin());
    int second =
        static_cast<int>(std::find(current.begin(), current.end(), step.second) - current.begin());
    if (first > second) std::swap(first, second);
    current.erase(current.begin() + second);
    current.erase(current.begin() + first);
    current.push_back(next_id++);
    path.push_back({first, second});
  }
  return path;
}

}  // namespace

LinearPath dp_path(const Problem& problem, const PathSearchOptions& options,
                   bool* stopped_at_budget, const LinearPath* known) {
  if (stopped_at_budget != nullptr) *stopped_at_budget = false;
  const int count = static_cast<int>(problem.inputs.size());
  if (count == 0) return {};
  if (count == 1) return {{0}};

  Network network;
  network.in_output.assign(problem.extents.size(), false);
  for (Mode mode : problem.output) network.in_output[mode] = true;
  for (std::int64_t extent : problem.extents)
    network.extents.push_back(static_cast<double>(extent));
  for (const ProblemOperand& input : problem.inputs) {
    std::vector<Mode> modes = input.modes;
    std::sort(modes.begin(), modes.end());
    modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
    network.operand_modes.push_back(std::move(modes));
  }

  SearchDeadline deadline(options.seconds);
  std::vector<SsaStep> steps;
  std::unique_ptr<SubsetSearch> cut_table;
  Outcome outcome = search(network, options.memory_cap, deadline, steps, cut_table);
  // The cap is a preference: where no path fits under it, plan without it.
  if (outcome == Outcome::infeasible && options.memory_cap > 0) {
    outcome = search(network, 0, deadline, steps, cut_table);
  }
  if (outcome == Outcome::out_of_time) {
    if (stopped_at_budget != nullptr) *stopped_at_budget = true;
    // The best of: greedy's path, the caller's, the table's own tree, and the
    // first two with the table's cheaper subtrees put in. Under the cap
    // first, then cheaper, as find_path compares paths.
    std::vector<LinearPath> candidates{greedy_path(problem, options)};
    if (known != nullptr && !known->empty()) candidates.push_back(*known);
    if (!steps.empty()) candidates.push_back(to_linear(count, steps));
    if (cut_table) {
      for (std::size_t k = 0, given = candidates.size(); k < given; ++k) {
        const std::vector<SsaStep> better = cut_table->reconfigure(candidates[k]);
        if (!better.empty()) candidates.push_back(to_linear(count, better));
      }
    }
    auto rank = [&](const LinearPath& linear) {
      const ContractionPath path = evaluate_path(problem, linear);
      double largest = 0;
      for (std::size_t step = 0; step + 1 < path.steps.size(); ++step) {
        largest = std::max(largest, path.steps[step].result_size);
      }
      const bool over = options.memory_cap > 0 && largest > options.memory_cap;
      return std::make_pair(over, path.flops);
    };
    std::size_t best = 0;
    auto best_rank = rank(candidates[0]);
    for (std::size_t k = 1; k < candidates.size(); ++k) {
      const auto candidate_rank = rank(candidates[k]);
      if (candidate_rank < best_rank) {
        best = k;
        best_rank = candidate_rank;
      }
    }
    return candidates[best];
  }
  // Without a memory cap every component is reached (the cap grows to a
  // ceiling that admits every tree); greedy stands in should that ever fail.
  if (outcome != Outcome::reached) return greedy_path(problem);
  return to_linear(count, steps);
}

}  // namespace einstream::detail
