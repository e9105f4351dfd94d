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
// the rest of the path costs the same (SubsetSearch::reconfigure() in
// planner/path_dp_subsets.cpp; the table lives there).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "planner/path.hpp"
#include "planner/path_budget.hpp"
#include "planner/path_dp_subsets.hpp"

namespace einstream::detail {

namespace {

using dp::kMaxComponentOperands;
using dp::Network;
using dp::Outcome;
using dp::SsaStep;
using dp::SubsetSearch;

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
