#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
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

constexpr double kInfinity = std::numeric_limits<double>::infinity();

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

std::vector<std::vector<Mode>> unique_operand_modes(const Problem& problem) {
  std::vector<std::vector<Mode>> operands;
  for (const ProblemOperand& input : problem.inputs) {
    std::vector<Mode> modes;
    for (Mode mode : input.modes) {
      if (!contains(modes, mode)) modes.push_back(mode);
    }
    operands.push_back(modes);
  }
  return operands;
}

bool shares_mode(const std::vector<Mode>& a, const std::vector<Mode>& b) {
  return std::any_of(a.begin(), a.end(), [&](Mode mode) { return contains(b, mode); });
}

bool is_connected(const Problem& problem) {
  const auto operands = unique_operand_modes(problem);
  std::vector<bool> reached(operands.size(), false);
  std::vector<std::size_t> frontier{0};
  reached[0] = true;
  while (!frontier.empty()) {
    const std::size_t at = frontier.back();
    frontier.pop_back();
    for (std::size_t other = 0; other < operands.size(); ++other) {
      if (!reached[other] && shares_mode(operands[at], operands[other])) {
        reached[other] = true;
        frontier.push_back(other);
      }
    }
  }
  return std::all_of(reached.begin(), reached.end(), [](bool r) { return r; });
}

// The oracle for dp's own search space: every order without outer products.
double min_flops_without_outer(const Problem& problem, double memory_cap = 0) {
  return testing::brute_force_min_flops(problem, memory_cap, /*allow_outer=*/false);
}

double dp_flops(const Problem& problem, double memory_cap = 0) {
  const PathSearchOptions options = unbudgeted(memory_cap);
  return evaluate_path(problem, dp_path(problem, options)).flops;
}

double greedy_flops(const Problem& problem) {
  return evaluate_path(problem, greedy_path(problem)).flops;
}

// Largest intermediate of a path, the final output excluded.
double largest_intermediate(const ContractionPath& path) {
  double largest = 0;
  for (std::size_t k = 0; k + 1 < path.steps.size(); ++k) {
    largest = std::max(largest, path.steps[k].result_size);
  }
  return largest;
}

// A Problem built directly from integer modes (any number of them).
Problem make_problem(const std::vector<std::vector<Mode>>& operands,
                     const std::vector<Mode>& output, const std::vector<std::int64_t>& extents) {
  Problem problem;
  for (const auto& modes : operands) {
    ProblemOperand input;
    input.modes = modes;
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      input.axes.push_back(static_cast<int>(axis));
    }
    input.rank = static_cast<int>(modes.size());
    problem.inputs.push_back(input);
  }
  problem.output = output;
  problem.extents = extents;
  for (std::size_t mode = 0; mode < extents.size(); ++mode) {
    problem.labels.push_back("m" + std::to_string(mode));
  }
  return problem;
}

// A random connected einsum expression of 2-7 operands over a few letters,
// extents 1-8, occasionally with a diagonal, parsed into a Problem.
Problem random_connected_problem(std::mt19937& random, std::string& expression) {
  const std::string letters = "abcdefghi";
  while (true) {
    const int operands = 2 + static_cast<int>(random() % 6);
    std::vector<std::int64_t> extent_of(letters.size());
    for (auto& extent : extent_of) extent = 1 + static_cast<std::int64_t>(random() % 8);
    expression.clear();
    std::vector<std::vector<std::int64_t>> shapes;
    std::string used;
    for (int operand = 0; operand < operands; ++operand) {
      if (operand) expression += ',';
      const int rank = 1 + static_cast<int>(random() % 3);
      std::vector<std::int64_t> shape;
      for (int axis = 0; axis < rank; ++axis) {
        const std::size_t letter = random() % letters.size();
        expression += letters[letter];
        shape.push_back(extent_of[letter]);
        if (used.find(letters[letter]) == std::string::npos) used += letters[letter];
      }
      shapes.push_back(shape);
    }
    expression += "->";
    for (char letter : used) {
      if (random() % 4 == 0) expression += letter;
    }
    const Problem problem = parse(expression, shapes);
    if (is_connected(problem)) return problem;
  }
}

// A chain (or ring) of matrices, each with an optional free mode kept in the
// output; bonds and free modes have extents 2-8.
Problem random_chain(std::mt19937& random, int operands, bool ring) {
  const int bonds = ring ? operands : operands - 1;
  std::vector<std::int64_t> extents;
  for (int bond = 0; bond < bonds; ++bond) extents.push_back(2 + random() % 7);
  std::vector<std::vector<Mode>> modes(operands);
  std::vector<Mode> output;
  for (int operand = 0; operand < operands; ++operand) {
    if (operand > 0 || ring) modes[operand].push_back((operand + bonds - 1) % bonds);
    if (operand < bonds) modes[operand].push_back(operand);
    if (random() % 3 == 0) {
      const Mode free = static_cast<Mode>(extents.size());
      extents.push_back(2 + random() % 7);
      modes[operand].push_back(free);
      output.push_back(free);
    }
  }
  return make_problem(modes, output, extents);
}

// A random tree of operands (each joined to an earlier one by its own bond;
// a star when every parent is operand 0), free modes as in random_chain.
Problem random_tree(std::mt19937& random, int operands, bool star) {
  std::vector<std::int64_t> extents;
  std::vector<std::vector<Mode>> modes(operands);
  std::vector<Mode> output;
  for (int operand = 1; operand < operands; ++operand) {
    const int parent = star ? 0 : static_cast<int>(random() % operand);
    const Mode bond = static_cast<Mode>(extents.size());
    extents.push_back(2 + random() % 7);
    modes[parent].push_back(bond);
    modes[operand].push_back(bond);
  }
  for (int operand = 0; operand < operands; ++operand) {
    if (random() % 3 == 0) {
      const Mode free = static_cast<Mode>(extents.size());
      extents.push_back(2 + random() % 7);
      modes[operand].push_back(free);
      output.push_back(free);
    }
  }
  return make_problem(modes, output, extents);
}

// A closed rows x columns square lattice, every bond of extent `bond`.
Problem lattice(int rows, int columns, std::int64_t bond) {
  std::vector<std::vector<Mode>> modes(rows * columns);
  std::vector<std::int64_t> extents;
  const auto connect = [&](int a, int b) {
    const Mode mode = static_cast<Mode>(extents.size());
    extents.push_back(bond);
    modes[a].push_back(mode);
    modes[b].push_back(mode);
  };
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      const int site = row * columns + column;
      if (column + 1 < columns) connect(site, site + 1);
      if (row + 1 < rows) connect(site, site + columns);
    }
  }
  return make_problem(modes, {}, extents);
}

// Checks dp against the oracles on a connected problem. Returns whether the
// unrestricted optimum is cheaper, i.e. needs an outer product.
bool check_connected(const Problem& problem) {
  const double dp = dp_flops(problem);
  const double exhaustive = testing::brute_force_min_flops(problem);
  EXPECT_EQ(dp, min_flops_without_outer(problem)) << problem;
  EXPECT_GE(dp, exhaustive) << problem;
  EXPECT_LE(dp, greedy_flops(problem)) << problem;
  return dp > exhaustive;
}

TEST(DpPath, SingleOperandIsOneStep) {
  EXPECT_EQ(dp_path(parse("ii->", {{3, 3}}), unbudgeted()), (LinearPath{{0}}));
  EXPECT_EQ(dp_path(parse("ij->ji", {{3, 4}}), unbudgeted()), (LinearPath{{0}}));
}

TEST(DpPath, AvoidsTheExpensiveOrderOfAMatrixChain) {
  // (ij,jk) first forms a 100x100 matrix; dp contracts jk,k first.
  const Problem problem = parse("ij,jk,k->i", {{100, 100}, {100, 100}, {100}});
  EXPECT_EQ(dp_path(problem, unbudgeted()), (LinearPath{{1, 2}, {0, 1}}));
  EXPECT_EQ(dp_flops(problem), 40000);
}

// Chains and rings: dp is exact over paths without outer products. With free
// output modes hanging off the chain, an outer product of two end vectors
// can pay off (e.g. [m0],[m0 m1 m4],[m1 m2],[m2 m3],[m3]->[m4]); that is
// outside dp's search space, as in opt_einsum, and dp still ties or beats
// greedy there (checked in check_connected). Most chains need none.
TEST(DpPath, MatchesExhaustiveSearchOnChainsAndRings) {
  int outer_product_optima = 0;
  for (unsigned seed = 0; seed < 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const int operands = 2 + static_cast<int>(random() % 6);
    const bool ring = operands > 2 && random() % 2;
    const Problem problem = random_chain(random, operands, ring);
    if (check_connected(problem)) ++outer_product_optima;
  }
  std::printf("chains and rings whose optimum needs an outer product: %d of 150\n",
              outer_product_optima);
  EXPECT_LT(outer_product_optima, 150 / 4);
}

// Trees and stars: dp is exact over paths without outer products. A star's
// leaves can be cheaper to join by an outer product first (small bonds to a
// large centre); that is outside dp's search space, and dp then still beats
// or ties greedy (checked in check_connected).
TEST(DpPath, IsExactWithoutOuterProductsOnTreesAndStars) {
  int outer_product_optima = 0;
  for (unsigned seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const int operands = 2 + static_cast<int>(random() % 6);
    const Problem problem = random_tree(random, operands, seed % 2 == 0);
    if (check_connected(problem)) ++outer_product_optima;
  }
  std::printf("trees and stars whose optimum needs an outer product: %d of 200\n",
              outer_product_optima);
}

// Random connected problems (extents 1-8, diagonals, summed and kept modes):
// dp equals the exhaustive search without outer products, every time. Where
// the exhaustive optimum over all orders is lower, it uses an outer product
// (documented exception, counted); such cases are rare.
TEST(DpPath, IsExactWithoutOuterProductsOnRandomConnectedProblems) {
  const int cases = 400;
  int outer_product_optima = 0;
  for (unsigned seed = 0; seed < static_cast<unsigned>(cases); ++seed) {
    std::mt19937 random(1000 + seed);
    std::string expression;
    const Problem problem = random_connected_problem(random, expression);
    SCOPED_TRACE("seed " + std::to_string(1000 + seed) + ": " + expression);
    if (check_connected(problem)) ++outer_product_optima;
  }
  std::printf("random problems whose optimum needs an outer product: %d of %d\n",
              outer_product_optima, cases);
  EXPECT_LT(outer_product_optima, cases / 10);
}

TEST(DpPath, DisconnectedProblemsAreJoinedByOuterProducts) {
  struct Case {
    const char* expression;
    std::vector<std::vector<std::int64_t>> shapes;
    // Whether joining the components admits no better order, so that dp is
    // optimal over all orders.
    bool optimal;
  };
  const std::vector<Case> cases = {
      {"ab,cd->abcd", {{2, 3}, {4, 5}}, true},
      {"ij,jk,lm->ilkm", {{2, 3}, {3, 4}, {5, 6}}, true},
      {"ij,k->k", {{3, 4}, {5}}, true},
      {",ij,jk->ik", {{}, {2, 3}, {3, 4}}, false},
      {"ab,c,d->abcd", {{2, 3}, {4}, {5}}, true},
      {"ij,jk,kl,mn,no,p->ilmop", {{2, 3}, {3, 4}, {4, 2}, {3, 3}, {3, 2}, {6}}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expression);
    const Problem problem = parse(c.expression, c.shapes);
    const ContractionPath path = evaluate_path(problem, dp_path(problem, unbudgeted()));
    EXPECT_EQ(path.steps.size(), problem.inputs.size() - 1);
    EXPECT_EQ(path.steps.back().result, problem.output);
    const double exhaustive = testing::brute_force_min_flops(problem);
    EXPECT_GE(path.flops, exhaustive);
    if (c.optimal) {
      EXPECT_EQ(path.flops, exhaustive);
    }
    EXPECT_LE(path.flops, greedy_flops(problem));
  }
}

// With a memory cap, dp is the cheapest path without outer products whose
// intermediates fit; where none fits, it falls back to the uncapped optimum.
TEST(DpPath, RespectsTheMemoryCap) {
  int capped_differently = 0;
  int infeasible = 0;
  for (unsigned seed = 0; seed < 300; ++seed) {
    std::mt19937 random(5000 + seed);
    std::string expression;
    const Problem problem = random_connected_problem(random, expression);
    SCOPED_TRACE("seed " + std::to_string(5000 + seed) + ": " + expression);
    const ContractionPath free = evaluate_path(problem, dp_path(problem, unbudgeted()));
    const double largest = largest_intermediate(free);
    if (largest < 2) continue;
    // A cap below what the unconstrained optimum needs.
    const double cap = 1 + static_cast<double>(random() % static_cast<unsigned>(largest - 1));
    const PathSearchOptions options = unbudgeted(cap);
    const ContractionPath capped = evaluate_path(problem, dp_path(problem, options));
    const double expected = min_flops_without_outer(problem, cap);
    if (expected == kInfinity) {
      ++infeasible;
      EXPECT_EQ(capped.flops, free.flops);
    } else {
      EXPECT_LE(largest_intermediate(capped), cap);
      EXPECT_EQ(capped.flops, expected);
      if (capped.flops != free.flops) ++capped_differently;
    }
  }
  std::printf("memory cap changed the path in %d cases, was infeasible in %d\n", capped_differently,
              infeasible);
  // The cases must exercise both branches for the test to mean anything.
  EXPECT_GT(capped_differently, 10);
  EXPECT_GT(infeasible, 0);
}

// Networks of 30-40 operands, built directly as Problems (more modes than
// letters): dp finishes and never loses to greedy. How long it takes is
// BM_DpLargeSparse's business (bench/planning_bench.cpp).
TEST(DpPath, LargeSparseNetworksFinishAndBeatGreedy) {
  struct Case {
    std::string name;
    Problem problem;
  };
  std::mt19937 random(7);
  std::vector<Case> cases = {
      {"5x6 lattice, bond 2", lattice(5, 6, 2)},   {"5x6 lattice, bond 4", lattice(5, 6, 4)},
      {"5x6 lattice, bond 8", lattice(5, 6, 8)},   {"6x6 lattice, bond 3", lattice(6, 6, 3)},
      {"40-ring", random_chain(random, 40, true)}, {"40-chain", random_chain(random, 40, false)},
      {"40-tree", random_tree(random, 40, false)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    bool stopped = true;
    const LinearPath path = dp_path(c.problem, unbudgeted(), &stopped);
    EXPECT_FALSE(stopped);
    const double dp = evaluate_path(c.problem, path).flops;
    const double greedy = greedy_flops(c.problem);
    std::printf("%-22s %2zu operands: dp %.4g flops, greedy %.4g\n", c.name.c_str(),
                c.problem.inputs.size(), dp, greedy);
    EXPECT_LE(dp, greedy);
  }
}

TEST(DpPath, RejectsComponentsOverSixtyFourOperands) {
  std::mt19937 random(3);
  EXPECT_THROW(dp_path(random_chain(random, 65, false), unbudgeted()), Error);
  // 65 operands in two components is fine.
  Problem two_chains = random_chain(random, 40, false);
  const Problem second = random_chain(random, 25, false);
  const Mode offset = two_chains.mode_count();
  for (ProblemOperand input : second.inputs) {
    for (Mode& mode : input.modes) mode += offset;
    two_chains.inputs.push_back(input);
  }
  for (Mode mode : second.output) two_chains.output.push_back(mode + offset);
  two_chains.extents.insert(two_chains.extents.end(), second.extents.begin(), second.extents.end());
  two_chains.labels.insert(two_chains.labels.end(), second.labels.begin(), second.labels.end());
  const ContractionPath path = evaluate_path(two_chains, dp_path(two_chains, unbudgeted()));
  EXPECT_EQ(path.steps.back().result, two_chains.output);
}

}  // namespace
}  // namespace einstream::detail
