// einstream run EXPR IN.npy... -o OUT.npy: evaluate an expression on .npy
// files. The output is computed in memory and only then written (atomically),
// so a failure leaves -o untouched.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
#include "src/desc_check.hpp"
#include "src/npy.hpp"

namespace einstream::cli {

namespace {

struct RunFlags {
  std::string expression;
  std::vector<std::string> inputs;
  std::string output;
  PlanFlags plan;
  bool explain = false;
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

void run(const RunFlags& flags) {
  std::optional<TraceFile> trace;
  if (!flags.trace.empty()) trace.emplace(flags.trace);
  std::vector<detail::NpyArray> arrays;
  for (const std::string& path : flags.inputs) arrays.push_back(detail::read_npy(path));
  std::vector<TensorDesc> descs;
  std::vector<const void*> pointers;
  for (std::size_t index = 0; index < arrays.size(); ++index) {
    if (arrays[index].desc.dtype != arrays[0].desc.dtype) {
      throw Error("input " + flags.inputs[index] + " holds " + to_string(arrays[index].desc.dtype) +
                  " but " + flags.inputs[0] + " holds " + to_string(arrays[0].desc.dtype) +
                  ": all inputs must share one data type");
    }
    descs.push_back(arrays[index].desc);
    pointers.push_back(arrays[index].data.data());
  }

  Options options = flags.plan.options();
  options.profile = !flags.trace.empty();
  Plan plan(flags.expression, descs, options);
  if (flags.explain) std::cout << plan.explain();

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
  if (trace) trace->write(plan.last_report());
  detail::write_npy(flags.output, output, result.data());
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* command = app.add_subcommand("run", "Evaluate an einsum expression on .npy files");
  command->add_option("expression", flags->expression, "einsum expression, e.g. 'ij,jk->ik'")
      ->required();
  command
      ->add_option("inputs", flags->inputs,
                   "input .npy files (float32, float64, complex64 or complex128; one dtype)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("-o,--output", flags->output, "output .npy file")->required();
  flags->plan.add_to(*command, true);
  command->add_flag("--explain", flags->explain, "print the plan before executing");
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
