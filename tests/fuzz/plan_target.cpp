// Fuzz target for planning and executing: a small einsum problem decoded from
// the bytes runs through einstream::Plan on the host backend and through the
// reference executor, and the two outputs must agree.
//
// The data are small integers, so every product and sum is exact in f32 and
// wider and any difference beyond rounding of the output is a bug; f16 and
// bf16 hold fewer integers exactly and are held to testing::tolerance. With
// beta == 0 the output starts as NaN, which catches an output that is read
// when it must not be; gaps left by padded output strides must stay as they
// were in both.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/fuzz/byte_reader.hpp"
#include "tests/fuzz/targets.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::fuzz {
namespace {

using testing::kDataTypeCount;
using testing::kDataTypes;
constexpr PathAlgorithm kPaths[] = {PathAlgorithm::automatic, PathAlgorithm::naive,
                                    PathAlgorithm::greedy,    PathAlgorithm::optimal,
                                    PathAlgorithm::dp,        PathAlgorithm::random_greedy};
constexpr int kMaxLabels = 4;
constexpr int kMaxOperands = 3;
constexpr int kMaxRank = 3;
constexpr unsigned kMaxExtent = 4;
constexpr int kMaxValue = 3;  // data are integers in [-kMaxValue, kMaxValue]

const Scalar kRealScalars[] = {0.0, 1.0, -1.0, 0.5, 2.0};
const Scalar kComplexScalars[] = {0.0, 1.0, -1.0, 0.5, {0.0, 1.0}, {2.0, -1.0}};

// A tensor in a buffer of its own: `origin` is the element offset of element
// (0, ..., 0), so negative strides stay inside the buffer.
struct StridedBuffer {
  std::vector<unsigned char> bytes;
  std::int64_t origin = 0;

  unsigned char* at_origin(DataType dtype) {
    return bytes.data() + origin * static_cast<std::int64_t>(size_of(dtype));
  }
};

StridedBuffer allocate(const TensorDesc& desc) {
  const std::vector<std::int64_t> strides = desc.effective_strides();
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  bool empty = false;
  for (int axis = 0; axis < desc.rank(); ++axis) {
    const std::int64_t extent = desc.extents[axis];
    if (extent == 0) empty = true;
    const std::int64_t reach = (extent > 0 ? extent - 1 : 0) * strides[axis];
    (reach < 0 ? lowest : highest) += reach;
  }
  StridedBuffer buffer;
  const std::int64_t elements = empty ? 1 : highest - lowest + 1;
  buffer.bytes.resize(static_cast<std::size_t>(elements) * size_of(desc.dtype));
  buffer.origin = empty ? 0 : -lowest;
  return buffer;
}

std::complex<double> load(DataType dtype, const unsigned char* bytes, std::size_t index) {
  return testing::element(dtype, bytes, static_cast<std::int64_t>(index));
}

void store(DataType dtype, unsigned char* bytes, std::size_t index, std::complex<double> value) {
  testing::set_element(dtype, bytes, static_cast<std::int64_t>(index), value);
}

void fill_integers(DataType dtype, StridedBuffer& buffer, std::mt19937& random) {
  std::uniform_int_distribution<int> value(-kMaxValue, kMaxValue);
  const std::size_t count = buffer.bytes.size() / size_of(dtype);
  for (std::size_t index = 0; index < count; ++index) {
    const double real = value(random);
    store(dtype, buffer.bytes.data(), index, {real, is_complex(dtype) ? value(random) : 0.0});
  }
}

// Strides for `extents`: C order, Fortran order, arbitrary in [-4, 4] (zero
// and overlapping included; only for inputs), or C order with some axes
// reversed and every stride doubled (gaps; safe for outputs).
std::vector<std::int64_t> decode_strides(ByteReader& reader,
                                         const std::vector<std::int64_t>& extents,
                                         bool allow_overlap) {
  const std::vector<std::int64_t> c_order = c_order_strides(extents);
  const unsigned layout = reader.below(allow_overlap ? 4 : 3);
  std::vector<std::int64_t> strides(extents.size());
  switch (layout) {
    case 0:
      return {};
    case 1: {
      std::int64_t stride = 1;
      for (std::size_t axis = 0; axis < extents.size(); ++axis) {
        strides[axis] = stride;
        stride *= std::max<std::int64_t>(extents[axis], 1);
      }
      return strides;
    }
    case 2:
      for (std::size_t axis = 0; axis < extents.size(); ++axis) {
        strides[axis] = (reader.flag() ? -2 : 2) * c_order[axis];
      }
      return strides;
    default:
      for (auto& stride : strides) stride = static_cast<std::int64_t>(reader.below(9)) - 4;
      return strides;
  }
}

struct DecodedProblem {
  std::string expression;
  std::vector<TensorDesc> inputs;
  DataType dtype = DataType::f32;
  Options options;
  Scalar alpha = 1.0;
  Scalar beta = 0.0;
};

DecodedProblem decode_problem(ByteReader& reader) {
  DecodedProblem problem;
  problem.dtype = kDataTypes[reader.below(static_cast<unsigned>(kDataTypeCount))];
  const int label_count = 1 + static_cast<int>(reader.below(kMaxLabels));
  std::vector<std::int64_t> label_extents(label_count);
  for (auto& extent : label_extents) extent = reader.below(kMaxExtent + 1);
  // Ellipsis dimensions shared by every operand that has "...", aligned right.
  std::vector<std::int64_t> ellipsis_extents(reader.below(4) == 0 ? 1 + reader.below(2) : 0);
  for (auto& extent : ellipsis_extents) extent = 1 + reader.below(3);

  const int operand_count = 1 + static_cast<int>(reader.below(kMaxOperands));
  std::vector<bool> used(label_count, false);
  bool any_ellipsis = false;
  for (int operand = 0; operand < operand_count; ++operand) {
    if (operand) problem.expression += ',';
    std::vector<std::int64_t> shape;
    if (!ellipsis_extents.empty() && reader.flag()) {
      any_ellipsis = true;
      problem.expression += "...";
      const std::size_t rank = reader.below(static_cast<unsigned>(ellipsis_extents.size()) + 1);
      shape.assign(ellipsis_extents.end() - static_cast<std::ptrdiff_t>(rank),
                   ellipsis_extents.end());
    }
    const unsigned rank = reader.below(kMaxRank + 1);
    for (unsigned axis = 0; axis < rank; ++axis) {
      const unsigned label = reader.below(static_cast<unsigned>(label_count));
      used[label] = true;
      problem.expression += static_cast<char>('a' + label);
      // Sometimes broadcast from extent 1 (a clash on a diagonal is a ShapeError).
      shape.push_back(reader.below(8) == 0 ? 1 : label_extents[label]);
    }
    problem.inputs.emplace_back(problem.dtype, shape);
    problem.inputs.back().strides = decode_strides(reader, shape, /*allow_overlap=*/true);
  }
  if (reader.flag()) {
    problem.expression += "->";
    if (any_ellipsis && reader.flag()) problem.expression += "...";
    std::vector<int> order(label_count);
    for (int label = 0; label < label_count; ++label) order[label] = label;
    std::rotate(order.begin(), order.begin() + reader.below(static_cast<unsigned>(label_count)),
                order.end());
    if (reader.flag()) std::reverse(order.begin(), order.end());
    for (int label : order) {
      if (used[label] && reader.flag()) problem.expression += static_cast<char>('a' + label);
    }
  }

  problem.options.backend = Backend::host;
  problem.options.path = kPaths[reader.below(6)];
  problem.options.path_trials = 4;
  if (reader.below(3) == 0) {
    problem.options.memory_limit = MemoryLimit::from_bytes(std::uint64_t{4096} << reader.below(5));
  }
  if (is_complex(problem.dtype)) {
    problem.alpha = kComplexScalars[reader.below(6)];
    problem.beta = kComplexScalars[reader.below(6)];
  } else {
    problem.alpha = kRealScalars[reader.below(5)];
    problem.beta = kRealScalars[reader.below(5)];
  }
  return problem;
}

// Options::given_path from the bytes after everything else (so older
// corpus entries decode as before): none in three cases of four, else up to
// operands + 1 steps of 1-3 positions, each below operands + 1 (some out of
// range, too few or too many steps: planning must refuse those cleanly).
std::vector<std::vector<int>> decode_given_path(ByteReader& reader, int operands) {
  std::vector<std::vector<int>> path;
  if (reader.remaining() == 0 || reader.below(4) != 0) return path;
  const unsigned steps = 1 + reader.below(static_cast<unsigned>(operands) + 1);
  for (unsigned step = 0; step < steps; ++step) {
    std::vector<int> positions(1 + reader.below(3));
    for (int& position : positions) {
      position = static_cast<int>(reader.below(static_cast<unsigned>(operands) + 1));
    }
    path.push_back(positions);
  }
  return path;
}

std::string path_text(const std::vector<std::vector<int>>& path) {
  if (path.empty()) return {};
  std::string text = ", given path [";
  for (const std::vector<int>& step : path) {
    text += "(";
    for (int position : step) text += std::to_string(position) + ",";
    text += ")";
  }
  return text + "]";
}

std::string describe(const DecodedProblem& problem) {
  std::string text = "'" + problem.expression + "' on";
  for (const TensorDesc& desc : problem.inputs) text += " " + to_string(desc);
  text += ", alpha (" + std::to_string(problem.alpha.real()) + "," +
          std::to_string(problem.alpha.imag()) + "), beta (" + std::to_string(problem.beta.real()) +
          "," + std::to_string(problem.beta.imag()) + "), path " + to_string(problem.options.path) +
          ", limit " + to_string(problem.options.memory_limit);
  return text;
}

// Elementwise over the whole output buffer, gaps included. NaN must meet NaN.
std::string compare(DataType dtype, const StridedBuffer& actual, const StridedBuffer& expected) {
  const std::size_t count = expected.bytes.size() / size_of(dtype);
  double largest = 1.0;
  for (std::size_t index = 0; index < count; ++index) {
    const std::complex<double> want = load(dtype, expected.bytes.data(), index);
    if (!std::isnan(want.real()) && !std::isnan(want.imag()))
      largest = std::max(largest, std::abs(want));
  }
  const double tolerance = testing::tolerance(dtype) * largest;
  for (std::size_t index = 0; index < count; ++index) {
    const std::complex<double> want = load(dtype, expected.bytes.data(), index);
    const std::complex<double> got = load(dtype, actual.bytes.data(), index);
    const bool want_nan = std::isnan(want.real()) || std::isnan(want.imag());
    const bool got_nan = std::isnan(got.real()) || std::isnan(got.imag());
    if (want_nan != got_nan || (!want_nan && std::abs(got - want) > tolerance)) {
      const auto element = static_cast<long long>(index) - static_cast<long long>(expected.origin);
      return "buffer element " + std::to_string(element) + " is (" + std::to_string(got.real()) +
             "," + std::to_string(got.imag()) + "), the reference gives (" +
             std::to_string(want.real()) + "," + std::to_string(want.imag()) + ")";
    }
  }
  return {};
}

}  // namespace

std::string plan_target(const std::uint8_t* data, std::size_t size) {
  ByteReader reader(data, size);
  const DecodedProblem problem = decode_problem(reader);
  const DataType dtype = problem.dtype;
  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : problem.inputs) shapes.push_back(desc.extents);

  detail::Problem parsed;
  try {
    parsed = detail::parse(problem.expression, shapes);
  } catch (const Error&) {
    try {
      Plan plan(problem.expression, problem.inputs, problem.options);
    } catch (const Error&) {
      return {};
    }
    return "Plan accepted what the parser rejects: " + describe(problem);
  }
  const TensorDesc output(dtype, parsed.output_extents(),
                          decode_strides(reader, parsed.output_extents(), /*allow_overlap=*/false));

  std::mt19937 random(reader.byte());
  Options options = problem.options;
  options.given_path = decode_given_path(reader, static_cast<int>(problem.inputs.size()));
  std::vector<StridedBuffer> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (const TensorDesc& desc : problem.inputs) {
    inputs.push_back(allocate(desc));
    fill_integers(dtype, inputs.back(), random);
  }
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    pointers.push_back(inputs[operand].at_origin(dtype));
    reference_inputs.push_back(
        {pointers.back(), dtype, problem.inputs[operand].effective_strides()});
  }
  StridedBuffer actual = allocate(output);
  if (problem.beta == 0.0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t index = 0; index < actual.bytes.size() / size_of(dtype); ++index) {
      store(dtype, actual.bytes.data(), index, {nan, nan});
    }
  } else {
    fill_integers(dtype, actual, random);
  }
  StridedBuffer expected = actual;

  try {
    Plan plan(problem.expression, problem.inputs, output, options);
    plan.explain();
    plan.execute(pointers, actual.at_origin(dtype), problem.alpha, problem.beta);
  } catch (const Error&) {
    return {};  // a limit under the smallest block, a complex alpha on real data, ...
  }
  try {
    detail::reference_einsum(parsed, reference_inputs,
                             {expected.at_origin(dtype), dtype, output.effective_strides()},
                             problem.alpha, problem.beta);
  } catch (const Error& error) {
    return "Plan executed what the reference rejects (" + std::string(error.what()) +
           "): " + describe(problem);
  }
  const std::string mismatch = compare(dtype, actual, expected);
  return mismatch.empty() ? mismatch
                          : mismatch + ": " + describe(problem) + path_text(options.given_path);
}

}  // namespace einstream::fuzz
