#include "planner/problem.hpp"

#include <cstddef>

namespace einstream::detail {

std::vector<std::int64_t> Problem::output_extents() const {
  std::vector<std::int64_t> result;
  result.reserve(output.size());
  for (Mode mode : output) result.push_back(extents[static_cast<std::size_t>(mode)]);
  return result;
}

std::string label_text(const std::string& label) {
  if (label.compare(0, 3, "...") == 0) return "[" + label + "]";
  return label;
}

namespace {

void append_modes(std::string& text, const std::vector<Mode>& modes, const Problem& problem) {
  for (Mode mode : modes) text += label_text(problem.labels[static_cast<std::size_t>(mode)]);
}

}  // namespace

std::string to_string(const Problem& problem) {
  std::string text;
  for (std::size_t k = 0; k < problem.inputs.size(); ++k) {
    if (k > 0) text += ',';
    append_modes(text, problem.inputs[k].modes, problem);
  }
  text += "->";
  append_modes(text, problem.output, problem);
  return text;
}

std::ostream& operator<<(std::ostream& os, const Problem& problem) {
  return os << to_string(problem);
}

}  // namespace einstream::detail
