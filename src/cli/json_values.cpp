#include "src/cli/json_values.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "einstream/error.hpp"

namespace einstream::cli {

std::vector<std::vector<std::int64_t>> parse_shapes(const std::string& text) {
  const std::string expected =
      "expected a JSON array with one array of non-negative integer extents per operand, e.g. "
      "'[[2,3],[3,4]]' ('[]' is a scalar)";
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    // parse_error, and out_of_range for numbers no double holds (1e400).
    throw Error("--shapes is not valid JSON (" + std::string(error.what()) + "): " + expected);
  }
  if (!document.is_array()) throw Error("--shapes is not an array: " + expected);
  std::vector<std::vector<std::int64_t>> shapes;
  for (std::size_t operand = 0; operand < document.size(); ++operand) {
    const nlohmann::json& shape = document[operand];
    const std::string where = "--shapes operand " + std::to_string(operand);
    if (!shape.is_array())
      throw Error(where + " is " + shape.dump() + ", not an array: " + expected);
    std::vector<std::int64_t> extents;
    for (const nlohmann::json& extent : shape) {
      if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0) {
        throw Error(where + " has extent " + extent.dump() + ": " + expected);
      }
      extents.push_back(extent.get<std::int64_t>());
    }
    shapes.push_back(std::move(extents));
  }
  return shapes;
}

std::vector<std::vector<int>> path_from_json(const nlohmann::json& document,
                                             const std::string& where) {
  const std::string expected =
      "expected a non-empty array with one array of operand positions per step, e.g. "
      "[[1,2],[0,1]] (the \"path\" of `einstream path --json`)";
  if (!document.is_array() || document.empty()) {
    throw Error(where + " is " + document.dump() + ": " + expected);
  }
  std::vector<std::vector<int>> path;
  for (std::size_t index = 0; index < document.size(); ++index) {
    const nlohmann::json& step = document[index];
    const std::string at = where + " step " + std::to_string(index);
    if (!step.is_array()) throw Error(at + " is " + step.dump() + ", not an array: " + expected);
    std::vector<int> positions;
    for (const nlohmann::json& position : step) {
      if (!position.is_number_integer() || position.get<std::int64_t>() < 0 ||
          position.get<std::int64_t>() > std::numeric_limits<int>::max()) {
        throw Error(at + " has position " + position.dump() + ": " + expected);
      }
      positions.push_back(position.get<int>());
    }
    path.push_back(std::move(positions));
  }
  return path;
}

std::string read_json_file(const std::string& path, const std::string& what) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw Error(what + ": the file does not exist");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw Error(what + " is a directory, not a JSON file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(what + ": cannot be opened for reading");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw Error(what + ": read failed");
  return text.str();
}

std::vector<std::vector<int>> parse_given_path(const std::string& text) {
  const bool from_file = !text.empty() && text[0] == '@';
  const std::string where =
      from_file ? "--given-path file '" + text.substr(1) + "'" : std::string("--given-path");
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(from_file ? read_json_file(text.substr(1), where) : text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(where + " is not valid JSON (" + std::string(error.what()) +
                "): expected one array of operand positions per step, e.g. '[[1,2],[0,1]]'");
  }
  // `einstream path --json`'s whole object: its "path".
  if (document.is_object() && document.contains("path")) {
    return path_from_json(document["path"], where + " \"path\"");
  }
  return path_from_json(document, where);
}

nlohmann::json count_to_json(double value) {
  if (value >= 0 && value < 1.8e19 && value == std::floor(value)) {
    return static_cast<std::uint64_t>(value);
  }
  return value;
}

}  // namespace einstream::cli
