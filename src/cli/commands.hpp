// The einstream command-line tool: one function per subcommand registers its
// options on the CLI11 app and the callback that runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "einstream/plan.hpp"

namespace einstream::cli {

// Options shared by the commands that plan or execute.
struct PlanFlags {
  std::string backend = "auto";
  std::string path = "auto";
  std::string memory_limit;      // empty: the library default
  std::string max_intermediate;  // empty: no cap
  int path_trials = Options().path_trials;
  double path_seconds = Options().path_seconds;
  std::uint64_t path_seed = Options().path_seed;
  bool allow_tf32 = false;

  void add_to(CLI::App& command, bool with_backend);
  Options options() const;
};

void add_run_command(CLI::App& app);
void add_path_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_devices_command(CLI::App& app);
void add_bench_command(CLI::App& app);

// Runs a command body; einstream errors go to stderr as "einstream: ..." and
// become CommandFailed, which main turns into a non-zero exit status.
struct CommandFailed {
  int status;
};
void run_guarded(const std::function<void()>& body);

}  // namespace einstream::cli
