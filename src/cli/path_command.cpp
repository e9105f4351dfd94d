// einstream path EXPR --shapes JSON (or path --network FILE.json): print the
// contraction path, as text (Plan::explain(), opt_einsum's PathInfo table;
// --explain=program adds the lowered program) or as one JSON object in
// opt_einsum's linear format.
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>

#include "einstream/error.hpp"
#include "src/cli/commands.hpp"
#include "src/cli/json_values.hpp"
#include "src/cli/network_file.hpp"

namespace einstream::cli {

namespace {

struct PathFlags {
  std::string expression;
  std::string shapes;
  std::string network;  // empty: the expression and --shapes
  PlanFlags plan;
  bool json = false;
  std::string explain = "summary";  // or "program": explain()'s detail level
};

void print_json(const PathInfo& info) {
  nlohmann::json document;
  document["path"] = info.path;
  document["flops"] = count_to_json(info.flops);
  document["largest_intermediate"] = count_to_json(info.largest_intermediate);
  document["seconds"] = info.seconds;
  std::cout << document.dump() << '\n';
}

// contraction_path takes an expression only, so a network is planned as a
// host Plan, whose path is the same.
void print_network_path(const PathFlags& flags, Options options) {
  const Network network = read_network_file(flags.network);
  network.apply_path(options);
  if (!network.has_extents) {
    throw Error("network file '" + flags.network +
                "': \"extents\" is required for `path` (a mode's extent for each mode)");
  }
  std::vector<TensorDesc> descs;
  for (const auto& extents : network.shapes()) descs.emplace_back(DataType::f32, extents);
  const Plan plan(network.input_modes, network.output_modes, descs, options);
  if (flags.json) {
    print_json(plan.path());
  } else {
    std::cout << plan.explain(explain_detail_from_string(flags.explain));
  }
}

void print_path(const PathFlags& flags) {
  Options options = flags.plan.options();
  options.backend = Backend::host;  // planning only: no device is needed
  if (!flags.network.empty()) return print_network_path(flags, options);
  if (flags.expression.empty() && flags.shapes.empty()) {
    throw Error("path needs EXPR --shapes JSON, or --network FILE.json");
  }
  if (flags.shapes.empty()) throw Error("path: --shapes is required with an expression");
  const std::vector<std::vector<std::int64_t>> shapes = parse_shapes(flags.shapes);
  if (flags.json) {
    print_json(contraction_path(flags.expression, shapes, options));
    return;
  }
  std::vector<TensorDesc> descs;
  for (const auto& extents : shapes) descs.emplace_back(DataType::f32, extents);
  const Plan plan(flags.expression, descs, options);
  std::cout << plan.explain(explain_detail_from_string(flags.explain));
}

}  // namespace

void add_path_command(CLI::App& app) {
  auto flags = std::make_shared<PathFlags>();
  CLI::App* command =
      app.add_subcommand("path", "Print the contraction path of an expression or a network file");
  CLI::Option* expression = command->add_option("expression", flags->expression,
                                                "einsum expression (not with --network)");
  CLI::Option* shapes = command->add_option(
      "--shapes", flags->shapes,
      "JSON array of operand shapes, e.g. '[[2,3],[3,4]]' ('[]' for a scalar); required with "
      "an expression");
  command
      ->add_option("--network", flags->network,
                   "plan the network in FILE.json instead of EXPR --shapes: {\"inputs\": "
                   "[[0,1],[1,2]], \"output\": [0,2], \"extents\": {\"0\": 2, \"1\": 3, "
                   "\"2\": 4}}, one integer mode list per operand, the output's modes, and "
                   "every mode's extent keyed by its id")
      ->type_name("FILE.json")
      ->excludes(expression)
      ->excludes(shapes);
  flags->plan.add_to(*command, false);
  CLI::Option* json = command->add_flag(
      "--json", flags->json,
      "print {\"path\", \"flops\", \"largest_intermediate\", \"seconds\"} as JSON");
  command
      ->add_flag("--explain{summary}", flags->explain,
                 "the text's detail: --explain (or --explain=summary) prints the cost summary "
                 "and one row per contraction step (the default), --explain=program adds the "
                 "lowered program's ops and buffers")
      ->check(CLI::IsMember({"summary", "program"}))
      ->excludes(json);
  command->callback([flags] { run_guarded([&] { print_path(*flags); }); });
}

}  // namespace einstream::cli
