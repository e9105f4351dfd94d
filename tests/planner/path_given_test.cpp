// A caller's contraction path (Options::given_path): checked in the caller's
// step numbering, split into pairs, costed as the search's paths are.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "einstream/error.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "tests/support/random_problems.hpp"

namespace einstream::detail {
namespace {

// The oracle the cheapest orders are held to: `given` (valid) with each
// step of three or more operands split left to right, the first two, then
// the running result (last) with each next one.
LinearPath left_to_right(const LinearPath& given, int operands) {
  LinearPath pairs;
  int live = operands;
  for (std::vector<int> step : given) {
    std::sort(step.begin(), step.end());
    if (step.size() <= 2) {
      pairs.push_back(step);
    } else {
      pairs.push_back({step[0], step[1]});
      int remaining = live - 1;
      for (std::size_t next = 2; next < step.size(); ++next) {
        pairs.push_back({step[next] - static_cast<int>(next), remaining - 1});
        --remaining;
      }
    }
    live -= static_cast<int>(step.size()) - 1;
  }
  return pairs;
}

std::string error_of(const LinearPath& given, int operands) {
  try {
    check_given_path(given, operands);
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an Error";
  return {};
}

// Steps of one or two operands are taken as given, positions sorted.
TEST(GivenPath, PairsPassThroughInAscendingOrder) {
  const Problem problem = parse("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}});
  EXPECT_EQ(given_path(problem, {{2, 0}, {1, 0}}).linear(), (LinearPath{{0, 2}, {0, 1}}));
  const Problem pair = parse("ab,bc->ac", {{2, 3}, {3, 4}});
  EXPECT_EQ(given_path(pair, {{0}, {1, 0}}).linear(), (LinearPath{{0}, {0, 1}}));
}

TEST(GivenPath, OneOperandTakesNoStepOrItsOne) {
  EXPECT_NO_THROW(check_given_path({}, 1));
  EXPECT_NO_THROW(check_given_path({{0}}, 1));
  const Problem trace = parse("ii->", {{3, 3}});
  EXPECT_EQ(given_path(trace, {}).linear(), (LinearPath{{0}}));
  EXPECT_EQ(given_path(trace, {{0}}).linear(), (LinearPath{{0}}));
}

// The oracle itself: (0, 2, 3) of four operands is (0, 2), then operand 3
// (now at 1) with that result (at 2); then the two left.
TEST(GivenPath, TheLeftToRightOracleSplitsAsByHand) {
  EXPECT_EQ(left_to_right({{3, 0, 2}, {0, 1}}, 4), (LinearPath{{0, 2}, {1, 2}, {0, 1}}));
  EXPECT_EQ(left_to_right({{0, 1, 2, 3, 4}}, 5), (LinearPath{{0, 1}, {0, 3}, {0, 2}, {0, 1}}));
}

// A step of k operands becomes the cheapest order of pairs over them: in
// ab,cd,bc->ad, (ab, bc) then cd, not the outer product ab.cd that left to
// right would form first.
TEST(GivenPath, StepsOfSeveralOperandsTakeTheirCheapestOrder) {
  const Problem problem = parse("ab,cd,bc->ad", {{30, 30}, {30, 30}, {30, 30}});
  const ContractionPath path = given_path(problem, {{2, 1, 0}});
  EXPECT_EQ(path.linear(), (LinearPath{{0, 2}, {0, 1}}));
  EXPECT_LT(path.flops, evaluate_path(problem, left_to_right({{0, 1, 2}}, 3)).flops);
  EXPECT_EQ(path.steps.back().result, problem.output);
}

// Beyond the exact search's 10 operands a step is ordered greedily: a ring
// of 14 matrices given as one step (in reverse) becomes a valid pairwise
// path to the scalar, no dearer than left to right.
TEST(GivenPath, LongStepsAreOrderedGreedily) {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  constexpr int kTensors = 14;
  for (int k = 0; k < kTensors; ++k) {
    if (k) expression += ',';
    expression += static_cast<char>('a' + k);
    expression += static_cast<char>('a' + (k + 1) % kTensors);
    shapes.push_back({8, 8});
  }
  expression += "->";
  const Problem problem = parse(expression, shapes);
  LinearPath given(1);
  for (int k = kTensors - 1; k >= 0; --k) given[0].push_back(k);
  const ContractionPath path = given_path(problem, given);
  EXPECT_EQ(path.steps.size(), static_cast<std::size_t>(kTensors - 1));
  EXPECT_TRUE(path.steps.back().result.empty());
  EXPECT_LE(path.flops, evaluate_path(problem, left_to_right(given, kTensors)).flops);
}

// The operands a step names are contracted together whatever else the path
// does: the chain's (b, d, e) step, then the rest, costs no more than the
// same steps left to right.
TEST(GivenPath, SplitStepsContractTheOperandsTheyName) {
  const Problem problem = parse("ab,bc,cd,de,ef->af", {{2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}});
  const LinearPath given = {{4, 1, 3}, {0, 1, 2}};
  const ContractionPath split = given_path(problem, given);
  EXPECT_EQ(split.steps.size(), 4u);
  EXPECT_LE(split.flops, evaluate_path(problem, left_to_right(given, 5)).flops);
  EXPECT_EQ(split.steps.back().result, problem.output);
  // Left to right, by hand: (1, 3) -> [ab, cd, ef, bc.de]; (2, 3) ->
  // [ab, cd, bcdef]; (0, 1, 2) -> (0, 1) -> [bcdef, abcd] -> (0, 1).
  EXPECT_EQ(left_to_right(given, 5), (LinearPath{{1, 3}, {2, 3}, {0, 1}, {0, 1}}));
}

// Random paths over n operands, some steps of one or of three or more:
// every one splits into a valid pairwise path of n - 1 + (single steps)
// steps that evaluate_path accepts.
TEST(GivenPath, RandomPathsSplitIntoValidPairwisePaths) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int operands = 1 + static_cast<int>(random() % 7);
    std::string expression;
    std::vector<std::vector<std::int64_t>> shapes;
    for (int operand = 0; operand < operands; ++operand) {
      if (operand) expression += ',';
      expression += static_cast<char>('a' + operand);
      expression += 'z';
      shapes.push_back({2, 3});
    }
    expression += "->z";
    const Problem problem = parse(expression, shapes);
    int singles = 0;
    const LinearPath given = testing::random_path(random, operands, &singles);
    SCOPED_TRACE(expression + " trial " + std::to_string(trial));
    EXPECT_NO_THROW(check_given_path(given, operands));
    const LinearPath pairs = left_to_right(given, operands);
    EXPECT_EQ(pairs.size(), static_cast<std::size_t>(operands - 1 + singles));
    const ContractionPath path = given_path(problem, given);
    // One operand and no step: its one reduction.
    EXPECT_EQ(path.steps.size(), std::max<std::size_t>(pairs.size(), 1));
    EXPECT_EQ(path.steps.back().result, problem.output);
    // The cheapest orders within steps cost no more than left to right.
    if (singles == 0 && !pairs.empty()) {
      EXPECT_LE(path.flops, evaluate_path(problem, pairs).flops);
    }
  }
}

TEST(GivenPath, ErrorsNameTheStepAndWhatWasExpected) {
  EXPECT_NE(error_of({{0, 1}, {}}, 3).find("given_path step 1 names no operand"),
            std::string::npos);
  const std::string range = error_of({{0, 1}, {0, 2}}, 3);
  EXPECT_NE(range.find("given_path step 1 names operand 2, but positions run from 0 to 1"),
            std::string::npos)
      << range;
  EXPECT_NE(range.find("2 operands remain"), std::string::npos) << range;
  EXPECT_NE(error_of({{-1, 0}}, 2).find("names operand -1"), std::string::npos);
  EXPECT_NE(error_of({{1, 1}}, 2).find("given_path step 0 names operand 1 twice"),
            std::string::npos);
  const std::string short_path = error_of({{0, 1}}, 4);
  EXPECT_NE(short_path.find("given_path leaves 3 operands uncontracted"), std::string::npos)
      << short_path;
  EXPECT_NE(short_path.find("4 operands take 3 pairwise steps"), std::string::npos) << short_path;
  const std::string long_path = error_of({{0, 1}, {0}}, 2);
  EXPECT_NE(long_path.find("given_path step 1 comes after"), std::string::npos) << long_path;
  EXPECT_NE(error_of({}, 2).find("given_path leaves 2 operands"), std::string::npos);
}

}  // namespace
}  // namespace einstream::detail
