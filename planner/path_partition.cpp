#include "planner/path_partition.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

// The build defines EINSTREAM_HAVE_METIS to 1 where it found METIS.
#ifndef EINSTREAM_HAVE_METIS
#define EINSTREAM_HAVE_METIS 0
#endif
#if EINSTREAM_HAVE_METIS
#include <metis.h>
#endif

#include "planner/path_greedy_core.hpp"

namespace einstream::detail {

namespace {

// A mode held by more operands than this is left out of the graph: its
// clique would be quadratic in size, and a mode everyone holds says nothing
// about where to cut.
constexpr int kMaxCliqueHolders = 32;
// Improvement passes of the built-in bisection; each is O(members^2).
constexpr int kRefinementPasses = 8;

// The subgraph the members induce, in local ids 0..members-1.
struct Subgraph {
  std::vector<std::vector<std::pair<int, double>>> adjacency;
  bool has_edges = false;
};

Subgraph induce(const OperandGraph& graph, const std::vector<int>& members) {
  std::vector<int> local(static_cast<std::size_t>(graph.vertex_count()), -1);
  for (std::size_t k = 0; k < members.size(); ++k) local[members[k]] = static_cast<int>(k);
  Subgraph subgraph;
  subgraph.adjacency.resize(members.size());
  for (std::size_t k = 0; k < members.size(); ++k) {
    for (const auto& [neighbour, weight] : graph.neighbours(members[k])) {
      if (local[neighbour] < 0) continue;
      subgraph.adjacency[k].emplace_back(local[neighbour], weight);
      subgraph.has_edges = true;
    }
  }
  return subgraph;
}

// Two-way split of a subgraph, `first_share` of the vertices in part 0:
// graph growing from a random vertex (always taking the vertex most tied to
// the grown part), then Fiduccia-Mattheyses passes: move the unlocked vertex
// of best gain that the balance allows, lock it, and keep the best prefix of
// the moves. Quadratic per pass, which the networks it serves afford.
std::vector<int> bisect(const Subgraph& graph, double first_share, double imbalance,
                        std::mt19937_64& random) {
  const int count = static_cast<int>(graph.adjacency.size());
  const int target = std::clamp(static_cast<int>(std::lround(count * first_share)), 1, count - 1);
  const int slack = std::max(1, static_cast<int>(imbalance * std::min(target, count - target)));
  const int low = std::max(1, target - slack);
  const int high = std::min(count - 1, target + slack);
  // Random priorities break ties, so equal seeds give equal splits.
  std::vector<double> priority(count);
  for (double& value : priority) value = unit_interval(random);
  std::vector<double> degree(count, 0);
  for (int v = 0; v < count; ++v) {
    for (const auto& edge : graph.adjacency[v]) degree[v] += edge.second;
  }

  std::vector<int> side(count, 1);
  std::vector<double> tie(count, 0);  // weight to part 0
  const int start = static_cast<int>(unit_interval(random) * count);
  int grown = 0;
  for (int next = start; grown < target;) {
    side[next] = 0;
    ++grown;
    for (const auto& [neighbour, weight] : graph.adjacency[next]) tie[neighbour] += weight;
    next = -1;
    for (int v = 0; v < count; ++v) {
      if (side[v] != 1) continue;
      if (next < 0 || 2 * tie[v] - degree[v] > 2 * tie[next] - degree[next] ||
          (2 * tie[v] - degree[v] == 2 * tie[next] - degree[next] &&
           priority[v] > priority[next])) {
        next = v;
      }
    }
    if (next < 0) break;
  }

  // gain[v]: how much the cut shrinks when v changes sides.
  std::vector<double> gain(count, 0);
  auto compute_gains = [&] {
    for (int v = 0; v < count; ++v) {
      gain[v] = 0;
      for (const auto& [neighbour, weight] : graph.adjacency[v]) {
        gain[v] += side[neighbour] != side[v] ? weight : -weight;
      }
    }
  };
  int size0 = grown;
  for (int pass = 0; pass < kRefinementPasses; ++pass) {
    compute_gains();
    std::vector<char> locked(count, 0);
    std::vector<int> moves;
    double change = 0;
    double best_change = 0;
    std::size_t best_prefix = 0;
    for (int step = 0; step < count; ++step) {
      int chosen = -1;
      for (int v = 0; v < count; ++v) {
        if (locked[v]) continue;
        const int after = size0 + (side[v] == 0 ? -1 : 1);
        if (after < low || after > high) continue;
        if (chosen < 0 || gain[v] > gain[chosen] ||
            (gain[v] == gain[chosen] && priority[v] > priority[chosen])) {
          chosen = v;
        }
      }
      if (chosen < 0) break;
      change -= gain[chosen];
      size0 += side[chosen] == 0 ? -1 : 1;
      for (const auto& [neighbour, weight] : graph.adjacency[chosen]) {
        gain[neighbour] += side[neighbour] == side[chosen] ? 2 * weight : -2 * weight;
      }
      side[chosen] ^= 1;
      gain[chosen] = -gain[chosen];
      locked[chosen] = 1;
      moves.push_back(chosen);
      if (change < best_change - 1e-12) {
        best_change = change;
        best_prefix = moves.size();
      }
    }
    for (std::size_t k = moves.size(); k > best_prefix; --k) {
      const int v = moves[k - 1];
      size0 += side[v] == 0 ? -1 : 1;
      side[v] ^= 1;
    }
    if (best_prefix == 0) break;
  }
  return side;
}

// Recursive bisection into `parts` parts, numbered from `first_part`.
void builtin_partition(const Subgraph& graph, const std::vector<int>& vertices, int parts,
                       int first_part, double imbalance, std::mt19937_64& random,
                       std::vector<int>& part_of) {
  if (parts <= 1 || vertices.size() < 2) {
    for (int v : vertices) part_of[v] = first_part;
    return;
  }
  Subgraph sub;
  std::vector<int> local(graph.adjacency.size(), -1);
  for (std::size_t k = 0; k < vertices.size(); ++k) local[vertices[k]] = static_cast<int>(k);
  sub.adjacency.resize(vertices.size());
  for (std::size_t k = 0; k < vertices.size(); ++k) {
    for (const auto& [neighbour, weight] : graph.adjacency[vertices[k]]) {
      if (local[neighbour] >= 0) sub.adjacency[k].emplace_back(local[neighbour], weight);
    }
  }
  const int first_parts = parts / 2;
  const std::vector<int> side =
      bisect(sub, static_cast<double>(first_parts) / parts, imbalance, random);
  std::vector<int> halves[2];
  for (std::size_t k = 0; k < vertices.size(); ++k) halves[side[k]].push_back(vertices[k]);
  builtin_partition(graph, halves[0], first_parts, first_part, imbalance, random, part_of);
  builtin_partition(graph, halves[1], parts - first_parts, first_part + first_parts, imbalance,
                    random, part_of);
}

#if EINSTREAM_HAVE_METIS
// METIS seeds a random generator of GKlib that is one per process, not per
// thread: calls from several threads would race on it and lose
// reproducibility.
std::mutex& metis_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Integer edge weights for METIS: log2 extents in 1/kWeightScale steps.
constexpr double kWeightScale = 64;

bool metis_partition(const Subgraph& graph, const PartitionParameters& parameters, int parts,
                     std::vector<int>& part_of) {
  idx_t vertices = static_cast<idx_t>(graph.adjacency.size());
  idx_t constraints = 1;
  idx_t part_count = parts;
  std::vector<idx_t> offsets{0};
  std::vector<idx_t> targets;
  std::vector<idx_t> weights;
  for (const auto& edges : graph.adjacency) {
    for (const auto& [neighbour, weight] : edges) {
      targets.push_back(neighbour);
      weights.push_back(std::max<idx_t>(1, static_cast<idx_t>(std::lround(weight * kWeightScale))));
    }
    offsets.push_back(static_cast<idx_t>(targets.size()));
  }
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = static_cast<idx_t>(parameters.seed & 0x3fffffff);
  options[METIS_OPTION_UFACTOR] =
      std::max<idx_t>(1, static_cast<idx_t>(std::lround(parameters.imbalance * 1000)));
  options[METIS_OPTION_NUMBERING] = 0;
  idx_t cut = 0;
  std::vector<idx_t> result(graph.adjacency.size(), 0);
  int status;
  {
    std::lock_guard<std::mutex> lock(metis_mutex());
    status = METIS_PartGraphRecursive(&vertices, &constraints, offsets.data(), targets.data(),
                                      nullptr, nullptr, weights.data(), &part_count, nullptr,
                                      nullptr, options, &cut, result.data());
  }
  if (status != METIS_OK) return false;
  part_of.assign(result.begin(), result.end());
  return true;
}
#endif

}  // namespace

bool metis_available() { return EINSTREAM_HAVE_METIS != 0; }

OperandGraph::OperandGraph(const TreeNetwork& network)
    : adjacency_(static_cast<std::size_t>(network.operand_count())) {
  std::vector<std::vector<int>> holders(network.extents.size());
  for (int operand = 0; operand < network.operand_count(); ++operand) {
    for (Mode mode : network.operand_modes[operand]) holders[mode].push_back(operand);
  }
  std::map<std::pair<int, int>, double> edges;
  for (std::size_t mode = 0; mode < holders.size(); ++mode) {
    const std::vector<int>& held = holders[mode];
    const double extent = network.extents[mode];
    if (held.size() < 2 || held.size() > static_cast<std::size_t>(kMaxCliqueHolders) ||
        !(extent > 1)) {
      continue;
    }
    // A cut that separates one holder from the rest costs the mode's log2
    // extent, as cutting a hyperedge does.
    const double weight = std::log2(extent) / static_cast<double>(held.size() - 1);
    for (std::size_t a = 0; a < held.size(); ++a) {
      for (std::size_t b = a + 1; b < held.size(); ++b) edges[{held[a], held[b]}] += weight;
    }
  }
  for (const auto& [pair, weight] : edges) {
    adjacency_[pair.first].emplace_back(pair.second, weight);
    adjacency_[pair.second].emplace_back(pair.first, weight);
  }
  for (auto& neighbours : adjacency_) std::sort(neighbours.begin(), neighbours.end());
}

std::vector<int> partition(const OperandGraph& graph, const std::vector<int>& members,
                           const PartitionParameters& parameters) {
  if (members.size() < 2) return std::vector<int>(members.size(), 0);
  const int parts = std::clamp(parameters.parts, 2, static_cast<int>(members.size()));
  const Subgraph subgraph = induce(graph, members);
  std::vector<int> part_of(members.size(), 0);
#if EINSTREAM_HAVE_METIS
  // METIS needs edges to balance anything; an edgeless group is split below.
  if (parameters.partitioner == Partitioner::metis && subgraph.has_edges &&
      metis_partition(subgraph, parameters, parts, part_of)) {
    return part_of;
  }
#endif
  std::mt19937_64 random(parameters.seed);
  std::vector<int> vertices(members.size());
  for (std::size_t k = 0; k < vertices.size(); ++k) vertices[k] = static_cast<int>(k);
  builtin_partition(subgraph, vertices, parts, 0, parameters.imbalance, random, part_of);
  return part_of;
}

}  // namespace einstream::detail
