// Slicing under a cap for bench/planning_peers.py: reads a network file
// (src/cli/network_file.hpp's format, every extent given), finds the path
// as `--path PATH` does (hyper by default) and then the slices for a cap on
// the largest intermediate (planner/slice_finder), and prints one JSON
// object: the path, the sliced modes with their block sizes, FLOPs over all
// blocks, the overhead, and the seconds of each search. A plain main: the
// peers script costs the result itself, with opt_einsum.
//
//   einstream_sliced_path FILE.json --cap ELEMENTS [--path hyper] [--seconds S]
//                         [--slice-seconds S] [--seed N] [--no-reconfigure]
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/path.hpp"
#include "planner/slice_finder.hpp"

namespace {

using einstream::detail::Mode;
using einstream::detail::Problem;

struct Arguments {
  std::string file;
  double cap = 0;
  std::string path = "hyper";
  double seconds = 1.0;
  double slice_seconds = 0.5;
  std::uint64_t seed = 0;
  bool reconfigure = true;
};

Arguments parse_arguments(int argc, char** argv) {
  Arguments arguments;
  for (int k = 1; k < argc; ++k) {
    const std::string flag = argv[k];
    auto value = [&]() -> std::string {
      if (k + 1 >= argc) throw einstream::Error(flag + " needs a value");
      return argv[++k];
    };
    if (flag == "--cap") {
      arguments.cap = std::stod(value());
    } else if (flag == "--path") {
      arguments.path = value();
    } else if (flag == "--seconds") {
      arguments.seconds = std::stod(value());
    } else if (flag == "--slice-seconds") {
      arguments.slice_seconds = std::stod(value());
    } else if (flag == "--seed") {
      arguments.seed = std::stoull(value());
    } else if (flag == "--no-reconfigure") {
      arguments.reconfigure = false;
    } else if (arguments.file.empty() && flag.rfind("--", 0) != 0) {
      arguments.file = flag;
    } else {
      throw einstream::Error("unknown argument '" + flag + "'");
    }
  }
  if (arguments.file.empty() || !(arguments.cap > 0)) {
    throw einstream::Error(
        "usage: einstream_sliced_path FILE.json --cap ELEMENTS [--path NAME] "
        "[--seconds S] [--slice-seconds S] [--seed N] [--no-reconfigure]");
  }
  return arguments;
}

// The network as a Problem, modes numbered densely in order of appearance;
// `ids` gets each dense mode's id in the file.
Problem read_problem(const std::string& file, std::vector<std::int64_t>& ids) {
  std::ifstream stream(file);
  if (!stream) throw einstream::Error("cannot read '" + file + "'");
  std::stringstream text;
  text << stream.rdbuf();
  const nlohmann::json document = nlohmann::json::parse(text.str());
  std::map<std::int64_t, Mode> dense;
  Problem problem;
  auto mode_of = [&](std::int64_t id) {
    const auto [at, added] = dense.emplace(id, static_cast<Mode>(ids.size()));
    if (added) {
      ids.push_back(id);
      problem.extents.push_back(document.at("extents").at(std::to_string(id)).get<std::int64_t>());
      problem.labels.push_back("m" + std::to_string(id));
    }
    return at->second;
  };
  for (const nlohmann::json& modes : document.at("inputs")) {
    einstream::detail::ProblemOperand operand;
    for (const nlohmann::json& id : modes) {
      operand.modes.push_back(mode_of(id.get<std::int64_t>()));
      operand.axes.push_back(operand.rank++);
    }
    problem.inputs.push_back(operand);
  }
  for (const nlohmann::json& id : document.at("output")) {
    problem.output.push_back(mode_of(id.get<std::int64_t>()));
  }
  return problem;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
  const Arguments arguments = parse_arguments(argc, argv);
  std::vector<std::int64_t> ids;
  const Problem problem = read_problem(arguments.file, ids);
  einstream::detail::PathSearchOptions search;
  search.seconds = arguments.seconds;
  search.seed = arguments.seed;
  const auto start = std::chrono::steady_clock::now();
  const einstream::detail::ContractionPath path = einstream::detail::find_path(
      problem, einstream::path_algorithm_from_string(arguments.path), search);
  const double path_seconds = seconds_since(start);
  einstream::detail::SliceFinderOptions finder;
  finder.memory_cap = arguments.cap;
  finder.seconds = arguments.slice_seconds;
  finder.seed = arguments.seed;
  finder.reconfigure = arguments.reconfigure;
  const auto slicing_start = std::chrono::steady_clock::now();
  const einstream::detail::SlicedPath sliced =
      einstream::detail::find_slices(problem, path.linear(), finder);
  const double slice_seconds = seconds_since(slicing_start);
  nlohmann::ordered_json result;
  result["path"] = sliced.path;
  nlohmann::json modes = nlohmann::json::object();
  for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
    if (sliced.blocks[mode] < problem.extents[mode]) {
      modes[std::to_string(ids[mode])] = sliced.blocks[mode];
    }
  }
  result["sliced"] = modes;
  result["flops"] = sliced.flops;
  result["unsliced_flops"] = sliced.unsliced_flops;
  result["overhead"] = sliced.overhead();
  result["largest_intermediate"] = sliced.largest_intermediate;
  result["fits"] = sliced.fits;
  result["stopped_at_budget"] = sliced.stopped_at_budget;
  result["path_seconds"] = path_seconds;
  result["slice_seconds"] = slice_seconds;
  std::cout << result.dump() << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "einstream_sliced_path: " << error.what() << '\n';
    return 1;
  }
}
