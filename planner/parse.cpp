// Parsing runs in three passes, each of which can fail on its own terms:
//   1. split the expression into terms of subscripts (syntax -> ParseError);
//   2. check the output against the inputs (still only the text -> ParseError);
//   3. fit the shapes: assign dense mode ids, resolve extents and broadcasting
//      (-> ShapeError).
// Keeping the text-only checks ahead of the shapes means an expression that
// is wrong in itself is reported as such whatever shapes come with it.
#include "planner/parse.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <utility>

#include "einstream/error.hpp"

namespace einstream::detail {

std::string encode_utf8(char32_t code_point) {
  std::string bytes;
  const auto value = static_cast<std::uint32_t>(code_point);
  if (value < 0x80) {
    bytes += static_cast<char>(value);
  } else if (value < 0x800) {
    bytes += static_cast<char>(0xc0 | (value >> 6));
    bytes += static_cast<char>(0x80 | (value & 0x3f));
  } else if (value < 0x10000) {
    bytes += static_cast<char>(0xe0 | (value >> 12));
    bytes += static_cast<char>(0x80 | ((value >> 6) & 0x3f));
    bytes += static_cast<char>(0x80 | (value & 0x3f));
  } else {
    bytes += static_cast<char>(0xf0 | (value >> 18));
    bytes += static_cast<char>(0x80 | ((value >> 12) & 0x3f));
    bytes += static_cast<char>(0x80 | ((value >> 6) & 0x3f));
    bytes += static_cast<char>(0x80 | (value & 0x3f));
  }
  return bytes;
}

namespace {

// Marks "..." in a Term; '.' can never be a label, so it cannot collide.
constexpr char32_t kEllipsis = U'.';

// Labels are Unicode code points; an ordered map keeps the implicit output's
// code point order for free and stays small for the common ASCII case.
template <typename Value>
using LabelMap = std::map<char32_t, Value>;

struct Subscript {
  char32_t label;  // a label code point, or kEllipsis
  // Byte offset in the caller's expression of the label or of the first '.'.
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
        result += encode_utf8(subscript.label);
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

// A non-whitespace code point and the byte offset where its encoding starts
// in the caller's string.
struct Symbol {
  char32_t ch;
  std::size_t position;
};

// Which code points are labels. opt_einsum itself takes any character but
// ".,->" and ' ' as a label, and its get_symbol(i) names mode i with
// 'a'-'z', 'A'-'Z' for i < 52, then chr(i + 140) (U+00C0 up to the
// surrogates) and chr(i + 2048) (U+E000 up to U+10FFFF). We accept exactly
// that range, every letter outside it (ASCII letters and the three Latin-1
// letters U+00AA, U+00B5, U+00BA), and nothing else: ASCII digits and
// punctuation stay errors as in numpy, as do C1 controls and the Latin-1
// signs U+00A0-U+00BF. The range from U+00C0 includes non-letters (U+00D7
// '×', CJK punctuation, private use); they are labels because get_symbol
// produces them. Surrogates cannot occur: the decoder rejects them. Note
// that get_symbol(55156..55295) yields lone surrogates (its skip starts 140
// too late), which Python itself cannot encode as UTF-8, so those 140 symbols
// are the one part of its sequence that no UTF-8 expression can carry.
bool is_label(char32_t ch) {
  return (ch >= U'a' && ch <= U'z') || (ch >= U'A' && ch <= U'Z') || ch == 0xaa || ch == 0xb5 ||
         ch == 0xba || ch >= 0xc0;
}

// Only ASCII whitespace is skipped; a non-ASCII space from U+00C0 on (U+2000,
// U+3000) is a label, as get_symbol can produce it.
bool is_whitespace(char32_t ch) {
  return ch == U' ' || ch == U'\t' || ch == U'\n' || ch == U'\r' || ch == U'\v' || ch == U'\f';
}

constexpr char kHexDigits[] = "0123456789abcdef";

std::string hex_byte(unsigned char byte) {
  return std::string("0x") + kHexDigits[byte >> 4] + kHexDigits[byte & 0xf];
}

// "U+00C0", as Unicode writes code points.
std::string code_point_name(std::uint32_t value) {
  constexpr char kUpperHexDigits[] = "0123456789ABCDEF";
  std::string digits;
  for (std::uint32_t rest = value; rest != 0 || digits.size() < 4; rest >>= 4) {
    digits.insert(digits.begin(), kUpperHexDigits[rest & 0xf]);
  }
  return "U+" + digits;
}

// Control characters are shown as escapes so the message stays printable;
// other non-ASCII code points as U+XXXX and then the character itself.
std::string quote_char(char32_t ch) {
  const auto value = static_cast<std::uint32_t>(ch);
  if (value >= 0x20 && value < 0x7f) return std::string("'") + static_cast<char>(value) + "'";
  if (value < 0x80) {
    return std::string("'\\x") + kHexDigits[value >> 4] + kHexDigits[value & 0xf] + "'";
  }
  const bool printable = value >= 0xa0;  // U+0080-U+009F are C1 controls
  return code_point_name(value) + (printable ? " '" + encode_utf8(ch) + "'" : std::string());
}

// Decodes `text` as UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), dropping ASCII whitespace. A malformed sequence is
// reported at the byte offset where it starts.
std::vector<Symbol> decode(std::string_view text) {
  auto fail = [&](std::size_t position, const std::string& what) -> ParseError {
    return ParseError("invalid UTF-8 at byte " + std::to_string(position) + ": " + what +
                          "; expressions are UTF-8 text",
                      std::string(text), position);
  };
  std::vector<Symbol> symbols;
  std::size_t position = 0;
  while (position < text.size()) {
    const auto lead = static_cast<unsigned char>(text[position]);
    int continuation_count = 0;
    std::uint32_t value = 0;
    std::uint32_t smallest = 0;  // below this the encoding is overlong
    if (lead < 0x80) {
      value = lead;
    } else if (lead < 0xc0) {
      throw fail(position, "continuation byte " + hex_byte(lead) + " without a lead byte");
    } else if (lead < 0xe0) {
      continuation_count = 1;
      value = lead & 0x1fu;
      smallest = 0x80;
    } else if (lead < 0xf0) {
      continuation_count = 2;
      value = lead & 0x0fu;
      smallest = 0x800;
    } else if (lead < 0xf8) {
      continuation_count = 3;
      value = lead & 0x07u;
      smallest = 0x10000;
    } else {
      throw fail(position, "byte " + hex_byte(lead) + " never occurs in UTF-8");
    }
    for (int k = 1; k <= continuation_count; ++k) {
      const std::size_t at = position + static_cast<std::size_t>(k);
      if (at >= text.size()) {
        throw fail(position, "lead byte " + hex_byte(lead) + " wants " +
                                 std::to_string(continuation_count) +
                                 " continuation bytes but the expression ends after " +
                                 std::to_string(k - 1));
      }
      const auto byte = static_cast<unsigned char>(text[at]);
      if ((byte & 0xc0u) != 0x80u) {
        throw fail(position, "lead byte " + hex_byte(lead) + " wants " +
                                 std::to_string(continuation_count) +
                                 " continuation bytes but byte " + std::to_string(at) + " is " +
                                 hex_byte(byte));
      }
      value = (value << 6) | (byte & 0x3fu);
    }
    if (value < smallest) {
      throw fail(position, "overlong encoding of " + code_point_name(value) + " in " +
                               std::to_string(continuation_count + 1) + " bytes");
    }
    if (value >= 0xd800 && value <= 0xdfff) {
      throw fail(position, "encoded surrogate (UTF-16 halves are not characters)");
    }
    if (value > 0x10ffff) throw fail(position, "code point beyond U+10FFFF");
    const auto ch = static_cast<char32_t>(value);
    if (!is_whitespace(ch)) symbols.push_back({ch, position});
    position += static_cast<std::size_t>(continuation_count) + 1;
  }
  return symbols;
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

// Pass 1. The text is decoded and whitespace dropped before anything else,
// so "- >" and ". . ." read as "->" and "..." (whitespace is ignored
// anywhere, as in opt_einsum); positions are byte offsets into the caller's
// string.
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

  const std::vector<Symbol> symbols = decode(text);
  // An empty expression (or one of only whitespace) is a single scalar
  // operand with a scalar output, as numpy's einsum('', x) reads it.

  Expression expression;
  Term current;
  std::size_t ellipsis_position = 0;  // meaningful while current has one
  std::size_t arrow_position = 0;
  std::size_t k = 0;
  while (k < symbols.size()) {
    const Symbol& symbol = symbols[k];
    if (is_label(symbol.ch)) {
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
      throw invalid(symbol,
                    "labels are letters a-z, A-Z, or non-ASCII letters and symbols (any code "
                    "point from U+00C0 on, as opt_einsum's get_symbol makes them)");
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
  LabelMap<bool> in_inputs;
  for (const Term& term : expression.inputs) {
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) in_inputs[subscript.label] = true;
    }
  }

  // The first position in the output of each label met so far.
  LabelMap<std::size_t> first_position;
  for (const Subscript& subscript : expression.output.subscripts) {
    const std::string position = std::to_string(subscript.position);
    // An output "..." when no input has one stands for no dimensions, as in
    // numpy ('ij->...ji' is 'ij->ji').
    if (subscript.label == kEllipsis) continue;
    if (in_inputs.count(subscript.label) == 0) {
      throw ParseError("output label '" + encode_utf8(subscript.label) + "' at position " +
                           position + " is not in any input: every output label must " +
                           "appear in an input term",
                       std::string(text), subscript.position);
    }
    const auto first = first_position.find(subscript.label);
    if (first != first_position.end()) {
      throw ParseError("output label '" + encode_utf8(subscript.label) + "' at position " +
                           position + " repeats the one at position " +
                           std::to_string(first->second) +
                           ": a label may appear at most once in the output",
                       std::string(text), subscript.position);
    }
    first_position.emplace(subscript.label, subscript.position);
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
                                            Problem& problem, LabelMap<Mode>& letter_modes,
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

  bool ellipsis_assigned = false;
  std::vector<std::vector<Mode>> axis_modes(shapes.size());
  for (std::size_t input = 0; input < shapes.size(); ++input) {
    const Term& term = expression.inputs[input];
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) {
        auto found = letter_modes.find(subscript.label);
        if (found == letter_modes.end()) {
          found =
              letter_modes.emplace(subscript.label, add_mode(encode_utf8(subscript.label))).first;
        }
        axis_modes[input].push_back(found->second);
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
  LabelMap<Mode> letter_modes;
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
        problem.output.push_back(letter_modes.at(subscript.label));
      }
    }
    return problem;
  }

  // numpy's implicit output: ellipsis dimensions, then the labels used once,
  // in code point order (so 'B' comes before 'a', and 'z' before 'À'), as
  // numpy sorts ASCII and opt_einsum's sorted(set(...)) sorts any label.
  problem.output = ellipsis_modes;
  LabelMap<int> uses;
  for (const Term& term : expression.inputs) {
    for (const Subscript& subscript : term.subscripts) {
      if (subscript.label != kEllipsis) ++uses[subscript.label];
    }
  }
  for (const auto& [label, count] : uses) {
    if (count == 1) problem.output.push_back(letter_modes.at(label));
  }
  return problem;
}

}  // namespace einstream::detail
