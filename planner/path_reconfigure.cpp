#include "planner/path_reconfigure.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "planner/path_hyper_join.hpp"

namespace einstream::detail {

namespace {

// A replacement must save this fraction of the subtree's FLOPs: the DP and
// the tree multiply extents in different orders, and rounding alone must not
// count as an improvement (sweeps would never settle).
constexpr double kMinimumSaving = 1e-9;

// Grows the subtree under `top` into at most `tensors` tensors by expanding,
// each time, the tensor of the frontier formed by the costliest step (ties:
// the lower id). `removed` gets top and the expanded nodes: the k-1 steps a
// replacement rewrites.
// With `random`, the expanded tensor is drawn uniformly from the frontier's
// internal ones instead.
void grow_subtree(const PathTree& tree, int top, int tensors, std::mt19937_64* random,
                  std::vector<int>& frontier, std::vector<int>& removed) {
  frontier = {tree.node(top).left, tree.node(top).right};
  removed = {top};
  std::vector<int> internal;
  while (static_cast<int>(frontier.size()) < tensors) {
    int chosen = -1;
    if (random != nullptr) {
      internal.clear();
      for (int k = 0; k < static_cast<int>(frontier.size()); ++k) {
        if (!tree.is_leaf(frontier[k])) internal.push_back(k);
      }
      if (!internal.empty()) {
        chosen = internal[std::min(internal.size() - 1,
                                   static_cast<std::size_t>(unit_interval(*random) *
                                                            static_cast<double>(internal.size())))];
      }
    }
    for (int k = 0; k < static_cast<int>(frontier.size()) && random == nullptr; ++k) {
      const int id = frontier[k];
      if (tree.is_leaf(id)) continue;
      if (chosen < 0) {
        chosen = k;
        continue;
      }
      const TreeNode& node = tree.node(id);
      const TreeNode& incumbent = tree.node(frontier[chosen]);
      if (node.flops > incumbent.flops ||
          (node.flops == incumbent.flops && id < frontier[chosen])) {
        chosen = k;
      }
    }
    if (chosen < 0) return;
    const int expanded = frontier[chosen];
    frontier[chosen] = tree.node(expanded).left;
    frontier.push_back(tree.node(expanded).right);
    removed.push_back(expanded);
  }
}

// Rewrites the steps `removed` as `order` over `frontier`; the last step
// keeps removed[0]'s id (the subtree's top, which its parent names). Each
// rewritten node's version goes up.
void rewrite(PathTree& tree, const std::vector<int>& frontier, const std::vector<int>& removed,
             const JoinOrder& order, std::vector<std::uint32_t>& versions) {
  std::vector<int> slots = frontier;
  for (std::size_t step = 0; step < order.steps.size(); ++step) {
    const bool last = step + 1 == order.steps.size();
    const int id = last ? removed[0] : removed[step + 1];
    tree.rejoin(id, slots[order.steps[step].first], slots[order.steps[step].second]);
    ++versions[id];
    slots.push_back(id);
  }
}

// What an attempt on a subtree depends on: the nodes it rewrites and the
// tensors it joins, each as (id, version). An attempt with the signature of
// one that found nothing would find nothing again.
std::uint64_t signature(const std::vector<int>& frontier, const std::vector<int>& removed,
                        const std::vector<std::uint32_t>& versions) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  auto add = [&](std::uint64_t value) {
    hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
    hash *= 0x100000001b3ull;
  };
  for (const std::vector<int>* ids : {&removed, &frontier}) {
    add(ids->size());
    for (int id : *ids) add((static_cast<std::uint64_t>(id) << 32) | versions[id]);
  }
  return hash;
}

}  // namespace

bool reconfigure(PathTree& tree, const ReconfigureOptions& options, SearchDeadline& deadline) {
  const int tensors = std::clamp(options.subtree_tensors, 3, kExactJoinMaxTensors);
  const int inputs = tree.network().operand_count();
  const int root = tree.root();
  std::vector<int> frontier;
  std::vector<int> removed;
  std::vector<std::uint32_t> versions(static_cast<std::size_t>(tree.node_count()), 0);
  std::unordered_set<std::uint64_t> fruitless;
  for (int sweep = 0; sweep < options.max_sweeps; ++sweep) {
    std::vector<int> order;
    for (int id = inputs; id < tree.node_count(); ++id) order.push_back(id);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return tree.node(a).flops > tree.node(b).flops; });
    bool changed = false;
    for (int top : order) {
      if (deadline.passed()) return false;
      grow_subtree(tree, top, tensors, options.random, frontier, removed);
      if (frontier.size() < 3) continue;
      double current = 0;
      bool over_cap = false;
      for (int id : removed) {
        current += tree.node(id).flops;
        if (id != top && id != root && options.memory_cap > 0 &&
            tree.node(id).size > options.memory_cap) {
          over_cap = true;
        }
      }
      const std::uint64_t attempt = signature(frontier, removed, versions);
      if (fruitless.count(attempt) != 0) continue;
      JoinOrder better;
      if (!exact_join(tree, frontier, options.memory_cap, &better) ||
          (!(better.flops < current * (1 - kMinimumSaving)) && !over_cap)) {
        fruitless.insert(attempt);
        continue;
      }
      rewrite(tree, frontier, removed, better, versions);
      changed = true;
    }
    if (!changed) return true;
  }
  return true;
}

}  // namespace einstream::detail
