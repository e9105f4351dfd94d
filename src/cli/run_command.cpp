// einstream run EXPR IN.npy... -o OUT.npy: evaluate an expression on .npy
// files. The output is computed in memory and only then written (atomically),
// so a failure leaves -o untouched.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
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
  std::vector<unsigned char> result(static_cast<std::size_t>(output.element_count()) *
                                    size_of(output.dtype));
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
