// Parsing runs in three passes, each of which can fail on its own terms:
//   1. split the expression into terms of subscripts (syntax -> ParseError);
//   2. check the output against the inputs (still only the text -> ParseError);
//   3. fit the shapes: assign dense mode ids, resolve extents and broadcasting
//      (-> ShapeError).
// Keeping the text-only checks ahead of the shapes means an expression that
// is wrong in itself is reported as such whatever shapes come with it.
#include "planner/parse.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

// Marks "..." in a Term; '.' can never be a label, so it cannot collide.
constexpr char kEllipsis = '.';
constexpr int kLabelTableSize = 128;

struct Subscript {
  char label;  // a letter, or kEllipsis
  // Offset in the caller's expression of the letter or of the first '.'.
  std::size_t position;
};

struct Term {
  std::vector<Subscript> subscripts;

  bool has_ellipsis() const {
    for (const Subscript& subscript : subscripts) {
      if (subscript.label == kEllipsis) return true;
    }
    return false;
  }

  int letter_count() const {
    int count = 0;
    for (const Subscript& subscript : subscripts) {
      if (subscript.label != kEllipsis) ++count;
    }
    return count;
  }

  // The term as written, without whitespace: "...ij".
  std::string text() const {
    std::string result;
    for (const Subscript& subscript : subscripts) {
      if (subscript.label == kEllipsis) {
        result += "...";
      } else {
        result += subscript.label;
      }
    }
    return result;
  }
};

struct Expression {
  std::vector<Term> inputs;
  bool has_explicit_output = false;
  Term output;
};

// A non-whitespace character and where it stood in the caller's string.
struct Symbol {
  char ch;
  std::size_t position;
};

bool is_letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

bool is_whitespace(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

// Control and non-ASCII bytes are shown as escapes so the message stays
// printable.
std::string quote_char(char ch) {
  const auto byte = static_cast<unsigned char>(ch);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + ch + "'";
  constexpr char kHexDigits[] = "0123456789abcdef";
  return std::string("'\\x") + kHexDigits[byte >> 4] + kHexDigits[byte & 0xf] + "'";
}

std::string plural(std::size_t count, const char* singular, const char* plural_form) {
  return std::to_string(count) + " " + (count == 1 ? singular : plural_form);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string result = "[";
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (axis > 0) result += ", ";
    result += std::to_string(shape[axis]);
  }
  return result + "]";
}

// Pass 1. Whitespace is dropped before anything else, so "- >" and ". . ."
// read as "->" and "..." (whitespace is ignored anywhere, as in opt_einsum);
// positions still refer to the caller's string.
Expression split_terms(std::string_view text) {
  const std::string expression_text(text);
  auto fail = [&](const std::string& message, std::size_t position) -> ParseError {
    return ParseError(message, expression_text, position);
  };
  auto invalid = [&](const Symbol& symbol, const std::string& expected) -> ParseError {
    return fail("invalid character " + quote_char(symbol.ch) + " at position " +
                    std::to_string(symbol.position) + ": " + expected,
                symbol.position);
  };

  std::vector<Symbol> symbols;
  for (std::size_t position = 0; position < text.size(); ++position) {
    if (!is_whitespace(text[position])) symbols.push_back({text[position], position});
  }
  // An empty expression (or one of only whitespace) is a single scalar
  // operand with a scalar output, as numpy's einsum('', x) reads it.

  Expression expression;
  Term current;
  std::size_t ellipsis_position = 0;  // meaningful while current has one
  std::size_t arrow_position = 0;
  std::size_t k = 0;
  while (k < symbols.size()) {
    const Symbol& symbol = symbols[k];
    if (is_letter(symbol.ch)) {
      current.subscripts.push_back({symbol.ch, symbol.position});
      ++k;
    } else if (symbol.ch == '.') {
      if (k + 2 >= symbols.size() || symbols[k + 1].ch != '.' || symbols[k + 2].ch != '.') {
        throw invalid(symbol, "'.' is only valid in the ellipsis \"...\"");
      }
      if (current.has_ellipsis()) {
        const std::string term = expression.has_explicit_output
                                     ? std::string("the output")
                                     : "operand " + std::to_string(expression.inputs.size());
        throw fail("second \"...\" at position " + std::to_string(symbol.position) + " in " + term +
                       " (the first is at position " + std::to_string(ellipsis_position) +
                       "): a term may contain at most one ellipsis",
                   symbol.position);
      }
      ellipsis_position = symbol.position;
      current.subscripts.push_back({kEllipsis, symbol.position});
      k += 3;
    } else if (symbol.ch == '-') {
      if (k + 1 >= symbols.size() || symbols[k + 1].ch != '>') {
        throw invalid(symbol, "'-' is only valid in the output arrow \"->\"");
      }
      if (expression.has_explicit_output) {
        throw fail("second \"->\" at position " + std::to_string(symbol.position) +
                       " (the first is at position " + std::to_string(arrow_position) +
                       "): an expression has at most one \"->\"",
                   symbol.position);
      }
      expression.inputs.push_back(std::move(current));
      current = Term();
      expression.has_explicit_output = true;
      arrow_position = symbol.position;
      k += 2;
    } else if (symbol.ch == ',') {
      if (expression.has_explicit_output) {
        throw fail("',' at position " + std::to_string(symbol.position) +
                       " after \"->\": the output is a single term",
                   symbol.position);
      }
      expression.inputs.push_back(std::move(current));
      current = Term();
      ++k;
    } else if (symbol.ch == '>') {
      throw invalid(symbol, "'>' is only valid in the output arrow \"->\"");
    } else {
      throw invalid(symbol, "labels are letters a-z and A-Z");
    }
  }
  if (expression.has_explicit_output) {
    expression.output = std::move(current);
  } else {
    expression.inputs.push_back(std::move(current));
  }
  return expression;
}

// Pass 2: the output may only keep what the inputs have, once.
void check_output(const Expression& expression, std::string_view text) {
  if (!expression.has_explicit_output) return;
  std::array<bool, kLabelTableSize> in_inputs{};
  for (const Term& term : expression.inputs) {
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) in_inputs[static_cast<std::size_t>(subscript.label)] = true;
    }
  }

  std::array<std::size_t, kLabelTableSize> first_position{};
  std::array<bool, kLabelTableSize> seen{};
  for (const Subscript& subscript : expression.output.subscripts) {
    const std::string position = std::to_string(subscript.position);
    // An output "..." when no input has one stands for no dimensions, as in
    // numpy ('ij->...ji' is 'ij->ji').
    if (subscript.label == kEllipsis) continue;
    const auto index = static_cast<std::size_t>(subscript.label);
    if (!in_inputs[index]) {
      throw ParseError(std::string("output label '") + subscript.label + "' at position " +
                           position + " is not in any input: every output label must " +
                           "appear in an input term",
                       std::string(text), subscript.position);
    }
    if (seen[index]) {
      throw ParseError(std::string("output label '") + subscript.label + "' at position " +
                           position + " repeats the one at position " +
                           std::to_string(first_position[index]) +
                           ": a label may appear at most once in the output",
                       std::string(text), subscript.position);
    }
    seen[index] = true;
    first_position[index] = subscript.position;
  }
}

void check_ranks(const Expression& expression,
                 const std::vector<std::vector<std::int64_t>>& shapes) {
  if (expression.inputs.size() != shapes.size()) {
    throw ShapeError("expression has " + plural(expression.inputs.size(), "operand", "operands") +
                     " but " + plural(shapes.size(), "shape was", "shapes were") + " given");
  }
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const Term& term = expression.inputs[input];
    const std::vector<std::int64_t>& shape = shapes[input];
    const auto letters = static_cast<std::size_t>(term.letter_count());
    const std::string described = "operand " + std::to_string(input) + " (term '" + term.text() +
                                  "') has shape " + shape_text(shape) + " of rank " +
                                  std::to_string(shape.size());
    if (term.has_ellipsis() && shape.size() < letters) {
      throw ShapeError(described + ", but its term names " + plural(letters, "axis", "axes") +
                       " besides \"...\": expected rank >= " + std::to_string(letters));
    }
    if (!term.has_ellipsis() && shape.size() != letters) {
      throw ShapeError(described + ", but its term names " + plural(letters, "axis", "axes") +
                       ": expected rank " + std::to_string(letters));
    }
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
      if (shape[axis] < 0) {
        throw ShapeError("operand " + std::to_string(input) + " has negative extent " +
                         std::to_string(shape[axis]) + " at axis " + std::to_string(axis) +
                         " (shape " + shape_text(shape) + "): extents must be >= 0");
      }
    }
  }
}

// Pass 3, first half: a mode id for every axis of every operand. Ids are
// handed out in order of first appearance; all global ellipsis dimensions get
// theirs together when the first "..." is met, so "...0", "...1" run left to
// right whichever operand reaches them.
std::vector<std::vector<Mode>> assign_modes(const Expression& expression,
                                            const std::vector<std::vector<std::int64_t>>& shapes,
                                            Problem& problem,
                                            std::array<Mode, kLabelTableSize>& letter_modes,
                                            std::vector<Mode>& ellipsis_modes) {
  int ellipsis_rank = 0;
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const Term& term = expression.inputs[input];
    if (!term.has_ellipsis()) continue;
    const int covered = static_cast<int>(shapes[input].size()) - term.letter_count();
    if (covered > ellipsis_rank) ellipsis_rank = covered;
  }

  auto add_mode = [&problem](std::string label) {
    problem.labels.push_back(std::move(label));
    problem.extents.push_back(1);
    return problem.mode_count() - 1;
  };

  letter_modes.fill(-1);
  bool ellipsis_assigned = false;
  std::vector<std::vector<Mode>> axis_modes(shapes.size());
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const Term& term = expression.inputs[input];
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) {
        Mode& mode = letter_modes[static_cast<std::size_t>(subscript.label)];
        if (mode < 0) mode = add_mode(std::string(1, subscript.label));
        axis_modes[input].push_back(mode);
        continue;
      }
      if (!ellipsis_assigned) {
        for (int dim = 0; dim < ellipsis_rank; ++dim) {
          ellipsis_modes.push_back(add_mode("..." + std::to_string(dim)));
        }
        ellipsis_assigned = true;
      }
      // Right-aligned, as numpy broadcasts: a shorter ellipsis covers the
      // last global dimensions.
      const int covered = static_cast<int>(shapes[input].size()) - term.letter_count();
      for (int dim = ellipsis_rank - covered; dim < ellipsis_rank; ++dim) {
        axis_modes[input].push_back(ellipsis_modes[static_cast<std::size_t>(dim)]);
      }
    }
  }
  return axis_modes;
}

// Pass 3, second half: each mode's extent is the one extent other than 1 that
// its axes have (1 if none); a diagonal is stricter and wants equal extents,
// since broadcasting one axis of a diagonal has no meaning.
void resolve_extents(const Expression& expression,
                     const std::vector<std::vector<std::int64_t>>& shapes,
                     const std::vector<std::vector<Mode>>& axis_modes, Problem& problem) {
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const std::vector<Mode>& modes = axis_modes[input];
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      for (std::size_t earlier = 0; earlier < axis; ++earlier) {
        if (modes[earlier] != modes[axis] || shapes[input][earlier] == shapes[input][axis]) {
          continue;
        }
        throw ShapeError("label '" + problem.labels[static_cast<std::size_t>(modes[axis])] +
                         "' is repeated in operand " + std::to_string(input) + " (term '" +
                         expression.inputs[input].text() + "', shape " + shape_text(shapes[input]) +
                         ") with extent " + std::to_string(shapes[input][earlier]) + " at axis " +
                         std::to_string(earlier) + " but " + std::to_string(shapes[input][axis]) +
                         " at axis " + std::to_string(axis) +
                         ": the axes of a diagonal must have equal extents (extent 1 does not "
                         "broadcast within one operand)");
      }
    }
  }

  struct Witness {
    std::size_t input = 0;
    std::size_t axis = 0;
    bool found = false;
  };
  std::vector<Witness> witnesses(problem.extents.size());
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const std::vector<Mode>& modes = axis_modes[input];
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      const std::int64_t extent = shapes[input][axis];
      if (extent == 1) continue;
      const auto mode = static_cast<std::size_t>(modes[axis]);
      Witness& witness = witnesses[mode];
      if (!witness.found) {
        witness = {input, axis, true};
        problem.extents[mode] = extent;
        continue;
      }
      if (problem.extents[mode] == extent) continue;
      const std::string& label = problem.labels[mode];
      const bool is_ellipsis = label.compare(0, 3, "...") == 0;
      throw ShapeError((is_ellipsis ? "ellipsis dimension '" : "label '") + label +
                       "' has extent " + std::to_string(problem.extents[mode]) + " in operand " +
                       std::to_string(witness.input) + " (axis " + std::to_string(witness.axis) +
                       ") but " + std::to_string(extent) + " in operand " + std::to_string(input) +
                       " (axis " + std::to_string(axis) + "); shapes " +
                       shape_text(shapes[witness.input]) + " and " + shape_text(shapes[input]) +
                       ": extents must be equal, or 1 to broadcast");
    }
  }
}

}  // namespace

Problem parse(std::string_view expression_text,
              const std::vector<std::vector<std::int64_t>>& shapes) {
  const Expression expression = split_terms(expression_text);
  check_output(expression, expression_text);
  check_ranks(expression, shapes);

  Problem problem;
  std::array<Mode, kLabelTableSize> letter_modes{};
  std::vector<Mode> ellipsis_modes;
  const std::vector<std::vector<Mode>> axis_modes =
      assign_modes(expression, shapes, problem, letter_modes, ellipsis_modes);
  resolve_extents(expression, shapes, axis_modes, problem);

  // Broadcasting is settled here once so later stages never see it: an axis
  // of extent 1 on a mode that is larger elsewhere carries the same value for
  // every index, so it is dropped rather than stretched.
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    ProblemOperand operand;
    operand.rank = static_cast<int>(shapes[input].size());
    for (std::size_t axis = 0; axis < axis_modes[input].size(); ++axis) {
      const Mode mode = axis_modes[input][axis];
      if (shapes[input][axis] == 1 && problem.extents[static_cast<std::size_t>(mode)] != 1) {
        continue;
      }
      operand.modes.push_back(mode);
      operand.axes.push_back(static_cast<int>(axis));
    }
    problem.inputs.push_back(std::move(operand));
  }

  if (expression.has_explicit_output) {
    for (const Subscript& subscript : expression.output.subscripts) {
      if (subscript.label == kEllipsis) {
        problem.output.insert(problem.output.end(), ellipsis_modes.begin(), ellipsis_modes.end());
      } else {
        problem.output.push_back(letter_modes[static_cast<std::size_t>(subscript.label)]);
      }
    }
    return problem;
  }

  // numpy's implicit output: ellipsis dimensions, then the labels used once,
  // in ASCII order (so 'B' comes before 'a').
  problem.output = ellipsis_modes;
  std::array<int, kLabelTableSize> uses{};
  for (const Term& term : expression.inputs) {
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) ++uses[static_cast<std::size_t>(subscript.label)];
    }
  }
  for (std::size_t label = 0; label < uses.size(); ++label) {
    if (uses[label] == 1) problem.output.push_back(letter_modes[label]);
  }
  return problem;
}

}  // namespace einstream::detail
