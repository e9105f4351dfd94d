#include "planner/path_hyper_trial.hpp"

#include <algorithm>

#include "planner/path_hyper_join.hpp"

namespace einstream::detail {

namespace {

// The subtree joining `members` (input ids, which are also their leaf ids).
int bisect_group(PathTree& tree, const OperandGraph& graph, const TrialParameters& parameters,
                 std::mt19937_64& random, const std::vector<int>& members) {
  const int count = static_cast<int>(members.size());
  if (count <= std::max(parameters.cutoff, 2)) {
    return best_join(tree, members, parameters.greedy, &random);
  }
  PartitionParameters split;
  split.parts = parameters.parts;
  split.imbalance = parameters.imbalance;
  split.seed = random();
  split.partitioner = parameters.partitioner;
  const std::vector<int> part_of = partition(graph, members, split);
  std::vector<std::vector<int>> groups(static_cast<std::size_t>(split.parts));
  for (int k = 0; k < count; ++k) {
    groups[static_cast<std::size_t>(std::clamp(part_of[k], 0, split.parts - 1))].push_back(
        members[k]);
  }
  groups.erase(std::remove_if(groups.begin(), groups.end(),
                              [](const std::vector<int>& group) { return group.empty(); }),
               groups.end());
  // A partitioner that cannot split the group leaves it to greedy.
  if (groups.size() < 2) return greedy_join(tree, members, parameters.greedy, &random);
  std::vector<int> parts;
  for (const std::vector<int>& group : groups) {
    parts.push_back(bisect_group(tree, graph, parameters, random, group));
  }
  return best_join(tree, parts, parameters.greedy, &random);
}

}  // namespace

PathTree run_trial(const Problem& problem, const TreeNetwork& network, const OperandGraph& graph,
                   const TrialParameters& parameters, std::mt19937_64& random) {
  if (parameters.method == TrialMethod::greedy) {
    const GreedyOutcome outcome = greedy_search(problem, parameters.greedy, &random);
    return PathTree::from_linear(network, outcome.path);
  }
  PathTree tree(network);
  std::vector<int> members(static_cast<std::size_t>(network.operand_count()));
  for (std::size_t k = 0; k < members.size(); ++k) members[k] = static_cast<int>(k);
  bisect_group(tree, graph, parameters, random, members);
  return tree;
}

}  // namespace einstream::detail
