// Test support: random simple regular graphs as tensor networks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "planner/problem.hpp"

namespace einstream::testing {

// A random simple `degree`-regular graph as a network: one operand per
// vertex, one mode per edge with an extent drawn from [min_extent,
// max_extent], summed to a scalar. The configuration model: `degree`
// half-edges per vertex paired at random, redrawn on a loop or a repeated
// edge. Equal seeds give equal networks.
inline detail::Problem random_regular_network(int vertices, int degree, unsigned seed,
                                              std::int64_t min_extent, std::int64_t max_extent) {
  std::mt19937 random(seed);
  while (true) {
    std::vector<int> half_edges;
    for (int vertex = 0; vertex < vertices; ++vertex) {
      half_edges.insert(half_edges.end(), degree, vertex);
    }
    std::shuffle(half_edges.begin(), half_edges.end(), random);
    detail::Problem problem;
    problem.inputs.resize(vertices);
    bool simple = true;
    for (std::size_t k = 0; k + 1 < half_edges.size() && simple; k += 2) {
      const int a = half_edges[k];
      const int b = half_edges[k + 1];
      const std::vector<detail::Mode>& modes_a = problem.inputs[a].modes;
      const std::vector<detail::Mode>& modes_b = problem.inputs[b].modes;
      simple = a != b && std::find_first_of(modes_a.begin(), modes_a.end(), modes_b.begin(),
                                            modes_b.end()) == modes_a.end();
      const detail::Mode mode = problem.mode_count();
      problem.extents.push_back(
          min_extent + static_cast<std::int64_t>(random() % (max_extent - min_extent + 1)));
      problem.labels.push_back("e" + std::to_string(mode));
      problem.inputs[a].modes.push_back(mode);
      problem.inputs[b].modes.push_back(mode);
    }
    if (!simple) continue;
    for (detail::ProblemOperand& operand : problem.inputs) {
      operand.rank = static_cast<int>(operand.modes.size());
      for (int axis = 0; axis < operand.rank; ++axis) operand.axes.push_back(axis);
    }
    return problem;
  }
}

}  // namespace einstream::testing
