// einstream's planner against opt_einsum on the fixed problem list in
// tests/data/opt_einsum_paths.json (made by bench/opt_einsum_reference.py):
// the cost model must agree with opt_einsum's exactly, and einstream's path
// must cost no more than opt_einsum's best of optimal/dp/greedy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "planner/parse.hpp"
#include "planner/path.hpp"

namespace einstream::detail {
namespace {

nlohmann::json load_cases() {
  const std::string path = std::string(EINSTREAM_TEST_DATA_DIR) + "/opt_einsum_paths.json";
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot open " << path;
  return nlohmann::json::parse(file)["cases"];
}

Problem problem_of(const nlohmann::json& c) {
  return parse(c["expression"].get<std::string>(),
               c["shapes"].get<std::vector<std::vector<std::int64_t>>>());
}

const char* const kAlgorithms[] = {"optimal", "dp", "greedy"};

TEST(OptEinsum, CostModelAgreesOnOptEinsumsOwnPaths) {
  const nlohmann::json cases = load_cases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    const Problem problem = problem_of(c);
    for (const char* algorithm : kAlgorithms) {
      if (!c.contains(algorithm)) continue;
      SCOPED_TRACE(c["name"].get<std::string>() + " / opt_einsum " + algorithm);
      const auto& theirs = c[algorithm];
      const ContractionPath path = evaluate_path(problem, theirs["path"].get<LinearPath>());
      EXPECT_EQ(path.flops, theirs["flops"].get<double>());
      EXPECT_EQ(path.largest_intermediate, theirs["largest_intermediate"].get<double>());
    }
  }
}

TEST(OptEinsum, AutoPathCostsNoMoreThanOptEinsumsBest) {
  const nlohmann::json cases = load_cases();
  int equal = 0;
  int better = 0;
  int worse = 0;
  double worst_ratio = 0;
  std::printf("%-34s %14s %14s %8s\n", "problem", "opt_einsum", "einstream", "ratio");
  for (const auto& c : cases) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    const Problem problem = problem_of(c);
    double best = std::numeric_limits<double>::infinity();
    for (const char* algorithm : kAlgorithms) {
      if (c.contains(algorithm)) best = std::min(best, c[algorithm]["flops"].get<double>());
    }
    // A budget no search here needs (dp takes seconds on the 30-operand
    // network): the assertion is about the paths auto can find, not about
    // how many of them fit in the default budget.
    PathSearchOptions generous;
    generous.seconds = 600;
    const ContractionPath path = find_path(problem, PathAlgorithm::automatic, generous);
    EXPECT_FALSE(path.stopped_at_budget());
    const double ours = path.flops;
    const double ratio = ours / best;
    std::printf("%-34s %14.4e %14.4e %8.4f\n", name.c_str(), best, ours, ratio);
    EXPECT_LE(ours, best);
    equal += ours == best;
    better += ours < best;
    worse += ours > best;
    worst_ratio = std::max(worst_ratio, ratio);
  }
  std::printf("equal %d, better %d, worse %d, worst ratio %.4f\n", equal, better, worse,
              worst_ratio);
}

// hyper on its own, with its default trial count and no time limit (so the
// result is the same on every machine), must also match opt_einsum's best.
TEST(OptEinsum, HyperPathCostsNoMoreThanOptEinsumsBest) {
  const nlohmann::json cases = load_cases();
  int better = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    const Problem problem = problem_of(c);
    double best = std::numeric_limits<double>::infinity();
    for (const char* algorithm : kAlgorithms) {
      if (c.contains(algorithm)) best = std::min(best, c[algorithm]["flops"].get<double>());
    }
    PathSearchOptions unlimited;
    unlimited.seconds = 0;
    const ContractionPath path = find_path(problem, PathAlgorithm::hyper, unlimited);
    EXPECT_FALSE(path.stopped_at_budget());
    EXPECT_LE(path.flops, best);
    better += path.flops < best;
  }
  std::printf("hyper: cheaper than opt_einsum's best on %d of %zu cases\n", better, cases.size());
}

}  // namespace
}  // namespace einstream::detail
