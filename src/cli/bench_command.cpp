// einstream bench EXPR --shapes JSON: time repeated executions of one Plan on
// random inputs (or .npy files) that already live where the backend computes
// (device memory for the cuda backend), and report the median and minimum
// time, FLOP/s and bytes moved, as a short table or one JSON object. The
// peer comparison (bench/peers.py) drives it with --inputs, --save-output and
// --json so every system sees the same data.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/json_values.hpp"
#include "src/device_memory.hpp"
#include "src/devices.hpp"
#include "src/npy.hpp"

namespace einstream::cli {

namespace {

using Shapes = std::vector<std::vector<std::int64_t>>;

// Bound of --repeat and --warmup, so that a typo cannot queue a day of runs.
constexpr int kMostRuns = 1000000;

struct BenchFlags {
  std::string expression;
  std::string shapes;
  std::string dtype = "f32";
  PlanFlags plan;
  int repeat = 10;
  int warmup = 2;
  std::uint64_t seed = 0;
  std::vector<std::string> inputs;
  std::string save_output;
  bool json = false;
  // Whether --shapes / --dtype were given (with --inputs they must agree
  // with the files).
  CLI::Option* shapes_option = nullptr;
  CLI::Option* dtype_option = nullptr;
};

// splitmix64: a fast, seedable stream, so random inputs of several GiB take
// seconds rather than minutes (std::mt19937 with a distribution is ~10x
// slower) and equal seeds give equal inputs on every platform.
class UniformStream {
 public:
  explicit UniformStream(std::uint64_t seed) : state_(seed) {}
  // Uniform in [-1, 1).
  double next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
  }

 private:
  std::uint64_t state_;
};

template <typename Real>
void fill_uniform(Real* values, std::int64_t count, UniformStream& stream) {
  for (std::int64_t index = 0; index < count; ++index) {
    if constexpr (std::is_floating_point_v<Real>) {
      values[index] = static_cast<Real>(stream.next());
    } else {
      values[index] = Real(static_cast<float>(stream.next()));  // float16, bfloat16
    }
  }
}

// The bytes of a C-order tensor of `desc`, uniform in [-1, 1) (both parts
// for complex types); operand `operand` gets its own stream of `seed`.
std::vector<unsigned char> random_tensor(const TensorDesc& desc, std::uint64_t seed,
                                         std::size_t operand) {
  const std::int64_t count = desc.element_count();
  std::vector<unsigned char> bytes(static_cast<std::size_t>(count) * size_of(desc.dtype));
  UniformStream stream(seed * 0x100000001B3ull + operand);
  switch (desc.dtype) {
    case DataType::f32:
      fill_uniform(reinterpret_cast<float*>(bytes.data()), count, stream);
      break;
    case DataType::f64:
      fill_uniform(reinterpret_cast<double*>(bytes.data()), count, stream);
      break;
    case DataType::c64:
      fill_uniform(reinterpret_cast<float*>(bytes.data()), 2 * count, stream);
      break;
    case DataType::c128:
      fill_uniform(reinterpret_cast<double*>(bytes.data()), 2 * count, stream);
      break;
    case DataType::f16:
      fill_uniform(reinterpret_cast<float16*>(bytes.data()), count, stream);
      break;
    case DataType::bf16:
      fill_uniform(reinterpret_cast<bfloat16*>(bytes.data()), count, stream);
      break;
  }
  return bytes;
}

// The inputs on the host: read from --inputs, or random of --shapes/--dtype.
struct HostInputs {
  std::vector<TensorDesc> descs;
  std::vector<std::vector<unsigned char>> data;
  bool from_files = false;
};

HostInputs load_inputs(const BenchFlags& flags) {
  HostInputs inputs;
  if (flags.inputs.empty()) {
    if (flags.shapes_option->count() == 0) {
      throw Error(
          "bench needs the operands' shapes: give --shapes '[[..],[..]]' (with --dtype) "
          "or --inputs a.npy b.npy ...");
    }
    const DataType dtype = data_type_from_string(flags.dtype);
    for (const auto& extents : parse_shapes(flags.shapes))
      inputs.descs.emplace_back(dtype, extents);
    for (std::size_t operand = 0; operand < inputs.descs.size(); ++operand) {
      inputs.data.push_back(random_tensor(inputs.descs[operand], flags.seed, operand));
    }
    return inputs;
  }
  inputs.from_files = true;
  for (const std::string& path : flags.inputs) {
    detail::NpyArray array = detail::read_npy(path);
    if (!inputs.descs.empty() && array.desc.dtype != inputs.descs[0].dtype) {
      throw Error("input " + path + " holds " + to_string(array.desc.dtype) + " but " +
                  flags.inputs[0] + " holds " + to_string(inputs.descs[0].dtype) +
                  ": all inputs must share one data type");
    }
    inputs.descs.push_back(array.desc);
    inputs.data.push_back(std::move(array.data));
  }
  // --shapes and --dtype are redundant with --inputs; where given they are a
  // check that the files are the ones meant.
  if (flags.dtype_option->count() > 0 &&
      data_type_from_string(flags.dtype) != inputs.descs[0].dtype) {
    throw Error("--dtype " + flags.dtype + " does not match the --inputs files, which hold " +
                to_string(inputs.descs[0].dtype));
  }
  if (flags.shapes_option->count() > 0) {
    const Shapes shapes = parse_shapes(flags.shapes);
    Shapes file_shapes;
    for (const TensorDesc& desc : inputs.descs) file_shapes.push_back(desc.extents);
    if (shapes != file_shapes) {
      throw Error("--shapes " + flags.shapes +
                  " does not match the shapes of the --inputs files (" +
                  nlohmann::json(file_shapes).dump() + ")");
    }
  }
  return inputs;
}

std::size_t byte_count(const TensorDesc& desc) {
  return static_cast<std::size_t>(desc.element_count()) * size_of(desc.dtype);
}

// The tensors execute() sees: the host buffers themselves, or copies in
// device memory for the cuda backend.
class Operands {
 public:
  Operands(const HostInputs& inputs, const TensorDesc& output, Backend backend, int device)
      : device_(device), on_device_(backend == Backend::cuda), output_bytes_(byte_count(output)) {
    if (!on_device_) {
      for (const auto& data : inputs.data) inputs_.push_back(data.data());
      host_output_.resize(output_bytes_);
      output_ = host_output_.data();
      return;
    }
    try {
      for (const auto& data : inputs.data) {
        device_inputs_.push_back(std::make_unique<detail::DeviceAllocation>(data.size(), device));
        device_inputs_.back()->copy_from_host(data.data(), data.size());
        inputs_.push_back(device_inputs_.back()->get());
      }
      device_output_ = std::make_unique<detail::DeviceAllocation>(output_bytes_, device);
      output_ = device_output_->get();
    } catch (const std::exception& error) {
      throw Error(std::string("bench: cannot place the inputs and the output on device ") +
                  std::to_string(device) + ": " + error.what());
    }
  }

  const std::vector<const void*>& inputs() const { return inputs_; }
  void* output() const { return output_; }

  // Waits for the device, if the tensors live there.
  void synchronize() const {
    if (on_device_) detail::synchronize_device(device_);
  }

  // The output's bytes on the host.
  std::vector<unsigned char> output_on_host() const {
    if (!on_device_) return host_output_;
    std::vector<unsigned char> bytes(output_bytes_);
    device_output_->copy_to_host(bytes.data(), bytes.size());
    return bytes;
  }

 private:
  int device_;
  bool on_device_;
  std::size_t output_bytes_;
  std::vector<const void*> inputs_;
  void* output_ = nullptr;
  std::vector<unsigned char> host_output_;
  std::vector<std::unique_ptr<detail::DeviceAllocation>> device_inputs_;
  std::unique_ptr<detail::DeviceAllocation> device_output_;
};

struct Timings {
  std::vector<double> seconds;  // one per repeat, in run order
  double median = 0;
  double min = 0;
  double max = 0;
};

Timings time_executions(Plan& plan, const Operands& operands, int warmup, int repeat) {
  for (int run = 0; run < warmup; ++run) plan.execute(operands.inputs(), operands.output());
  operands.synchronize();
  Timings timings;
  for (int run = 0; run < repeat; ++run) {
    const auto start = std::chrono::steady_clock::now();
    plan.execute(operands.inputs(), operands.output());
    operands.synchronize();
    const auto stop = std::chrono::steady_clock::now();
    timings.seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  std::vector<double> sorted = timings.seconds;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t middle = sorted.size() / 2;
  timings.median =
      sorted.size() % 2 == 1 ? sorted[middle] : 0.5 * (sorted[middle - 1] + sorted[middle]);
  timings.min = sorted.front();
  timings.max = sorted.back();
  return timings;
}

std::string device_name(Backend backend, int device) {
  if (backend != Backend::cuda) return "host";
  for (const detail::DeviceInfo& info : detail::list_devices()) {
    if (info.index == device) return info.name;
  }
  return "device " + std::to_string(device);
}

std::string format_value(double value, const char* unit) {
  static const char* const kPrefixes[] = {"", "K", "M", "G", "T", "P"};
  int prefix = 0;
  while (std::fabs(value) >= 1000 && prefix < 5) {
    value /= 1000;
    ++prefix;
  }
  char text[48];
  std::snprintf(text, sizeof text, "%.3g %s%s", value, kPrefixes[prefix], unit);
  return text;
}

std::string format_seconds(double seconds) {
  char text[48];
  if (seconds < 1.0) {
    std::snprintf(text, sizeof text, "%.4g ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.4g s", seconds);
  }
  return text;
}

void bench(const BenchFlags& flags) {
  const HostInputs inputs = load_inputs(flags);
  Plan plan(flags.expression, inputs.descs, flags.plan.options());
  const Backend backend = plan.backend();
  const int device = plan.options().device;

  std::size_t input_bytes = 0;
  for (const auto& data : inputs.data) input_bytes += data.size();
  const std::size_t output_bytes = byte_count(plan.output());
  double bytes = plan.bytes_moved();
  std::string bytes_kind = "program";
  if (!(bytes > 0)) {
    bytes = static_cast<double>(input_bytes + output_bytes);
    bytes_kind = "inputs+output";
  }
  const Operands operands(inputs, plan.output(), backend, device);
  const Timings timings = time_executions(plan, operands, flags.warmup, flags.repeat);
  // What the executions allocated (operands on the device run in place)
  // plus the operands themselves.
  const std::uint64_t device_bytes =
      (plan.backend() == Backend::cuda ? plan.last_report().device_bytes : plan.workspace_bytes()) +
      input_bytes + output_bytes;
  const double flops = plan.path().flops;
  const double flops_per_second = timings.median > 0 ? flops / timings.median : 0;
  const double bytes_per_second = timings.median > 0 ? bytes / timings.median : 0;

  if (!flags.save_output.empty()) {
    const std::vector<unsigned char> result = operands.output_on_host();
    detail::write_npy(flags.save_output, plan.output(), result.data());
  }

  Shapes shapes;
  for (const TensorDesc& desc : inputs.descs) shapes.push_back(desc.extents);
  if (flags.json) {
    nlohmann::ordered_json document;  // fields in a reading order
    document["expression"] = flags.expression;
    document["shapes"] = shapes;
    document["output_shape"] = plan.output().extents;
    document["dtype"] = to_string(plan.output().dtype);
    document["backend"] = to_string(backend);
    document["device"] = device_name(backend, device);
    document["inputs"] = inputs.from_files ? "files" : "random";
    if (inputs.from_files) {
      document["seed"] = nullptr;
    } else {
      document["seed"] = flags.seed;
    }
    // "given": --given-path, no search.
    document["path_algorithm"] =
        plan.options().given_path.empty() ? to_string(plan.options().path) : "given";
    document["path"] = plan.path().path;
    document["path_seconds"] = plan.path().seconds;
    document["flops"] = count_to_json(flops);
    document["warmup"] = flags.warmup;
    document["repeat"] = flags.repeat;
    document["times_seconds"] = timings.seconds;
    document["median_seconds"] = timings.median;
    document["min_seconds"] = timings.min;
    document["max_seconds"] = timings.max;
    document["flops_per_second"] = flops_per_second;
    document["bytes"] = count_to_json(bytes);
    document["bytes_kind"] = bytes_kind;
    document["bytes_per_second"] = bytes_per_second;
    document["input_bytes"] = input_bytes;
    document["output_bytes"] = output_bytes;
    document["workspace_bytes"] = plan.workspace_bytes();
    document["device_bytes"] = device_bytes;
    document["allow_tf32"] = plan.options().allow_tf32;
    document["graph_replay"] = plan.options().graph_replay;
    document["graph_replayed"] = plan.last_report().graph_replayed;
    std::cout << document.dump() << '\n';
    return;
  }

  std::cout << "einstream bench '" << flags.expression << "'\n";
  std::cout << "  shapes        " << nlohmann::json(shapes).dump() << " -> "
            << nlohmann::json(plan.output().extents).dump() << ", "
            << to_string(plan.output().dtype) << '\n';
  std::cout << "  backend       " << to_string(backend);
  if (backend == Backend::cuda) std::cout << " (" << device_name(backend, device) << ")";
  std::cout << '\n';
  std::cout << "  inputs        "
            << (inputs.from_files ? std::string("from files")
                                  : "random, seed " + std::to_string(flags.seed))
            << '\n';
  std::cout << "  path          " << to_string(plan.options().path) << " "
            << nlohmann::json(plan.path().path).dump() << ", " << format_value(flops, "FLOP")
            << '\n';
  std::cout << "  runs          " << flags.repeat << " timed after " << flags.warmup
            << " warm-up\n";
  std::cout << "  median        " << format_seconds(timings.median) << " (min "
            << format_seconds(timings.min) << ", max " << format_seconds(timings.max) << ")\n";
  std::cout << "  compute       " << format_value(flops_per_second, "FLOP/s") << '\n';
  std::cout << "  bytes moved   " << format_value(bytes, "B") << " (" << bytes_kind << "), "
            << format_value(bytes_per_second, "B/s") << '\n';
  std::cout << (backend == Backend::cuda ? "  device bytes  " : "  memory        ")
            << format_value(static_cast<double>(device_bytes), "B") << " (workspace "
            << format_value(static_cast<double>(plan.workspace_bytes()), "B")
            << " + inputs + output)\n";
  if (!flags.save_output.empty()) std::cout << "  output        " << flags.save_output << '\n';
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* command =
      app.add_subcommand("bench", "Time repeated executions of one plan on random or .npy inputs");
  command->add_option("expression", flags->expression, "einsum expression, e.g. 'ij,jk->ik'")
      ->required();
  flags->shapes_option =
      command->add_option("--shapes", flags->shapes,
                          "JSON array of operand shapes, e.g. '[[2,3],[3,4]]' (random inputs; "
                          "with --inputs, a check of the files' shapes)");
  flags->dtype_option =
      command
          ->add_option("--dtype", flags->dtype,
                       "data type of random inputs: f32, f64, c64, c128, f16 or bf16")
          ->check(CLI::IsMember({"f32", "f64", "c64", "c128", "f16", "bf16"}))
          ->capture_default_str();
  flags->plan.add_to(*command, true);
  command->add_option("--repeat", flags->repeat, "timed executions")
      ->check(CLI::Range(1, kMostRuns))
      ->capture_default_str();
  command->add_option("--warmup", flags->warmup, "untimed executions before the timed ones")
      ->check(CLI::Range(0, kMostRuns))
      ->capture_default_str();
  command->add_option("--seed", flags->seed, "seed of the random inputs")->capture_default_str();
  command
      ->add_option("--inputs", flags->inputs,
                   "input .npy files instead of random data (their shapes and dtype are used)")
      ->check(CLI::ExistingFile);
  command->add_option("--save-output", flags->save_output,
                      "write the result of the last execution to this .npy file");
  command->add_flag("--json", flags->json, "print the measurements as one JSON object");
  command->callback([flags] { run_guarded([&] { bench(*flags); }); });
}

}  // namespace einstream::cli
