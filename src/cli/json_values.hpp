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

// '[[1,2],[0,1]]': a contraction path in opt_einsum's format, one array of
// operand positions per step (what `path --json` prints as "path"), for
// Options::given_path; '@FILE' reads the JSON from FILE, which may also be
// `path --json`'s whole object. Throws Error naming --given-path (and the
// file) and what was expected; the positions themselves are checked when
// planning.
std::vector<std::vector<int>> parse_given_path(const std::string& text);

// The same path from a JSON value (a network file's "path"); errors name
// `where`.
std::vector<std::vector<int>> path_from_json(const nlohmann::json& document,
                                             const std::string& where);

// The text of the JSON file at `path`; errors (no such file, a directory,
// unreadable) start with `what`.
std::string read_json_file(const std::string& path, const std::string& what);

// FLOP and byte counts: an integer while the value is one and fits 64 bits.
nlohmann::json count_to_json(double value);

}  // namespace einstream::cli
