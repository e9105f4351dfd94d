// String forms of the Options enums (and of LogLevel) and the memory-limit
// syntax shared by the API and the CLI.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/memory_text.hpp"

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
    case PathAlgorithm::hyper:
      return "hyper";
  }
  return "invalid";
}

PathAlgorithm path_algorithm_from_string(const std::string& name) {
  for (PathAlgorithm path : {PathAlgorithm::automatic, PathAlgorithm::naive, PathAlgorithm::greedy,
                             PathAlgorithm::optimal, PathAlgorithm::dp,
                             PathAlgorithm::random_greedy, PathAlgorithm::hyper}) {
    if (name == to_string(path)) return path;
  }
  throw Error("unknown path algorithm '" + name +
              "': expected auto, naive, greedy, optimal, dp, random-greedy or hyper");
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

constexpr double kTwoTo64 = 18446744073709551616.0;

// Multiplier of a size suffix (lower case), or 0 when the suffix is unknown.
// The one-letter forms are binary, as in Slurm, PBS and `ls -h`: numpy and
// torch users who write 4G mean 4 GiB.
std::uint64_t suffix_scale(const std::string& suffix) {
  struct Unit {
    const char* name;
    std::uint64_t scale;
  };
  static const Unit kUnits[] = {
      {"b", 1},
      {"kb", 1000},
      {"mb", 1000000},
      {"gb", 1000000000},
      {"tb", 1000000000000},
      {"kib", 1ull << 10},
      {"mib", 1ull << 20},
      {"gib", 1ull << 30},
      {"tib", 1ull << 40},
      {"k", 1ull << 10},
      {"m", 1ull << 20},
      {"g", 1ull << 30},
      {"t", 1ull << 40},
  };
  for (const Unit& unit : kUnits) {
    if (suffix == unit.name) return unit.scale;
  }
  return 0;
}

// The length of the decimal number at the start of `text` (digits, an
// optional fraction, an optional exponent), or 0 when there is none. strtod
// alone would also take hex ("0x10"), "inf" and "nan".
// `has_point` says whether it has a decimal point.
std::size_t decimal_length(const std::string& text, bool* has_point) {
  std::size_t at = 0;
  std::size_t digits = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at, ++digits;
  *has_point = false;
  if (at < text.size() && text[at] == '.') {
    *has_point = true;
    ++at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at, ++digits;
  }
  if (digits == 0) return 0;
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    std::size_t exponent = at + 1;
    if (exponent < text.size() && (text[exponent] == '+' || text[exponent] == '-')) ++exponent;
    const std::size_t exponent_digits = exponent;
    while (exponent < text.size() && std::isdigit(static_cast<unsigned char>(text[exponent]))) {
      ++exponent;
    }
    if (exponent > exponent_digits) at = exponent;
  }
  return at;
}

std::string trimmed(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

// Whole numbers of bytes below this need a suffix (see parse).
constexpr std::uint64_t kSmallestBareBytes = 1024;

}  // namespace

// Grammar: NUMBER [SUFFIX | '%'], NUMBER a plain decimal (digits, optional
// fraction and exponent; no sign, hex, inf or nan). Without a suffix a
// number below 1 or written with a point up to 1.0 is a fraction, an
// integer of at least kSmallestBareBytes is bytes, and smaller integers are
// refused as ambiguous: "1" may mean the whole device, and "2" or "90" a
// share of it, more plausibly than a budget of a few bytes.
MemoryLimit MemoryLimit::parse(const std::string& text) {
  return detail::parse_memory_text(text, "memory limit", true);
}

namespace detail {

MemoryLimit parse_memory_text(const std::string& text, const std::string& label,
                              bool device_shares) {
  const std::string bytes_usage =
      "expected bytes with an optional suffix (B, KB, MB, GB, TB; KiB, MiB, GiB, TiB; K, M, G, T "
      "mean KiB, MiB, GiB, TiB), e.g. '4GiB' or '4G'";
  const std::string usage =
      device_shares ? bytes_usage +
                          ", a percentage of device memory in (0, 100], e.g. '90%', or a fraction "
                          "of device memory in (0, 1], e.g. '0.5' or '1.0'"
                    : bytes_usage;
  const auto invalid = [&](const std::string& why) {
    return Error("invalid " + label + " '" + text + "': " + why + "; " + usage);
  };
  const std::string body = trimmed(text);
  if (body.empty()) throw invalid("it is empty");
  if (body[0] == '-') throw invalid("it is negative");
  bool has_point = false;
  const std::size_t length = decimal_length(body, &has_point);
  if (length == 0) throw invalid("it does not start with a decimal number");
  const std::string number_text = body.substr(0, length);
  const std::string suffix = trimmed(body.substr(length));
  // "0x10" would otherwise read as 0 with an unknown suffix "x10".
  if (number_text == "0" && !suffix.empty() && (suffix[0] == 'x' || suffix[0] == 'X')) {
    throw invalid("hexadecimal is not accepted");
  }
  const double number = std::strtod(number_text.c_str(), nullptr);
  if (!std::isfinite(number)) throw invalid("the number is out of range");

  const bool share = suffix == "%" || (suffix.empty() && number > 0.0 &&
                                       (number < 1.0 || (number == 1.0 && has_point)));
  if (share && !device_shares) throw invalid("a size is no share of device memory");
  if (suffix == "%") {
    if (!(number > 0.0 && number <= 100.0)) throw invalid("a percentage must lie in (0, 100]");
    return MemoryLimit::from_fraction(number / 100.0);
  }
  if (suffix.empty()) {
    if (number > 0.0 && number < 1.0) return MemoryLimit::from_fraction(number);
    if (number == 1.0 && device_shares) {
      if (has_point) return MemoryLimit::from_fraction(1.0);
      throw invalid(
          "'1' is ambiguous: write '1.0' or '100%' for all of device memory, or '1B' for one byte");
    }
    if (number == 0.0) throw invalid("it must be positive");
    if (number != std::floor(number)) {
      throw invalid("a number without a suffix is a fraction in (0, 1] or a whole number of bytes");
    }
    if (number < static_cast<double>(kSmallestBareBytes)) {
      const std::string whole = std::to_string(static_cast<int>(number));
      const std::string start = "'" + number_text + "' is ambiguous: a whole number below " +
                                std::to_string(kSmallestBareBytes) + " without a suffix";
      throw invalid(device_shares ? start + " may be meant as a share of device memory; write '" +
                                        whole + "%' for a percentage or '" + whole + "B' for bytes"
                                  : start + " needs its unit; write '" + whole + "B' for bytes");
    }
  }
  const std::uint64_t scale = suffix.empty() ? 1 : suffix_scale(lower(suffix));
  if (scale == 0) throw invalid("unknown suffix '" + suffix + "'");

  std::uint64_t bytes = 0;
  const bool digits_only = number_text.find_first_not_of("0123456789") == std::string::npos;
  if (digits_only) {
    // Exact integer arithmetic, so 18446744073709551615 is allowed and one
    // more is not (a double cannot tell them apart).
    errno = 0;
    const unsigned long long count = std::strtoull(number_text.c_str(), nullptr, 10);
    if (errno == ERANGE || count > std::numeric_limits<std::uint64_t>::max() / scale) {
      throw invalid("it is out of range: at most 18446744073709551615 bytes (16 EiB)");
    }
    bytes = static_cast<std::uint64_t>(count) * scale;
  } else {
    const double scaled = std::floor(number * static_cast<double>(scale));
    // Checked before the conversion: a double at or above 2^64 has no
    // uint64 value.
    if (!(scaled < kTwoTo64)) {
      throw invalid("it is out of range: at most 18446744073709551615 bytes (16 EiB)");
    }
    bytes = static_cast<std::uint64_t>(scaled);
  }
  if (bytes == 0) throw invalid("it must be at least 1 byte");
  return MemoryLimit::from_bytes(bytes);
}

}  // namespace detail

std::uint64_t MemoryLimit::resolve(std::uint64_t device_bytes) const {
  // value is a double: limits near 2^64 round up to it, which has no uint64.
  const double bytes =
      kind == Kind::bytes ? value : std::floor(value * static_cast<double>(device_bytes));
  if (!(bytes < kTwoTo64)) return std::numeric_limits<std::uint64_t>::max();
  return bytes > 0.0 ? static_cast<std::uint64_t>(bytes) : 0;
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

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "invalid";
}

LogLevel log_level_from_string(const std::string& name) {
  for (LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
    if (name == to_string(level)) return level;
  }
  throw Error("unknown log level '" + name + "': expected error, warn, info or debug");
}

}  // namespace einstream
