// Every notation rule of the parser, evaluated end to end through the public
// one-shot einsum() on the host backend, against hand-computed values.
#include <gtest/gtest.h>

#include <vector>

#include "einstream/einstream.hpp"

namespace einstream {
namespace {

using Values = std::vector<double>;

// einsum over f64 inputs given as (values, shape) pairs; returns the output.
Values evaluate(const std::string& expression,
                const std::vector<std::pair<Values, std::vector<std::int64_t>>>& operands) {
  std::vector<TensorDesc> descs;
  std::vector<const void*> pointers;
  for (const auto& operand : operands) {
    descs.emplace_back(DataType::f64, operand.second);
    pointers.push_back(operand.first.data());
  }
  Plan plan(expression, descs);
  Values output(static_cast<std::size_t>(plan.output().element_count()), -999.0);
  plan.execute(pointers, output.data());
  return output;
}

std::vector<std::int64_t> output_shape(const std::string& expression,
                                       const std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.emplace_back(DataType::f64, shape);
  return Plan(expression, descs).output().extents;
}

const Values kA = {1, 2, 3, 4, 5, 6};  // 2x3
const Values kB = {1, 0, 2, 1, 0, 3};  // 3x2

TEST(Notation, ExplicitOutputMatrixProduct) {
  // [[1,2,3],[4,5,6]] x [[1,0],[2,1],[0,3]] = [[5,11],[14,23]]
  EXPECT_EQ(evaluate("ij,jk->ik", {{kA, {2, 3}}, {kB, {3, 2}}}), (Values{5, 11, 14, 23}));
}

TEST(Notation, ImplicitOutputKeepsLabelsSeenOnceInAlphabeticalOrder) {
  // "ij,jk" -> "ik"; "ba" -> "ab" (a transpose).
  EXPECT_EQ(evaluate("ij,jk", {{kA, {2, 3}}, {kB, {3, 2}}}), (Values{5, 11, 14, 23}));
  EXPECT_EQ(evaluate("ba", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
  // Upper case sorts before lower case: "aB" -> "Ba".
  EXPECT_EQ(evaluate("aB", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
}

TEST(Notation, WhitespaceIsIgnored) {
  EXPECT_EQ(evaluate(" i j , j k -> i k ", {{kA, {2, 3}}, {kB, {3, 2}}}), (Values{5, 11, 14, 23}));
}

TEST(Notation, UpperAndLowerCaseAreDistinctLabels) {
  // "iI->Ii" is a transpose; "iI" and "ii" differ.
  EXPECT_EQ(evaluate("iI->Ii", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
}

TEST(Notation, EllipsisBroadcastsSizeOneAndDifferentRanks) {
  // "...i,...i->...": (2,1,2) against (3,2): a batched dot with broadcasting.
  const Values x = {1, 2, 3, 4};        // (2,1,2)
  const Values y = {1, 1, 0, 1, 2, 0};  // (3,2)
  EXPECT_EQ(output_shape("...i,...i->...", {{2, 1, 2}, {3, 2}}), (std::vector<std::int64_t>{2, 3}));
  // out[a][b] = sum_i x[a][0][i] y[b][i]
  EXPECT_EQ(evaluate("...i,...i->...", {{x, {2, 1, 2}}, {y, {3, 2}}}), (Values{3, 2, 2, 7, 4, 6}));
  // Implicit output puts the ellipsis dimensions first.
  EXPECT_EQ(evaluate("i...", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
}

TEST(Notation, OutputEllipsisWithoutAnInputEllipsisIsEmpty) {
  // numpy: np.einsum('ij->...ji', a) is a.T.
  EXPECT_EQ(output_shape("ij->...ji", {{2, 3}}), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(evaluate("ij->...ji", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(evaluate("ij,jk->i...k", {{kA, {2, 3}}, {kB, {3, 2}}}), (Values{5, 11, 14, 23}));
}

TEST(Notation, LabelsBroadcastFromSizeOne) {
  // "ij,ij->ij" with (2,1) against (2,3): column broadcast.
  const Values column = {10, 100};
  EXPECT_EQ(evaluate("ij,ij->ij", {{column, {2, 1}}, {kA, {2, 3}}}),
            (Values{10, 20, 30, 400, 500, 600}));
}

TEST(Notation, ExplicitOutputWithoutEllipsisSumsIt) {
  EXPECT_EQ(evaluate("...j->j", {{kA, {2, 3}}}), (Values{5, 7, 9}));
}

TEST(Notation, RepeatedLabelTakesTheDiagonal) {
  const Values square = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(evaluate("ii->i", {{square, {3, 3}}}), (Values{1, 5, 9}));
  EXPECT_EQ(evaluate("ii", {{square, {3, 3}}}), (Values{15}));  // implicit: trace
  // A diagonal inside a contraction: sum_i A[i][i] x[i].
  EXPECT_EQ(evaluate("ii,i->", {{square, {3, 3}}, {{1, 1, 2}, {3}}}), (Values{24}));
}

TEST(Notation, LabelSummedWithinOneOperandOnly) {
  // "ij,k->k": row sums of everything times k.
  EXPECT_EQ(evaluate("ij,k->k", {{kA, {2, 3}}, {{1, 2}, {2}}}), (Values{21, 42}));
}

TEST(Notation, OuterProduct) {
  EXPECT_EQ(evaluate("i,j->ij", {{{1, 2}, {2}}, {{3, 4, 5}, {3}}}), (Values{3, 4, 5, 6, 8, 10}));
}

TEST(Notation, ScalarOperandsAndScalarOutput) {
  EXPECT_EQ(evaluate(",i->i", {{{2}, {}}, {{1, 2, 3}, {3}}}), (Values{2, 4, 6}));
  EXPECT_EQ(evaluate("i,i->", {{{1, 2, 3}, {3}}, {{4, 5, 6}, {3}}}), (Values{32}));
  EXPECT_EQ(evaluate(",->", {{{3}, {}}, {{4}, {}}}), (Values{12}));
  EXPECT_EQ(evaluate("", {{{7}, {}}}), (Values{7}));
}

TEST(Notation, ZeroSizeExtents) {
  // A summed extent of 0 gives zeros; an output extent of 0 gives nothing.
  EXPECT_EQ(evaluate("ij,jk->ik", {{{}, {2, 0}}, {{}, {0, 2}}}), (Values{0, 0, 0, 0}));
  EXPECT_EQ(evaluate("ij,jk->ik", {{{}, {0, 3}}, {kB, {3, 2}}}), (Values{}));
  EXPECT_EQ(output_shape("ij,jk->ik", {{0, 3}, {3, 2}}), (std::vector<std::int64_t>{0, 2}));
}

TEST(Notation, SingleOperandPermutationTraceAndReduction) {
  EXPECT_EQ(evaluate("ij->ji", {{kA, {2, 3}}}), (Values{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(evaluate("ii->", {{{1, 2, 3, 4}, {2, 2}}}), (Values{5}));
  EXPECT_EQ(evaluate("ij->i", {{kA, {2, 3}}}), (Values{6, 15}));
  EXPECT_EQ(evaluate("ij->", {{kA, {2, 3}}}), (Values{21}));
  const Values cube = {1, 2, 3, 4, 5, 6, 7, 8};  // 2x2x2
  EXPECT_EQ(evaluate("ijk->kji", {{cube, {2, 2, 2}}}), (Values{1, 5, 3, 7, 2, 6, 4, 8}));
}

}  // namespace
}  // namespace einstream
