// The JSON type of the streaming bench's results document: ordered, so the
// --out file keeps its keys in the order they were written.
#pragma once

#include <nlohmann/json.hpp>

namespace streaming_bench {

using Json = nlohmann::ordered_json;

}  // namespace streaming_bench
