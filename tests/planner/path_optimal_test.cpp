#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "tests/support/brute_force_path.hpp"

namespace einstream::detail {
namespace {

// Exactness is asserted without a time budget: a loaded machine must not turn
// a budget stop into a failure. (The budget itself is tested on its own.)
PathSearchOptions unbudgeted(double memory_cap = 0) {
  PathSearchOptions options;
  options.seconds = 0;
  options.memory_cap = memory_cap;
  return options;
}

// A random expression over a small pool of letters, so that operands share
// modes often, sometimes share none (outer products), repeat a letter
// (diagonals), hold modes no one else has (sums inside one operand), or have
// no modes at all (scalars).
struct RandomExpression {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
};

RandomExpression random_expression(std::mt19937& random, int min_operands, int max_operands) {
  const std::string pool = "abcdefghij";
  std::vector<std::int64_t> extent_of(pool.size());
  for (auto& extent : extent_of) extent = 1 + static_cast<std::int64_t>(random() % 8);
  const int operands =
      min_operands +
      static_cast<int>(random() % static_cast<unsigned>(max_operands - min_operands + 1));
  RandomExpression result;
  std::string used;
  for (int operand = 0; operand < operands; ++operand) {
    if (operand) result.expression += ',';
    const int rank = static_cast<int>(random() % 5);
    std::vector<std::int64_t> shape;
    for (int axis = 0; axis < rank; ++axis) {
      const std::size_t letter = random() % pool.size();
      result.expression += pool[letter];
      shape.push_back(extent_of[letter]);
      if (used.find(pool[letter]) == std::string::npos) used += pool[letter];
    }
    result.shapes.push_back(shape);
  }
  // Half explicit outputs (a random subset of the used letters, shuffled),
  // half numpy's implicit output.
  if (random() % 2) {
    std::string output;
    for (char letter : used) {
      if (random() % 2) output += letter;
    }
    std::shuffle(output.begin(), output.end(), random);
    result.expression += "->" + output;
  }
  return result;
}

Problem random_problem(std::mt19937& random, int min_operands, int max_operands) {
  const RandomExpression expression = random_expression(random, min_operands, max_operands);
  SCOPED_TRACE(expression.expression);
  return parse(expression.expression, expression.shapes);
}

// Largest intermediate of a path; the final result (the output) is exempt
// from the memory cap.
double largest_intermediate(const ContractionPath& path) {
  double largest = 0;
  for (std::size_t step = 0; step + 1 < path.steps.size(); ++step) {
    largest = std::max(largest, path.steps[step].result_size);
  }
  return largest;
}

// A second oracle for networks too big to enumerate: a path's cost depends
// only on its contraction tree (an intermediate's modes are those of its
// inputs that the rest of the network or the output needs), so the minimum
// over all orders is a dynamic program over subsets of operands, 3^n work.
// Infinity when the cap forbids every tree. Needs at most 64 modes.
double subset_min_flops(const Problem& problem, double memory_cap = 0) {
  const int count = static_cast<int>(problem.inputs.size());
  const std::uint32_t all = (std::uint32_t{1} << count) - 1;
  std::vector<std::uint64_t> modes_of(all + 1, 0);
  for (std::uint32_t set = 1; set <= all; ++set) {
    const int lowest = __builtin_ctz(set);
    std::uint64_t modes = modes_of[set & (set - 1)];
    for (Mode mode : problem.inputs[lowest].modes) modes |= std::uint64_t{1} << mode;
    modes_of[set] = modes;
  }
  std::uint64_t output = 0;
  for (Mode mode : problem.output) output |= std::uint64_t{1} << mode;
  auto size_of = [&](std::uint64_t modes) {
    double size = 1;
    for (; modes != 0; modes &= modes - 1)
      size *= static_cast<double>(problem.extents[__builtin_ctzll(modes)]);
    return size;
  };
  // The modes an intermediate holding `set` keeps. An input keeps all its
  // modes: a mode only it has is summed by the step that consumes it.
  std::vector<std::uint64_t> kept(all + 1, 0);
  for (std::uint32_t set = 1; set <= all; ++set) {
    const bool input = (set & (set - 1)) == 0;
    kept[set] = input ? modes_of[set] : modes_of[set] & (output | modes_of[all & ~set]);
  }
  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> best(all + 1, infinity);
  for (std::uint32_t set = 1; set <= all; ++set) {
    if ((set & (set - 1)) == 0) {
      best[set] = 0;
      continue;
    }
    if (set != all && memory_cap > 0 && size_of(kept[set]) > memory_cap) continue;
    // Each split once: the part holding the lowest operand is `left`.
    const std::uint32_t lowest = set & (~set + 1);
    for (std::uint32_t left = (set - 1) & set; left != 0; left = (left - 1) & set) {
      if ((left & lowest) == 0) continue;
      const std::uint32_t right = set & ~left;
      const std::uint64_t involved = kept[left] | kept[right];
      const double step = size_of(involved) * (involved != kept[set] ? 2.0 : 1.0);
      best[set] = std::min(best[set], best[left] + best[right] + step);
    }
  }
  return best[all];
}

// A `rows` x `columns` lattice, each site a tensor with one mode per bond to a
// neighbour, every bond of extent `bond`; the whole network is summed.
Problem lattice(int rows, int columns, std::int64_t bond) {
  const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::vector<std::string> terms(rows * columns);
  std::size_t next = 0;
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      const int site = row * columns + column;
      if (column + 1 < columns) {
        terms[site] += letters[next];
        terms[site + 1] += letters[next++];
      }
      if (row + 1 < rows) {
        terms[site] += letters[next];
        terms[site + columns] += letters[next++];
      }
    }
  }
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  for (const std::string& term : terms) {
    expression += (shapes.empty() ? "" : ",") + term;
    shapes.emplace_back(term.size(), bond);
  }
  return parse(expression + "->", shapes);
}

// A random graph: `operands` tensors, `bonds` modes each joining two random
// tensors (with extents 2-16), and a few open modes in the output.
Problem random_graph(std::mt19937& random, int operands, int bonds) {
  const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::vector<std::string> terms(operands);
  std::vector<std::vector<std::int64_t>> shapes(operands);
  std::string output;
  for (int bond = 0; bond < bonds; ++bond) {
    const std::int64_t extent = 2 + static_cast<std::int64_t>(random() % 15);
    const int first = static_cast<int>(random() % operands);
    int second = static_cast<int>(random() % operands);
    if (bond % 6 == 5) second = -1;  // an open mode
    for (int operand : {first, second}) {
      if (operand < 0) continue;
      terms[operand] += letters[bond];
      shapes[operand].push_back(extent);
    }
    if (second < 0) output += letters[bond];
  }
  std::string expression;
  for (int operand = 0; operand < operands; ++operand) {
    expression += (operand ? "," : "") + terms[operand];
  }
  return parse(expression + "->" + output, shapes);
}

TEST(OptimalPath, EqualsBruteForceOnRandomProblems) {
  for (unsigned seed = 0; seed < 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const Problem problem = random_problem(random, 1, 7);
    SCOPED_TRACE(to_string(problem));
    const LinearPath path = optimal_path(problem, unbudgeted());
    ContractionPath cost;
    ASSERT_NO_THROW(cost = evaluate_path(problem, path));
    ASSERT_EQ(cost.flops, testing::brute_force_min_flops(problem));
  }
}

TEST(OptimalPath, SingleOperandIsOneStep) {
  EXPECT_EQ(optimal_path(parse("ii->", {{3, 3}}), unbudgeted()), (LinearPath{{0}}));
  EXPECT_EQ(optimal_path(parse("ij->ji", {{3, 4}}), unbudgeted()), (LinearPath{{0}}));
}

TEST(OptimalPath, TakesAnOuterProductWhenItIsCheaper) {
  // One vector at a time: 2*(2*2*50) + 2*(2*50) = 600. The outer product of
  // the two vectors first: 2*2 + 2*(2*2*50) = 404.
  const Problem problem = parse("a,b,abc->c", {{2}, {2}, {2, 2, 50}});
  const LinearPath path = optimal_path(problem, unbudgeted());
  EXPECT_EQ(evaluate_path(problem, path).flops, testing::brute_force_min_flops(problem));
  EXPECT_EQ(path.front(), (std::vector<int>{0, 1}));
}

TEST(OptimalPath, BeatsGreedyWhereGreedyIsMisled) {
  // Found by scanning seeds: random problems where the greedy path is not
  // optimal, so an optimal_path that returned its greedy seed would fail.
  int greedy_beaten = 0;
  for (unsigned seed = 0; seed < 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const Problem problem = random_problem(random, 4, 7);
    const double optimal = evaluate_path(problem, optimal_path(problem, unbudgeted())).flops;
    const double greedy = evaluate_path(problem, greedy_path(problem)).flops;
    ASSERT_LE(optimal, greedy);
    if (optimal < greedy) ++greedy_beaten;
  }
  EXPECT_GT(greedy_beaten, 10);
}

TEST(OptimalPath, RespectsMemoryCapAndFallsBackWhenNoPathFits) {
  int cap_binds = 0;
  int no_path_fits = 0;
  for (unsigned seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const Problem problem = random_problem(random, 3, 7);
    const ContractionPath uncapped = evaluate_path(problem, optimal_path(problem, unbudgeted()));
    // Caps below the uncapped optimum's largest intermediate, so they bind.
    for (double fraction : {0.5, 0.1}) {
      const PathSearchOptions options =
          unbudgeted(std::max(1.0, largest_intermediate(uncapped) * fraction));
      SCOPED_TRACE("memory cap " + std::to_string(options.memory_cap));
      const ContractionPath capped = evaluate_path(problem, optimal_path(problem, options));
      const double capped_minimum = testing::brute_force_min_flops(problem, options.memory_cap);
      if (capped_minimum < std::numeric_limits<double>::infinity()) {
        EXPECT_LE(largest_intermediate(capped), options.memory_cap);
        EXPECT_EQ(capped.flops, capped_minimum);
        if (capped.flops > uncapped.flops) ++cap_binds;
      } else {
        EXPECT_EQ(capped.flops, uncapped.flops);
        ++no_path_fits;
      }
    }
  }
  EXPECT_GT(cap_binds, 5);
  EXPECT_GT(no_path_fits, 5);
}

TEST(OptimalPath, FallsBackToUncappedOptimumWhenNoPathFits) {
  // Every order makes an intermediate of 100 elements (ik or jl).
  const Problem problem = parse("ij,jk,kl->il", {{10, 10}, {10, 10}, {10, 10}});
  const PathSearchOptions options = unbudgeted(50);
  const ContractionPath path = evaluate_path(problem, optimal_path(problem, options));
  EXPECT_EQ(path.flops, testing::brute_force_min_flops(problem));
  EXPECT_GT(largest_intermediate(path), options.memory_cap);
}

TEST(OptimalPath, HandlesMoreThan64Modes) {
  // Parsed expressions have at most 52 letters; build the Problem directly so
  // that mode ids cross the first 64-bit word of the search's bitsets.
  int checked = 0;
  for (unsigned seed = 0; seed < 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    Problem problem = random_problem(random, 3, 6);
    // Move every mode up by 60 (so modes straddle words 0 and 1) and pad the
    // low ids with unused modes of extent 1.
    constexpr int kShift = 60;
    if (problem.mode_count() + kShift <= 64) continue;
    for (ProblemOperand& operand : problem.inputs) {
      for (Mode& mode : operand.modes) mode += kShift;
    }
    for (Mode& mode : problem.output) mode += kShift;
    problem.extents.insert(problem.extents.begin(), kShift, 1);
    problem.labels.insert(problem.labels.begin(), kShift, "unused");
    ++checked;
    const ContractionPath path = evaluate_path(problem, optimal_path(problem, unbudgeted()));
    EXPECT_EQ(path.flops, testing::brute_force_min_flops(problem));
  }
  EXPECT_GT(checked, 20);
}

// How long these take is BM_OptimalTwelveOperands's business
// (bench/planning_bench.cpp).
TEST(OptimalPath, TwelveOperandNetworksAreExact) {
  std::mt19937 random(2024);
  std::vector<std::pair<std::string, Problem>> networks;
  networks.emplace_back("3x3 lattice, bond 4", lattice(3, 3, 4));
  networks.emplace_back("3x4 lattice, bond 4", lattice(3, 4, 4));
  networks.emplace_back("2x6 lattice, bond 3", lattice(2, 6, 3));
  {
    std::string ring;
    std::vector<std::vector<std::int64_t>> shapes;
    auto extent = [](int mode) { return std::int64_t{2} + mode % 7; };
    for (int site = 0; site < 12; ++site) {
      const int next = (site + 1) % 12;
      ring += std::string(ring.empty() ? "" : ",") + static_cast<char>('a' + site) +
              static_cast<char>('a' + next);
      shapes.push_back({extent(site), extent(next)});
    }
    networks.emplace_back("ring of 12", parse(ring + "->", shapes));
  }
  {
    auto extent = [](int mode) { return std::int64_t{2} + mode * 5 % 15; };
    std::string chain = "a";
    std::vector<std::vector<std::int64_t>> shapes{{extent(0)}};
    for (int site = 1; site < 11; ++site) {
      chain += std::string(",") + static_cast<char>('a' + site - 1) + static_cast<char>('a' + site);
      shapes.push_back({extent(site - 1), extent(site)});
    }
    networks.emplace_back("chain of 11", parse(chain + "->", shapes));
  }
  for (int graph = 0; graph < 4; ++graph) {
    networks.emplace_back("random graph " + std::to_string(graph),
                          random_graph(random, 10 + graph % 3, 18));
  }
  for (const auto& [name, problem] : networks) {
    SCOPED_TRACE(name + ": " + to_string(problem));
    const LinearPath path = optimal_path(problem, unbudgeted());
    ContractionPath cost;
    ASSERT_NO_THROW(cost = evaluate_path(problem, path));
    EXPECT_LE(cost.flops, evaluate_path(problem, greedy_path(problem)).flops);
    EXPECT_EQ(cost.flops, subset_min_flops(problem));
  }
}

TEST(OptimalPath, NetworksUnderCapMatchSubsetOracle) {
  // For each network, caps below the uncapped optimum's largest intermediate
  // down to the smallest feasible one: the capped search is exact under the
  // cap. At least one cap must bind (cost more than the uncapped optimum).
  std::mt19937 random(7);
  std::vector<Problem> networks{lattice(3, 4, 4)};
  for (int graph = 0; graph < 40; ++graph)
    networks.push_back(random_graph(random, 5 + graph % 5, 8 + graph % 7));
  int binding = 0;
  for (const Problem& problem : networks) {
    SCOPED_TRACE(to_string(problem));
    const ContractionPath uncapped = evaluate_path(problem, optimal_path(problem, unbudgeted()));
    for (double cap = largest_intermediate(uncapped) * 0.9; cap >= 1; cap *= 0.7) {
      SCOPED_TRACE("cap " + std::to_string(cap));
      const double oracle = subset_min_flops(problem, cap);
      const PathSearchOptions options = unbudgeted(cap);
      const ContractionPath capped = evaluate_path(problem, optimal_path(problem, options));
      if (!(oracle < 1e300)) {
        // Nothing fits: the cap is ignored, as documented.
        EXPECT_EQ(capped.flops, uncapped.flops);
        break;
      }
      EXPECT_LE(largest_intermediate(capped), cap);
      EXPECT_EQ(capped.flops, oracle);
      if (oracle > uncapped.flops) ++binding;
    }
  }
  std::printf("caps that changed the optimum: %d\n", binding);
  EXPECT_GT(binding, 0);
}

}  // namespace
}  // namespace einstream::detail
