#include "bench/cuda/streaming/host_memory.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/cuda/streaming/timing.hpp"
#include "src/staging/thread_pool.hpp"

namespace streaming_bench {
namespace {

using einstream::Error;

// Host memory kept free beyond a problem's inputs and output (the OS, the
// staging ring, the reference).
constexpr double kHostMarginBytes = 4e9;

std::uint64_t name_seed(const std::string& name) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

}  // namespace

void parallel_for(std::int64_t count, const std::function<void(std::int64_t, std::int64_t)>& body) {
  static einstream::detail::ThreadPool pool;
  pool.parallel_for(count, body);
}

double uniform_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + index;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

void fill_zero(void* data, std::size_t bytes) {
  auto* base = static_cast<unsigned char*>(data);
  parallel_for(static_cast<std::int64_t>(bytes), [&](std::int64_t begin, std::int64_t end) {
    std::memset(base + begin, 0, static_cast<std::size_t>(end - begin));
  });
}

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

ProblemBuffers::ProblemBuffers(const OocProblem& problem, bool pinned) {
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

std::vector<const void*> ProblemBuffers::input_pointers() const {
  std::vector<const void*> pointers;
  for (const HostBuffer& buffer : inputs) pointers.push_back(buffer.get());
  return pointers;
}

}  // namespace streaming_bench
