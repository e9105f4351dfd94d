// The einstream command-line tool: one function per subcommand registers its
// options on the CLI11 app and the callback that runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "einstream/plan.hpp"

namespace einstream::cli {

// Options shared by the commands that plan or execute.
struct PlanFlags {
  std::string backend = "auto";
  std::string path = "auto";
  std::optional<std::string> memory_limit;  // unset: the library default
  std::string max_intermediate;             // empty: no cap
  int path_trials = Options().path_trials;
  double path_seconds = Options().path_seconds;
  std::uint64_t path_seed = Options().path_seed;
  bool allow_tf32 = false;
  bool register_host_memory = false;
  bool no_graph_replay = false;
  std::string devices;     // empty: Options::device alone
  std::string given_path;  // JSON; empty: --path searches

  void add_to(CLI::App& command, bool with_backend);
  Options options() const;
};

// --devices' value: ordinals separated by commas, or "all" (every visible
// device, from `visible`). Throws Error naming the entry that is no ordinal.
std::vector<int> parse_device_list(const std::string& text, const std::vector<int>& visible);

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

// SIGINT and SIGTERM end the process at once (the library has no
// cancellation), with "einstream: interrupted" on stderr and status 128 +
// the signal, after removing every temporary file of a write in progress
// (see detail::abandon_temporary_files). Once the file named here has been
// renamed into place the command's result is complete, and a signal is
// ignored instead. Call before the command writes anything.
void set_final_output(const std::string& path);

// The file `--trace FILE.json` names: an execution's timeline as a Chrome
// trace (to_chrome_trace). The constructor already creates a temporary file
// beside it, so an unwritable path fails before a long execution rather than
// after; write() fills it and renames it over FILE.json, so no failure leaves
// half a trace there. Both throw Error naming the file.
class TraceFile {
 public:
  explicit TraceFile(std::string path);
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;
  // Removes the temporary file unless write() renamed it.
  ~TraceFile();

  void write(const ExecutionReport& report);

 private:
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  std::string temporary_path_;
  std::FILE* file_ = nullptr;
  bool written_ = false;
};

}  // namespace einstream::cli
