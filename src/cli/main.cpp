// einstream: evaluate einsum expressions on .npy files, print contraction
// paths, run the headline demo, time plans.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/version.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/json_values.hpp"
#include "src/cli/stderr_log.hpp"
#include "src/devices.hpp"
#include "src/memory_text.hpp"
#include "src/npy.hpp"

namespace einstream::cli {

namespace {

// As CLI::NonNegativeNumber, whose message names a bound of 1.8e308.
CLI::Validator non_negative_seconds() {
  return CLI::Validator(
      [](std::string& text) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end != text.c_str() && *end == '\0' && value >= 0) return std::string();
        return "expected a number of seconds >= 0 (0: no limit), got '" + text + "'";
      },
      "SECONDS");
}

}  // namespace

void PlanFlags::add_to(CLI::App& command, bool with_backend) {
  if (with_backend) {
    command.add_option("--backend", backend, "host, cuda or auto")
        ->check(CLI::IsMember({"host", "cuda", "auto"}))
        ->capture_default_str();
    command
        .add_option("--devices", devices,
                    "CUDA backend: run on these GPUs of the host, ordinals separated by commas "
                    "(0,1,2,3; one may repeat) or 'all'; the blocks are shared among them and the "
                    "memory limit applies to each")
        ->type_name("LIST");
    command.add_flag("--register-host-memory", register_host_memory,
                     "CUDA backend: page-lock the host buffers once so blocks are DMA'd directly "
                     "(pays off when a plan is executed more than once)");
    command.add_flag("--no-graph-replay", no_graph_replay,
                     "CUDA backend: launch every op on each execution instead of replaying a "
                     "one-block plan's ops from a CUDA graph captured at its second execution");
  }
  command
      .add_option("--path", path,
                  "contraction path algorithm: auto, naive, greedy, optimal, dp, random-greedy "
                  "or hyper")
      ->check(CLI::IsMember({"auto", "naive", "greedy", "optimal", "dp", "random-greedy", "hyper"}))
      ->capture_default_str();
  command
      .add_option("--given-path", given_path,
                  "a contraction path to run instead of searching one, as JSON in opt_einsum's "
                  "format: one array of operand positions per step, e.g. '[[1,2],[0,1]]' (what "
                  "`einstream path --json` prints as \"path\"); --path is then not used")
      ->type_name("JSON");
  command
      .add_option("--max-intermediate", max_intermediate,
                  "largest intermediate the path may create: bytes with an optional suffix "
                  "(KiB, MiB, GiB, K, M, G, KB, MB, GB)")
      ->type_name("SIZE");
  // Range, not PositiveNumber: that check names a bound of 1.8e308.
  command.add_option("--path-trials", path_trials, "random-greedy and hyper: number of trials")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()))
      ->capture_default_str();
  command
      .add_option("--path-seconds", path_seconds,
                  "time budget of the path search in seconds (0: none)")
      ->check(non_negative_seconds())
      ->capture_default_str();
  command.add_option("--path-seed", path_seed, "random-greedy: seed")->capture_default_str();
  command.add_flag("--allow-tf32", allow_tf32,
                   "CUDA backend: let f32 GEMMs use TF32 tensor cores (faster, 10-bit mantissa)");
  // A function option, so that an empty value ('') is seen and refused
  // rather than mistaken for "not given".
  command
      .add_option_function<std::string>(
          "--memory-limit", [this](const std::string& text) { memory_limit = text; },
          "device memory to use: bytes with an optional suffix (B, KB, MB, GB, TB powers of 1000; "
          "KiB, MiB, GiB, TiB and K, M, G, T powers of 1024, so 4G = 4GiB), a percentage of "
          "device memory (90%), or a fraction in (0, 1] written with a point (0.5, 1.0); a bare "
          "integer below 1024 is refused as ambiguous (write 2B or 2%); default 90%")
      ->type_name("SIZE");
}

std::vector<int> parse_device_list(const std::string& text, const std::vector<int>& visible) {
  if (text == "all") {
    if (visible.empty()) throw Error("--devices all: no CUDA device is visible");
    return visible;
  }
  std::vector<int> devices;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = text.find(',', begin);
    const std::string entry =
        text.substr(begin, comma == std::string::npos ? comma : comma - begin);
    const bool digits = !entry.empty() && entry.size() <= 6 &&
                        std::all_of(entry.begin(), entry.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!digits) {
      throw Error("--devices '" + text + "': '" + entry +
                  "' is no device ordinal; expected ordinals separated by commas (0,1) or 'all'");
    }
    devices.push_back(std::stoi(entry));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return devices;
}

Options PlanFlags::options() const {
  Options options;
  options.backend = backend_from_string(backend);
  options.path = path_algorithm_from_string(path);
  if (!given_path.empty()) options.given_path = parse_given_path(given_path);
  if (memory_limit) options.memory_limit = MemoryLimit::parse(*memory_limit);
  if (!max_intermediate.empty()) {
    options.max_intermediate_bytes =
        detail::parse_memory_text(max_intermediate, "--max-intermediate size", false).resolve(0);
  }
  options.path_trials = path_trials;
  options.path_seconds = path_seconds;
  options.path_seed = path_seed;
  options.allow_tf32 = allow_tf32;
  options.register_host_memory = register_host_memory;
  options.graph_replay = !no_graph_replay;
  if (!devices.empty()) {
    std::vector<int> visible;
    for (const detail::DeviceInfo& info : detail::list_devices()) visible.push_back(info.index);
    options.devices = parse_device_list(devices, visible);
  }
  log_from_environment(options);
  return options;
}

void run_guarded(const std::function<void()>& body) {
  try {
    body();
  } catch (const CommandFailed&) {
    throw;
  } catch (const std::exception& error) {
    std::cerr << "einstream: " << error.what() << '\n';
    throw CommandFailed{1};
  }
}

TraceFile::TraceFile(std::string path) : path_(std::move(path)) {
  detail::check_output_path(path_, "trace file");
  // A random suffix so that two runs tracing to one file do not collide;
  // "x" (exclusive create) never reuses an existing file.
  std::random_device entropy;
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp-%08x", static_cast<unsigned>(entropy()));
    temporary_path_ = path_ + suffix;
    errno = 0;
    file_ = detail::create_temporary_file(temporary_path_);
    if (file_ != nullptr) return;
    if (errno != EEXIST) break;
  }
  fail("cannot create a temporary file beside it ('" + temporary_path_ +
       "'): " + std::strerror(errno));
}

TraceFile::~TraceFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!written_) detail::remove_temporary_file(temporary_path_);
}

void TraceFile::write(const ExecutionReport& report) {
  if (file_ == nullptr) fail("it was written once already");
  const std::string trace = to_chrome_trace(report);
  errno = 0;
  if (std::fwrite(trace.data(), 1, trace.size(), file_) != trace.size()) {
    fail("writing '" + temporary_path_ + "' failed: " + std::strerror(errno));
  }
  // fclose flushes, so a full disk may first show up here.
  errno = 0;
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) fail("closing '" + temporary_path_ + "' failed: " + std::strerror(errno));
  detail::check_output_path(path_, "trace file");
  const int renamed = detail::commit_temporary_file(temporary_path_, path_);
  if (renamed != 0) {
    fail("renaming '" + temporary_path_ + "' over it failed: " + std::strerror(renamed));
  }
  written_ = true;
}

void TraceFile::fail(const std::string& what) const {
  throw Error("cannot write the trace file '" + path_ + "': " + what);
}

namespace {

std::mutex& final_output_mutex() {
  static auto* mutex = new std::mutex;  // never destroyed: the signal thread may use it at exit
  return *mutex;
}

std::string& final_output() {
  static auto* path = new std::string;
  return *path;
}

// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask, so
// this runs before any is started) and waits for them on one thread of its
// own, which may lock, remove files and print without the limits of a
// signal handler.
void handle_interrupts() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    for (;;) {
      int number = 0;
      if (sigwait(&signals, &number) != 0) continue;
      std::string finished;
      {
        const std::lock_guard<std::mutex> lock(final_output_mutex());
        finished = final_output();
      }
      if (!detail::abandon_temporary_files(finished)) continue;  // the result is written
      const char* message = number == SIGINT ? "einstream: interrupted by SIGINT\n"
                                             : "einstream: terminated by SIGTERM\n";
      [[maybe_unused]] const ssize_t written =
          ::write(STDERR_FILENO, message, std::strlen(message));
      std::_Exit(128 + number);
    }
  }).detach();
}

// Levenshtein distance, for "did you mean" hints.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest of `names` to `word` when it is a plausible typo, else "".
std::string closest(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const std::string& name : names) {
    const std::size_t distance = edit_distance(word, name);
    if (distance < best_distance) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(command->get_name());
  }
  return names;
}

// "--backend" style names of a command's options.
std::vector<std::string> option_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

// An einsum expression may start with "->" (one scalar operand), which CLI11
// would read as an unknown option "->". No option starts that way, so an
// argument that starts so and holds only einsum characters is marked with a
// prefix no one types, and the expression positional drops the marker again
// (a leading space would do too, but would shift ParseError positions).
constexpr char kExpressionMarker = '\x1f';

bool looks_like_arrow_expression(const std::string& argument) {
  if (argument.compare(0, 2, "->") != 0) return false;
  for (const char c : argument) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && std::strchr(" \t,.->", c) == nullptr) {
      return false;
    }
  }
  return true;
}

void protect_expressions(CLI::App& app, std::vector<std::string>& arguments) {
  for (std::string& argument : arguments) {
    if (looks_like_arrow_expression(argument)) argument.insert(argument.begin(), kExpressionMarker);
  }
  for (CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    CLI::Option* expression = command->get_option_no_throw("expression");
    if (expression == nullptr) continue;
    expression->transform(
        [](const std::string& text) {
          const bool marked = !text.empty() && text.front() == kExpressionMarker;
          return marked ? text.substr(1) : text;
        },
        "", "");
  }
}

}  // namespace

void set_final_output(const std::string& path) {
  const std::lock_guard<std::mutex> lock(final_output_mutex());
  final_output() = path;
}

}  // namespace einstream::cli

int main(int argc, char** argv) {
  einstream::cli::handle_interrupts();
  CLI::App app{"einstream: Einstein summation for tensors larger than the GPU"};
  app.set_version_flag("--version", std::string("einstream ") + einstream::version());
  app.require_subcommand(1);
  app.footer(
      "Environment: EINSTREAM_LOG=error|warn|info|debug logs to stderr (info: each execution's "
      "start, progress and end; debug: also the plan and the transfers). On a terminal, 'run' "
      "shows a progress line for executions longer than a second.");
  einstream::cli::add_run_command(app);
  einstream::cli::add_path_command(app);
  einstream::cli::add_demo_command(app);
  einstream::cli::add_devices_command(app);
  einstream::cli::add_bench_command(app);
  std::vector<std::string> arguments(argv + 1, argv + argc);
  // CLI11 says only "A subcommand is required" for a misspelt one.
  const std::vector<std::string> commands = einstream::cli::subcommand_names(app);
  if (!arguments.empty() && !arguments.front().empty() && arguments.front().front() != '-' &&
      std::find(commands.begin(), commands.end(), arguments.front()) == commands.end()) {
    const std::string suggestion = einstream::cli::closest(arguments.front(), commands);
    std::string list;
    for (std::size_t index = 0; index < commands.size(); ++index) {
      list += (index == 0 ? "" : index + 1 == commands.size() ? " or " : ", ") + commands[index];
    }
    std::cerr << "einstream: unknown command '" << arguments.front() << "': expected " << list
              << (suggestion.empty() ? std::string() : " (did you mean '" + suggestion + "'?)")
              << "\nRun with --help for more information.\n";
    return static_cast<int>(CLI::ExitCodes::ExtrasError);
  }
  einstream::cli::protect_expressions(app, arguments);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them last first
  try {
    app.parse(arguments);
  } catch (const CLI::ExtrasError& error) {
    // Name the command and suggest the option the user probably meant.
    const CLI::App* command = &app;
    for (const CLI::App* sub : app.get_subcommands()) command = sub;
    std::string hint;
    if (command != &app) {
      const std::vector<std::string> names = einstream::cli::option_names(*command);
      for (const std::string& extra : app.remaining(true)) {
        if (extra.size() < 2 || extra.front() != '-') continue;
        const std::string word = extra.substr(0, extra.find('='));
        const std::string suggestion = einstream::cli::closest(word, names);
        hint += "\n'" + word + "' is no option of '" + command->get_name() + "'" +
                (suggestion.empty() ? std::string() : "; did you mean '" + suggestion + "'?");
      }
    }
    std::cerr << error.what() << hint << "\nRun with --help for more information.\n";
    return error.get_exit_code();
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const einstream::cli::CommandFailed& failure) {
    return failure.status;
  }
  return 0;
}
