// A contraction path as a binary tree over the operands: the form the
// hyper-optimizing search builds (by bisection, from greedy paths) and edits
// (subtree reconfiguration), since a tree, unlike opt_einsum's linear format,
// can have a subtree replaced without renumbering the rest.
//
// Why a node's cost does not depend on the order of the path: contracting a
// set of operands keeps exactly the modes of the set that an operand outside
// it or the output holds, whatever order formed it (see path_dp.cpp). So each
// node carries, per mode it keeps, how many operands under it hold the mode:
// a mode is dropped where that count reaches the number of operands holding
// it in the whole network, unless the output has it. A node's step then costs
// what evaluate_path charges it: the product of the extents of its children's
// modes, times 2 when the step drops a mode.
#pragma once

#include <vector>

#include "planner/path.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

// What the tree needs to know of a Problem.
struct TreeNetwork {
  explicit TreeNetwork(const Problem& problem);

  int operand_count() const { return static_cast<int>(operand_modes.size()); }

  // Each input's modes, sorted, without repeats.
  std::vector<std::vector<Mode>> operand_modes;
  // By mode: how many inputs hold it; whether the output has it; its extent.
  std::vector<int> holders;
  std::vector<char> in_output;
  std::vector<double> extents;
};

struct TreeNode {
  // Children; -1 for a leaf (an input).
  int left = -1;
  int right = -1;
  // Modes of the node's result, sorted, and for each the count of inputs
  // under the node holding it.
  std::vector<Mode> modes;
  std::vector<int> counts;
  // Elements of the result.
  double size = 1;
  // FLOPs of the step that forms the node (0 for a leaf).
  double flops = 0;
  // Inputs under the node.
  int leaves = 1;
};

// Nodes 0..n-1 are the inputs; join() appends internal nodes. A complete
// tree has n-1 internal nodes, its root holding every input.
class PathTree {
 public:
  explicit PathTree(const TreeNetwork& network);

  // The tree `linear` describes (a valid path of at least two inputs).
  static PathTree from_linear(const TreeNetwork& network, const LinearPath& linear);

  const TreeNetwork& network() const { return *network_; }
  const TreeNode& node(int id) const { return nodes_[id]; }
  int node_count() const { return static_cast<int>(nodes_.size()); }
  bool is_leaf(int id) const { return nodes_[id].left < 0; }

  // A new node contracting the results of `left` and `right`; returns its id.
  int join(int left, int right);
  // Appends the steps of `path`, a path in linear format over the operand
  // list `operands` (node ids); returns the node of its last step.
  int join_path(std::vector<int> operands, const LinearPath& path);
  // Makes `id` (an internal node) contract `left` and `right` instead: the
  // caller keeps the tree consistent (reconfiguration rewires a subtree with
  // the same inputs, so every node above keeps its modes and cost).
  void rejoin(int id, int left, int right);

  // The node holding every input; -1 while the tree is incomplete.
  int root() const;
  // Sum of the steps' FLOPs (as evaluate_path counts them).
  double flops() const;
  // Largest result of any step but the root's: what the memory cap limits.
  double largest_before_output() const;
  // The path in opt_einsum's linear format, children before parents.
  LinearPath linear() const;

 private:
  void measure(TreeNode& node) const;

  const TreeNetwork* network_;
  std::vector<TreeNode> nodes_;
};

// The modes of the results of `nodes`, sorted, without repeats.
std::vector<Mode> modes_of(const PathTree& tree, const std::vector<int>& nodes);

// Modes that remain after contracting the results of `nodes` together (those
// an input outside them or the output still needs), sorted.
std::vector<Mode> kept_modes(const PathTree& tree, const std::vector<int>& nodes);

}  // namespace einstream::detail
