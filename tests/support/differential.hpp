// Test support for the differential tests (tests/src/differential_test.cpp on
// the host backend, tests/cuda/differential_test.cpp on the CUDA backend):
// one seed draws one problem, a backend executes it, and the reference
// executor evaluates it on the same data; the outputs are compared element by
// element over the whole output buffer (gaps between strided elements
// included).
//
// A problem is an expression over the whole notation (diagonals, sums inside
// one operand, broadcasting, ellipses, zero extents; random_problems.hpp), a
// dtype, input strides of every kind (C, Fortran, reversed with gaps,
// arbitrary in [-4, 4] with zero and overlapping addresses), output strides
// (C, Fortran, reversed with gaps), alpha and beta (complex for complex
// dtypes; with beta == 0 the output starts as NaN, which catches an output
// read when it must not be), a path algorithm and, for a third of the
// problems, a byte budget of 4-64 KiB (2-32 KiB for the 2-byte types) on
// larger extents, which forces the
// host backend to slice (the CUDA test replaces it by a budget measured for
// its backend).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"

namespace einstream::testing {

// Each dtype's seeds start at its own base (dtype index x this), so every
// seed names one problem.
constexpr std::uint32_t kSeedsPerDataType = 1'000'000;
constexpr DataType kDifferentialDataTypes[] = {DataType::f32,  DataType::f64, DataType::c64,
                                               DataType::c128, DataType::f16, DataType::bf16};

// The dtype a seed's problem has.
inline DataType differential_dtype(std::uint32_t seed) {
  constexpr auto kLast = static_cast<std::uint32_t>(std::size(kDifferentialDataTypes) - 1);
  return kDifferentialDataTypes[std::min<std::uint32_t>(seed / kSeedsPerDataType, kLast)];
}

struct DifferentialProblem {
  std::uint32_t seed = 0;
  std::string expression;
  std::vector<TensorDesc> inputs;
  TensorDesc output;
  Options options;
  Scalar alpha = 1.0;
  Scalar beta = 0.0;
  bool budgeted = false;
};

inline std::string scalar_text(Scalar value) {
  return "(" + std::to_string(value.real()) + "," + std::to_string(value.imag()) + ")";
}

// One line that rebuilds the problem by hand: Plan(expression, inputs,
// output, options) then execute(..., alpha, beta); `where` says where the
// operands lie when that matters (", inputs on the device").
inline std::string reproduction(const DifferentialProblem& problem, const std::string& where = "") {
  std::string text = "seed " + std::to_string(problem.seed) + ": '" + problem.expression + "' on";
  for (const TensorDesc& desc : problem.inputs) text += " " + to_string(desc) + ";";
  text += " output " + to_string(problem.output) + "; alpha " + scalar_text(problem.alpha) +
          ", beta " + scalar_text(problem.beta) + ", path " + to_string(problem.options.path) +
          ", limit " + to_string(problem.options.memory_limit) + ", backend " +
          to_string(problem.options.backend) + where;
  return text;
}

inline Scalar random_scalar(std::mt19937& random, DataType dtype) {
  static const Scalar real_scalars[] = {0.0, 1.0, -1.0, 0.5, 2.0};
  static const Scalar complex_scalars[] = {0.0,        1.0,         -1.0,         0.5,
                                           {0.0, 1.0}, {2.0, -1.0}, {-0.25, 0.75}};
  if (is_complex(dtype)) return complex_scalars[random() % std::size(complex_scalars)];
  return real_scalars[random() % std::size(real_scalars)];
}

// Draws a problem the parser accepts (redrawing the expression from the same
// stream until it does), with its strides, scalars and options (host
// backend).
inline DifferentialProblem draw_problem(std::uint32_t seed, DataType dtype) {
  static constexpr PathAlgorithm paths[] = {PathAlgorithm::automatic, PathAlgorithm::naive,
                                            PathAlgorithm::greedy,    PathAlgorithm::optimal,
                                            PathAlgorithm::dp,        PathAlgorithm::random_greedy};
  std::mt19937 random(seed);
  DifferentialProblem problem;
  problem.seed = seed;
  problem.budgeted = random() % 3 == 0;
  RandomProblemLimits limits;
  if (problem.budgeted) {
    // Larger extents over fewer labels: operands of a few KiB that a
    // 4-64 KiB budget must slice, while the reference's loop over every mode
    // stays small.
    limits.max_operands = 4;
    limits.max_rank = 3;
    limits.max_extent = 32;
    limits.max_labels = 5;
  }
  for (;;) {
    const RandomProblem drawn = random_problem(random, limits);
    detail::Problem parsed;
    try {
      parsed = detail::parse(drawn.expression, drawn.shapes);
    } catch (const Error&) {
      continue;
    }
    // Intermediates are what a budget bounds (the output is exempt): a
    // budgeted problem needs a contraction step before the last.
    if (problem.budgeted && drawn.shapes.size() < 3) continue;
    problem.expression = drawn.expression;
    for (const auto& shape : drawn.shapes) {
      problem.inputs.emplace_back(dtype, shape,
                                  random_strides(random, shape, /*allow_overlap=*/true));
    }
    const std::vector<std::int64_t> extents = parsed.output_extents();
    problem.output =
        TensorDesc(dtype, extents, random_strides(random, extents, /*allow_overlap=*/false));
    break;
  }
  problem.options.backend = Backend::host;
  problem.options.path = paths[random() % std::size(paths)];
  problem.options.path_trials = 4;
  if (problem.budgeted) {
    // Half the bytes for the 2-byte types: as many elements as f32 gets.
    const std::uint64_t bytes = std::uint64_t{4096} << (random() % 5);
    problem.options.memory_limit =
        MemoryLimit::from_bytes(is_half_precision(dtype) ? bytes / 2 : bytes);
  }
  problem.alpha = random_scalar(random, dtype);
  problem.beta = random_scalar(random, dtype);
  return problem;
}

// What Plans of a problem need on the device with host operands: `whole`,
// the least budget under which a Plan of `options` runs the problem unsliced;
// `least`, the bytes the MemoryError of a one-byte limit names (the least any
// sliced plan needs; 0 when even that plans). A limit in [least, whole)
// makes the Plan slice and stream.
struct DeviceNeeds {
  std::uint64_t whole = 0;
  std::uint64_t least = 0;
};

// Whether `plan` runs in more than one block (explain() names its loop).
inline bool plan_is_sliced(const Plan& plan) {
  return plan.explain().find("blocks, loop order") != std::string::npos;
}

inline DeviceNeeds device_needs(const std::string& expression,
                                const std::vector<TensorDesc>& inputs, const TensorDesc& output,
                                Options options) {
  DeviceNeeds needs;
  options.memory_limit = MemoryLimit();
  const Plan generous(expression, inputs, output, options);
  needs.whole = generous.workspace_bytes();
  options.memory_limit = MemoryLimit::from_bytes(1);
  try {
    const Plan least(expression, inputs, output, options);
  } catch (const MemoryError& error) {
    needs.least = error.bytes_needed();
  }
  if (plan_is_sliced(generous) || needs.least == 0 || needs.least >= needs.whole) return needs;
  // The GEMM workspace shrinks to what a budget leaves, so budgets under the
  // generous plan's workspace may still run unsliced: `whole` is the least
  // budget that does (found by bisection over [least, whole]).
  std::uint64_t sliced = needs.least, unsliced = needs.whole;
  while (unsliced - sliced > 1) {
    const std::uint64_t middle = sliced + (unsliced - sliced) / 2;
    options.memory_limit = MemoryLimit::from_bytes(middle);
    bool runs_whole = false;
    try {
      runs_whole = !plan_is_sliced(Plan(expression, inputs, output, options));
    } catch (const MemoryError&) {
    }
    (runs_whole ? unsliced : sliced) = middle;
  }
  needs.whole = unsliced;
  return needs;
}

struct Outcome {
  std::string failure;   // empty when the plan matched the reference
  bool refused = false;  // a budget under the smallest block: MemoryError
  bool sliced = false;   // executed in more than one block
};

// Plans and executes `problem` on the buffers (inputs and output at their
// origins, in host memory) and returns the execution's block count; throws
// what Plan throws.
using Execution = std::function<std::int64_t(
    const DifferentialProblem& problem, std::vector<StridedBuffer>& inputs, StridedBuffer& output)>;

// The Execution that hands the Plan the host buffers themselves.
inline std::int64_t execute_in_place(const DifferentialProblem& problem,
                                     std::vector<StridedBuffer>& inputs, StridedBuffer& output) {
  std::vector<const void*> pointers;
  for (StridedBuffer& input : inputs) pointers.push_back(input.at_origin());
  Plan plan(problem.expression, problem.inputs, problem.output, problem.options);
  plan.execute(pointers, output.at_origin(), problem.alpha, problem.beta);
  return plan.last_report().blocks;
}

// Draws the problem's data from its seed, runs `execute` and the reference
// on it, and compares; inputs must come back unchanged. A MemoryError counts
// as a refusal when the problem is budgeted and as a failure otherwise.
inline Outcome run_problem(const DifferentialProblem& problem, const Execution& execute) {
  std::mt19937 random(problem.seed ^ 0x9E3779B9u);
  const DataType dtype = problem.output.dtype;
  std::vector<StridedBuffer> inputs;
  std::vector<detail::ReferenceInput> reference_inputs;
  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : problem.inputs) {
    inputs.push_back(strided_buffer(desc, random));
    shapes.push_back(desc.extents);
  }
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    reference_inputs.push_back(
        {inputs[operand].at_origin(), dtype, problem.inputs[operand].effective_strides()});
  }
  const std::vector<StridedBuffer> untouched_inputs = inputs;
  StridedBuffer actual = strided_buffer(problem.output, random, /*nan=*/problem.beta == 0.0);
  StridedBuffer expected = actual;
  const StridedBuffer untouched_output = actual;

  Outcome outcome;
  try {
    outcome.sliced = execute(problem, inputs, actual) > 1;
  } catch (const MemoryError& error) {
    if (problem.budgeted) {
      outcome.refused = true;
      return outcome;
    }
    outcome.failure = std::string("Plan threw MemoryError without a budget: ") + error.what();
    return outcome;
  } catch (const Error& error) {
    outcome.failure = std::string("Plan threw: ") + error.what();
    return outcome;
  }
  const detail::Problem parsed = detail::parse(problem.expression, shapes);
  detail::reference_einsum(parsed, reference_inputs,
                           {expected.at_origin(), dtype, problem.output.effective_strides()},
                           problem.alpha, problem.beta);
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    if (inputs[operand].bytes != untouched_inputs[operand].bytes) {
      outcome.failure = "input " + std::to_string(operand) + " was written";
      return outcome;
    }
  }
  // The error scale: the same evaluation on magnitudes, so a result that
  // cancels to near zero is judged by the size of the terms it summed.
  std::vector<StridedBuffer> input_magnitudes;
  std::vector<detail::ReferenceInput> magnitude_inputs = reference_inputs;
  for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
    input_magnitudes.push_back(magnitudes(inputs[operand]));
    magnitude_inputs[operand].data = input_magnitudes.back().at_origin();
  }
  // In f64 for the half types, whose range the bound of many summed terms
  // can pass (f16 ends at 65504).
  StridedBuffer bound = magnitudes(untouched_output);
  if (is_half_precision(dtype)) bound = converted(bound, DataType::f64);
  detail::reference_einsum(parsed, magnitude_inputs,
                           {bound.at_origin(), bound.dtype, problem.output.effective_strides()},
                           std::abs(problem.alpha), std::abs(problem.beta));
  outcome.failure = compare_buffers(actual, expected, largest_magnitude(bound));
  return outcome;
}

// What the drawn problems exercised, counted so that a change to the drawing
// cannot silently stop covering a feature.
struct Coverage {
  int diagonal = 0;  // a label repeated within one operand
  int ellipsis = 0;
  int broadcast = 0;  // a size-1 axis on an input
  int zero_extent = 0;
  int negative_stride = 0;
  int zero_stride = 0;     // on an input axis of extent > 1
  int strided_output = 0;  // output strides other than C order
  int nan_output = 0;      // beta == 0: the output starts as NaN
  int complex_scalar = 0;  // alpha or beta with an imaginary part

  void count(const DifferentialProblem& problem) {
    const std::string& expression = problem.expression;
    ellipsis += expression.find("...") != std::string::npos;
    bool has_diagonal = false;
    std::string term;
    for (std::size_t at = 0; at <= expression.size(); ++at) {
      const char letter = at < expression.size() ? expression[at] : ',';
      if (letter == ',' || letter == '-') {
        term.clear();
      } else if (letter != '.' && letter != '>') {
        has_diagonal |= term.find(letter) != std::string::npos;
        term += letter;
      }
    }
    diagonal += has_diagonal;
    bool has_zero_extent = false;
    bool has_broadcast = false;
    bool has_negative = false;
    bool has_zero_stride = false;
    for (const TensorDesc& desc : problem.inputs) {
      for (int axis = 0; axis < desc.rank(); ++axis) {
        has_zero_extent |= desc.extents[axis] == 0;
        has_broadcast |= desc.extents[axis] == 1;
        if (!desc.strides.empty()) {
          has_negative |= desc.strides[axis] < 0;
          has_zero_stride |= desc.strides[axis] == 0 && desc.extents[axis] > 1;
        }
      }
    }
    zero_extent += has_zero_extent;
    broadcast += has_broadcast;
    negative_stride += has_negative;
    zero_stride += has_zero_stride;
    strided_output += !problem.output.strides.empty();
    nan_output += problem.beta == 0.0;
    complex_scalar += problem.alpha.imag() != 0 || problem.beta.imag() != 0;
  }

  std::string to_string() const {
    return "diagonal " + std::to_string(diagonal) + ", ellipsis " + std::to_string(ellipsis) +
           ", size-1 axis " + std::to_string(broadcast) + ", zero extent " +
           std::to_string(zero_extent) + ", negative stride " + std::to_string(negative_stride) +
           ", zero stride " + std::to_string(zero_stride) + ", strided output " +
           std::to_string(strided_output) + ", NaN output (beta 0) " + std::to_string(nan_output) +
           ", complex alpha/beta " + std::to_string(complex_scalar);
  }

  // The features no problem exercised, comma-separated ("" when all were).
  std::string missing(DataType dtype) const {
    const std::pair<const char*, int> features[] = {
        {"diagonal", diagonal},
        {"ellipsis", ellipsis},
        {"size-1 axis", broadcast},
        {"zero extent", zero_extent},
        {"negative stride", negative_stride},
        {"zero stride", zero_stride},
        {"strided output", strided_output},
        {"NaN output", nan_output},
        {"complex alpha/beta", is_complex(dtype) ? complex_scalar : 1}};
    std::string names;
    for (const auto& [name, count] : features) {
      if (count == 0) names += names.empty() ? name : std::string(", ") + name;
    }
    return names;
  }
};

}  // namespace einstream::testing
