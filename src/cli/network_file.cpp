#include "src/cli/network_file.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <set>

#include "einstream/error.hpp"
#include "src/cli/json_values.hpp"

namespace einstream::cli {

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// How a JSON value is described in an error: its kind, and the value
// itself while it is short.
std::string describe(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(value.type_name()) + " " + text;
}

// A JSON integer that fits int64 (nlohmann holds integers above INT64_MAX
// as unsigned); `what` names the value in errors.
std::int64_t to_int64(const nlohmann::json& value, const std::string& where,
                      const std::string& what) {
  if (!value.is_number_integer()) {
    throw Error(where + ": " + what + " must be an integer, not " + describe(value));
  }
  if (value.is_number_unsigned() &&
      value.get<std::uint64_t>() > static_cast<std::uint64_t>(kInt64Max)) {
    throw Error(where + ": " + what + " " + value.dump() + " does not fit a signed 64-bit integer");
  }
  return value.get<std::int64_t>();
}

// A mode id as an "extents" key: canonical decimal ("7", "-3"; not "07",
// "+7", "-0" or " 7"), so two keys never name one mode.
bool parse_mode_key(const std::string& key, std::int64_t& mode) {
  if (key.empty()) return false;
  const char* first = key.data();
  const char* last = key.data() + key.size();
  const auto [end, error] = std::from_chars(first, last, mode);
  return error == std::errc() && end == last && std::to_string(mode) == key;
}

std::vector<std::int64_t> parse_mode_list(const nlohmann::json& list, const std::string& where) {
  if (!list.is_array()) {
    throw Error(where + ": expected an array of integer modes, not " + describe(list));
  }
  std::vector<std::int64_t> modes;
  modes.reserve(list.size());
  for (std::size_t axis = 0; axis < list.size(); ++axis) {
    modes.push_back(to_int64(list[axis], where + "[" + std::to_string(axis) + "]", "the mode"));
  }
  return modes;
}

}  // namespace

std::vector<std::vector<std::int64_t>> Network::shapes() const {
  if (!has_extents) throw Error("the network gives no \"extents\"");
  std::vector<std::vector<std::int64_t>> shapes;
  shapes.reserve(input_modes.size());
  for (const std::vector<std::int64_t>& modes : input_modes) {
    std::vector<std::int64_t> shape;
    shape.reserve(modes.size());
    for (const std::int64_t mode : modes) shape.push_back(extents.at(mode));
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

void Network::apply_path(Options& options) const {
  if (path.empty()) return;
  if (!options.given_path.empty()) {
    throw Error("the network file gives a \"path\" and --given-path another: give one");
  }
  options.given_path = path;
}

Network parse_network(std::string_view text) {
  const std::string format =
      "expected {\"inputs\": [[0,1],[1,2]], \"output\": [0,2], \"extents\": {\"0\": 2, \"1\": 3, "
      "\"2\": 4}}";
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& error) {
    // Not only parse_error: a number too large for a double ("1e400") is
    // out_of_range.
    throw Error("not valid JSON (" + std::string(error.what()) + "); " + format);
  }
  if (!document.is_object()) {
    throw Error("the document is " + describe(document) + ", not an object; " + format);
  }
  for (const auto& item : document.items()) {
    if (item.key() != "inputs" && item.key() != "output" && item.key() != "extents" &&
        item.key() != "path") {
      throw Error("unknown key \"" + item.key() +
                  "\": a network has only \"inputs\", \"output\", \"extents\" and \"path\"");
    }
  }
  for (const char* key : {"inputs", "output"}) {
    if (!document.contains(key)) throw Error(std::string("missing key \"") + key + "\"; " + format);
  }

  Network network;
  const nlohmann::json& inputs = document["inputs"];
  if (!inputs.is_array()) {
    throw Error("inputs: expected an array with one array of modes per operand, not " +
                describe(inputs));
  }
  if (inputs.empty()) throw Error("inputs: a network needs at least one operand");
  std::set<std::int64_t> input_modes;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    network.input_modes.push_back(
        parse_mode_list(inputs[operand], "inputs[" + std::to_string(operand) + "]"));
    input_modes.insert(network.input_modes.back().begin(), network.input_modes.back().end());
  }

  network.output_modes = parse_mode_list(document["output"], "output");
  std::set<std::int64_t> output_modes;
  for (std::size_t axis = 0; axis < network.output_modes.size(); ++axis) {
    const std::int64_t mode = network.output_modes[axis];
    const std::string where = "output[" + std::to_string(axis) + "]";
    if (input_modes.count(mode) == 0) {
      throw Error(where + ": mode " + std::to_string(mode) + " appears in no input");
    }
    if (!output_modes.insert(mode).second) {
      throw Error(where + ": mode " + std::to_string(mode) + " appears twice in the output");
    }
  }

  if (document.contains("path")) network.path = path_from_json(document["path"], "path");
  if (!document.contains("extents")) return network;
  const nlohmann::json& extents = document["extents"];
  if (!extents.is_object()) {
    throw Error(
        "extents: expected an object from mode id to extent, e.g. {\"0\": 2, \"1\": 3}, "
        "not " +
        describe(extents));
  }
  network.has_extents = true;
  for (const auto& item : extents.items()) {
    const std::string where = "extents[\"" + item.key() + "\"]";
    std::int64_t mode = 0;
    if (!parse_mode_key(item.key(), mode)) {
      throw Error(where + ": a key must be a mode id written as a decimal integer, e.g. \"7\"");
    }
    if (input_modes.count(mode) == 0) {
      throw Error(where + ": mode " + item.key() + " appears in no input");
    }
    const std::int64_t extent = to_int64(item.value(), where, "the extent");
    if (extent < 0) {
      throw Error(where + ": extent " + std::to_string(extent) + " is negative");
    }
    network.extents[mode] = extent;
  }
  for (std::size_t operand = 0; operand < network.input_modes.size(); ++operand) {
    const std::vector<std::int64_t>& modes = network.input_modes[operand];
    const std::string where = "inputs[" + std::to_string(operand) + "]";
    // Extents of zero are skipped so that an overflow is refused even in an
    // empty operand, as the library refuses such a TensorDesc.
    std::int64_t elements = 1;
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      const auto found = network.extents.find(modes[axis]);
      if (found == network.extents.end()) {
        throw Error(where + "[" + std::to_string(axis) + "]: mode " + std::to_string(modes[axis]) +
                    " has no extent");
      }
      const std::int64_t extent = found->second;
      if (extent > 1 && elements > kInt64Max / extent) {
        throw Error(where +
                    ": the operand's element count (the product of its extents) does "
                    "not fit a signed 64-bit integer");
      }
      if (extent > 1) elements *= extent;
    }
  }
  return network;
}

Network read_network_file(const std::string& path) {
  const std::string what = "network file '" + path + "'";
  const std::string text = read_json_file(path, what);
  try {
    return parse_network(text);
  } catch (const Error& failure) {
    throw Error(what + ": " + failure.what());
  }
}

}  // namespace einstream::cli
