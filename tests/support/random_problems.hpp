// Test support: random einsum expressions with shapes, covering the whole
// notation: diagonals, sums within one operand, outer products, scalars,
// size-1 broadcasting, ellipses of different ranks, implicit and explicit
// outputs, and (rarely) zero extents.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace einstream::testing {

struct RandomProblem {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
};

struct RandomProblemLimits {
  int max_operands = 5;
  int max_rank = 4;
  std::int64_t max_extent = 3;
  bool allow_zero_extents = true;
  // Distinct labels drawn from (at most 8): fewer keeps the reference
  // executor's loop over every mode small when extents are large.
  int max_labels = 8;
};

inline RandomProblem random_problem(std::mt19937& random, const RandomProblemLimits& limits = {}) {
  auto chance = [&](int percent) { return static_cast<int>(random() % 100) < percent; };
  const std::string letters =
      std::string("abcdefgB")
          .substr(0, static_cast<std::size_t>(std::clamp(limits.max_labels, 1, 8)));
  std::vector<std::int64_t> extent_of(letters.size());
  for (auto& extent : extent_of) {
    extent = 1 + static_cast<std::int64_t>(random() % static_cast<unsigned>(limits.max_extent));
    if (limits.allow_zero_extents && chance(2)) extent = 0;
  }
  const bool use_ellipsis = chance(25);
  std::vector<std::int64_t> ellipsis_extents;
  if (use_ellipsis) {
    const int ellipsis_rank = static_cast<int>(random() % 3);
    for (int axis = 0; axis < ellipsis_rank; ++axis) ellipsis_extents.push_back(2 + axis);
  }

  RandomProblem problem;
  std::vector<bool> used(letters.size(), false);
  const int operands = 1 + static_cast<int>(random() % static_cast<unsigned>(limits.max_operands));
  bool any_ellipsis = false;
  for (int operand = 0; operand < operands; ++operand) {
    if (operand) problem.expression += ',';
    std::vector<std::int64_t> shape;
    if (use_ellipsis && chance(60)) {
      any_ellipsis = true;
      problem.expression += "...";
      // Ellipsis ranks differ between operands; dimensions align from the right.
      const std::size_t rank = random() % (ellipsis_extents.size() + 1);
      for (std::size_t axis = ellipsis_extents.size() - rank; axis < ellipsis_extents.size();
           ++axis) {
        shape.push_back(chance(30) ? 1 : ellipsis_extents[axis]);
      }
    }
    const int rank = static_cast<int>(random() % static_cast<unsigned>(limits.max_rank + 1));
    std::string term;
    for (int axis = 0; axis < rank; ++axis) {
      const std::size_t letter = random() % letters.size();
      const bool repeated = term.find(letters[letter]) != std::string::npos;
      term += letters[letter];
      used[letter] = true;
      // Size-1 broadcasting, except on a diagonal whose extents must agree.
      const bool broadcast = !repeated && chance(10);
      shape.push_back(broadcast ? 1 : extent_of[letter]);
    }
    // A repeated label must have one extent on all its axes in this operand.
    for (std::size_t axis = 0; axis < term.size(); ++axis) {
      const std::size_t first = term.find(term[axis]);
      if (first != axis) {
        const std::size_t offset = shape.size() - term.size();
        shape[offset + first] = extent_of[letters.find(term[axis])];
        shape[offset + axis] = shape[offset + first];
      }
    }
    problem.expression += term;
    problem.shapes.push_back(shape);
  }
  if (chance(50)) {
    std::string output;
    if (any_ellipsis && chance(70)) output += "...";
    std::vector<std::size_t> order;
    for (std::size_t letter = 0; letter < letters.size(); ++letter) {
      if (used[letter] && chance(50)) order.push_back(letter);
    }
    std::shuffle(order.begin(), order.end(), random);
    for (std::size_t letter : order) output += letters[letter];
    problem.expression += "->" + output;
  }
  return problem;
}

// A random contraction path over `operands` operands in opt_einsum's format,
// as a caller might give one (Options::given_path): each step names 1 to all
// of the live operands in random order (single-operand steps and steps of
// three or more too); a single operand gets no step or its one step.
// `singles` counts the one-operand steps.
inline std::vector<std::vector<int>> random_path(std::mt19937& random, int operands,
                                                 int* singles = nullptr) {
  std::vector<std::vector<int>> path;
  int live = operands;
  if (singles) *singles = 0;
  while (live > 1 || (operands == 1 && path.empty() && random() % 2)) {
    // Mostly pairs, as the searches make them.
    int take = 2;
    const unsigned pick = random() % 10;
    if (live == 1 || pick == 0) take = 1;
    if (pick == 1 && live > 2)
      take = 3 + static_cast<int>(random() % static_cast<unsigned>(live - 2));
    std::vector<int> positions(static_cast<std::size_t>(live));
    for (int position = 0; position < live; ++position) positions[position] = position;
    std::shuffle(positions.begin(), positions.end(), random);
    positions.resize(static_cast<std::size_t>(take));
    path.push_back(positions);
    if (take == 1 && singles) ++*singles;
    live -= take - 1;
  }
  return path;
}

// Strides for a tensor of `extents`, in elements, in one of the layouts a
// caller can hand the library: C order (returned empty, as the API spells
// it), Fortran order, C order with some axes reversed and every stride
// doubled (negative strides and gaps between elements; safe for outputs), and,
// only when `allow_overlap` (inputs), arbitrary strides in [-4, 4] with zero
// and overlapping addresses.
inline std::vector<std::int64_t> random_strides(std::mt19937& random,
                                                const std::vector<std::int64_t>& extents,
                                                bool allow_overlap) {
  std::vector<std::int64_t> strides(extents.size());
  const unsigned layout = random() % (allow_overlap ? 4u : 3u);
  if (layout == 0) return {};
  if (layout == 1) {
    std::int64_t stride = 1;
    for (std::size_t axis = 0; axis < extents.size(); ++axis) {
      strides[axis] = stride;
      stride *= std::max<std::int64_t>(extents[axis], 1);
    }
    return strides;
  }
  if (layout == 2) {
    std::int64_t stride = 2;
    for (std::size_t axis = extents.size(); axis-- > 0;) {
      strides[axis] = random() % 2 ? -stride : stride;
      stride *= std::max<std::int64_t>(extents[axis], 1);
    }
    return strides;
  }
  for (auto& stride : strides) stride = static_cast<std::int64_t>(random() % 9) - 4;
  return strides;
}

}  // namespace einstream::testing
