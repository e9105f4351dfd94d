// JSON on the command line: the --shapes grammar shared by `path` and
// `bench`, and counts printed as integers while they are integers.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace einstream::cli {

// '[[2,3],[3,4]]': one array of non-negative integer extents per operand
// ('[]' is a scalar). Throws Error naming --shapes and what was expected.
std::vector<std::vector<std::int64_t>> parse_shapes(const std::string& text);

// FLOP and byte counts: an integer while the value is one and fits 64 bits.
nlohmann::json count_to_json(double value);

}  // namespace einstream::cli
