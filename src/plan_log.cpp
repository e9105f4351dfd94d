#include "src/plan_log.hpp"

#include <cstdio>

#include "src/log.hpp"

namespace einstream::detail {

namespace {

std::string count_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value < 1e6 ? "%.0f" : "%.3e", value);
  return text;
}

std::string path_message(const Options& options, const PlannedFacts& facts) {
  std::string text =
      "plan '" + facts.expression + "': path " +
      (options.given_path.empty() ? std::string(to_string(options.path)) + " found in "
                                  : std::string("given, checked in ")) +
      format_seconds(facts.path_seconds) + ", " + std::to_string(facts.path.steps.size()) +
      (facts.path.steps.size() == 1 ? " step, " : " steps, ") + count_text(facts.path.flops) +
      " FLOPs, largest intermediate " + count_text(facts.path.largest_intermediate) + " elements";
  for (const BudgetStop& stop : facts.path.budget_stops) {
    text += std::string("; ") + to_string(stop.algorithm) + " stopped at its " +
            format_seconds(stop.seconds) + " budget";
  }
  return text;
}

// "j in 8 blocks of 128, k in 2 blocks of 512".
std::string sliced_modes_text(const PlannedFacts& facts) {
  std::string text;
  for (const SlicedMode& mode : facts.slice.sliced) {
    if (!text.empty()) text += ", ";
    text += label_text(facts.problem.labels[mode.mode]) + " in " + std::to_string(mode.blocks) +
            " blocks of " + std::to_string(mode.block);
  }
  return text;
}

std::string residency_text(const SlicePlan& slice) {
  std::string text;
  for (std::size_t operand = 0; operand < slice.inputs.size(); ++operand) {
    text += (operand ? ", " : "") + std::string("input ") + std::to_string(operand) + " " +
            to_string(slice.inputs[operand]);
  }
  return text + ", output " + to_string(slice.output);
}

std::string blocks_message(const Options& options, const PlannedFacts& facts) {
  std::string text = std::string("plan: backend ") + to_string(facts.backend) + ", memory limit " +
                     to_string(options.memory_limit) + ", workspace " +
                     format_bytes(static_cast<double>(facts.workspace_bytes));
  if (!facts.sliced || facts.slice.sliced.empty()) return text + ", the whole problem as 1 block";
  const SlicePlan& slice = facts.slice;
  char overhead[64];
  // FLOPs of every block over the unsliced path's: what slicing recomputes.
  const double ratio = facts.path.flops > 0 ? slice.flops / facts.path.flops : 1;
  std::snprintf(overhead, sizeof overhead, "; slicing overhead %.3gx", ratio);
  text += ", " + std::to_string(slice.block_count) + " blocks (" + sliced_modes_text(facts) + ")" +
          overhead + "; " + residency_text(slice);
  if (slice.seconds > 0) {
    text += "; predicted " + format_seconds(slice.seconds) + ", " +
            format_bytes(slice.bytes_to_device) + " to the device, " +
            format_bytes(slice.bytes_to_host) + " back";
  }
  return text;
}

}  // namespace

void log_path_search(const Options& options, const std::string& expression,
                     const Problem& problem) {
  if (!logs(options, LogLevel::debug) || !options.given_path.empty()) return;
  std::string text = "plan '" + expression + "': searching a path (" + to_string(options.path) +
                     ") over " + std::to_string(problem.inputs.size()) + " operands and " +
                     std::to_string(problem.mode_count()) + " modes";
  if (options.path_seconds > 0) text += ", budget " + format_seconds(options.path_seconds);
  log(options, LogLevel::debug, text);
}

void log_plan(const Options& options, const PlannedFacts& facts) {
  if (!logs(options, LogLevel::debug)) return;
  log(options, LogLevel::debug, path_message(options, facts));
  log(options, LogLevel::debug, blocks_message(options, facts));
}

}  // namespace einstream::detail
