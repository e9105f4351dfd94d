// einstream path EXPR --shapes JSON: print the contraction path, as text or as
// one JSON object in opt_einsum's linear format.
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/json_values.hpp"

namespace einstream::cli {

namespace {

struct PathFlags {
  std::string expression;
  std::string shapes;
  PlanFlags plan;
  bool json = false;
};

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
