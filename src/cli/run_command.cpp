// einstream run EXPR IN.npy... -o OUT.npy (or run --network FILE.json
// IN.npy... -o OUT.npy): evaluate an expression or a network file on .npy
// files. The output is computed in memory and only then written
// (atomically), so a failure leaves -o untouched. Inputs of different dtypes
// are promoted in memory as numpy does before planning.
#include <unistd.h>

#include <chrono>
#include <complex>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/network_file.hpp"
#include "src/cli/stderr_log.hpp"
#include "src/desc_check.hpp"
#include "src/npy.hpp"

namespace einstream::cli {

namespace {

struct RunFlags {
  std::string expression;
  std::vector<std::string> inputs;
  std::string output;
  std::string network;  // empty: the expression
  PlanFlags plan;
  std::string explain;  // empty: none; "summary" or "program": explain()'s detail level
  bool timing = false;
  bool report = false;
  std::string trace;  // empty: no trace
};

// The result's bytes in host memory, refused with a clear message (not a
// crash, a hang or an overcommitted allocation) when the machine cannot
// hold them.
std::vector<unsigned char> allocate_output(const TensorDesc& output) {
  const std::int64_t bytes = detail::checked_byte_count(output, "the output");
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const double physical = pages > 0 && page_size > 0
                              ? static_cast<double>(pages) * static_cast<double>(page_size)
                              : 0.0;
  const auto refuse = [&] {
    return Error("the output " + to_string(output) + " needs " + std::to_string(bytes) +
                 " bytes of host memory" +
                 (physical > 0 ? ", more than this machine's " +
                                     std::to_string(static_cast<std::uint64_t>(physical)) + " bytes"
                               : std::string()));
  };
  if (physical > 0 && static_cast<double>(bytes) > physical) throw refuse();
  try {
    return std::vector<unsigned char>(static_cast<std::size_t>(bytes));
  } catch (const std::bad_alloc&) {
    throw refuse();
  } catch (const std::length_error&) {
    throw refuse();
  }
}

// numpy's result type of f16, f32, f64, c64 and c128 operands: complex if
// any is, double precision if any is (f64 + c64 gives c128), f16 only if all
// are (f16 + f32 gives f32).
DataType promoted_dtype(const std::vector<detail::NpyArray>& arrays) {
  bool complex = false;
  bool double_precision = false;
  bool all_half = true;
  for (const detail::NpyArray& array : arrays) {
    complex = complex || is_complex(array.desc.dtype);
    double_precision =
        double_precision || array.desc.dtype == DataType::f64 || array.desc.dtype == DataType::c128;
    all_half = all_half && array.desc.dtype == DataType::f16;
  }
  if (all_half) return DataType::f16;
  if (complex) return double_precision ? DataType::c128 : DataType::c64;
  return double_precision ? DataType::f64 : DataType::f32;
}

template <typename From, typename To>
void convert_elements(const unsigned char* from, unsigned char* to, std::size_t count) {
  for (std::size_t index = 0; index < count; ++index) {
    From value;
    std::memcpy(&value, from + index * sizeof(From), sizeof(From));
    const To converted = static_cast<To>(value);
    std::memcpy(to + index * sizeof(To), &converted, sizeof(To));
  }
}

template <typename From>
void convert_from(const unsigned char* from, DataType dtype, unsigned char* to, std::size_t count) {
  // Complex never narrows to real: promotion only widens.
  constexpr bool kFromReal = std::is_floating_point_v<From> || std::is_same_v<From, float16>;
  if constexpr (kFromReal) {
    if (dtype == DataType::f32) return convert_elements<From, float>(from, to, count);
    if (dtype == DataType::f64) return convert_elements<From, double>(from, to, count);
    if (dtype == DataType::c64) return convert_elements<From, std::complex<float>>(from, to, count);
  }
  if (dtype == DataType::c128) return convert_elements<From, std::complex<double>>(from, to, count);
  throw Error(std::string("internal error: no promotion to ") + to_string(dtype));
}

// Converts `array` in place to `dtype`, element by element in storage order,
// so its strides stay valid. Only widening conversions reach here (the
// promoted type holds every input exactly), except that a real f64 becomes
// the real part of a c128.
void promote(detail::NpyArray& array, DataType dtype) {
  if (array.desc.dtype == dtype) return;
  const std::size_t count = array.data.size() / size_of(array.desc.dtype);
  std::vector<unsigned char> converted(count * size_of(dtype));
  switch (array.desc.dtype) {
    case DataType::f32:
      convert_from<float>(array.data.data(), dtype, converted.data(), count);
      break;
    case DataType::f64:
      convert_from<double>(array.data.data(), dtype, converted.data(), count);
      break;
    case DataType::c64:
      convert_from<std::complex<float>>(array.data.data(), dtype, converted.data(), count);
      break;
    case DataType::f16:
      convert_from<float16>(array.data.data(), dtype, converted.data(), count);
      break;
    default:
      throw Error(std::string("internal error: no promotion from ") + to_string(array.desc.dtype));
  }
  array.data = std::move(converted);
  array.desc.dtype = dtype;
}

// Files that cannot be inputs are named before anything else is looked at,
// so a typo is not reported as a wrong operand count.
void check_inputs_exist(const std::vector<std::string>& inputs) {
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const std::string& path = inputs[index];
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    const std::string what = "input " + std::to_string(index) + " '" + path + "'";
    if (status.type() == std::filesystem::file_type::not_found) {
      throw Error(what + ": the file does not exist");
    }
    if (status.type() == std::filesystem::file_type::directory) {
      throw Error(what + " is a directory, not a .npy file");
    }
  }
}

// The network's extents, where it gives them, must be the files'.
void check_network_extents(const Network& network, const std::string& path,
                           const std::vector<detail::NpyArray>& arrays) {
  const std::string what = "network file '" + path + "'";
  if (arrays.size() != network.input_modes.size()) {
    throw Error(what + " has " + std::to_string(network.input_modes.size()) + " inputs, but " +
                std::to_string(arrays.size()) + " .npy files were given");
  }
  for (std::size_t operand = 0; operand < arrays.size(); ++operand) {
    const std::vector<std::int64_t>& modes = network.input_modes[operand];
    const std::vector<std::int64_t>& extents = arrays[operand].desc.extents;
    const std::string where = what + ": inputs[" + std::to_string(operand) + "]";
    if (modes.size() != extents.size()) {
      throw Error(where + " has " + std::to_string(modes.size()) + " modes, but input " +
                  std::to_string(operand) + " has " + std::to_string(extents.size()) +
                  " axes (shape " + to_string(arrays[operand].desc) + ")");
    }
    if (!network.has_extents) continue;
    for (std::size_t axis = 0; axis < modes.size(); ++axis) {
      const std::int64_t extent = network.extents.at(modes[axis]);
      if (extent != extents[axis]) {
        throw Error(where + "[" + std::to_string(axis) + "]: mode " + std::to_string(modes[axis]) +
                    " has extent " + std::to_string(extent) + " in the file, but input " +
                    std::to_string(operand) + " has extent " + std::to_string(extents[axis]) +
                    " on axis " + std::to_string(axis));
      }
    }
  }
}

void run(const RunFlags& flags_as_parsed) {
  RunFlags flags = flags_as_parsed;
  std::optional<Network> network;
  if (!flags.network.empty()) {
    // Without an expression every positional is an input, but CLI11 gives
    // the first one to "expression".
    if (!flags.expression.empty()) flags.inputs.insert(flags.inputs.begin(), flags.expression);
    flags.expression.clear();
    if (flags.inputs.empty()) throw Error("run --network needs the input .npy files");
    network = read_network_file(flags.network);
  } else if (flags.expression.empty() || flags.inputs.empty()) {
    throw Error("run needs EXPR and the input .npy files, or --network FILE.json and the inputs");
  }
  check_inputs_exist(flags.inputs);
  // Refused before any work: -o must be a regular file or a new name.
  detail::check_output_path(flags.output);
  set_final_output(flags.output);
  std::optional<TraceFile> trace;
  if (!flags.trace.empty()) trace.emplace(flags.trace);
  std::vector<detail::NpyArray> arrays;
  for (const std::string& path : flags.inputs) arrays.push_back(detail::read_npy(path));
  // The library takes one dtype; the CLI promotes as numpy.einsum does.
  const DataType dtype = promoted_dtype(arrays);
  std::vector<TensorDesc> descs;
  std::vector<const void*> pointers;
  for (detail::NpyArray& array : arrays) {
    promote(array, dtype);
    descs.push_back(array.desc);
    pointers.push_back(array.data.data());
  }

  Options options = flags.plan.options();
  options.profile = !flags.trace.empty();
  show_progress_line(options);
  if (network) check_network_extents(*network, flags.network, arrays);
  if (network) network->apply_path(options);
  Plan plan = network ? Plan(network->input_modes, network->output_modes, descs, options)
                      : Plan(flags.expression, descs, options);
  if (!flags.explain.empty()) {
    std::cout << plan.explain(explain_detail_from_string(flags.explain)) << std::flush;
  }

  const TensorDesc& output = plan.output();
  std::vector<unsigned char> result = allocate_output(output);
  const auto start = std::chrono::steady_clock::now();
  plan.execute(pointers, result.data());
  const auto stop = std::chrono::steady_clock::now();
  if (flags.timing) {
    std::cout << "executed in " << std::chrono::duration<double>(stop - start).count() * 1e3
              << " ms on the " << to_string(plan.backend()) << " backend\n";
  }
  if (flags.report) std::cout << to_string(plan.last_report());
  detail::write_npy(flags.output, output, result.data());
  // After the output, which completes the command: an interrupt from here
  // on is ignored, so it cannot leave a trace without its result.
  if (trace) trace->write(plan.last_report());
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* command = app.add_subcommand("run", "Evaluate an einsum expression on .npy files");
  // Neither positional is required by CLI11: with --network there is no
  // expression, and run() checks what is needed.
  command->add_option("expression", flags->expression,
                      "einsum expression, e.g. 'ij,jk->ik' (not with --network)");
  // Existence is checked by run(), with a message naming the input.
  command->add_option("inputs", flags->inputs,
                      "input .npy files (float16, float32, float64, complex64 or complex128; "
                      "mixed dtypes are promoted as numpy does; bfloat16 has no .npy form)");
  command
      ->add_option("--network", flags->network,
                   "take the operands' modes from FILE.json instead of EXPR: {\"inputs\": "
                   "[[0,1],[1,2]], \"output\": [0,2], \"extents\": {\"0\": 2, ...}}, one "
                   "integer mode list per input file and the output's modes; \"extents\" "
                   "(keyed by mode id) is optional and checked against the files")
      ->type_name("FILE.json");
  command
      ->add_option("-o,--output", flags->output,
                   "output .npy file: a regular file (replaced) or a new name; never a link, "
                   "device, FIFO or directory")
      ->required();
  flags->plan.add_to(*command, true);
  command
      ->add_flag("--explain{summary}", flags->explain,
                 "print the plan before executing: --explain the cost summary and one row per "
                 "contraction step, --explain=program also the lowered program's ops and "
                 "buffers")
      ->check(CLI::IsMember({"summary", "program"}));
  command->add_flag("--time", flags->timing, "print the execution time");
  command->add_flag("--report", flags->report,
                    "print what the execution did: blocks, bytes each way, link bandwidth, "
                    "device memory, staging time");
  command
      ->add_option("--trace", flags->trace,
                   "write the execution's timeline (copies and compute per CUDA stream, "
                   "gathers and scatters per host thread) to FILE.json as a Chrome trace, for "
                   "Perfetto or chrome://tracing")
      ->type_name("FILE.json");
  command->callback([flags] { run_guarded([&] { run(*flags); }); });
}

}  // namespace einstream::cli
