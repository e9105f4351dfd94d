#include "bench/cuda/streaming/problem.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace streaming_bench {
namespace {

using einstream::Error;

// Explicit "->", letters only: the slices of the correctness check are
// built from the labels, so the bookkeeping must be exact.
void parse_terms(OocProblem& problem) {
  std::string text;
  for (char c : problem.expression) {
    if (c != ' ') text += c;
  }
  const std::size_t arrow = text.find("->");
  if (arrow == std::string::npos) throw Error("the expression needs an explicit output ('->')");
  problem.output_term = text.substr(arrow + 2);
  const std::string inputs = text.substr(0, arrow);
  problem.terms.clear();
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = inputs.find(',', begin);
    problem.terms.push_back(inputs.substr(begin, comma - begin));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  for (const std::string& term : problem.terms) {
    for (char c : term) {
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        throw Error("term '" + term + "' has '" + std::string(1, c) +
                    "': this bench takes letters only (no ellipsis)");
      }
    }
  }
  if (problem.terms.size() != problem.shapes.size()) {
    throw Error(std::to_string(problem.terms.size()) + " operands but " +
                std::to_string(problem.shapes.size()) + " shapes");
  }
  for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
    const std::string& term = problem.terms[operand];
    if (term.size() != problem.shapes[operand].size()) {
      throw Error("operand " + std::to_string(operand) + " '" + term + "' has rank " +
                  std::to_string(term.size()) + " but its shape has " +
                  std::to_string(problem.shapes[operand].size()) + " extents");
    }
    for (std::size_t axis = 0; axis < term.size(); ++axis) {
      const std::int64_t extent = problem.shapes[operand][axis];
      if (extent <= 0) throw Error("operand " + std::to_string(operand) + " has extent <= 0");
      const auto [known, inserted] = problem.extents.emplace(term[axis], extent);
      if (!inserted && known->second != extent) {
        throw Error(std::string("mode '") + term[axis] + "' is " + std::to_string(known->second) +
                    " and " + std::to_string(extent));
      }
    }
  }
  for (char mode : problem.output_term) {
    if (!problem.extents.count(mode)) {
      throw Error(std::string("output mode '") + mode + "' is in no input");
    }
    if (std::count(problem.output_term.begin(), problem.output_term.end(), mode) > 1) {
      throw Error(std::string("the output repeats mode '") + mode + "'");
    }
  }
}

}  // namespace

std::vector<OocProblem> load_problems(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error("cannot open problems file '" + path + "'");
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    throw Error(path + ": not valid JSON: " + error.what());
  }
  const nlohmann::json& list = document.is_object() ? document.at("problems") : document;
  std::vector<OocProblem> problems;
  for (std::size_t index = 0; index < list.size(); ++index) {
    const nlohmann::json& entry = list[index];
    const std::string where =
        path + ": problem " + std::to_string(index) + " (" + entry.value("name", "?") + ")";
    try {
      OocProblem problem;
      problem.name = entry.at("name").get<std::string>();
      problem.kind = entry.at("kind").get<std::string>();
      problem.expression = entry.at("expression").get<std::string>();
      problem.shapes = entry.at("shapes").get<std::vector<std::vector<std::int64_t>>>();
      problem.memory_limit = entry.at("memory_limit").get<std::string>();
      problem.note = entry.value("note", "");
      const std::string dtype = entry.at("dtype").get<std::string>();
      if (dtype != "f32" && dtype != "f64") {
        throw Error("dtype '" + dtype + "': this bench supports f32 and f64");
      }
      problem.dtype = einstream::data_type_from_string(dtype);
      if (problem.kind != "transfer-bound" && problem.kind != "compute-bound") {
        throw Error("kind '" + problem.kind + "' is not transfer-bound or compute-bound");
      }
      einstream::MemoryLimit::parse(problem.memory_limit);  // throws on a bad limit
      parse_terms(problem);
      for (const OocProblem& earlier : problems) {
        if (earlier.name == problem.name) throw Error("duplicate name");
      }
      problems.push_back(std::move(problem));
    } catch (const std::exception& error) {
      throw Error(where + ": " + error.what());
    }
  }
  return problems;
}

}  // namespace streaming_bench
