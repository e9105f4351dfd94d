#include "planner/parse.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {
namespace {

using Shapes = std::vector<std::vector<std::int64_t>>;
using Modes = std::vector<Mode>;
using Axes = std::vector<int>;
using Extents = std::vector<std::int64_t>;
using Labels = std::vector<std::string>;

void expect_operand(const Problem& problem, std::size_t index, const Modes& modes, const Axes& axes,
                    int rank) {
  SCOPED_TRACE("operand " + std::to_string(index) + " of " + to_string(problem));
  ASSERT_LT(index, problem.inputs.size());
  EXPECT_EQ(problem.inputs[index].modes, modes);
  EXPECT_EQ(problem.inputs[index].axes, axes);
  EXPECT_EQ(problem.inputs[index].rank, rank);
}

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Returns the ParseError that parse() throws; a missing or different
// exception fails the calling test.
ParseError parse_error(const std::string& expression, const Shapes& shapes) {
  try {
    parse(expression, shapes);
  } catch (const ParseError& error) {
    return error;
  }
  ADD_FAILURE() << "parse(\"" << expression << "\") did not throw ParseError";
  return ParseError("", "", 0);
}

ShapeError shape_error(const std::string& expression, const Shapes& shapes) {
  try {
    parse(expression, shapes);
  } catch (const ShapeError& error) {
    return error;
  }
  ADD_FAILURE() << "parse(\"" << expression << "\") did not throw ShapeError";
  return ShapeError("");
}

// --- Modes, labels and explicit output --------------------------------------

TEST(Parse, MatrixProductNumbersModesInOrderOfFirstAppearance) {
  const Problem problem = parse("ij,jk->ik", {{2, 3}, {3, 4}});
  ASSERT_EQ(problem.inputs.size(), 2u);
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0, 2}));
  EXPECT_EQ(problem.extents, (Extents{2, 3, 4}));
  EXPECT_EQ(problem.labels, (Labels{"i", "j", "k"}));
  EXPECT_EQ(problem.mode_count(), 3);
}

TEST(Parse, ModeIdsFollowTheInputsNotTheAlphabet) {
  const Problem problem = parse("kj,ji->ik", {{4, 3}, {3, 2}});
  EXPECT_EQ(problem.labels, (Labels{"k", "j", "i"}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{2, 0}));
  EXPECT_EQ(problem.extents, (Extents{4, 3, 2}));
}

TEST(Parse, UpperAndLowerCaseAreDistinctLabels) {
  const Problem problem = parse("iI->Ii", {{2, 3}});
  EXPECT_EQ(problem.labels, (Labels{"i", "I"}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{1, 0}));
  EXPECT_EQ(problem.extents, (Extents{2, 3}));
}

TEST(Parse, WhitespaceIsIgnoredAnywhere) {
  const Problem problem = parse(" i j ,\tj k - > i\nk ", {{2, 3}, {3, 4}});
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0, 2}));
  EXPECT_EQ(problem.extents, (Extents{2, 3, 4}));
}

TEST(Parse, WhitespaceMayAppearInsideTheEllipsis) {
  const Problem problem = parse(". . .i-> . ..", {{5, 2}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "i"}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0}));
}

// --- Implicit output -------------------------------------------------------

TEST(Parse, ImplicitOutputIsLabelsUsedOnceInAlphabeticalOrder) {
  const Problem problem = parse("ba", {{2, 3}});
  EXPECT_EQ(problem.labels, (Labels{"b", "a"}));
  EXPECT_EQ(problem.output, (Modes{1, 0}));
}

TEST(Parse, ImplicitOutputOmitsLabelsSharedBetweenOperands) {
  const Problem problem = parse("ij,jk", {{2, 3}, {3, 4}});
  EXPECT_EQ(problem.output, (Modes{0, 2}));
}

TEST(Parse, ImplicitOutputSortsUpperCaseBeforeLowerCase) {
  const Problem problem = parse("ab,bC", {{2, 3}, {3, 4}});
  EXPECT_EQ(problem.labels, (Labels{"a", "b", "C"}));
  EXPECT_EQ(problem.output, (Modes{2, 0}));
}

TEST(Parse, ImplicitOutputOmitsLabelsRepeatedWithinOneOperand) {
  EXPECT_EQ(parse("ii", {{3, 3}}).output, Modes{});
  const Problem problem = parse("iji", {{3, 4, 3}});
  expect_operand(problem, 0, {0, 1, 0}, {0, 1, 2}, 3);
  EXPECT_EQ(problem.output, (Modes{1}));
}

TEST(Parse, ImplicitOutputPutsEllipsisDimensionsFirst) {
  const Problem problem = parse("...i,ij", {{5, 6, 2}, {2, 3}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "...1", "i", "j"}));
  expect_operand(problem, 0, {0, 1, 2}, {0, 1, 2}, 3);
  expect_operand(problem, 1, {2, 3}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0, 1, 3}));
  EXPECT_EQ(problem.extents, (Extents{5, 6, 2, 3}));
}

// --- Ellipsis --------------------------------------------------------------

TEST(Parse, EllipsisCoversTheLeadingAxes) {
  const Problem problem = parse("...ij->...ji", {{2, 3, 4, 5}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "...1", "i", "j"}));
  expect_operand(problem, 0, {0, 1, 2, 3}, {0, 1, 2, 3}, 4);
  EXPECT_EQ(problem.output, (Modes{0, 1, 3, 2}));
  EXPECT_EQ(problem.extents, (Extents{2, 3, 4, 5}));
}

TEST(Parse, EllipsisCoversTheMiddleAxes) {
  const Problem problem = parse("i...j->ij...", {{2, 3, 4, 5}});
  EXPECT_EQ(problem.labels, (Labels{"i", "...0", "...1", "j"}));
  expect_operand(problem, 0, {0, 1, 2, 3}, {0, 1, 2, 3}, 4);
  EXPECT_EQ(problem.output, (Modes{0, 3, 1, 2}));
}

TEST(Parse, EllipsisCoveringNoAxesAddsNoModes) {
  const Problem problem = parse("...ij,jk", {{2, 3}, {3, 4}});
  EXPECT_EQ(problem.labels, (Labels{"i", "j", "k"}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0, 2}));

  const Problem scalar = parse("...->...", {{}});
  EXPECT_EQ(scalar.mode_count(), 0);
  expect_operand(scalar, 0, {}, {}, 0);
  EXPECT_EQ(scalar.output, Modes{});
}

TEST(Parse, EllipsisDimensionsAlignFromTheRight) {
  const Problem problem = parse("...ij,...jk->...ik", {{6, 2, 3}, {7, 1, 6, 3, 4}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "...1", "...2", "i", "j", "k"}));
  // Operand 0's one ellipsis axis is the last of the three global ones.
  expect_operand(problem, 0, {2, 3, 4}, {0, 1, 2}, 3);
  expect_operand(problem, 1, {0, 1, 2, 4, 5}, {0, 1, 2, 3, 4}, 5);
  EXPECT_EQ(problem.output, (Modes{0, 1, 2, 3, 5}));
  EXPECT_EQ(problem.extents, (Extents{7, 1, 6, 2, 3, 4}));
}

TEST(Parse, EllipsisBroadcastsSizeOneModes) {
  const Problem problem = parse("...i,...i->...i", {{1, 3, 2}, {4, 1, 2}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "...1", "i"}));
  EXPECT_EQ(problem.extents, (Extents{4, 3, 2}));
  expect_operand(problem, 0, {1, 2}, {1, 2}, 3);
  expect_operand(problem, 1, {0, 2}, {0, 2}, 3);
  EXPECT_EQ(problem.output, (Modes{0, 1, 2}));
}

TEST(Parse, AllEllipsisModesGetIdsWhereTheFirstEllipsisIsScanned) {
  // Operand 1 holds the first "..." and covers both global dimensions;
  // operand 2 covers only the last. d comes after all of them.
  const Problem problem = parse("ab,c...d,...->...", {{2, 3}, {4, 5, 6, 7}, {6}});
  EXPECT_EQ(problem.labels, (Labels{"a", "b", "c", "...0", "...1", "d"}));
  expect_operand(problem, 1, {2, 3, 4, 5}, {0, 1, 2, 3}, 4);
  expect_operand(problem, 2, {4}, {0}, 1);
  EXPECT_EQ(problem.output, (Modes{3, 4}));
  EXPECT_EQ(problem.extents, (Extents{2, 3, 4, 5, 6, 7}));
}

TEST(Parse, EllipsisDimensionsMissingFromTheFirstEllipsisOperandStillGetIds) {
  const Problem problem = parse("i...,...j", {{2, 5}, {4, 5, 3}});
  EXPECT_EQ(problem.labels, (Labels{"i", "...0", "...1", "j"}));
  expect_operand(problem, 0, {0, 2}, {0, 1}, 2);
  expect_operand(problem, 1, {1, 2, 3}, {0, 1, 2}, 3);
  EXPECT_EQ(problem.extents, (Extents{2, 4, 5, 3}));
  EXPECT_EQ(problem.output, (Modes{1, 2, 0, 3}));
}

TEST(Parse, ExplicitOutputWithoutEllipsisSumsEllipsisDimensions) {
  const Problem problem = parse("...ij->ij", {{5, 2, 3}});
  EXPECT_EQ(problem.labels, (Labels{"...0", "i", "j"}));
  expect_operand(problem, 0, {0, 1, 2}, {0, 1, 2}, 3);
  EXPECT_EQ(problem.output, (Modes{1, 2}));
}

// numpy accepts an output "..." when no input has one: it is empty.
TEST(Parse, OutputEllipsisWithoutAnInputEllipsisIsEmpty) {
  const Problem problem = parse("ij->...ji", {{2, 3}});
  EXPECT_EQ(problem.labels, (Labels{"i", "j"}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{1, 0}));

  const Problem middle = parse("ij,jk->i...k", {{2, 3}, {3, 4}});
  EXPECT_EQ(middle.output, (Modes{0, 2}));
  const Problem scalar = parse("i->...", {{3}});
  EXPECT_EQ(scalar.output, Modes{});
  // Still only one "..." in the output.
  EXPECT_EQ(parse_error("ij->......", {{2, 3}}).position(), 7u);
}

// --- Broadcasting of labels ------------------------------------------------

TEST(Parse, LabelBroadcastsFromExtentOneAndTheAxisIsDropped) {
  const Problem problem = parse("ij,jk->ik", {{2, 1}, {5, 4}});
  EXPECT_EQ(problem.extents, (Extents{2, 5, 4}));
  expect_operand(problem, 0, {0}, {0}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0, 2}));
}

TEST(Parse, LabelOfExtentOneEverywhereIsKept) {
  const Problem problem = parse("ij,jk->ik", {{2, 1}, {1, 4}});
  EXPECT_EQ(problem.extents, (Extents{2, 1, 4}));
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);
}

TEST(Parse, ExtentOneBroadcastsToExtentZero) {
  const Problem problem = parse("ij,jk", {{2, 1}, {0, 4}});
  EXPECT_EQ(problem.extents, (Extents{2, 0, 4}));
  expect_operand(problem, 0, {0}, {0}, 2);
  expect_operand(problem, 1, {1, 2}, {0, 1}, 2);

  const Problem ellipsis = parse("...,...", {{1}, {0}});
  EXPECT_EQ(ellipsis.extents, (Extents{0}));
  expect_operand(ellipsis, 0, {}, {}, 1);
  expect_operand(ellipsis, 1, {0}, {0}, 1);
}

// --- Diagonals, sums, products, scalars --------------------------------------

TEST(Parse, RepeatedLabelTakesADiagonal) {
  const Problem problem = parse("ii->i", {{3, 3}});
  expect_operand(problem, 0, {0, 0}, {0, 1}, 2);
  EXPECT_EQ(problem.output, (Modes{0}));
  EXPECT_EQ(problem.extents, (Extents{3}));
}

TEST(Parse, DiagonalOfExtentOneBroadcastsAgainstOtherOperands) {
  const Problem problem = parse("ii,i->i", {{1, 1}, {3}});
  EXPECT_EQ(problem.extents, (Extents{3}));
  expect_operand(problem, 0, {}, {}, 2);
  expect_operand(problem, 1, {0}, {0}, 1);
}

TEST(Parse, LabelInOneOperandOnlyIsSummedWhenNotInTheOutput) {
  const Problem problem = parse("ij,k->ik", {{2, 3}, {4}});
  expect_operand(problem, 0, {0, 1}, {0, 1}, 2);
  expect_operand(problem, 1, {2}, {0}, 1);
  EXPECT_EQ(problem.output, (Modes{0, 2}));
  EXPECT_EQ(problem.extents, (Extents{2, 3, 4}));
}

TEST(Parse, OuterProductKeepsEveryLabel) {
  const Problem problem = parse("i,j->ij", {{2}, {3}});
  expect_operand(problem, 0, {0}, {0}, 1);
  expect_operand(problem, 1, {1}, {0}, 1);
  EXPECT_EQ(problem.output, (Modes{0, 1}));
  EXPECT_EQ(parse("i,j", {{2}, {3}}).output, (Modes{0, 1}));
}

TEST(Parse, EmptyTermIsAScalarOperand) {
  const Problem problem = parse("i,->i", {{3}, {}});
  expect_operand(problem, 0, {0}, {0}, 1);
  expect_operand(problem, 1, {}, {}, 0);
  EXPECT_EQ(problem.output, (Modes{0}));

  const Problem leading = parse(",i", {{}, {3}});
  expect_operand(leading, 0, {}, {}, 0);
  EXPECT_EQ(leading.output, (Modes{0}));

  const Problem scalars = parse(",->", {{}, {}});
  EXPECT_EQ(scalars.inputs.size(), 2u);
  EXPECT_EQ(scalars.mode_count(), 0);
  EXPECT_EQ(scalars.output, Modes{});
}

TEST(Parse, EmptyOutputIsAScalar) {
  EXPECT_EQ(parse("ij->", {{2, 3}}).output, Modes{});
  EXPECT_EQ(parse("i,i->", {{3}, {3}}).output, Modes{});
  EXPECT_EQ(parse("i,i", {{3}, {3}}).output, Modes{});
}

TEST(Parse, ExtentZeroIsValid) {
  const Problem problem = parse("ij,jk->ik", {{0, 3}, {3, 4}});
  EXPECT_EQ(problem.extents, (Extents{0, 3, 4}));
  const Problem contracted = parse("ij,jk", {{2, 0}, {0, 4}});
  EXPECT_EQ(contracted.extents, (Extents{2, 0, 4}));
  expect_operand(contracted, 0, {0, 1}, {0, 1}, 2);
}

TEST(Parse, SingleOperandPermutation) {
  const Problem problem = parse("ijk->kij", {{2, 3, 4}});
  expect_operand(problem, 0, {0, 1, 2}, {0, 1, 2}, 3);
  EXPECT_EQ(problem.output, (Modes{2, 0, 1}));
  EXPECT_EQ(problem.output_extents(), (Extents{4, 2, 3}));
}

TEST(Parse, SingleOperandTraceAndReduction) {
  const Problem trace = parse("ii->", {{3, 3}});
  expect_operand(trace, 0, {0, 0}, {0, 1}, 2);
  EXPECT_EQ(trace.output, Modes{});

  const Problem reduction = parse("ij->j", {{2, 3}});
  EXPECT_EQ(reduction.output, (Modes{1}));
  EXPECT_EQ(reduction.output_extents(), (Extents{3}));
}

// --- Printing --------------------------------------------------------------

TEST(Problem, ToStringRendersLabelsAndArrow) {
  EXPECT_EQ(to_string(parse("ij,jk", {{2, 3}, {3, 4}})), "ij,jk->ik");
  EXPECT_EQ(to_string(parse("ij->", {{2, 3}})), "ij->");
  EXPECT_EQ(to_string(parse("i,->i", {{3}, {}})), "i,->i");
}

TEST(Problem, ToStringBracketsEllipsisLabels) {
  EXPECT_EQ(to_string(parse("...i,...i->...", {{2, 3}, {2, 3}})), "[...0]i,[...0]i->[...0]");
}

TEST(Problem, ToStringOmitsAxesDroppedByBroadcasting) {
  const Problem problem = parse("ij,jk->ik", {{2, 1}, {5, 4}});
  EXPECT_EQ(to_string(problem), "i,jk->ik");
  std::ostringstream stream;
  stream << problem;
  EXPECT_EQ(stream.str(), "i,jk->ik");
}

TEST(Problem, OutputExtentsFollowOutputOrder) {
  EXPECT_EQ(parse("ij,jk->ki", {{2, 3}, {3, 4}}).output_extents(), (Extents{4, 2}));
  EXPECT_EQ(parse("ij->", {{2, 3}}).output_extents(), Extents{});
}

// --- Parse errors ----------------------------------------------------------

TEST(ParseErrors, InvalidCharacterNamesItsPosition) {
  const ParseError error = parse_error("ij,#k", {{2, 3}, {3, 4}});
  EXPECT_EQ(error.position(), 3u);
  EXPECT_STREQ(error.what(),
               "invalid character '#' at position 3: labels are letters a-z, A-Z, or non-ASCII "
               "letters and symbols (any code point from U+00C0 on, as opt_einsum's get_symbol "
               "makes them)");
  EXPECT_EQ(error.expression(), "ij,#k");

  const ParseError digit = parse_error("i1", {{2, 3}});
  EXPECT_EQ(digit.position(), 1u);
  EXPECT_TRUE(contains(digit.what(), "invalid character '1' at position 1"));
}

TEST(ParseErrors, PositionCountsWhitespace) {
  const ParseError error = parse_error("  i j#", {{2, 3}});
  EXPECT_EQ(error.position(), 5u);
  EXPECT_TRUE(contains(error.what(), "'#' at position 5"));
}

TEST(ParseErrors, NonPrintableCharacterIsEscaped) {
  const ParseError error = parse_error("i\x01", {{2}});
  EXPECT_EQ(error.position(), 1u);
  EXPECT_TRUE(contains(error.what(), "invalid character '\\x01' at position 1"));
}

TEST(ParseErrors, DashNotFollowedByArrowHeadIsInvalid) {
  const ParseError error = parse_error("ij-k", {{2, 3}});
  EXPECT_EQ(error.position(), 2u);
  EXPECT_TRUE(contains(error.what(), "invalid character '-' at position 2"));
  EXPECT_TRUE(contains(error.what(), "\"->\""));

  EXPECT_EQ(parse_error("ij-", {{2, 3}}).position(), 2u);
  const ParseError head = parse_error("i>j", {{2, 3}});
  EXPECT_EQ(head.position(), 1u);
  EXPECT_TRUE(contains(head.what(), "invalid character '>' at position 1"));
}

TEST(ParseErrors, DotOutsideAnEllipsisIsInvalid) {
  const ParseError two_dots = parse_error("i..j", {{2, 3}});
  EXPECT_EQ(two_dots.position(), 1u);
  EXPECT_TRUE(contains(two_dots.what(), "invalid character '.' at position 1"));
  EXPECT_TRUE(contains(two_dots.what(), "\"...\""));

  EXPECT_EQ(parse_error("i.j", {{2, 3}}).position(), 1u);
  EXPECT_EQ(parse_error("....i", {{2, 3}}).position(), 3u);
}

TEST(ParseErrors, SecondArrowIsRejected) {
  const ParseError error = parse_error("ij->j->i", {{2, 3}});
  EXPECT_EQ(error.position(), 5u);
  EXPECT_TRUE(contains(error.what(), "second \"->\" at position 5"));
  EXPECT_TRUE(contains(error.what(), "first is at position 2"));
}

TEST(ParseErrors, EllipsisTwiceInOneTermIsRejected) {
  const ParseError input = parse_error("i,...i...->i", {{2}, {2, 3}});
  EXPECT_EQ(input.position(), 6u);
  EXPECT_TRUE(contains(input.what(), "second \"...\" at position 6 in operand 1"));
  EXPECT_TRUE(contains(input.what(), "at most one ellipsis"));

  const ParseError output = parse_error("...i->......", {{2, 3}});
  EXPECT_EQ(output.position(), 9u);
  EXPECT_TRUE(contains(output.what(), "in the output"));
}

TEST(Parse, ArrowWithoutLabelsIsOneScalarOperand) {
  const Problem problem = parse("->", {{}});
  ASSERT_EQ(problem.inputs.size(), 1u);
  EXPECT_TRUE(problem.inputs[0].modes.empty());
  EXPECT_EQ(problem.inputs[0].rank, 0);
  EXPECT_TRUE(problem.output.empty());
  EXPECT_EQ(problem.mode_count(), 0);
}

TEST(Parse, EmptyExpressionIsOneScalarOperand) {
  for (const char* text : {"", "  "}) {
    const Problem problem = parse(text, {{}});
    ASSERT_EQ(problem.inputs.size(), 1u) << "'" << text << "'";
    EXPECT_TRUE(problem.inputs[0].modes.empty());
    EXPECT_TRUE(problem.output.empty());
  }
  EXPECT_THROW(parse("", {{2}}), ShapeError);
}

TEST(ParseErrors, ArrowWithoutInputLabelsCannotNameOutputLabels) {
  const ParseError error = parse_error("->i", {{}});
  EXPECT_EQ(error.position(), 2u);
  EXPECT_TRUE(contains(error.what(), "'i' at position 2 is not in any input"));
}

TEST(ParseErrors, OutputLabelMustAppearInAnInput) {
  const ParseError error = parse_error("ij,jk->ix", {{2, 3}, {3, 4}});
  EXPECT_EQ(error.position(), 8u);
  EXPECT_TRUE(contains(error.what(), "'x' at position 8 is not in any input"));
}

TEST(ParseErrors, OutputLabelMayNotRepeat) {
  const ParseError error = parse_error("ij->ii", {{2, 3}});
  EXPECT_EQ(error.position(), 5u);
  EXPECT_TRUE(contains(error.what(), "output label 'i' at position 5 repeats"));

  EXPECT_EQ(parse_error("ij -> i i", {{2, 3}}).position(), 8u);
}

TEST(ParseErrors, OutputIsASingleTerm) {
  const ParseError error = parse_error("i,j->i,j", {{2}, {3}});
  EXPECT_EQ(error.position(), 6u);
  EXPECT_TRUE(contains(error.what(), "',' at position 6"));
}

TEST(ParseErrors, ExpressionErrorsAreReportedBeforeShapeErrors) {
  // Wrong operand count and a bad output label: the expression is wrong
  // whatever the shapes, so that is what is reported.
  EXPECT_EQ(parse_error("ij->x", {{2}, {3}}).position(), 4u);
}

// --- Shape errors ----------------------------------------------------------

TEST(ShapeErrors, OperandCountMustMatchShapeCount) {
  EXPECT_STREQ(shape_error("ij,jk->ik", {{2, 3}, {3, 4}, {4}}).what(),
               "expression has 2 operands but 3 shapes were given");
  EXPECT_STREQ(shape_error("ij", {{2, 3}, {3}}).what(),
               "expression has 1 operand but 2 shapes were given");
  EXPECT_STREQ(shape_error("i,j", {{2}}).what(), "expression has 2 operands but 1 shape was given");
}

TEST(ShapeErrors, RankMustMatchTheTerm) {
  const std::string message = shape_error("ij,jk", {{2, 3}, {3, 4, 5}}).what();
  EXPECT_TRUE(contains(message, "operand 1 (term 'jk') has shape [3, 4, 5] of rank 3"));
  EXPECT_TRUE(contains(message, "expected rank 2"));

  EXPECT_TRUE(contains(shape_error(",i", {{2}, {3}}).what(),
                       "operand 0 (term '') has shape [2] of rank 1"));
}

TEST(ShapeErrors, RankWithEllipsisMustCoverTheLetters) {
  const std::string message = shape_error("...ijk", {{2, 3}}).what();
  EXPECT_TRUE(contains(message, "operand 0 (term '...ijk') has shape [2, 3] of rank 2"));
  EXPECT_TRUE(contains(message, "expected rank >= 3"));
}

TEST(ShapeErrors, ConflictingExtentsNameLabelOperandsAndAxes) {
  const std::string message = shape_error("ij,jk", {{2, 3}, {4, 5}}).what();
  EXPECT_TRUE(contains(message,
                       "label 'j' has extent 3 in operand 0 (axis 1) but 4 in operand 1 "
                       "(axis 0)"));
  EXPECT_TRUE(contains(message, "equal, or 1 to broadcast"));
}

TEST(ShapeErrors, ExtentZeroDoesNotBroadcastAgainstLargerExtents) {
  EXPECT_TRUE(contains(shape_error("i,i", {{0}, {3}}).what(),
                       "label 'i' has extent 0 in operand 0 (axis 0) but 3 in operand 1 (axis 0)"));
}

TEST(ShapeErrors, DiagonalNeedsEqualExtentsEvenWhenOneIsOne) {
  const std::string message = shape_error("ii->i", {{3, 1}}).what();
  EXPECT_TRUE(contains(message, "label 'i' is repeated in operand 0"));
  EXPECT_TRUE(contains(message, "extent 3 at axis 0 but 1 at axis 1"));
  EXPECT_TRUE(contains(message, "diagonal"));
}

TEST(ShapeErrors, NegativeExtentIsRejected) {
  const std::string message = shape_error("i,jk", {{2}, {3, -1}}).what();
  EXPECT_TRUE(contains(message, "operand 1 has negative extent -1 at axis 1"));
}

TEST(ShapeErrors, EllipsisDimensionsMustBroadcast) {
  const std::string message = shape_error("...i,...i", {{2, 3, 4}, {5, 4}}).what();
  EXPECT_TRUE(contains(message,
                       "ellipsis dimension '...1' has extent 3 in operand 0 (axis 1) but "
                       "5 in operand 1 (axis 0)"));
}

// --- UTF-8 labels ------------------------------------------------------------

// The UTF-8 encoding of a code point, written out here rather than borrowed
// from the parser so the tests check it.
std::string utf8(std::uint32_t code_point) {
  std::string bytes;
  if (code_point < 0x80) {
    bytes += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    bytes += static_cast<char>(0xc0 | (code_point >> 6));
    bytes += static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    bytes += static_cast<char>(0xe0 | (code_point >> 12));
    bytes += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    bytes += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    bytes += static_cast<char>(0xf0 | (code_point >> 18));
    bytes += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    bytes += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    bytes += static_cast<char>(0x80 | (code_point & 0x3f));
  }
  return bytes;
}

// opt_einsum.get_symbol(i), the labels opt_einsum writes for mode i.
std::string get_symbol(std::uint32_t i) {
  constexpr char kBase[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (i < 52) return std::string(1, kBase[i]);
  if (i >= 55296) return utf8(i + 2048);
  return utf8(i + 140);
}

TEST(ParseUtf8, GetSymbolChainOf200OperandsHas201Modes) {
  constexpr std::uint32_t kOperands = 200;
  std::string expression;
  for (std::uint32_t k = 0; k < kOperands; ++k) {
    if (k > 0) expression += ',';
    expression += get_symbol(k) + get_symbol(k + 1);
  }
  expression += "->" + get_symbol(0) + get_symbol(kOperands);
  const Problem problem = parse(expression, Shapes(kOperands, {2, 2}));

  ASSERT_EQ(problem.mode_count(), static_cast<int>(kOperands) + 1);
  for (std::uint32_t mode = 0; mode <= kOperands; ++mode) {
    EXPECT_EQ(problem.labels[mode], get_symbol(mode)) << "mode " << mode;
  }
  for (std::uint32_t k = 0; k < kOperands; ++k) {
    expect_operand(problem, k, Modes{static_cast<Mode>(k), static_cast<Mode>(k + 1)}, Axes{0, 1},
                   2);
  }
  EXPECT_EQ(problem.output, (Modes{0, static_cast<Mode>(kOperands)}));
  // Printing gives the expression back: labels are bare UTF-8.
  EXPECT_EQ(to_string(problem), expression);

  // Implicit output: the two ends, 'a' before chr(340).
  const std::size_t arrow = expression.find("->");
  EXPECT_EQ(parse(expression.substr(0, arrow), Shapes(kOperands, {2, 2})).output,
            (Modes{0, static_cast<Mode>(kOperands)}));
}

TEST(ParseUtf8, GetSymbolRoundTripsAcrossItsRange) {
  // Two-, three- and four-byte encodings, the non-letter U+00D7 ('×',
  // get_symbol(75)), U+2000 (a space, get_symbol(8052)), the last symbol
  // before the surrogates and the first and last after them.
  for (const std::uint32_t i :
       {52u, 75u, 200u, 8052u, 20000u, 55155u, 55296u, 60000u, 0x10ffffu - 2048u}) {
    const std::string label = get_symbol(i);
    SCOPED_TRACE("get_symbol(" + std::to_string(i) + ")");
    const Problem problem = parse(label + "a" + label + "->a", {{3, 2, 3}});
    ASSERT_EQ(problem.mode_count(), 2);
    EXPECT_EQ(problem.labels[0], label);
    expect_operand(problem, 0, Modes{0, 1, 0}, Axes{0, 1, 2}, 3);
    EXPECT_EQ(problem.output, Modes{1});
  }
}

TEST(ParseUtf8, Latin1LettersBelowU00C0AreLabels) {
  const Problem problem = parse("ªµº", {{2, 3, 4}});
  EXPECT_EQ(problem.labels, (Labels{"ª", "µ", "º"}));
  EXPECT_EQ(problem.output, (Modes{0, 1, 2}));
}

TEST(ParseUtf8, NonLetterSymbolsBelowU00C0AreRejected) {
  const ParseError copyright = parse_error("αβ,β©", {{2, 3}, {3, 4}});
  EXPECT_EQ(copyright.position(), 7u);  // α, β: 2 bytes each, ',' 1, β 2
  EXPECT_TRUE(contains(copyright.what(), "invalid character U+00A9 '©' at position 7"));

  EXPECT_EQ(parse_error("i\u00a0j", {{2, 3}}).position(), 1u);  // no-break space
  const ParseError control = parse_error("i\u0085", {{2}});     // C1 control: not echoed
  EXPECT_TRUE(contains(control.what(), "invalid character U+0085 at position 1"));
}

TEST(ParseUtf8, PositionsAreByteOffsets) {
  const ParseError missing = parse_error("αβ->γ", {{2, 3}});
  EXPECT_EQ(missing.position(), 6u);
  EXPECT_TRUE(contains(missing.what(), "output label 'γ' at position 6 is not in any input"));

  const ParseError repeated = parse_error("αβ->ββ", {{2, 3}});
  EXPECT_EQ(repeated.position(), 8u);
  EXPECT_TRUE(contains(repeated.what(), "repeats the one at position 6"));
}

TEST(ParseUtf8, ImplicitOutputSortsLabelsByCodePoint) {
  // Modes number by first appearance (é, a, À, Z); the implicit output sorts
  // by code point as opt_einsum's sorted(set(...)) does: Z, a, À, é.
  const Problem problem = parse("éaÀZ", {{2, 3, 4, 5}});
  EXPECT_EQ(problem.labels, (Labels{"é", "a", "À", "Z"}));
  EXPECT_EQ(problem.output, (Modes{3, 1, 2, 0}));
}

TEST(ParseUtf8, LabelsPrintAsUtf8) {
  const Problem problem = parse("αβ,βγ", {{2, 3}, {3, 4}});
  EXPECT_EQ(to_string(problem), "αβ,βγ->αγ");
  EXPECT_EQ(to_string(parse("...α->α...", {{2, 3}})), "[...0]α->α[...0]");
}

TEST(ParseUtf8, ShapeErrorsNameUtf8Labels) {
  const ShapeError error = shape_error("αβ,βγ", {{2, 3}, {4, 5}});
  EXPECT_TRUE(contains(error.what(), "label 'β' has extent 3"));
}

struct InvalidUtf8 {
  const char* name;
  std::string expression;
  std::size_t position;
  const char* reason;
};

TEST(ParseUtf8, InvalidUtf8NamesTheByteOffset) {
  const std::vector<InvalidUtf8> cases = {
      {"lone continuation byte", "ij\x80", 2, "continuation byte 0x80 without a lead byte"},
      {"continuation after a complete sequence", "\xc3\xa9\xa9", 2, "continuation byte 0xa9"},
      {"truncated at the end", "ij,\xce", 3, "ends after 0"},
      {"truncated by an ASCII byte",
       "i\xe4\xba"
       "j",
       1, "but byte 3 is 0x6a"},
      {"overlong two-byte 'A'", "i\xc1\x81", 1, "overlong encoding of U+0041 in 2 bytes"},
      {"overlong three-byte '/'", "\xe0\x80\xaf", 0, "overlong encoding of U+002F in 3 bytes"},
      {"overlong four-byte U+20AC", "ab\xf0\x82\x82\xac", 2, "overlong encoding of U+20AC"},
      {"encoded surrogate", "\xed\xa0\x80", 0, "surrogate"},
      {"beyond U+10FFFF", "i\xf4\x90\x80\x80", 1, "beyond U+10FFFF"},
      {"byte 0xff", "i->\xff", 3, "byte 0xff never occurs in UTF-8"},
  };
  for (const InvalidUtf8& bad : cases) {
    SCOPED_TRACE(bad.name);
    const ParseError error = parse_error(bad.expression, {{2}});
    EXPECT_EQ(error.position(), bad.position);
    EXPECT_TRUE(
        contains(error.what(), "invalid UTF-8 at byte " + std::to_string(bad.position) + ": "));
    EXPECT_TRUE(contains(error.what(), bad.reason));
    EXPECT_EQ(error.expression(), bad.expression);
  }
}

}  // namespace
}  // namespace einstream::detail
