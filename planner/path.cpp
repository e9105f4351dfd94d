#include "planner/path.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

std::vector<Mode> unique_modes(const std::vector<Mode>& modes) {
  std::vector<Mode> unique;
  for (Mode mode : modes) {
    if (std::find(unique.begin(), unique.end(), mode) == unique.end()) unique.push_back(mode);
  }
  return unique;
}

double size_of_modes(const Problem& problem, const std::vector<Mode>& modes) {
  double size = 1;
  for (Mode mode : modes) size *= static_cast<double>(problem.extents[mode]);
  return size;
}

}  // namespace

LinearPath ContractionPath::linear() const {
  LinearPath path;
  for (const PathStep& step : steps) path.push_back(step.operands);
  return path;
}

ContractionPath evaluate_path(const Problem& problem, const LinearPath& linear) {
  std::vector<std::vector<Mode>> operands;
  for (const ProblemOperand& input : problem.inputs) operands.push_back(unique_modes(input.modes));

  ContractionPath path;
  for (std::size_t step_index = 0; step_index < linear.size(); ++step_index) {
    const std::string where = "contraction path step " + std::to_string(step_index);
    std::vector<int> positions = linear[step_index];
    std::sort(positions.begin(), positions.end());
    if (positions.empty() || positions.size() > 2) {
      throw Error(where + " names " + std::to_string(positions.size()) +
                  " operands: expected 1 or 2");
    }
    if (std::adjacent_find(positions.begin(), positions.end()) != positions.end()) {
      throw Error(where + " names operand " + std::to_string(positions[0]) + " twice");
    }
    for (int position : positions) {
      if (position < 0 || position >= static_cast<int>(operands.size())) {
        throw Error(where + " names operand " + std::to_string(position) + " but only " +
                    std::to_string(operands.size()) + " remain");
      }
    }

    PathStep step;
    step.operands = positions;
    for (int position : positions) step.operand_modes.push_back(operands[position]);
    for (auto it = positions.rbegin(); it != positions.rend(); ++it) {
      operands.erase(operands.begin() + *it);
    }

    // A mode survives the step if a remaining operand or the output needs it.
    std::vector<Mode> involved;
    for (const auto& modes : step.operand_modes) {
      for (Mode mode : modes) {
        if (std::find(involved.begin(), involved.end(), mode) == involved.end()) {
          involved.push_back(mode);
        }
      }
    }
    const bool last = operands.empty();
    if (last) {
      step.result = problem.output;
    } else {
      for (Mode mode : involved) {
        bool needed =
            std::find(problem.output.begin(), problem.output.end(), mode) != problem.output.end();
        for (const auto& other : operands) {
          needed = needed || std::find(other.begin(), other.end(), mode) != other.end();
        }
        if (needed) step.result.push_back(mode);
      }
    }
    const bool sums = involved.size() > step.result.size();
    step.flops = size_of_modes(problem, involved) * (sums ? 2.0 : 1.0);
    step.result_size = size_of_modes(problem, step.result);
    path.flops += step.flops;
    path.largest_intermediate = std::max(path.largest_intermediate, step.result_size);
    operands.push_back(step.result);
    path.steps.push_back(std::move(step));
  }
  if (operands.size() != 1 || path.steps.empty()) {
    throw Error("contraction path leaves " + std::to_string(operands.size()) +
                " operands: expected exactly one (the output)");
  }
  return path;
}

LinearPath naive_path(const Problem& problem) {
  const int count = static_cast<int>(problem.inputs.size());
  if (count == 1) return {{0}};
  // After the first step the running result sits last, the next operand
  // written in the expression first.
  LinearPath path{{0, 1}};
  for (int remaining = count - 1; remaining > 1; --remaining) path.push_back({0, remaining - 1});
  return path;
}

}  // namespace einstream::detail
