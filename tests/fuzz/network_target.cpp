// Fuzz target for the `--network FILE.json` reader. The input is the file's
// text. What parse_network accepts must be a network the integer-mode Plan
// can be handed: at least one operand, every output mode in some input and
// once, and with extents, one non-negative extent per mode whose product per
// operand fits int64. An accepted network, written back as JSON, must parse
// to the same network.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include "einstream/error.hpp"
#include "src/cli/network_file.hpp"
#include "tests/fuzz/targets.hpp"

namespace einstream::fuzz {
namespace {

std::string check_network(const cli::Network& network) {
  if (network.input_modes.empty()) return "accepted a network without operands";
  std::set<std::int64_t> input_modes;
  for (const auto& modes : network.input_modes) input_modes.insert(modes.begin(), modes.end());
  std::set<std::int64_t> output_modes;
  for (const std::int64_t mode : network.output_modes) {
    if (input_modes.count(mode) == 0) return "accepted an output mode in no input";
    if (!output_modes.insert(mode).second) return "accepted an output mode twice";
  }
  if (!network.has_extents) {
    return network.extents.empty() ? std::string() : "extents without has_extents";
  }
  for (const auto& [mode, extent] : network.extents) {
    if (input_modes.count(mode) == 0) return "accepted an extent for a mode in no input";
    if (extent < 0) return "accepted a negative extent";
  }
  const auto shapes = network.shapes();
  if (shapes.size() != network.input_modes.size()) return "shapes() has the wrong operand count";
  for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
    if (shapes[operand].size() != network.input_modes[operand].size()) {
      return "shapes() has the wrong rank";
    }
    std::int64_t elements = 1;
    for (const std::int64_t extent : shapes[operand]) {
      if (extent > 1 && elements > std::numeric_limits<std::int64_t>::max() / extent) {
        return "accepted an operand whose element count overflows";
      }
      if (extent > 1) elements *= extent;
    }
  }
  return {};
}

std::string to_json(const cli::Network& network) {
  nlohmann::json document;
  document["inputs"] = network.input_modes;
  document["output"] = network.output_modes;
  if (network.has_extents) {
    document["extents"] = nlohmann::json::object();
    for (const auto& [mode, extent] : network.extents) {
      document["extents"][std::to_string(mode)] = extent;
    }
  }
  return document.dump();
}

}  // namespace

std::string network_target(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cli::Network network;
  try {
    network = cli::parse_network(text);
  } catch (const Error&) {
    return {};  // a correct answer to bad input
  }
  if (std::string failure = check_network(network); !failure.empty()) return failure;
  try {
    const cli::Network again = cli::parse_network(to_json(network));
    if (again.input_modes != network.input_modes || again.output_modes != network.output_modes ||
        again.extents != network.extents || again.has_extents != network.has_extents) {
      return "the network written back as JSON parses differently";
    }
  } catch (const Error& error) {
    return std::string("the network written back as JSON is refused: ") + error.what();
  }
  return {};
}

}  // namespace einstream::fuzz
