// A contraction path the caller gives (Options::given_path): checked against
// the problem in the caller's own step numbering, then steps of three or more
// operands are split into pairs, since every lowered step takes one or two:
// in the cheapest order of those operands (planner/path_hyper_join's exact
// join, over the tree the steps before built), or left to right where that
// search does not apply.
#include <algorithm>
#include <string>
#include <utility>

#include "einstream/error.hpp"
#include "planner/path.hpp"
#include "planner/path_hyper_join.hpp"
#include "planner/path_hyper_tree.hpp"

namespace einstream::detail {

namespace {

std::string step_name(std::size_t step) { return "given_path step " + std::to_string(step); }

// Throws Error unless `step` names distinct operands among `live`.
void check_step(const std::vector<int>& step, std::size_t index, int live) {
  if (step.empty()) throw Error(step_name(index) + " names no operand: expected one or more");
  std::vector<int> sorted = step;
  std::sort(sorted.begin(), sorted.end());
  for (int position : sorted) {
    if (position < 0 || position >= live) {
      throw Error(step_name(index) + " names operand " + std::to_string(position) +
                  ", but positions run from 0 to " + std::to_string(live - 1) + " there (" +
                  std::to_string(live) + " operands remain; each step's result goes last)");
    }
  }
  const auto repeat = std::adjacent_find(sorted.begin(), sorted.end());
  if (repeat != sorted.end()) {
    throw Error(step_name(index) + " names operand " + std::to_string(*repeat) + " twice");
  }
}

}  // namespace

LinearPath pairwise_path(const LinearPath& given, int operands) {
  LinearPath pairs;
  int live = operands;
  for (std::size_t index = 0; index < given.size(); ++index) {
    if (live == 1 && index > 0) {
      throw Error(step_name(index) +
                  " comes after the steps before it left one result: " + "expected " +
                  std::to_string(index) + " step(s), " + std::to_string(given.size()) + " given");
    }
    check_step(given[index], index, live);
    std::vector<int> sorted = given[index];
    std::sort(sorted.begin(), sorted.end());
    if (sorted.size() <= 2) {
      pairs.push_back(sorted);
    } else {
      // Left to right: the first two, then the running result (last) with
      // each next one, whose position drops by the operands taken before it.
      pairs.push_back({sorted[0], sorted[1]});
      int remaining = live - 1;
      for (std::size_t next = 2; next < sorted.size(); ++next) {
        pairs.push_back({sorted[next] - static_cast<int>(next), remaining - 1});
        --remaining;
      }
    }
    live -= static_cast<int>(sorted.size()) - 1;
  }
  if (live != 1) {
    throw Error("given_path leaves " + std::to_string(live) +
                " operands uncontracted: its steps must end in one result (" +
                std::to_string(operands) + " operands take " + std::to_string(operands - 1) +
                " pairwise steps" + (operands == 1 ? ", or the single step (0,)" : "") + ")");
  }
  return pairs;
}

namespace {

// The live operands of a path being written out, as tree node ids in
// linear-format order, and the linear steps so far.
struct LiveOperands {
  PathTree& tree;
  std::vector<int> nodes;
  LinearPath steps;

  int position_of(int node) const {
    return static_cast<int>(std::find(nodes.begin(), nodes.end(), node) - nodes.begin());
  }
  // Contracts nodes `first` and `second`: one linear step, one tree node.
  int join(int first, int second) {
    std::vector<int> positions = {position_of(first), position_of(second)};
    std::sort(positions.begin(), positions.end());
    steps.push_back(positions);
    nodes.erase(nodes.begin() + positions[1]);
    nodes.erase(nodes.begin() + positions[0]);
    const int joined = tree.join(first, second);
    nodes.push_back(joined);
    return joined;
  }
};

// The SSA order (JoinOrder's numbering) of contracting `count` tensors left
// to right: the first two, then the running result with each next one.
JoinOrder left_to_right(int count) {
  JoinOrder order;
  order.steps.emplace_back(0, 1);
  for (int next = 2; next < count; ++next) order.steps.emplace_back(count + next - 2, next);
  return order;
}

}  // namespace

ContractionPath given_path(const Problem& problem, const LinearPath& given) {
  const int operands = static_cast<int>(problem.inputs.size());
  const LinearPath checked = pairwise_path(given, operands);  // throws for a bad path
  if (checked.empty()) return evaluate_path(problem, {{0}});  // one operand, no step
  const TreeNetwork network(problem);
  PathTree tree(network);
  LiveOperands live{tree, {}, {}};
  for (int operand = 0; operand < operands; ++operand) live.nodes.push_back(operand);
  for (std::vector<int> step : given) {
    std::sort(step.begin(), step.end());
    std::vector<int> slots;  // the step's nodes, then the nodes its pairs make
    for (int position : step) slots.push_back(live.nodes[position]);
    if (step.size() == 1) {  // a reduction alone: the result goes last
      live.steps.push_back(step);
      live.nodes.erase(live.nodes.begin() + step[0]);
      live.nodes.push_back(slots[0]);
      continue;
    }
    JoinOrder order;
    // No memory cap (0): the caller chose these operands together.
    if (step.size() == 2 || !exact_join(tree, slots, 0, &order)) {
      order = left_to_right(static_cast<int>(slots.size()));
    }
    for (const auto& [first, second] : order.steps) {
      slots.push_back(live.join(slots[first], slots[second]));
    }
  }
  return evaluate_path(problem, live.steps);
}

}  // namespace einstream::detail
