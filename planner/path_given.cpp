// A contraction path the caller gives (Options::given_path): checked against
// the problem in the caller's own step numbering, then steps of three or more
// operands are split into pairs, since every lowered step takes one or two:
// in the cheapest order of those operands (planner/path_hyper_join's best
// join, over the tree the steps before built: exact up to 10 operands,
// greedy beyond).
#include <algorithm>
#include <string>

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

void check_given_path(const LinearPath& given, int operands) {
  int live = operands;
  for (std::size_t index = 0; index < given.size(); ++index) {
    if (live == 1 && index > 0) {
      throw Error(step_name(index) +
                  " comes after the steps before it left one result: " + "expected " +
                  std::to_string(index) + " step(s), " + std::to_string(given.size()) + " given");
    }
    check_step(given[index], index, live);
    live -= static_cast<int>(given[index].size()) - 1;
  }
  if (live != 1) {
    throw Error("given_path leaves " + std::to_string(live) +
                " operands uncontracted: its steps must end in one result (" +
                std::to_string(operands) + " operands take " + std::to_string(operands - 1) +
                " pairwise steps" + (operands == 1 ? ", or the single step (0,)" : "") + ")");
  }
}

namespace {

// The live operands of a path being written out, as tree node ids in
// linear-format order, and the linear steps so far.
struct LiveOperands {
  std::vector<int> nodes;
  LinearPath steps;

  int position_of(int node) const {
    return static_cast<int>(std::find(nodes.begin(), nodes.end(), node) - nodes.begin());
  }
  // The linear step of tree node `joined`, which contracts `first` and
  // `second`.
  void record(int first, int second, int joined) {
    std::vector<int> positions = {position_of(first), position_of(second)};
    std::sort(positions.begin(), positions.end());
    steps.push_back(positions);
    nodes.erase(nodes.begin() + positions[1]);
    nodes.erase(nodes.begin() + positions[0]);
    nodes.push_back(joined);
  }
};

}  // namespace

ContractionPath given_path(const Problem& problem, const LinearPath& given) {
  const int operands = static_cast<int>(problem.inputs.size());
  check_given_path(given, operands);
  if (given.empty()) return evaluate_path(problem, {{0}});  // one operand, no step
  const TreeNetwork network(problem);
  PathTree tree(network);
  LiveOperands live;
  for (int operand = 0; operand < operands; ++operand) live.nodes.push_back(operand);
  for (std::vector<int> step : given) {
    std::sort(step.begin(), step.end());
    std::vector<int> nodes;
    for (int position : step) nodes.push_back(live.nodes[position]);
    if (nodes.size() == 1) {  // a reduction alone: the result goes last
      live.steps.push_back(step);
      live.nodes.erase(live.nodes.begin() + step[0]);
      live.nodes.push_back(nodes[0]);
      continue;
    }
    // The cheapest order of the step's operands (exact, else greedy; no
    // memory cap: the caller chose them together). The tree's new nodes
    // come children first, so each is a linear step in turn.
    const int before = tree.node_count();
    best_join(tree, nodes, GreedyParameters{}, nullptr);
    for (int id = before; id < tree.node_count(); ++id) {
      live.record(tree.node(id).left, tree.node(id).right, id);
    }
  }
  return evaluate_path(problem, live.steps);
}

}  // namespace einstream::detail
