// einstream: evaluate einsum expressions on .npy files, print contraction
// paths, run the headline demo, time plans.
#include <cerrno>
#include <cstring>
#include <iostream>
#include <random>
#include <utility>

#include "einstream/error.hpp"
#include "einstream/version.hpp"
#include "src/cli/commands.hpp"

namespace einstream::cli {

void PlanFlags::add_to(CLI::App& command, bool with_backend) {
  if (with_backend) {
    command.add_option("--backend", backend, "host, cuda or auto")
        ->check(CLI::IsMember({"host", "cuda", "auto"}))
        ->capture_default_str();
    command.add_flag("--register-host-memory", register_host_memory,
                     "CUDA backend: page-lock the host buffers once so blocks are DMA'd directly "
                     "(pays off when a plan is executed more than once)");
  }
  command
      .add_option("--path", path,
                  "contraction path algorithm: auto, naive, greedy, optimal, dp or random-greedy")
      ->check(CLI::IsMember({"auto", "naive", "greedy", "optimal", "dp", "random-greedy"}))
      ->capture_default_str();
  command.add_option("--max-intermediate", max_intermediate,
                     "largest intermediate the path may create: bytes with an optional suffix "
                     "(KiB, MiB, GiB, KB, MB, GB)");
  command.add_option("--path-trials", path_trials, "random-greedy: number of trials")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--path-seconds", path_seconds, "random-greedy: time budget in seconds (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--path-seed", path_seed, "random-greedy: seed")->capture_default_str();
  command.add_flag("--allow-tf32", allow_tf32,
                   "CUDA backend: let f32 GEMMs use TF32 tensor cores (faster, 10-bit mantissa)");
  command.add_option("--memory-limit", memory_limit,
                     "device memory to use: bytes with an optional suffix (KiB, MiB, GiB, KB, MB, "
                     "GB), or a fraction in (0, 1] of device memory");
}

Options PlanFlags::options() const {
  Options options;
  options.backend = backend_from_string(backend);
  options.path = path_algorithm_from_string(path);
  if (!memory_limit.empty()) options.memory_limit = MemoryLimit::parse(memory_limit);
  if (!max_intermediate.empty()) {
    const MemoryLimit cap = MemoryLimit::parse(max_intermediate);
    if (cap.kind != MemoryLimit::Kind::bytes) {
      throw Error("--max-intermediate '" + max_intermediate +
                  "' must be a size in bytes (e.g. 512MiB), not a fraction");
    }
    options.max_intermediate_bytes = cap.resolve(0);
  }
  options.path_trials = path_trials;
  options.path_seconds = path_seconds;
  options.path_seed = path_seed;
  options.allow_tf32 = allow_tf32;
  options.register_host_memory = register_host_memory;
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
  // A random suffix so that two runs tracing to one file do not collide;
  // "x" (exclusive create) never reuses an existing file.
  std::random_device entropy;
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp-%08x", static_cast<unsigned>(entropy()));
    temporary_path_ = path_ + suffix;
    errno = 0;
    file_ = std::fopen(temporary_path_.c_str(), "wbx");
    if (file_ != nullptr) return;
    if (errno != EEXIST) break;
  }
  fail("cannot create a temporary file beside it ('" + temporary_path_ +
       "'): " + std::strerror(errno));
}

TraceFile::~TraceFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!written_) std::remove(temporary_path_.c_str());
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
  errno = 0;
  if (std::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    fail("renaming '" + temporary_path_ + "' over it failed: " + std::strerror(errno));
  }
  written_ = true;
}

void TraceFile::fail(const std::string& what) const {
  throw Error("cannot write the trace file '" + path_ + "': " + what);
}

}  // namespace einstream::cli

int main(int argc, char** argv) {
  CLI::App app{"einstream: Einstein summation for tensors larger than the GPU"};
  app.set_version_flag("--version", std::string("einstream ") + einstream::version());
  app.require_subcommand(1);
  einstream::cli::add_run_command(app);
  einstream::cli::add_path_command(app);
  einstream::cli::add_demo_command(app);
  einstream::cli::add_devices_command(app);
  einstream::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const einstream::cli::CommandFailed& failure) {
    return failure.status;
  }
  return 0;
}
