// Reference executor. Approach: every input gets one stride per mode (the sum
// of the strides of its axes carrying that mode, so a diagonal is one step
// along all its axes at once). An odometer walks the output modes; for each
// output element a second odometer walks the summed modes, and both keep the
// element offset of every operand up to date by adding and subtracting
// strides, never by recomputing an index.
#include "src/reference.hpp"

#include <complex>
#include <cstddef>
#include <string>
#include <type_traits>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

using Complex = std::complex<double>;

template <typename Acc>
constexpr bool kIsComplex = std::is_same_v<Acc, Complex>;

struct Operand {
  const void* data = nullptr;
  DataType dtype = DataType::f32;
};

// A nest of loops over some modes, outermost first. `strides` holds, for each
// level, one stride per column; the columns are the inputs followed by the
// output (the output column is zero in the summed nest).
struct LoopNest {
  std::vector<std::int64_t> extents;
  std::vector<std::int64_t> strides;  // extents.size() rows of `columns` entries
  std::size_t columns = 0;

  const std::int64_t* row(std::size_t level) const { return &strides[level * columns]; }
};

std::string operand_name(std::size_t input) { return "input " + std::to_string(input); }

// Hand-built Problems (tests, other stages) may omit labels; errors must still
// name the mode without indexing past them.
std::string mode_name(const Problem& problem, std::size_t mode) {
  if (mode < problem.labels.size()) return "'" + problem.labels[mode] + "'";
  return "#" + std::to_string(mode);
}

void check_supported(DataType dtype, const std::string& where) {
  if (!is_supported(dtype)) {
    throw Error(std::string("reference_einsum: ") + where + " has data type value " +
                std::to_string(static_cast<int>(dtype)) +
                ", which is not a DataType; expected f32, f64, c64, c128, f16 or bf16");
  }
}

// Checks the Problem's own consistency as well as the arguments: the oracle
// must never read out of bounds because another stage built a bad Problem.
void validate(const Problem& problem, const std::vector<ReferenceInput>& inputs,
              const ReferenceOutput& output, Scalar alpha, Scalar beta) {
  const std::string prefix = "reference_einsum: ";
  for (std::size_t mode = 0; mode < problem.extents.size(); ++mode) {
    if (problem.extents[mode] < 0) {
      throw Error(prefix + "mode " + mode_name(problem, mode) + " has negative extent " +
                  std::to_string(problem.extents[mode]));
    }
  }
  auto check_mode = [&](Mode mode, const std::string& where) {
    if (mode < 0 || mode >= problem.mode_count()) {
      throw Error(prefix + where + " names mode " + std::to_string(mode) + ", expected [0, " +
                  std::to_string(problem.mode_count()) + ")");
    }
  };
  std::vector<bool> in_output(problem.extents.size(), false);
  for (Mode mode : problem.output) {
    check_mode(mode, "output");
    if (in_output[static_cast<std::size_t>(mode)]) {
      throw Error(prefix + "output repeats mode " +
                  mode_name(problem, static_cast<std::size_t>(mode)));
    }
    in_output[static_cast<std::size_t>(mode)] = true;
  }

  if (inputs.size() != problem.inputs.size()) {
    throw Error(prefix + "got " + std::to_string(inputs.size()) + " inputs, expected " +
                std::to_string(problem.inputs.size()) + " (one per operand of the problem)");
  }
  bool any_complex_input = false;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const ProblemOperand& operand = problem.inputs[k];
    const ReferenceInput& input = inputs[k];
    const std::string name = operand_name(k);
    if (operand.axes.size() != operand.modes.size()) {
      throw Error(prefix + name + " of the problem has " + std::to_string(operand.modes.size()) +
                  " modes but " + std::to_string(operand.axes.size()) + " axes");
    }
    if (input.strides.size() != static_cast<std::size_t>(operand.rank)) {
      throw Error(prefix + name + " has " + std::to_string(input.strides.size()) +
                  " strides, expected one per axis of its rank-" + std::to_string(operand.rank) +
                  " tensor");
    }
    bool has_elements = true;
    for (std::size_t entry = 0; entry < operand.modes.size(); ++entry) {
      check_mode(operand.modes[entry], name);
      if (operand.axes[entry] < 0 || operand.axes[entry] >= operand.rank) {
        throw Error(prefix + name + " names axis " + std::to_string(operand.axes[entry]) +
                    ", expected [0, " + std::to_string(operand.rank) + ")");
      }
      if (problem.extents[static_cast<std::size_t>(operand.modes[entry])] == 0) {
        has_elements = false;
      }
    }
    check_supported(input.dtype, name);
    any_complex_input = any_complex_input || is_complex(input.dtype);
    if (has_elements && input.data == nullptr) {
      throw Error(prefix + name + " has elements but a null data pointer");
    }
  }

  if (output.strides.size() != problem.output.size()) {
    throw Error(prefix + "output has " + std::to_string(output.strides.size()) +
                " strides, expected one per output mode (" + std::to_string(problem.output.size()) +
                ")");
  }
  check_supported(output.dtype, "output");
  bool output_has_elements = true;
  for (Mode mode : problem.output) {
    if (problem.extents[static_cast<std::size_t>(mode)] == 0) output_has_elements = false;
  }
  if (output_has_elements && output.data == nullptr) {
    throw Error(prefix + "output has elements but a null data pointer");
  }
  if (!is_complex(output.dtype)) {
    if (any_complex_input) {
      throw Error(prefix + "a complex input needs a complex output (c64 or c128), got " +
                  to_string(output.dtype));
    }
    if (alpha.imag() != 0 || beta.imag() != 0) {
      throw Error(prefix + "alpha and beta must be real for a " + to_string(output.dtype) +
                  " output");
    }
  }
}

[[noreturn]] void unreachable_dtype(DataType dtype) {
  throw Error(std::string("reference_einsum: internal error: cannot load ") + to_string(dtype));
}

// Loads one element as the accumulator type. validate() has ruled out complex
// inputs for a real accumulator and values outside the enum. Half-precision
// values widen exactly.
template <typename Acc>
inline Acc load(const Operand& operand, std::int64_t offset) {
  switch (operand.dtype) {
    case DataType::f32:
      return Acc(static_cast<double>(static_cast<const float*>(operand.data)[offset]));
    case DataType::f64:
      return Acc(static_cast<const double*>(operand.data)[offset]);
    case DataType::c64:
      if constexpr (kIsComplex<Acc>) {
        return Acc(static_cast<const std::complex<float>*>(operand.data)[offset]);
      }
      break;
    case DataType::c128:
      if constexpr (kIsComplex<Acc>) {
        return static_cast<const Complex*>(operand.data)[offset];
      }
      break;
    case DataType::f16:
      return Acc(static_cast<double>(static_cast<const float16*>(operand.data)[offset]));
    case DataType::bf16:
      return Acc(static_cast<double>(static_cast<const bfloat16*>(operand.data)[offset]));
  }
  unreachable_dtype(operand.dtype);
}

template <typename Acc>
inline Acc product(const std::vector<Operand>& inputs, const std::vector<std::int64_t>& offsets) {
  // A problem with no inputs (einsum of nothing) is the empty product.
  if (inputs.empty()) return Acc(1);
  Acc term = load<Acc>(inputs[0], offsets[0]);
  for (std::size_t k = 1; k < inputs.size(); ++k) term *= load<Acc>(inputs[k], offsets[k]);
  return term;
}

// Steps the odometer `index` over the nest's levels [0, levels), last level
// fastest, keeping `offsets` in step. Returns false (with index and offsets
// back at their start) after the last combination.
bool advance(const LoopNest& nest, std::size_t levels, std::vector<std::int64_t>& index,
             std::vector<std::int64_t>& offsets) {
  for (std::size_t level = levels; level-- > 0;) {
    const std::int64_t* stride = nest.row(level);
    for (std::size_t c = 0; c < nest.columns; ++c) offsets[c] += stride[c];
    if (++index[level] < nest.extents[level]) return true;
    for (std::size_t c = 0; c < nest.columns; ++c) offsets[c] -= stride[c] * nest.extents[level];
    index[level] = 0;
  }
  return false;
}

// Sum over the summed modes of the product of the inputs, starting from the
// offsets of the current output element (restored on return). The innermost
// summed mode is a plain loop so that the odometer's bookkeeping is paid once
// per row rather than once per term. `index` is scratch with one entry per
// summed mode, all zero, owned by the caller to keep allocation out of the
// per-element loop.
template <typename Acc>
Acc sum_products(const std::vector<Operand>& inputs, const LoopNest& summed,
                 std::vector<std::int64_t>& offsets, std::vector<std::int64_t>& index) {
  Acc acc(0);
  for (std::int64_t extent : summed.extents) {
    if (extent == 0) return acc;
  }
  const std::size_t levels = summed.extents.size();
  if (levels == 0) return product<Acc>(inputs, offsets);
  const std::size_t outer_levels = levels - 1;
  const std::int64_t inner_extent = summed.extents.back();
  const std::int64_t* inner_stride = summed.row(outer_levels);
  do {
    for (std::int64_t i = 0; i < inner_extent; ++i) {
      acc += product<Acc>(inputs, offsets);
      for (std::size_t c = 0; c < summed.columns; ++c) offsets[c] += inner_stride[c];
    }
    for (std::size_t c = 0; c < summed.columns; ++c) offsets[c] -= inner_stride[c] * inner_extent;
  } while (advance(summed, outer_levels, index, offsets));
  return acc;
}

// alpha * acc + beta * old, computed in double and stored as T. A
// half-precision type is rounded once, through float: float's 24-bit
// significand is at least twice the half types' (11 and 8 bits) plus two, so
// rounding double -> float -> half gives the correctly rounded half.
template <typename T>
void store_real(void* data, std::int64_t offset, double alpha, double acc, double beta,
                bool read_old) {
  T* out = static_cast<T*>(data) + offset;
  double value = alpha * acc;
  if (read_old) value += beta * static_cast<double>(*out);
  if constexpr (std::is_same_v<T, double>) {
    *out = value;
  } else {
    *out = T(static_cast<float>(value));
  }
}

// out = alpha * acc + beta * out in the output's dtype; out is not read when
// beta == 0 so that garbage (NaN) there cannot leak into the result.
template <typename Acc>
void store(const ReferenceOutput& output, std::int64_t offset, Acc acc, Scalar alpha, Scalar beta) {
  const bool read_old = beta != Scalar(0);
  if constexpr (kIsComplex<Acc>) {
    if (output.dtype == DataType::c64) {
      auto* out = static_cast<std::complex<float>*>(output.data) + offset;
      Complex value = alpha * acc;
      if (read_old) value += beta * Complex(*out);
      *out = std::complex<float>(value);
    } else {
      auto* out = static_cast<Complex*>(output.data) + offset;
      Complex value = alpha * acc;
      if (read_old) value += beta * *out;
      *out = value;
    }
  } else {
    switch (output.dtype) {
      case DataType::f32:
        return store_real<float>(output.data, offset, alpha.real(), acc, beta.real(), read_old);
      case DataType::f16:
        return store_real<float16>(output.data, offset, alpha.real(), acc, beta.real(), read_old);
      case DataType::bf16:
        return store_real<bfloat16>(output.data, offset, alpha.real(), acc, beta.real(), read_old);
      default:  // f64: validate() leaves no other real output type
        return store_real<double>(output.data, offset, alpha.real(), acc, beta.real(), read_old);
    }
  }
}

template <typename Acc>
void evaluate(const std::vector<Operand>& inputs, const LoopNest& outer, const LoopNest& summed,
              const ReferenceOutput& output, Scalar alpha, Scalar beta) {
  for (std::int64_t extent : outer.extents) {
    if (extent == 0) return;  // an empty output: nothing to write
  }
  const std::size_t output_column = inputs.size();
  std::vector<std::int64_t> offsets(inputs.size() + 1, 0);
  std::vector<std::int64_t> index(outer.extents.size(), 0);
  std::vector<std::int64_t> summed_index(summed.extents.size(), 0);
  do {
    const Acc acc = sum_products<Acc>(inputs, summed, offsets, summed_index);
    store<Acc>(output, offsets[output_column], acc, alpha, beta);
  } while (advance(outer, outer.extents.size(), index, offsets));
}

}  // namespace

void reference_einsum(const Problem& problem, const std::vector<ReferenceInput>& inputs,
                      const ReferenceOutput& output, Scalar alpha, Scalar beta) {
  validate(problem, inputs, output, alpha, beta);

  const std::size_t mode_count = problem.extents.size();
  const std::size_t columns = inputs.size() + 1;
  // mode_strides[mode * columns + column]: an input's stride for a mode is
  // the sum over its axes carrying the mode (diagonals); zero when it lacks
  // the mode, so that it is broadcast. The output column uses output strides.
  std::vector<std::int64_t> mode_strides(mode_count * columns, 0);
  std::vector<Operand> operands(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    operands[k] = Operand{inputs[k].data, inputs[k].dtype};
    const ProblemOperand& operand = problem.inputs[k];
    for (std::size_t entry = 0; entry < operand.modes.size(); ++entry) {
      const auto mode = static_cast<std::size_t>(operand.modes[entry]);
      mode_strides[mode * columns + k] +=
          inputs[k].strides[static_cast<std::size_t>(operand.axes[entry])];
    }
  }
  std::vector<bool> in_output(mode_count, false);
  for (std::size_t position = 0; position < problem.output.size(); ++position) {
    const auto mode = static_cast<std::size_t>(problem.output[position]);
    mode_strides[mode * columns + inputs.size()] = output.strides[position];
    in_output[mode] = true;
  }

  // Every mode an input carries and the output does not is summed, in mode
  // order; einsum's value is the sum over all assignments of these modes. A
  // mode no operand touches (as in one pairwise step of a larger Problem,
  // which shares the Problem's mode ids) takes no part.
  LoopNest outer{{}, {}, columns};
  LoopNest summed{{}, {}, columns};
  auto add_level = [&](LoopNest& nest, std::size_t mode) {
    nest.extents.push_back(problem.extents[mode]);
    nest.strides.insert(nest.strides.end(), mode_strides.begin() + mode * columns,
                        mode_strides.begin() + (mode + 1) * columns);
  };
  for (Mode mode : problem.output) add_level(outer, static_cast<std::size_t>(mode));
  std::vector<bool> in_input(mode_count, false);
  for (const ProblemOperand& operand : problem.inputs) {
    for (Mode mode : operand.modes) in_input[static_cast<std::size_t>(mode)] = true;
  }
  for (std::size_t mode = 0; mode < mode_count; ++mode) {
    if (in_input[mode] && !in_output[mode]) add_level(summed, mode);
  }

  if (is_complex(output.dtype)) {
    evaluate<Complex>(operands, outer, summed, output, alpha, beta);
  } else {
    evaluate<double>(operands, outer, summed, output, alpha, beta);
  }
}

}  // namespace einstream::detail
