// einstream path EXPR --shapes JSON: print the contraction path, as text or as
// one JSON object in opt_einsum's linear format.
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"

namespace einstream::cli {

namespace {

struct PathFlags {
  std::string expression;
  std::string shapes;
  PlanFlags plan;
  bool json = false;
};

std::vector<std::vector<std::int64_t>> parse_shapes(const std::string& text) {
  const std::string expected =
      "expected a JSON array with one array of non-negative integer extents per operand, e.g. "
      "'[[2,3],[3,4]]' ('[]' is a scalar)";
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    throw Error("--shapes is not valid JSON (" + std::string(error.what()) + "): " + expected);
  }
  if (!document.is_array()) throw Error("--shapes is not an array: " + expected);
  std::vector<std::vector<std::int64_t>> shapes;
  for (std::size_t operand = 0; operand < document.size(); ++operand) {
    const nlohmann::json& shape = document[operand];
    const std::string where = "--shapes operand " + std::to_string(operand);
    if (!shape.is_array())
      throw Error(where + " is " + shape.dump() + ", not an array: " + expected);
    std::vector<std::int64_t> extents;
    for (const nlohmann::json& extent : shape) {
      if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0) {
        throw Error(where + " has extent " + extent.dump() + ": " + expected);
      }
      extents.push_back(extent.get<std::int64_t>());
    }
    shapes.push_back(std::move(extents));
  }
  return shapes;
}

// FLOP counts are integers; print them as such while they fit 64 bits.
nlohmann::json count_to_json(double value) {
  if (value >= 0 && value < 1.8e19 && value == std::floor(value)) {
    return static_cast<std::uint64_t>(value);
  }
  return value;
}

void print_path(const PathFlags& flags) {
  const std::vector<std::vector<std::int64_t>> shapes = parse_shapes(flags.shapes);
  Options options = flags.plan.options();
  options.backend = Backend::host;  // planning only: no device is needed
  if (flags.json) {
    const PathInfo info = contraction_path(flags.expression, shapes, options);
    nlohmann::json document;
    document["path"] = info.path;
    document["flops"] = count_to_json(info.flops);
    document["largest_intermediate"] = count_to_json(info.largest_intermediate);
    document["seconds"] = info.seconds;
    std::cout << document.dump() << '\n';
    return;
  }
  std::vector<TensorDesc> descs;
  for (const auto& extents : shapes) descs.emplace_back(DataType::f32, extents);
  const Plan plan(flags.expression, descs, options);
  std::cout << plan.explain();
}

}  // namespace

void add_path_command(CLI::App& app) {
  auto flags = std::make_shared<PathFlags>();
  CLI::App* command = app.add_subcommand("path", "Print the contraction path of an expression");
  command->add_option("expression", flags->expression, "einsum expression")->required();
  command
      ->add_option("--shapes", flags->shapes,
                   "JSON array of operand shapes, e.g. '[[2,3],[3,4]]' ('[]' for a scalar)")
      ->required();
  flags->plan.add_to(*command, false);
  command->add_flag("--json", flags->json,
                    "print {\"path\", \"flops\", \"largest_intermediate\", \"seconds\"} as JSON");
  command->callback([flags] { run_guarded([&] { print_path(*flags); }); });
}

}  // namespace einstream::cli
