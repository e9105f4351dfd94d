#include "planner/path_hyper_tree.hpp"

#include <algorithm>
#include <utility>

#include "einstream/error.hpp"

namespace einstream::detail {

TreeNetwork::TreeNetwork(const Problem& problem)
    : holders(problem.extents.size(), 0),
      in_output(problem.extents.size(), 0),
      extents(problem.extents.begin(), problem.extents.end()) {
  for (const ProblemOperand& input : problem.inputs) {
    std::vector<Mode> modes = input.modes;
    std::sort(modes.begin(), modes.end());
    modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
    for (Mode mode : modes) ++holders[mode];
    operand_modes.push_back(std::move(modes));
  }
  for (Mode mode : problem.output) in_output[mode] = 1;
}

PathTree::PathTree(const TreeNetwork& network) : network_(&network) {
  nodes_.resize(network.operand_modes.size());
  for (std::size_t id = 0; id < nodes_.size(); ++id) {
    TreeNode& leaf = nodes_[id];
    leaf.modes = network.operand_modes[id];
    leaf.counts.assign(leaf.modes.size(), 1);
    for (Mode mode : leaf.modes) leaf.size *= network.extents[mode];
  }
}

PathTree PathTree::from_linear(const TreeNetwork& network, const LinearPath& linear) {
  PathTree tree(network);
  std::vector<int> operands(network.operand_modes.size());
  for (std::size_t position = 0; position < operands.size(); ++position) {
    operands[position] = static_cast<int>(position);
  }
  tree.join_path(std::move(operands), linear);
  if (tree.root() < 0) throw Error("PathTree: the path leaves more than one operand");
  return tree;
}

int PathTree::join_path(std::vector<int> operands, const LinearPath& path) {
  for (const std::vector<int>& step : path) {
    if (step.size() != 2) throw Error("PathTree: a step must contract two operands");
    const int first = std::min(step[0], step[1]);
    const int second = std::max(step[0], step[1]);
    const int left = operands[first];
    const int right = operands[second];
    operands.erase(operands.begin() + second);
    operands.erase(operands.begin() + first);
    operands.push_back(join(left, right));
  }
  return operands.back();
}

// Merges the children's sorted modes, summing the counts, and drops the
// modes whose every holder is now under the node (unless the output has them).
void PathTree::measure(TreeNode& node) const {
  const TreeNode& left = nodes_[node.left];
  const TreeNode& right = nodes_[node.right];
  node.modes.clear();
  node.counts.clear();
  node.leaves = left.leaves + right.leaves;
  double involved = 1;
  double size = 1;
  bool drops = false;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < left.modes.size() || j < right.modes.size()) {
    Mode mode;
    int count;
    if (j == right.modes.size() || (i < left.modes.size() && left.modes[i] < right.modes[j])) {
      mode = left.modes[i];
      count = left.counts[i++];
    } else if (i == left.modes.size() || right.modes[j] < left.modes[i]) {
      mode = right.modes[j];
      count = right.counts[j++];
    } else {
      mode = left.modes[i];
      count = left.counts[i++] + right.counts[j++];
    }
    const double extent = network_->extents[mode];
    involved *= extent;
    if (count < network_->holders[mode] || network_->in_output[mode]) {
      node.modes.push_back(mode);
      node.counts.push_back(count);
      size *= extent;
    } else {
      drops = true;
    }
  }
  node.size = size;
  node.flops = involved * (drops ? 2.0 : 1.0);
}

int PathTree::join(int left, int right) {
  TreeNode node;
  node.left = left;
  node.right = right;
  measure(node);
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

void PathTree::rejoin(int id, int left, int right) {
  TreeNode& node = nodes_[id];
  node.left = left;
  node.right = right;
  measure(node);
}

int PathTree::root() const {
  const int inputs = network_->operand_count();
  for (int id = node_count() - 1; id >= 0; --id) {
    if (nodes_[id].leaves == inputs) return id;
  }
  return -1;
}

double PathTree::flops() const {
  double total = 0;
  for (const TreeNode& node : nodes_) total += node.flops;
  return total;
}

double PathTree::largest_before_output() const {
  const int root_id = root();
  double largest = 0;
  for (int id = network_->operand_count(); id < node_count(); ++id) {
    if (id != root_id) largest = std::max(largest, nodes_[id].size);
  }
  return largest;
}

LinearPath PathTree::linear() const {
  const int root_id = root();
  if (root_id < 0) throw Error("PathTree: the tree is incomplete");
  // Post-order without recursion (greedy trees can be as deep as they are
  // wide): a node is emitted once both children are.
  std::vector<int> order;
  std::vector<std::pair<int, bool>> stack{{root_id, false}};
  while (!stack.empty()) {
    auto [id, expanded] = stack.back();
    stack.pop_back();
    if (is_leaf(id)) continue;
    if (expanded) {
      order.push_back(id);
      continue;
    }
    stack.push_back({id, true});
    stack.push_back({nodes_[id].right, false});
    stack.push_back({nodes_[id].left, false});
  }
  std::vector<int> operands(network_->operand_modes.size());
  for (std::size_t position = 0; position < operands.size(); ++position) {
    operands[position] = static_cast<int>(position);
  }
  LinearPath path;
  for (int id : order) {
    const auto position_of = [&](int node) {
      return static_cast<int>(std::find(operands.begin(), operands.end(), node) - operands.begin());
    };
    int first = position_of(nodes_[id].left);
    int second = position_of(nodes_[id].right);
    if (first > second) std::swap(first, second);
    path.push_back({first, second});
    operands.erase(operands.begin() + second);
    operands.erase(operands.begin() + first);
    operands.push_back(id);
  }
  return path;
}

std::vector<Mode> modes_of(const PathTree& tree, const std::vector<int>& nodes) {
  std::vector<Mode> modes;
  for (int id : nodes) {
    const std::vector<Mode>& held = tree.node(id).modes;
    modes.insert(modes.end(), held.begin(), held.end());
  }
  std::sort(modes.begin(), modes.end());
  modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
  return modes;
}

std::vector<Mode> kept_modes(const PathTree& tree, const std::vector<int>& nodes) {
  std::vector<std::pair<Mode, int>> held;
  for (int id : nodes) {
    const TreeNode& node = tree.node(id);
    for (std::size_t k = 0; k < node.modes.size(); ++k)
      held.emplace_back(node.modes[k], node.counts[k]);
  }
  std::sort(held.begin(), held.end());
  const TreeNetwork& network = tree.network();
  std::vector<Mode> kept;
  for (std::size_t k = 0; k < held.size();) {
    const Mode mode = held[k].first;
    int count = 0;
    for (; k < held.size() && held[k].first == mode; ++k) count += held[k].second;
    if (count < network.holders[mode] || network.in_output[mode]) kept.push_back(mode);
  }
  return kept;
}

}  // namespace einstream::detail
