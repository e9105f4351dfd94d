// String forms of the Options enums and the memory-limit syntax shared by the
// API and the CLI.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"

namespace einstream {

const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::automatic:
      return "auto";
    case Backend::host:
      return "host";
    case Backend::cuda:
      return "cuda";
  }
  return "invalid";
}

Backend backend_from_string(const std::string& name) {
  for (Backend backend : {Backend::automatic, Backend::host, Backend::cuda}) {
    if (name == to_string(backend)) return backend;
  }
  throw Error("unknown backend '" + name + "': expected host, cuda or auto");
}

const char* to_string(PathAlgorithm path) {
  switch (path) {
    case PathAlgorithm::automatic:
      return "auto";
    case PathAlgorithm::naive:
      return "naive";
    case PathAlgorithm::greedy:
      return "greedy";
    case PathAlgorithm::optimal:
      return "optimal";
    case PathAlgorithm::dp:
      return "dp";
    case PathAlgorithm::random_greedy:
      return "random-greedy";
  }
  return "invalid";
}

PathAlgorithm path_algorithm_from_string(const std::string& name) {
  for (PathAlgorithm path :
       {PathAlgorithm::automatic, PathAlgorithm::naive, PathAlgorithm::greedy,
        PathAlgorithm::optimal, PathAlgorithm::dp, PathAlgorithm::random_greedy}) {
    if (name == to_string(path)) return path;
  }
  throw Error("unknown path algorithm '" + name +
              "': expected auto, naive, greedy, optimal, dp or random-greedy");
}

MemoryLimit MemoryLimit::from_bytes(std::uint64_t bytes) {
  if (bytes == 0) throw Error("memory limit must be positive, got 0 bytes");
  MemoryLimit limit;
  limit.kind = Kind::bytes;
  limit.value = static_cast<double>(bytes);
  return limit;
}

MemoryLimit MemoryLimit::from_fraction(double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    throw Error("memory limit fraction must lie in (0, 1], got " + std::to_string(fraction));
  }
  MemoryLimit limit;
  limit.kind = Kind::fraction;
  limit.value = fraction;
  return limit;
}

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Multiplier of a size suffix, or 0 when the suffix is unknown.
double suffix_scale(const std::string& suffix) {
  struct Unit {
    const char* name;
    double scale;
  };
  static const Unit kUnits[] = {
      {"b", 1.0},         {"kb", 1e3},           {"mb", 1e6},
      {"gb", 1e9},        {"tb", 1e12},          {"kib", 1024.0},
      {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0},
  };
  for (const Unit& unit : kUnits) {
    if (suffix == unit.name) return unit.scale;
  }
  return 0.0;
}

}  // namespace

MemoryLimit MemoryLimit::parse(const std::string& text) {
  const std::string usage =
      "expected bytes with an optional suffix (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. "
      "'4GiB', or a fraction of device memory in (0, 1], e.g. '0.5'";
  std::size_t begin = 0;
  while (begin < text.size() && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  const char* start = text.c_str() + begin;
  char* end = nullptr;
  const double number = std::strtod(start, &end);
  if (end == start || !std::isfinite(number)) {
    throw Error("invalid memory limit '" + text + "': " + usage);
  }
  std::string suffix(end);
  while (!suffix.empty() && std::isspace(static_cast<unsigned char>(suffix.front()))) {
    suffix.erase(suffix.begin());
  }
  while (!suffix.empty() && std::isspace(static_cast<unsigned char>(suffix.back()))) {
    suffix.pop_back();
  }
  if (suffix.empty()) {
    if (number > 0.0 && number <= 1.0) return from_fraction(number);
    if (number > 1.0 && number == std::floor(number)) {
      return from_bytes(static_cast<std::uint64_t>(number));
    }
    throw Error("invalid memory limit '" + text + "': " + usage);
  }
  const double scale = suffix_scale(lower(suffix));
  if (scale == 0.0) {
    throw Error("invalid memory limit '" + text + "': unknown suffix '" + suffix + "'; " + usage);
  }
  const double bytes = std::floor(number * scale);
  if (!(bytes >= 1.0) || bytes > 1.8e19) {
    throw Error("invalid memory limit '" + text + "': must be at least 1 byte; " + usage);
  }
  return from_bytes(static_cast<std::uint64_t>(bytes));
}

std::uint64_t MemoryLimit::resolve(std::uint64_t device_bytes) const {
  if (kind == Kind::bytes) return static_cast<std::uint64_t>(value);
  return static_cast<std::uint64_t>(std::floor(value * static_cast<double>(device_bytes)));
}

std::string to_string(const MemoryLimit& limit) {
  char text[64];
  if (limit.kind == MemoryLimit::Kind::fraction) {
    std::snprintf(text, sizeof text, "%g%% of device memory", limit.value * 100.0);
  } else {
    const double bytes = limit.value;
    if (bytes >= 1073741824.0) {
      std::snprintf(text, sizeof text, "%.3g GiB", bytes / 1073741824.0);
    } else if (bytes >= 1048576.0) {
      std::snprintf(text, sizeof text, "%.3g MiB", bytes / 1048576.0);
    } else {
      std::snprintf(text, sizeof text, "%.0f bytes", bytes);
    }
  }
  return text;
}

}  // namespace einstream
