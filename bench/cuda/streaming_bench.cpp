// Out-of-core benchmark: einstream on problems whose operands live in host
// memory and exceed the device-memory limit, so they stream block by block.
//
//   einstream_streaming_bench bench/ooc.json --out results.json [--only a,b]
//       [--repeat 3] [--modes pageable,pinned,registered,device] [--trace-dir DIR]
//
// Each run first measures its own ceilings: pinned H2D and D2H bandwidth and
// pageable H2D bandwidth (1 GiB copies), and the cuBLAS GEMM rate (8192^3,
// pedantic math: no TF32). A problem's floor is the largest of input bytes
// at the pinned H2D rate, output bytes at the pinned D2H rate and the plan's
// FLOPs at the GEMM rate; the bench reports einstream's median time over it.
//
// Host memory modes: "pageable" (ordinary memory, every page touched),
// "pinned" (cudaMallocHost), "registered" (ordinary memory and
// Options::register_host_memory; the warm-up execution pays the
// registration); "device" (the operands and the output copied into device
// memory first, untimed: they are used in place, nothing crosses the link,
// and the floor is the GEMM term alone). Pageable, registered and device
// share one set of host buffers, filled once; the pinned set is allocated
// after they are freed, so a problem never holds two copies of its input.
//
// Correctness: output slices (the first output mode fixed at its first,
// middle and last index, and further output modes while the slice is costly)
// are recomputed in float64 by the host backend from the same inputs and
// compared norm-wise. Results go to --out after every mode, so a crash loses
// nothing already measured; a failing problem is recorded and the run goes on.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "cuda/resources.hpp"
#include "einstream/einstream.hpp"
#include "src/device_memory.hpp"
#include "src/staging/thread_pool.hpp"

namespace {

using einstream::Backend;
using einstream::DataType;
using einstream::Error;
using einstream::ExecutionReport;
using einstream::Options;
using einstream::Plan;
using einstream::TensorDesc;
using Json = nlohmann::ordered_json;

// Calibration: copies of this size, GEMMs of this order, median of this many.
constexpr std::size_t kCopyBytes = std::size_t{1} << 30;
constexpr int kGemmOrder = 8192;
constexpr int kCalibrationSamples = 5;
// Norm-wise relative error the streamed result must reach against float64:
// kToleranceF32 for f32 sums of up to kToleranceTerms terms per output
// element, growing as the square root of the count beyond (rounding errors
// of a long sum grow like sqrt(n) u): three 16384^2 operands summed over
// both modes (2^28 terms, bench/ooc.json's device-sliced) round to ~1.5e-5
// whatever the block order.
constexpr double kToleranceF32 = 1e-5;
constexpr double kToleranceTerms = double(1 << 24);
constexpr double kToleranceF64 = 1e-12;
// Further output modes are fixed while the reference slice costs more FLOPs
// than this (the host backend runs it on one thread).
constexpr double kMaxReferenceFlops = 2e9;
// Host memory kept free beyond a problem's inputs and output (the OS, the
// staging ring, the reference).
constexpr double kHostMarginBytes = 4e9;
constexpr std::size_t kPageBytes = 4096;

const std::vector<std::string> kModes = {"pageable", "pinned", "registered", "device"};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string text;
  for (std::size_t index = 0; index < parts.size(); ++index) {
    text += (index ? separator : "") + parts[index];
  }
  return text;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// ------------------------------------------------------------ command line

struct Arguments {
  std::string problems_path;
  std::string out_path = "streaming-results.json";
  std::vector<std::string> only;
  int repeat = 3;
  std::vector<std::string> modes = {"pageable", "pinned", "registered"};
  std::string trace_dir;
  int device = 0;
  std::vector<int> devices;  // --devices: several GPUs (Options::devices)
  std::string command_line;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kUsage =
    "usage: einstream_streaming_bench PROBLEMS.json [--out RESULTS.json] [--only NAME,...]\n"
    "           [--repeat N] [--modes pageable,pinned,registered,device] [--trace-dir DIR] "
    "[--device N] [--devices 0,1,...]\n"
    "  PROBLEMS.json  problems as in bench/ooc.json\n"
    "  --out          where the results go, rewritten after every measurement\n"
    "                 (default streaming-results.json)\n"
    "  --only         run only these problems\n"
    "  --repeat       timed executions per problem and mode after one warm-up (default 3)\n"
    "  --modes        where inputs and output live (default pageable,pinned,registered)\n"
    "  --trace-dir    write one Chrome trace per problem (pinned mode, one extra execution)\n"
    "  --device       CUDA device (default 0)\n"
    "  --devices      run on these devices at once (Options::devices; host modes only)\n";

Arguments parse_arguments(int argc, char** argv) {
  Arguments arguments;
  std::vector<std::string> words(argv, argv + argc);
  arguments.command_line = join(words, " ");
  for (std::size_t index = 1; index < words.size(); ++index) {
    std::string word = words[index];
    std::optional<std::string> attached;
    if (word.rfind("--", 0) == 0 && word.find('=') != std::string::npos) {
      attached = word.substr(word.find('=') + 1);
      word = word.substr(0, word.find('='));
    }
    const auto value = [&]() -> std::string {
      if (attached) return *attached;
      if (index + 1 >= words.size()) throw UsageError(word + " needs a value");
      return words[++index];
    };
    if (word == "-h" || word == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (word == "--out") {
      arguments.out_path = value();
    } else if (word == "--only") {
      arguments.only = split(value(), ',');
    } else if (word == "--repeat") {
      const std::string text = value();
      try {
        arguments.repeat = std::stoi(text);
      } catch (const std::exception&) {
        throw UsageError("--repeat: '" + text + "' is not a number");
      }
      if (arguments.repeat < 1) throw UsageError("--repeat must be at least 1");
    } else if (word == "--modes") {
      arguments.modes = split(value(), ',');
      for (const std::string& mode : arguments.modes) {
        if (std::find(kModes.begin(), kModes.end(), mode) == kModes.end()) {
          throw UsageError("--modes: unknown mode '" + mode + "' (known: " + join(kModes, ", ") +
                           ")");
        }
      }
      if (arguments.modes.empty()) throw UsageError("--modes: name at least one mode");
    } else if (word == "--trace-dir") {
      arguments.trace_dir = value();
    } else if (word == "--devices") {
      const std::string text = value();
      for (const std::string& entry : split(text, ',')) {
        try {
          arguments.devices.push_back(std::stoi(entry));
        } catch (const std::exception&) {
          throw UsageError("--devices: '" + entry + "' in '" + text + "' is not a device ordinal");
        }
      }
      if (arguments.devices.empty()) throw UsageError("--devices: name at least one device");
      arguments.device = arguments.devices.front();
    } else if (word == "--device") {
      const std::string text = value();
      try {
        arguments.device = std::stoi(text);
      } catch (const std::exception&) {
        throw UsageError("--device: '" + text + "' is not a number");
      }
    } else if (word.rfind("-", 0) == 0) {
      throw UsageError("unknown option " + word);
    } else if (arguments.problems_path.empty()) {
      arguments.problems_path = word;
    } else {
      throw UsageError("more than one problems file: '" + arguments.problems_path + "' and '" +
                       word + "'");
    }
  }
  if (arguments.problems_path.empty()) throw UsageError("name the problems file (bench/ooc.json)");
  return arguments;
}

// ------------------------------------------------------------ problems

struct OocProblem {
  std::string name;
  std::string kind;  // "transfer-bound" or "compute-bound"
  std::string expression;
  std::vector<std::string> terms;  // one mode label per axis, per input
  std::string output_term;
  std::vector<std::vector<std::int64_t>> shapes;
  DataType dtype = DataType::f32;
  std::string memory_limit;
  std::string note;
  std::map<char, std::int64_t> extents;

  std::vector<TensorDesc> descs() const {
    std::vector<TensorDesc> list;
    for (const auto& shape : shapes) list.emplace_back(dtype, shape);
    return list;
  }
  std::int64_t input_elements(std::size_t operand) const {
    return TensorDesc(dtype, shapes[operand]).element_count();
  }
  // Terms summed into each output element: the product of the extents of
  // the modes the output lacks.
  double summed_terms() const {
    double count = 1;
    for (const auto& [mode, extent] : extents) {
      if (output_term.find(mode) == std::string::npos) count *= static_cast<double>(extent);
    }
    return count;
  }
  std::vector<std::int64_t> output_extents() const {
    std::vector<std::int64_t> list;
    for (char mode : output_term) list.push_back(extents.at(mode));
    return list;
  }
  double input_bytes() const {
    double bytes = 0;
    for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
      bytes += static_cast<double>(input_elements(operand) * einstream::size_of(dtype));
    }
    return bytes;
  }
  double output_bytes() const {
    return static_cast<double>(TensorDesc(dtype, output_extents()).element_count() *
                               einstream::size_of(dtype));
  }
};

// Explicit "->", letters only: the slices of the correctness check are
// built from the labels, so the bookkeeping must be exact.
void parse_terms(OocProblem& problem) {
  std::string text;
  for (char c : problem.expression) {
    if (c != ' ') text += c;
  }
  const std::size_t arrow = text.find("->");
  if (arrow == std::string::npos) throw Error("the expression needs an explicit output ('->')");
  problem.output_term = text.substr(arrow + 2);
  const std::string inputs = text.substr(0, arrow);
  problem.terms.clear();
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = inputs.find(',', begin);
    problem.terms.push_back(inputs.substr(begin, comma - begin));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  for (const std::string& term : problem.terms) {
    for (char c : term) {
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        throw Error("term '" + term + "' has '" + std::string(1, c) +
                    "': this bench takes letters only (no ellipsis)");
      }
    }
  }
  if (problem.terms.size() != problem.shapes.size()) {
    throw Error(std::to_string(problem.terms.size()) + " operands but " +
                std::to_string(problem.shapes.size()) + " shapes");
  }
  for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
    const std::string& term = problem.terms[operand];
    if (term.size() != problem.shapes[operand].size()) {
      throw Error("operand " + std::to_string(operand) + " '" + term + "' has rank " +
                  std::to_string(term.size()) + " but its shape has " +
                  std::to_string(problem.shapes[operand].size()) + " extents");
    }
    for (std::size_t axis = 0; axis < term.size(); ++axis) {
      const std::int64_t extent = problem.shapes[operand][axis];
      if (extent <= 0) throw Error("operand " + std::to_string(operand) + " has extent <= 0");
      const auto [known, inserted] = problem.extents.emplace(term[axis], extent);
      if (!inserted && known->second != extent) {
        throw Error(std::string("mode '") + term[axis] + "' is " + std::to_string(known->second) +
                    " and " + std::to_string(extent));
      }
    }
  }
  for (char mode : problem.output_term) {
    if (!problem.extents.count(mode)) {
      throw Error(std::string("output mode '") + mode + "' is in no input");
    }
    if (std::count(problem.output_term.begin(), problem.output_term.end(), mode) > 1) {
      throw Error(std::string("the output repeats mode '") + mode + "'");
    }
  }
}

std::vector<OocProblem> load_problems(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error("cannot open problems file '" + path + "'");
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    throw Error(path + ": not valid JSON: " + error.what());
  }
  const nlohmann::json& list = document.is_object() ? document.at("problems") : document;
  std::vector<OocProblem> problems;
  for (std::size_t index = 0; index < list.size(); ++index) {
    const nlohmann::json& entry = list[index];
    const std::string where =
        path + ": problem " + std::to_string(index) + " (" + entry.value("name", "?") + ")";
    try {
      OocProblem problem;
      problem.name = entry.at("name").get<std::string>();
      problem.kind = entry.at("kind").get<std::string>();
      problem.expression = entry.at("expression").get<std::string>();
      problem.shapes = entry.at("shapes").get<std::vector<std::vector<std::int64_t>>>();
      problem.memory_limit = entry.at("memory_limit").get<std::string>();
      problem.note = entry.value("note", "");
      const std::string dtype = entry.at("dtype").get<std::string>();
      if (dtype != "f32" && dtype != "f64") {
        throw Error("dtype '" + dtype + "': this bench supports f32 and f64");
      }
      problem.dtype = einstream::data_type_from_string(dtype);
      if (problem.kind != "transfer-bound" && problem.kind != "compute-bound") {
        throw Error("kind '" + problem.kind + "' is not transfer-bound or compute-bound");
      }
      einstream::MemoryLimit::parse(problem.memory_limit);  // throws on a bad limit
      parse_terms(problem);
      for (const OocProblem& earlier : problems) {
        if (earlier.name == problem.name) throw Error("duplicate name");
      }
      problems.push_back(std::move(problem));
    } catch (const std::exception& error) {
      throw Error(where + ": " + error.what());
    }
  }
  return problems;
}

// ------------------------------------------------------------ host memory

// Runs body(begin, end) over [0, count) on the host threads (fills of up
// to 90 GB must take seconds).
void parallel_for(std::int64_t count, const std::function<void(std::int64_t, std::int64_t)>& body) {
  static einstream::detail::ThreadPool pool;
  pool.parallel_for(count, body);
}

// Uniform in [-1, 1) from a counter-based hash (splitmix64's finalizer), so
// threads fill disjoint ranges independently and every mode sees the same
// values.
double uniform_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + index;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

template <typename T>
void fill_uniform(T* values, std::int64_t count, std::uint64_t seed) {
  parallel_for(count, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t index = begin; index < end; ++index) {
      values[index] = static_cast<T>(uniform_at(seed, static_cast<std::uint64_t>(index)));
    }
  });
}

void fill_zero(void* data, std::size_t bytes) {
  auto* base = static_cast<unsigned char*>(data);
  parallel_for(static_cast<std::int64_t>(bytes), [&](std::int64_t begin, std::int64_t end) {
    std::memset(base + begin, 0, static_cast<std::size_t>(end - begin));
  });
}

std::uint64_t name_seed(const std::string& name) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
double available_host_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kilobytes = 0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == "MemAvailable:") return kilobytes * 1024;
  }
  return 0;
}

struct AlignedDelete {
  void operator()(std::byte* pointer) const {
    ::operator delete[](pointer, std::align_val_t{kPageBytes});
  }
};

// One host allocation: ordinary (page-aligned operator new, pages not yet
// touched) or pinned (cudaMallocHost).
class HostBuffer {
 public:
  HostBuffer(std::size_t bytes, bool pinned) {
    if (pinned) {
      pinned_ = std::make_unique<einstream::detail::PinnedBuffer>(std::max<std::size_t>(bytes, 1));
    } else {
      pageable_.reset(static_cast<std::byte*>(
          ::operator new[](std::max<std::size_t>(bytes, 1), std::align_val_t{kPageBytes})));
    }
  }
  void* get() const { return pinned_ ? pinned_->get() : pageable_.get(); }

 private:
  std::unique_ptr<std::byte[], AlignedDelete> pageable_;
  std::unique_ptr<einstream::detail::PinnedBuffer> pinned_;
};

// A problem's inputs (filled with uniform values) and output (zeroed, so
// every pageable page is resident before the timing starts).
struct ProblemBuffers {
  std::vector<HostBuffer> inputs;
  std::unique_ptr<HostBuffer> output;
  double fill_seconds = 0;  // allocating (pinned: page-locking) and filling

  ProblemBuffers(const OocProblem& problem, bool pinned) {
    const double need = problem.input_bytes() + problem.output_bytes();
    const double available = available_host_bytes();
    if (available > 0 && need + kHostMarginBytes > available) {
      char message[160];
      std::snprintf(message, sizeof message,
                    "needs %.1f GB of host memory for inputs and output (+%.0f GB margin), %.1f GB "
                    "available",
                    need / 1e9, kHostMarginBytes / 1e9, available / 1e9);
      throw Error(message);
    }
    const auto start = std::chrono::steady_clock::now();
    const std::size_t element = einstream::size_of(problem.dtype);
    for (std::size_t operand = 0; operand < problem.shapes.size(); ++operand) {
      const std::int64_t count = problem.input_elements(operand);
      inputs.emplace_back(static_cast<std::size_t>(count) * element, pinned);
      const std::uint64_t seed = name_seed(problem.name) + operand;
      if (problem.dtype == DataType::f32) {
        fill_uniform(static_cast<float*>(inputs.back().get()), count, seed);
      } else {
        fill_uniform(static_cast<double*>(inputs.back().get()), count, seed);
      }
    }
    const auto output_bytes = static_cast<std::size_t>(problem.output_bytes());
    output = std::make_unique<HostBuffer>(output_bytes, pinned);
    fill_zero(output->get(), output_bytes);
    fill_seconds = seconds_since(start);
  }

  std::vector<const void*> input_pointers() const {
    std::vector<const void*> pointers;
    for (const HostBuffer& buffer : inputs) pointers.push_back(buffer.get());
    return pointers;
  }
};

// ------------------------------------------------------------ calibration

class TimingEvent {
 public:
  TimingEvent() { EINSTREAM_CUDA_CHECK(cudaEventCreate(&event_)); }
  ~TimingEvent() { cudaEventDestroy(event_); }
  TimingEvent(const TimingEvent&) = delete;
  TimingEvent& operator=(const TimingEvent&) = delete;
  void record(cudaStream_t stream) { EINSTREAM_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  cudaEvent_t get() const { return event_; }
  // Seconds from `start` to this event, waiting for this event.
  double seconds_since(const TimingEvent& start) const {
    EINSTREAM_CUDA_CHECK(cudaEventSynchronize(event_));
    float milliseconds = 0;
    EINSTREAM_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.event_, event_));
    return milliseconds * 1e-3;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

struct Calibration {
  // Bytes per second and FLOP per second, each the median of
  // kCalibrationSamples measurements.
  double h2d_pinned = 0;
  double d2h_pinned = 0;
  double h2d_pageable = 0;
  double both_directions = 0;  // H2D and D2H on two streams at once, bytes of both
  double host_copy = 0;        // pageable to pageable by the staging threads
  std::map<DataType, double> gemm_rate;
  Json samples = Json::object();
};

double median_rate(double amount, const std::function<double()>& seconds_of_one, Json& samples);

// Host memory bandwidth as the staging threads see it: kCopyBytes copied
// between two pageable buffers by a ThreadPool of the default size (bytes
// copied per second; each byte is read once and written once).
void measure_host_copy(Calibration& calibration) {
  std::unique_ptr<std::byte[], AlignedDelete> source(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  std::unique_ptr<std::byte[], AlignedDelete> target(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  fill_zero(source.get(), kCopyBytes);
  fill_zero(target.get(), kCopyBytes);
  einstream::detail::ThreadPool pool;
  calibration.samples["host_copy_seconds"] = Json::array();
  calibration.host_copy = median_rate(
      static_cast<double>(kCopyBytes),
      [&] {
        const auto start = std::chrono::steady_clock::now();
        pool.parallel_for(static_cast<std::int64_t>(kCopyBytes >> 20),
                          [&](std::int64_t begin, std::int64_t end) {
                            std::memcpy(target.get() + (begin << 20), source.get() + (begin << 20),
                                        static_cast<std::size_t>(end - begin) << 20);
                          });
        return seconds_since(start);
      },
      calibration.samples["host_copy_seconds"]);
}

double median_rate(double amount, const std::function<double()>& seconds_of_one, Json& samples) {
  seconds_of_one();  // warm-up
  std::vector<double> seconds;
  for (int sample = 0; sample < kCalibrationSamples; ++sample) {
    seconds.push_back(seconds_of_one());
    samples.push_back(seconds.back());
  }
  return amount / median(seconds);
}

void measure_link(int device, Calibration& calibration) {
  einstream::detail::DeviceAllocation to_device(kCopyBytes, device);
  einstream::detail::DeviceAllocation from_device(kCopyBytes, device);
  einstream::detail::PinnedBuffer pinned_source(kCopyBytes);
  einstream::detail::PinnedBuffer pinned_target(kCopyBytes);
  std::unique_ptr<std::byte[], AlignedDelete> pageable(
      static_cast<std::byte*>(::operator new[](kCopyBytes, std::align_val_t{kPageBytes})));
  fill_zero(pinned_source.get(), kCopyBytes);
  fill_zero(pinned_target.get(), kCopyBytes);
  fill_zero(pageable.get(), kCopyBytes);
  EINSTREAM_CUDA_CHECK(cudaMemset(from_device.get(), 0, kCopyBytes));
  einstream::detail::Stream stream;
  einstream::detail::Stream other_stream;
  TimingEvent start;
  TimingEvent stop;
  TimingEvent other_done;

  const auto timed_copy = [&](void* target, const void* source, cudaMemcpyKind kind) {
    start.record(stream.get());
    EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(target, source, kCopyBytes, kind, stream.get()));
    stop.record(stream.get());
    return stop.seconds_since(start);
  };
  const double bytes = static_cast<double>(kCopyBytes);
  calibration.samples["h2d_pinned_seconds"] = Json::array();
  calibration.h2d_pinned = median_rate(
      bytes,
      [&] { return timed_copy(to_device.get(), pinned_source.get(), cudaMemcpyHostToDevice); },
      calibration.samples["h2d_pinned_seconds"]);
  calibration.samples["d2h_pinned_seconds"] = Json::array();
  calibration.d2h_pinned = median_rate(
      bytes,
      [&] { return timed_copy(pinned_target.get(), from_device.get(), cudaMemcpyDeviceToHost); },
      calibration.samples["d2h_pinned_seconds"]);
  // Pageable copies are staged by the driver on the calling thread: time them
  // by the wall clock, as a caller sees them.
  calibration.samples["h2d_pageable_seconds"] = Json::array();
  calibration.h2d_pageable = median_rate(
      bytes,
      [&] {
        const auto begin = std::chrono::steady_clock::now();
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(to_device.get(), pageable.get(), kCopyBytes,
                                             cudaMemcpyHostToDevice, stream.get()));
        stream.synchronize();
        return seconds_since(begin);
      },
      calibration.samples["h2d_pageable_seconds"]);
  calibration.samples["both_directions_seconds"] = Json::array();
  calibration.both_directions = median_rate(
      2 * bytes,
      [&] {
        start.record(stream.get());
        EINSTREAM_CUDA_CHECK(cudaStreamWaitEvent(other_stream.get(), start.get(), 0));
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(to_device.get(), pinned_source.get(), kCopyBytes,
                                             cudaMemcpyHostToDevice, stream.get()));
        EINSTREAM_CUDA_CHECK(cudaMemcpyAsync(pinned_target.get(), from_device.get(), kCopyBytes,
                                             cudaMemcpyDeviceToHost, other_stream.get()));
        other_done.record(other_stream.get());
        EINSTREAM_CUDA_CHECK(cudaStreamWaitEvent(stream.get(), other_done.get(), 0));
        stop.record(stream.get());
        return stop.seconds_since(start);
      },
      calibration.samples["both_directions_seconds"]);
}

void measure_gemm(int device, DataType dtype, Calibration& calibration) {
  const std::int64_t count = std::int64_t{kGemmOrder} * kGemmOrder;
  const std::size_t bytes = static_cast<std::size_t>(count) * einstream::size_of(dtype);
  einstream::detail::DeviceAllocation a(bytes, device);
  einstream::detail::DeviceAllocation b(bytes, device);
  einstream::detail::DeviceAllocation c(bytes, device);
  {
    // Random operands: GEMMs on zeros draw less power and clock higher.
    HostBuffer values(bytes, false);
    if (dtype == DataType::f32) {
      fill_uniform(static_cast<float*>(values.get()), count, 1);
    } else {
      fill_uniform(static_cast<double*>(values.get()), count, 1);
    }
    EINSTREAM_CUDA_CHECK(cudaMemcpy(a.get(), values.get(), bytes, cudaMemcpyHostToDevice));
    EINSTREAM_CUDA_CHECK(cudaMemcpy(b.get(), values.get(), bytes, cudaMemcpyHostToDevice));
  }
  einstream::detail::Stream stream;
  einstream::detail::CublasHandle handle;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(handle.get(), stream.get()));
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(handle.get(), CUBLAS_PEDANTIC_MATH));
  TimingEvent start;
  TimingEvent stop;
  const auto gemm = [&] {
    start.record(stream.get());
    if (dtype == DataType::f32) {
      const float one = 1, zero = 0;
      EINSTREAM_CUBLAS_CHECK(cublasSgemm(
          handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, kGemmOrder, kGemmOrder, kGemmOrder, &one,
          static_cast<const float*>(a.get()), kGemmOrder, static_cast<const float*>(b.get()),
          kGemmOrder, &zero, static_cast<float*>(c.get()), kGemmOrder));
    } else {
      const double one = 1, zero = 0;
      EINSTREAM_CUBLAS_CHECK(cublasDgemm(
          handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, kGemmOrder, kGemmOrder, kGemmOrder, &one,
          static_cast<const double*>(a.get()), kGemmOrder, static_cast<const double*>(b.get()),
          kGemmOrder, &zero, static_cast<double*>(c.get()), kGemmOrder));
    }
    stop.record(stream.get());
    return stop.seconds_since(start);
  };
  const std::string key = std::string("gemm_") + einstream::to_string(dtype) + "_seconds";
  calibration.samples[key] = Json::array();
  calibration.gemm_rate[dtype] =
      median_rate(2.0 * kGemmOrder * kGemmOrder * kGemmOrder, gemm, calibration.samples[key]);
}

// ------------------------------------------------------------ correctness

// Copies a strided view (element strides from `base`) in C order into
// `target`, widened to double.
template <typename T>
void gather_to_double(const T* base, const std::vector<std::int64_t>& extents,
                      const std::vector<std::int64_t>& strides, double* target) {
  const std::size_t rank = extents.size();
  if (rank == 0) {
    target[0] = static_cast<double>(base[0]);
    return;
  }
  std::int64_t outer = 1;
  for (std::size_t axis = 0; axis + 1 < rank; ++axis) outer *= extents[axis];
  const std::int64_t inner = extents[rank - 1];
  const std::int64_t inner_stride = strides[rank - 1];
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t row = 0; row < outer; ++row) {
    const T* source = base + offset;
    for (std::int64_t column = 0; column < inner; ++column) {
      *target++ = static_cast<double>(source[column * inner_stride]);
    }
    for (std::size_t axis = rank - 1; axis-- > 0;) {
      offset += strides[axis];
      if (++index[axis] < extents[axis]) break;
      offset -= strides[axis] * extents[axis];
      index[axis] = 0;
    }
  }
}

void gather_to_double(DataType dtype, const void* base, std::int64_t offset,
                      const std::vector<std::int64_t>& extents,
                      const std::vector<std::int64_t>& strides, double* target) {
  if (dtype == DataType::f32) {
    gather_to_double(static_cast<const float*>(base) + offset, extents, strides, target);
  } else {
    gather_to_double(static_cast<const double*>(base) + offset, extents, strides, target);
  }
}

// A tensor with some modes fixed at one index: its extents there become 1
// and the data starts that much further in.
struct SlicedView {
  std::vector<std::int64_t> extents;
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;
};

SlicedView slice_view(const std::string& term, const std::vector<std::int64_t>& extents,
                      const std::map<char, std::int64_t>& fixed) {
  SlicedView view{extents, einstream::c_order_strides(extents), 0};
  for (std::size_t axis = 0; axis < term.size(); ++axis) {
    const auto found = fixed.find(term[axis]);
    if (found == fixed.end()) continue;
    view.offset += found->second * view.strides[axis];
    view.extents[axis] = 1;
  }
  return view;
}

struct ReferenceSlice {
  std::map<char, std::int64_t> fixed;
  std::vector<double> values;  // float64, C order over the sliced output
};

struct Reference {
  std::string fixed_modes;
  std::vector<ReferenceSlice> slices;
  double flops_per_slice = 0;
  double seconds = 0;
};

std::vector<std::vector<std::int64_t>> sliced_shapes(const OocProblem& problem,
                                                     const std::map<char, std::int64_t>& fixed) {
  std::vector<std::vector<std::int64_t>> shapes;
  for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
    shapes.push_back(slice_view(problem.terms[operand], problem.shapes[operand], fixed).extents);
  }
  return shapes;
}

// The float64 slices the streamed outputs are checked against, computed once
// per problem from the (deterministic) inputs of whichever mode ran first.
Reference compute_reference(const OocProblem& problem, const std::vector<const void*>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  Options host;
  host.backend = Backend::host;
  Reference reference;
  // Fix output modes, first to last, until one slice is cheap to recompute.
  std::size_t fixed_count = 0;
  while (fixed_count < problem.output_term.size()) {
    ++fixed_count;
    std::map<char, std::int64_t> probe;
    for (std::size_t position = 0; position < fixed_count; ++position) {
      probe[problem.output_term[position]] = 0;
    }
    reference.flops_per_slice =
        einstream::contraction_path(problem.expression, sliced_shapes(problem, probe)).flops;
    if (reference.flops_per_slice <= kMaxReferenceFlops) break;
  }
  if (fixed_count == 0) throw Error("the output is a scalar: no slice to check");
  reference.fixed_modes = problem.output_term.substr(0, fixed_count);

  // First, middle and last index of every fixed mode.
  for (int point = 0; point < 3; ++point) {
    ReferenceSlice slice;
    for (char mode : reference.fixed_modes) {
      const std::int64_t extent = problem.extents.at(mode);
      slice.fixed[mode] = point == 0 ? 0 : point == 1 ? extent / 2 : extent - 1;
    }
    const bool seen =
        std::any_of(reference.slices.begin(), reference.slices.end(),
                    [&](const ReferenceSlice& other) { return other.fixed == slice.fixed; });
    if (seen) continue;
    std::vector<std::vector<double>> operands;
    std::vector<const void*> pointers;
    for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
      const SlicedView view =
          slice_view(problem.terms[operand], problem.shapes[operand], slice.fixed);
      operands.emplace_back(
          static_cast<std::size_t>(TensorDesc(DataType::f64, view.extents).element_count()));
      gather_to_double(problem.dtype, inputs[operand], view.offset, view.extents, view.strides,
                       operands.back().data());
      pointers.push_back(operands.back().data());
    }
    std::vector<TensorDesc> descs;
    for (const auto& shape : sliced_shapes(problem, slice.fixed)) {
      descs.emplace_back(DataType::f64, shape);
    }
    Plan plan(problem.expression, descs, host);
    slice.values.resize(static_cast<std::size_t>(plan.output().element_count()));
    plan.execute(pointers, slice.values.data());
    reference.slices.push_back(std::move(slice));
  }
  reference.seconds = seconds_since(start);
  return reference;
}

// Largest norm-wise relative error ||x - ref|| / ||ref|| over the slices.
double relative_error(const OocProblem& problem, const Reference& reference, const void* output) {
  double worst = 0;
  for (const ReferenceSlice& slice : reference.slices) {
    const SlicedView view = slice_view(problem.output_term, problem.output_extents(), slice.fixed);
    std::vector<double> values(slice.values.size());
    gather_to_double(problem.dtype, output, view.offset, view.extents, view.strides, values.data());
    double error = 0;
    double scale = 0;
    for (std::size_t index = 0; index < values.size(); ++index) {
      const double difference = values[index] - slice.values[index];
      error += difference * difference;
      scale += slice.values[index] * slice.values[index];
    }
    // NaN compares false: make it the worst error, not none.
    const double relative = scale > 0 ? std::sqrt(error / scale) : std::sqrt(error);
    worst = std::isnan(relative) ? relative : std::max(worst, relative);
    if (std::isnan(worst)) break;
  }
  return worst;
}

// ------------------------------------------------------------ running

Json report_json(const ExecutionReport& report) {
  Json entry;
  entry["backend"] = einstream::to_string(report.backend);
  entry["blocks"] = report.blocks;
  entry["bytes_to_device"] = report.bytes_to_device;
  entry["bytes_to_host"] = report.bytes_to_host;
  entry["device_bytes"] = report.device_bytes;
  entry["seconds"] = report.seconds;
  entry["staging_seconds"] = report.staging_seconds;
  entry["flops"] = report.flops;
  entry["h2d_seconds"] = report.h2d_seconds;
  entry["compute_seconds"] = report.compute_seconds;
  entry["d2h_seconds"] = report.d2h_seconds;
  entry["overlap"] = report.overlap;
  entry["bytes_direct"] = report.bytes_direct;
  entry["bytes_staged"] = report.bytes_staged;
  if (!report.devices.empty()) {
    entry["combine_seconds"] = report.combine_seconds;
    entry["devices"] = Json::array();
    for (const ExecutionReport& device : report.devices)
      entry["devices"].push_back(report_json(device));
  }
  return entry;
}

struct Floor {
  double h2d_seconds = 0;
  double d2h_seconds = 0;
  double gemm_seconds = 0;
  double seconds() const { return std::max({h2d_seconds, d2h_seconds, gemm_seconds}); }
  const char* term() const {
    if (gemm_seconds >= h2d_seconds && gemm_seconds >= d2h_seconds) return "GEMM";
    return h2d_seconds >= d2h_seconds ? "H2D" : "D2H";
  }
};

std::string sanitize(const std::string& name) {
  std::string text = name;
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return text;
}

void print_row(const std::string& problem, const std::string& mode, const std::string& rest) {
  std::printf("%-22s %-11s %s\n", problem.c_str(), mode.c_str(), rest.c_str());
  std::fflush(stdout);
}

void print_header() {
  print_row("problem", "mode",
            "  median s    floor s (term)   ratio  blocks   H2D GB  link GB/s  overlap  direct  "
            "staging s  check");
}

struct Context {
  const Arguments& arguments;
  const Calibration& calibration;
  Json& document;  // the --out file's content, rewritten after every mode
};

void write_document(const Context& context) {
  const std::string partial = context.arguments.out_path + ".partial";
  {
    std::ofstream file(partial);
    file << context.document.dump(1) << '\n';
    if (!file) throw Error("cannot write '" + partial + "'");
  }
  std::filesystem::rename(partial, context.arguments.out_path);
}

Options cuda_options(const Context& context, const OocProblem& problem) {
  Options options;
  options.backend = Backend::cuda;
  options.device = context.arguments.device;
  if (context.arguments.devices.size() > 1) options.devices = context.arguments.devices;
  options.memory_limit = einstream::MemoryLimit::parse(problem.memory_limit);
  return options;
}

// One host memory mode of one problem: a fresh Plan, a warm-up execution,
// --repeat timed ones, the check, and (pinned, with --trace-dir) a trace.
Json run_mode(const Context& context, const OocProblem& problem, const std::string& mode,
              const Floor& floor, const ProblemBuffers& buffers,
              std::optional<Reference>& reference, Json& problem_record) {
  Json entry;
  Options options = cuda_options(context, problem);
  options.register_host_memory = mode == "registered";
  std::vector<const void*> inputs = buffers.input_pointers();
  void* output = buffers.output->get();
  // Device mode: copies in device memory, which the plan uses in place.
  std::vector<std::unique_ptr<einstream::detail::DeviceAllocation>> on_device;
  const bool device_mode = mode == "device";
  if (device_mode) {
    for (std::size_t operand = 0; operand < inputs.size(); ++operand) {
      const auto bytes = static_cast<std::size_t>(problem.input_elements(operand)) *
                         einstream::size_of(problem.dtype);
      on_device.push_back(
          std::make_unique<einstream::detail::DeviceAllocation>(bytes, context.arguments.device));
      on_device.back()->copy_from_host(inputs[operand], bytes);
      inputs[operand] = on_device.back()->get();
    }
    on_device.push_back(std::make_unique<einstream::detail::DeviceAllocation>(
        static_cast<std::size_t>(problem.output_bytes()), context.arguments.device));
    output = on_device.back()->get();
  }
  const double floor_seconds = device_mode ? floor.gemm_seconds : floor.seconds();
  const char* floor_term = device_mode ? "GEMM" : floor.term();

  std::vector<double> seconds;
  std::vector<ExecutionReport> reports;
  {
    Plan plan(problem.expression, problem.descs(), options);
    auto start = std::chrono::steady_clock::now();
    plan.execute(inputs, output);
    entry["warmup_seconds"] = seconds_since(start);
    for (int run = 0; run < context.arguments.repeat; ++run) {
      start = std::chrono::steady_clock::now();
      plan.execute(inputs, output);
      seconds.push_back(seconds_since(start));
      reports.push_back(plan.last_report());
      reports.back().timeline.clear();
    }
  }  // a registered plan unregisters the buffers here, before they are freed
  if (device_mode) {
    on_device.back()->copy_to_host(buffers.output->get(),
                                   static_cast<std::size_t>(problem.output_bytes()));
    output = buffers.output->get();
    inputs = buffers.input_pointers();
    on_device.clear();
  }

  std::vector<std::size_t> order(seconds.size());
  for (std::size_t index = 0; index < order.size(); ++index) order[index] = index;
  std::sort(order.begin(), order.end(),
            [&](std::size_t left, std::size_t right) { return seconds[left] < seconds[right]; });
  const ExecutionReport& report = reports[order[(order.size() - 1) / 2]];
  const double median_seconds = median(seconds);
  const double link_bytes = static_cast<double>(report.bytes_to_device + report.bytes_to_host);
  entry["median_seconds"] = median_seconds;
  entry["min_seconds"] = *std::min_element(seconds.begin(), seconds.end());
  entry["times_seconds"] = seconds;
  entry["ratio_to_floor"] = median_seconds / floor_seconds;
  entry["floor_seconds"] = floor_seconds;
  entry["link_GBps"] = link_bytes / median_seconds / 1e9;
  entry["problem_GBps"] = (problem.input_bytes() + problem.output_bytes()) / median_seconds / 1e9;
  entry["TFLOPps"] = problem_record["flops"].get<double>() / median_seconds / 1e12;
  entry["report"] = report_json(report);

  std::string check;
  try {
    if (!reference) {
      reference = compute_reference(problem, inputs);
      problem_record["check"] = {
          {"fixed_modes", reference->fixed_modes},
          {"slices", reference->slices.size()},
          {"reference_flops_per_slice", reference->flops_per_slice},
          {"reference_seconds", reference->seconds},
      };
    }
    const double error = relative_error(problem, *reference, output);
    const double tolerance =
        problem.dtype == DataType::f32
            ? kToleranceF32 * std::sqrt(std::max(1.0, problem.summed_terms() / kToleranceTerms))
            : kToleranceF64;
    const bool correct = error <= tolerance;
    entry["rel_error"] = error;
    entry["tolerance"] = tolerance;
    entry["correct"] = correct;
    char text[64];
    std::snprintf(text, sizeof text, "%.1e %s", error, correct ? "ok" : "WRONG");
    check = text;
  } catch (const std::exception& error) {
    entry["correct"] = false;
    entry["check_failed"] = error.what();
    check = std::string("check failed: ") + error.what();
  }

  // Of the bytes crossing the link, those DMA'd straight from the caller's
  // page-locked memory (registration can fall back to staging silently).
  const double crossed = static_cast<double>(report.bytes_direct + report.bytes_staged);
  const double direct = crossed > 0 ? static_cast<double>(report.bytes_direct) / crossed : 0;
  char row[256];
  std::snprintf(
      row, sizeof row, "%10.4f %10.4f (%-4s) %7.3fx %7lld %8.2f %10.1f %7.0f%% %6.0f%% %10.3f  %s",
      median_seconds, floor_seconds, floor_term, median_seconds / floor_seconds,
      static_cast<long long>(report.blocks), static_cast<double>(report.bytes_to_device) / 1e9,
      link_bytes / median_seconds / 1e9, report.overlap * 100, direct * 100, report.staging_seconds,
      check.c_str());
  print_row(problem.name, mode, row);

  if (mode == "pinned" && !context.arguments.trace_dir.empty()) {
    try {
      Options traced_options = options;
      traced_options.profile = true;
      Plan traced(problem.expression, problem.descs(), traced_options);
      const auto start = std::chrono::steady_clock::now();
      traced.execute(inputs, output);
      const double traced_seconds = seconds_since(start);
      const std::string path =
          (std::filesystem::path(context.arguments.trace_dir) / (sanitize(problem.name) + ".json"))
              .string();
      std::ofstream file(path);
      file << einstream::to_chrome_trace(traced.last_report());
      if (!file) throw Error("cannot write '" + path + "'");
      problem_record["trace"] = {{"path", path},
                                 {"seconds", traced_seconds},
                                 {"spans", traced.last_report().timeline.size()},
                                 {"note", "one execution of a fresh profiled plan, pinned"}};
    } catch (const std::exception& error) {
      problem_record["trace"] = {{"failed", error.what()}};
    }
  }
  return entry;
}

Json describe(const OocProblem& problem) {
  Json record;
  record["name"] = problem.name;
  record["kind"] = problem.kind;
  record["expression"] = problem.expression;
  record["shapes"] = problem.shapes;
  record["dtype"] = einstream::to_string(problem.dtype);
  record["memory_limit"] = problem.memory_limit;
  record["note"] = problem.note;
  record["input_bytes"] = problem.input_bytes();
  record["output_bytes"] = problem.output_bytes();
  return record;
}

void run_problem(const Context& context, const OocProblem& problem, Json& record) {
  std::printf("\n== %s: %s %s, %s, limit %s: %.2f GB in, %.2f GB out\n", problem.name.c_str(),
              problem.expression.c_str(), nlohmann::json(problem.shapes).dump().c_str(),
              einstream::to_string(problem.dtype), problem.memory_limit.c_str(),
              problem.input_bytes() / 1e9, problem.output_bytes() / 1e9);
  std::fflush(stdout);
  double flops = 0;
  {
    Plan plan(problem.expression, problem.descs(), cuda_options(context, problem));
    std::cout << plan.explain() << std::flush;
    flops = plan.path().flops;
    record["flops"] = flops;
    record["path"] = plan.path().path;
    record["workspace_bytes"] = plan.workspace_bytes();
  }
  Floor floor;
  floor.h2d_seconds = problem.input_bytes() / context.calibration.h2d_pinned;
  floor.d2h_seconds = problem.output_bytes() / context.calibration.d2h_pinned;
  floor.gemm_seconds = flops / context.calibration.gemm_rate.at(problem.dtype);
  record["floor"] = {{"seconds", floor.seconds()},
                     {"term", floor.term()},
                     {"h2d_seconds", floor.h2d_seconds},
                     {"d2h_seconds", floor.d2h_seconds},
                     {"gemm_seconds", floor.gemm_seconds}};
  std::printf("floor %.4f s, set by %s (H2D %.4f s, D2H %.4f s, GEMM %.4f s)\n", floor.seconds(),
              floor.term(), floor.h2d_seconds, floor.d2h_seconds, floor.gemm_seconds);
  print_header();
  record["modes"] = Json::object();

  const auto wanted = [&](const std::string& mode) {
    const auto& modes = context.arguments.modes;
    return std::find(modes.begin(), modes.end(), mode) != modes.end();
  };
  std::optional<Reference> reference;
  // Pageable and registered share ordinary buffers; the pinned ones are
  // allocated after those are freed.
  const std::vector<std::pair<bool, std::vector<std::string>>> groups = {
      {false, {"pageable", "registered", "device"}}, {true, {"pinned"}}};
  for (const auto& [pinned, modes] : groups) {
    std::vector<std::string> selected;
    for (const std::string& mode : modes) {
      if (wanted(mode)) selected.push_back(mode);
    }
    if (selected.empty()) continue;
    std::unique_ptr<ProblemBuffers> buffers;
    try {
      buffers = std::make_unique<ProblemBuffers>(problem, pinned);
      record[pinned ? "allocate_fill_seconds_pinned" : "allocate_fill_seconds_pageable"] =
          buffers->fill_seconds;
    } catch (const std::exception& error) {
      for (const std::string& mode : selected) {
        record["modes"][mode] = {
            {"failed", std::string("allocating host memory: ") + error.what()}};
        print_row(problem.name, mode, std::string("failed: ") + error.what());
      }
      write_document(context);
      continue;
    }
    for (const std::string& mode : selected) {
      try {
        record["modes"][mode] =
            run_mode(context, problem, mode, floor, *buffers, reference, record);
      } catch (const std::exception& error) {
        record["modes"][mode] = {{"failed", error.what()}};
        print_row(problem.name, mode, std::string("failed: ") + error.what());
      }
      write_document(context);
    }
  }
}

Json device_json(int device) {
  cudaDeviceProp properties{};
  EINSTREAM_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  int driver = 0;
  int runtime = 0;
  EINSTREAM_CUDA_CHECK(cudaDriverGetVersion(&driver));
  EINSTREAM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return {{"index", device},
          {"name", properties.name},
          {"total_memory", properties.totalGlobalMem},
          {"cuda_driver", driver},
          {"cuda_runtime", runtime}};
}

int run(const Arguments& arguments) {
  std::vector<OocProblem> problems = load_problems(arguments.problems_path);
  if (!arguments.only.empty()) {
    std::vector<std::string> known;
    for (const OocProblem& problem : problems) known.push_back(problem.name);
    for (const std::string& name : arguments.only) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        throw UsageError("--only: no problem named '" + name + "' (known: " + join(known, ", ") +
                         ")");
      }
    }
    problems.erase(std::remove_if(problems.begin(), problems.end(),
                                  [&](const OocProblem& problem) {
                                    return std::find(arguments.only.begin(), arguments.only.end(),
                                                     problem.name) == arguments.only.end();
                                  }),
                   problems.end());
  }
  if (!arguments.trace_dir.empty()) std::filesystem::create_directories(arguments.trace_dir);
  const std::filesystem::path out_directory =
      std::filesystem::path(arguments.out_path).parent_path();
  if (!out_directory.empty()) std::filesystem::create_directories(out_directory);

  // The GPU from here on.
  int device_count = 0;
  const cudaError_t status = cudaGetDeviceCount(&device_count);
  if (status != cudaSuccess || device_count == 0) {
    std::fprintf(stderr, "einstream_streaming_bench: no CUDA device is visible (%s)\n",
                 status != cudaSuccess ? cudaGetErrorString(status) : "0 devices");
    return 1;
  }
  if (arguments.device < 0 || arguments.device >= device_count) {
    throw UsageError("--device " + std::to_string(arguments.device) + ": there are " +
                     std::to_string(device_count) + " devices");
  }
  EINSTREAM_CUDA_CHECK(cudaSetDevice(arguments.device));

  Json document;
  document["command"] = arguments.command_line;
  document["started"] = [] {
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
    return std::string(text);
  }();
  document["finished"] = false;
  document["einstream_version"] = einstream::version();
  document["device"] = device_json(arguments.device);
  document["host"] = {{"threads", std::thread::hardware_concurrency()},
                      {"available_bytes_at_start", available_host_bytes()}};
  document["settings"] = {{"repeat", arguments.repeat},
                          {"warmup", 1},
                          {"modes", arguments.modes},
                          {"problems_file", arguments.problems_path}};
  std::printf("einstream_streaming_bench on %s: %zu problems, modes %s, median of %d\n",
              document["device"]["name"].get<std::string>().c_str(), problems.size(),
              join(arguments.modes, ",").c_str(), arguments.repeat);
  std::fflush(stdout);

  Calibration calibration;
  measure_link(arguments.device, calibration);
  measure_host_copy(calibration);
  bool any_f64 = false;
  for (const OocProblem& problem : problems) any_f64 = any_f64 || problem.dtype == DataType::f64;
  measure_gemm(arguments.device, DataType::f32, calibration);
  if (any_f64) measure_gemm(arguments.device, DataType::f64, calibration);
  Json measured;
  measured["h2d_pinned_GBps"] = calibration.h2d_pinned / 1e9;
  measured["d2h_pinned_GBps"] = calibration.d2h_pinned / 1e9;
  measured["h2d_pageable_GBps"] = calibration.h2d_pageable / 1e9;
  measured["both_directions_GBps"] = calibration.both_directions / 1e9;
  measured["host_copy_GBps"] = calibration.host_copy / 1e9;
  measured["devices"] = arguments.devices;
  for (const auto& [dtype, rate] : calibration.gemm_rate) {
    measured[std::string("gemm_") + einstream::to_string(dtype) + "_TFLOPps"] = rate / 1e12;
  }
  measured["method"] =
      "1 GiB cudaMemcpyAsync (pinned: CUDA events; pageable: wall clock), cuBLAS gemm " +
      std::to_string(kGemmOrder) + "^3 with CUBLAS_PEDANTIC_MATH; median of " +
      std::to_string(kCalibrationSamples) + " after one warm-up";
  measured["samples"] = calibration.samples;
  document["calibration"] = measured;
  std::printf(
      "measured: H2D pinned %.1f GB/s, D2H pinned %.1f GB/s, H2D pageable %.1f GB/s, both "
      "directions %.1f GB/s, GEMM f32 %.1f TFLOP/s",
      calibration.h2d_pinned / 1e9, calibration.d2h_pinned / 1e9, calibration.h2d_pageable / 1e9,
      calibration.both_directions / 1e9, calibration.gemm_rate.at(DataType::f32) / 1e12);
  if (any_f64) std::printf(", f64 %.1f TFLOP/s", calibration.gemm_rate.at(DataType::f64) / 1e12);
  std::printf("\n");
  std::fflush(stdout);

  document["problems"] = Json::array();
  const Context context{arguments, calibration, document};
  write_document(context);
  bool all_good = true;
  for (const OocProblem& problem : problems) {
    document["problems"].push_back(describe(problem));
    Json& record = document["problems"].back();
    try {
      run_problem(context, problem, record);
    } catch (const std::exception& error) {
      record["failed"] = error.what();
      print_row(problem.name, "-", std::string("failed: ") + error.what());
    }
    const Json modes = record.value("modes", Json::object());
    for (const auto& [mode, entry] : modes.items()) {
      all_good = all_good && !entry.contains("failed") && entry.value("correct", false);
    }
    all_good = all_good && !record.contains("failed");
    write_document(context);
  }
  document["finished"] = true;
  write_document(context);
  std::printf("\nwrote %s%s\n", arguments.out_path.c_str(),
              all_good ? "" : " (some problems failed or were wrong: see above)");
  return all_good ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // stdout is piped on the GPU machine
  try {
    return run(parse_arguments(argc, argv));
  } catch (const UsageError& error) {
    std::fprintf(stderr, "einstream_streaming_bench: %s\n%s", error.what(), kUsage);
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "einstream_streaming_bench: %s\n", error.what());
    return 1;
  }
}
