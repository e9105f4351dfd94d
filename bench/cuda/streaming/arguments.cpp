#include "bench/cuda/streaming/arguments.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace streaming_bench {
namespace {

const std::vector<std::string> kModes = {"pageable", "pinned", "registered", "device"};

}  // namespace

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

}  // namespace streaming_bench
