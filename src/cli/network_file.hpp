// `--network FILE.json`: a tensor network as integer mode lists, so a
// network of a thousand tensors need not be written as one shell argument.
//
//   {"inputs": [[0, 1], [1, 2]], "output": [0, 2], "extents": {"0": 2, "1": 3, "2": 4}}
//
// "inputs": one array of integer modes per operand, one mode per axis (a
// mode is any int64; only equality matters; a mode repeated within an
// operand takes its diagonal). "output": the result's modes, each in some
// input and at most once ([] for a scalar). "extents": an object from each
// mode (its decimal id as the key) to its non-negative extent; `path` needs
// every mode's, `run` takes them from the .npy files and checks any given.
// "path" (optional): a contraction path to run instead of searching one, in
// opt_einsum's format ([[1, 2], [0, 1]]: cotengra's tree.get_path()), as
// --given-path gives one. No other keys are allowed, so a misspelt one is
// not silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "einstream/plan.hpp"

namespace einstream::cli {

struct Network {
  std::vector<std::vector<std::int64_t>> input_modes;
  std::vector<std::int64_t> output_modes;
  std::map<std::int64_t, std::int64_t> extents;  // empty when the file gives none
  bool has_extents = false;
  std::vector<std::vector<int>> path;  // empty when the file gives none

  // Puts `path` into options.given_path. Throws Error when --given-path
  // gave one too.
  void apply_path(Options& options) const;

  // Operand k's extents, from `extents`. Throws Error unless has_extents.
  std::vector<std::vector<std::int64_t>> shapes() const;
};

// Parses and validates a network document. Throws Error whose message names
// the JSON path of the first problem, e.g. "inputs[3][1]: mode 7 has no
// extent".
Network parse_network(std::string_view text);

// Reads `path` and parses it; errors name the file.
Network read_network_file(const std::string& path);

}  // namespace einstream::cli
