// Graph partitioning of a network's operands, for the hyper-optimizer's
// recursive bisection: operands are vertices, and two operands sharing modes
// are joined by an edge weighted by the log2 of the extents they share, so a
// cut of small weight is a split whose two halves exchange a small tensor.
// METIS (libmetis-dev) does the partitioning where the build found it; a
// built-in Fiduccia-Mattheyses bisection stands in otherwise, so the search
// works, if less well, everywhere.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "planner/path_hyper_tree.hpp"

namespace einstream::detail {

enum class Partitioner {
  metis,    // METIS_PartGraphRecursive; the built-in one where METIS is absent
  builtin,  // greedy graph growing refined by Fiduccia-Mattheyses passes
};

// Whether this build has METIS.
bool metis_available();

// The operands of a network as a weighted graph.
class OperandGraph {
 public:
  explicit OperandGraph(const TreeNetwork& network);

  int vertex_count() const { return static_cast<int>(adjacency_.size()); }
  // (neighbour, weight) pairs of a vertex, neighbours ascending.
  const std::vector<std::pair<int, double>>& neighbours(int vertex) const {
    return adjacency_[vertex];
  }

 private:
  std::vector<std::vector<std::pair<int, double>>> adjacency_;
};

struct PartitionParameters {
  // Parts wanted (at least 2; fewer when there are fewer members).
  int parts = 2;
  // Allowed imbalance: a part may hold up to (1 + imbalance) times its share.
  double imbalance = 0.1;
  std::uint64_t seed = 0;
  Partitioner partitioner = Partitioner::metis;
};

// The members (vertex ids, at least 2) split into parts of the subgraph they
// induce: the part of each member, in [0, parts). Equal parameters give equal
// results. Parts may come back empty.
std::vector<int> partition(const OperandGraph& graph, const std::vector<int>& members,
                           const PartitionParameters& parameters);

}  // namespace einstream::detail
