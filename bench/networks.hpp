// Benchmark networks for planning: random 3-regular graphs and closed 2D
// lattices of n tensors, one mode per edge, extents drawn from 2-16, the
// whole network summed to a scalar. Built as detail::Problem directly, since
// the einsum notation has only 52 labels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "planner/problem.hpp"

namespace einstream::bench {

inline detail::Problem network_problem(int operands, const std::vector<std::pair<int, int>>& edges,
                                       std::mt19937& random) {
  detail::Problem problem;
  problem.inputs.resize(operands);
  for (const auto& [a, b] : edges) {
    const auto mode = static_cast<detail::Mode>(problem.extents.size());
    problem.extents.push_back(2 + static_cast<std::int64_t>(random() % 15));
    problem.labels.push_back("m" + std::to_string(mode));
    for (int operand : {a, b}) {
      detail::ProblemOperand& input = problem.inputs[operand];
      input.axes.push_back(static_cast<int>(input.modes.size()));
      input.modes.push_back(mode);
      input.rank = static_cast<int>(input.modes.size());
    }
  }
  return problem;
}

// A random simple 3-regular graph on `operands` vertices (even), by the
// pairing model (three half-edges per vertex, shuffled and paired),
// retried until no loop or repeated edge appears.
inline detail::Problem random_regular_network(int operands, unsigned seed) {
  std::mt19937 random(seed);
  while (true) {
    std::vector<int> half_edges;
    for (int vertex = 0; vertex < operands; ++vertex)
      half_edges.insert(half_edges.end(), 3, vertex);
    std::shuffle(half_edges.begin(), half_edges.end(), random);
    std::vector<std::pair<int, int>> edges;
    bool simple = true;
    for (std::size_t k = 0; k + 1 < half_edges.size() && simple; k += 2) {
      const std::pair<int, int> edge = std::minmax(half_edges[k], half_edges[k + 1]);
      simple =
          edge.first != edge.second && std::find(edges.begin(), edges.end(), edge) == edges.end();
      edges.push_back(edge);
    }
    if (simple) return network_problem(operands, edges, random);
  }
}

// An open rows x columns square lattice.
inline detail::Problem lattice_network(int rows, int columns, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::pair<int, int>> edges;
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      const int site = row * columns + column;
      if (column + 1 < columns) edges.emplace_back(site, site + 1);
      if (row + 1 < rows) edges.emplace_back(site, site + columns);
    }
  }
  return network_problem(rows * columns, edges, random);
}

}  // namespace einstream::bench
