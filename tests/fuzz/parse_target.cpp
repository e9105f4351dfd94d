// Fuzz target for the expression parser. The input is the expression, then
// optionally '\n' and the operand shapes as bytes (operand count, then each
// operand's rank and extents). Without a shape section the shapes follow the
// expression (one axis per letter, extent 2; an ellipsis adds one axis of 3),
// so plain-text seeds reach the parser's semantic checks.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "einstream/error.hpp"
#include "planner/parse.hpp"
#include "tests/fuzz/byte_reader.hpp"
#include "tests/fuzz/targets.hpp"

namespace einstream::fuzz {
namespace {

using Shapes = std::vector<std::vector<std::int64_t>>;

// Mostly small extents; the top byte values give the extents that overflow
// element counts or are invalid.
std::int64_t decode_extent(std::uint8_t byte) {
  constexpr std::int64_t kLarge[] = {std::int64_t{1} << 31,
                                     std::int64_t{1} << 40,
                                     3037000500,  // just over sqrt(2^63)
                                     std::int64_t{1} << 62,
                                     std::numeric_limits<std::int64_t>::max(),
                                     -1};
  constexpr int kLargeCount = sizeof(kLarge) / sizeof(kLarge[0]);
  if (byte >= 256 - kLargeCount) return kLarge[byte - (256 - kLargeCount)];
  return byte % 8;
}

Shapes shapes_from_bytes(ByteReader& reader) {
  Shapes shapes(reader.below(9));
  for (auto& shape : shapes) {
    shape.resize(reader.below(9));
    for (auto& extent : shape) extent = decode_extent(reader.byte());
  }
  return shapes;
}

Shapes shapes_from_expression(std::string_view expression) {
  const std::string_view inputs = expression.substr(0, expression.find("->"));
  Shapes shapes(1);
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const char character = inputs[index];
    if (character == ',') {
      shapes.emplace_back();
    } else if (inputs.compare(index, 3, "...") == 0) {
      shapes.back().push_back(3);
      index += 2;
    } else if (character != ' ' && character != '\t') {
      shapes.back().push_back(2);
    }
  }
  return shapes;
}

// What the Problem of a successful parse must satisfy, whatever the input.
std::string check_problem(const detail::Problem& problem, const Shapes& shapes) {
  const int modes = problem.mode_count();
  if (problem.labels.size() != problem.extents.size()) return "labels and extents differ in count";
  if (problem.inputs.size() != shapes.size()) return "operand count differs from the shapes";
  for (std::int64_t extent : problem.extents) {
    if (extent < 0) return "negative mode extent";
  }
  for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
    const detail::ProblemOperand& input = problem.inputs[operand];
    const std::vector<std::int64_t>& shape = shapes[operand];
    if (input.rank != static_cast<int>(shape.size())) return "operand rank differs from its shape";
    if (input.modes.size() != input.axes.size()) return "modes and axes differ in count";
    std::vector<bool> kept(shape.size(), false);
    for (std::size_t entry = 0; entry < input.modes.size(); ++entry) {
      const int axis = input.axes[entry];
      const detail::Mode mode = input.modes[entry];
      if (axis < 0 || axis >= input.rank || kept[axis]) return "axis out of range or repeated";
      if (mode < 0 || mode >= modes) return "mode out of range";
      kept[axis] = true;
      if (shape[axis] != problem.extents[mode]) return "kept axis extent differs from its mode's";
    }
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
      if (!kept[axis] && shape[axis] != 1) return "an axis of extent other than 1 was dropped";
    }
  }
  std::vector<bool> in_output(modes, false);
  for (detail::Mode mode : problem.output) {
    if (mode < 0 || mode >= modes || in_output[mode]) return "output mode out of range or repeated";
    in_output[mode] = true;
  }
  std::ostringstream printed;
  printed << problem;
  if (printed.str() != detail::to_string(problem)) return "operator<< differs from to_string";
  return {};
}

}  // namespace

std::string parse_target(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t* newline = std::find(data, data + size, std::uint8_t{'\n'});
  const std::string expression(reinterpret_cast<const char*>(data),
                               static_cast<std::size_t>(newline - data));
  Shapes shapes;
  if (newline == data + size) {
    shapes = shapes_from_expression(expression);
  } else {
    ByteReader reader(newline + 1, static_cast<std::size_t>(data + size - newline - 1));
    shapes = shapes_from_bytes(reader);
  }
  try {
    return check_problem(detail::parse(expression, shapes), shapes);
  } catch (const ParseError& error) {
    if (error.position() > expression.size()) return "ParseError position past the expression";
  } catch (const Error&) {
    // ShapeError and the like: a correct answer to bad input.
  }
  return {};
}

}  // namespace einstream::fuzz
