// A problem of bench/ooc.json: its expression, shapes, dtype and memory
// limit, with the mode bookkeeping the floor and the correctness check use.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "einstream/einstream.hpp"

namespace streaming_bench {

using einstream::DataType;
using einstream::TensorDesc;

struct OocProblem {
  std::string name;
  std::string kind;  // "transfer-bound" or "compute-bound"
  std::string expression;
  std::vector<std::string> terms;  // one mode label per axis, per input
  std::string output_term;
  std::vector<std::vector<std::int64_t>> shapes;
  DataType dtype = DataType::f32;
  std::string memory_limit;
  std::string note;
  std::map<char, std::int64_t> extents;

  std::vector<TensorDesc> descs() const {
    std::vector<TensorDesc> list;
    for (const auto& shape : shapes) list.emplace_back(dtype, shape);
    return list;
  }
  std::int64_t input_elements(std::size_t operand) const {
    return TensorDesc(dtype, shapes[operand]).element_count();
  }
  // Terms summed into each output element: the product of the extents of
  // the modes the output lacks.
  double summed_terms() const {
    double count = 1;
    for (const auto& [mode, extent] : extents) {
      if (output_term.find(mode) == std::string::npos) count *= static_cast<double>(extent);
    }
    return count;
  }
  std::vector<std::int64_t> output_extents() const {
    std::vector<std::int64_t> list;
    for (char mode : output_term) list.push_back(extents.at(mode));
    return list;
  }
  double input_bytes() const {
    double bytes = 0;
    for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
      bytes += static_cast<double>(input_elements(operand) * einstream::size_of(dtype));
    }
    return bytes;
  }
  double output_bytes() const {
    return static_cast<double>(TensorDesc(dtype, output_extents()).element_count() *
                               einstream::size_of(dtype));
  }
};

// Reads and validates the problems file (a list, or an object with a
// "problems" list); throws einstream::Error naming the file and the problem.
std::vector<OocProblem> load_problems(const std::string& path);

}  // namespace streaming_bench
