// Plan::explain()'s text. The table's columns have fixed widths counted in
// code points (labels may be any Unicode letter): a contraction wider than
// its column wraps onto continuation lines, and the last column (the
// operands remaining) is cut short with "...", so every row keeps the same
// column positions however many modes a network has.
#include "src/explain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "einstream/error.hpp"

namespace einstream {

const char* to_string(ExplainDetail detail) {
  switch (detail) {
    case ExplainDetail::summary:
      return "summary";
    case ExplainDetail::program:
      return "program";
  }
  return "?";
}

ExplainDetail explain_detail_from_string(const std::string& name) {
  if (name == "summary") return ExplainDetail::summary;
  if (name == "program") return ExplainDetail::program;
  throw Error("explain detail '" + name + "': expected 'summary' or 'program'");
}

namespace detail {

namespace {

// Widths of the table's columns, in code points. The contraction column is
// as wide as the widest contraction, between these bounds.
constexpr std::size_t kStepWidth = 4;
constexpr std::size_t kScalingWidth = 7;
constexpr std::size_t kKindWidth = 12;  // "batched GEMM"
constexpr std::size_t kFlopsWidth = 10;
constexpr std::size_t kMinContractionWidth = 11;  // "contraction"
constexpr std::size_t kMaxContractionWidth = 40;
constexpr std::size_t kRemainingWidth = 40;
constexpr const char* kGap = "  ";

std::size_t width_of(const std::string& text) {
  std::size_t width = 0;
  for (char byte : text) width += (static_cast<unsigned char>(byte) & 0xc0) != 0x80;
  return width;
}

// The byte length of the first `count` code points of `text`.
std::size_t prefix_bytes(const std::string& text, std::size_t count) {
  std::size_t bytes = 0;
  for (std::size_t seen = 0; bytes < text.size(); ++bytes) {
    if ((static_cast<unsigned char>(text[bytes]) & 0xc0) != 0x80 && seen++ == count) break;
  }
  return bytes;
}

std::string left(const std::string& text, std::size_t width) {
  const std::size_t used = width_of(text);
  return used < width ? text + std::string(width - used, ' ') : text;
}

std::string right(const std::string& text, std::size_t width) {
  const std::size_t used = width_of(text);
  return used < width ? std::string(width - used, ' ') + text : text;
}

// `text` cut to `width` code points, ending in "..." when it was longer.
std::string shortened(const std::string& text, std::size_t width) {
  if (width_of(text) <= width) return text;
  return text.substr(0, prefix_bytes(text, width - 3)) + "...";
}

// Packs `pieces` (terms with their separators) into lines of at most
// `width` code points, splitting a piece only when it alone is wider.
std::vector<std::string> wrapped(const std::vector<std::string>& pieces, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (std::string piece : pieces) {
    if (width_of(line) + width_of(piece) <= width) {
      line += piece;
      continue;
    }
    if (!line.empty()) lines.push_back(line);
    while (width_of(piece) > width) {
      const std::size_t cut = prefix_bytes(piece, width);
      lines.push_back(piece.substr(0, cut));
      piece.erase(0, cut);
    }
    line = piece;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

std::string format_count(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value < 1e6 ? "%.0f" : "%.3e", value);
  return text;
}

// A count given as its log10, which may lie beyond a double's range.
std::string format_log10(double log10_value) {
  if (std::isinf(log10_value)) return log10_value < 0 ? "0" : "inf";
  if (log10_value < 300) return format_count(std::pow(10.0, log10_value));
  const double exponent = std::floor(log10_value);
  char text[48];
  std::snprintf(text, sizeof text, "%.3fe+%.0f", std::pow(10.0, log10_value - exponent), exponent);
  return text;
}

// A ratio given as its log10: three decimals, as opt_einsum prints its
// speedup, while it is small.
std::string format_ratio(double log10_value) {
  if (log10_value >= 6) return format_log10(log10_value);
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", std::pow(10.0, log10_value));
  return text;
}

std::string modes_text(const Problem& problem, const std::vector<Mode>& modes) {
  std::string text;
  for (Mode mode : modes) text += label_text(problem.labels[mode]);
  return text;
}

// The step as einsum pieces: "ab," "bc" "->ac".
std::vector<std::string> step_pieces(const Problem& problem, const PathStep& step) {
  std::vector<std::string> pieces;
  for (std::size_t index = 0; index < step.operand_modes.size(); ++index) {
    pieces.push_back(modes_text(problem, step.operand_modes[index]) +
                     (index + 1 < step.operand_modes.size() ? "," : ""));
  }
  pieces.push_back("->" + modes_text(problem, step.result));
  return pieces;
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string text;
  for (const std::string& piece : pieces) text += piece;
  return text;
}

// opt_einsum's "remaining" column: the operands left after each step
// (linear format: the step's operands removed, its result appended), then
// "->" and the output.
std::vector<std::string> remaining_after_steps(const Problem& problem,
                                               const ContractionPath& path) {
  std::vector<std::string> operands;
  for (const ProblemOperand& input : problem.inputs)
    operands.push_back(modes_text(problem, input.modes));
  const std::string output = "->" + modes_text(problem, problem.output);
  std::vector<std::string> remaining;
  for (const PathStep& step : path.steps) {
    for (auto it = step.operands.rbegin(); it != step.operands.rend(); ++it) {
      if (*it >= 0 && static_cast<std::size_t>(*it) < operands.size()) {
        operands.erase(operands.begin() + *it);
      }
    }
    operands.push_back(modes_text(problem, step.result));
    std::string text;
    for (std::size_t index = 0; index < operands.size(); ++index) {
      text += (index ? "," : "") + operands[index];
    }
    remaining.push_back(text + output);
  }
  return remaining;
}

std::string line_of(const char* format, double value) {
  char text[160];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

void write_inputs(std::ostream& os, const ExplainedPlan& plan) {
  const Problem& problem = plan.problem;
  os << "  modes        ";
  for (int mode = 0; mode < problem.mode_count(); ++mode) {
    os << ' ' << problem.labels[mode] << '=' << problem.extents[mode];
  }
  os << '\n';
  for (std::size_t index = 0; index < plan.inputs.size(); ++index) {
    os << "  input " << index << "       " << to_string(plan.inputs[index]) << '\n';
  }
  os << "  output        " << to_string(plan.output) << '\n';
}

void write_path_search(std::ostream& os, const ExplainedPlan& plan) {
  if (!plan.options.given_path.empty()) {
    os << "  path          given (Options::given_path), checked in "
       << line_of("%.3f ms", plan.path_seconds * 1e3) << '\n';
    return;
  }
  os << "  path          " << to_string(plan.options.path) << ", found in "
     << line_of("%.3f ms", plan.path_seconds * 1e3) << '\n';
  for (const BudgetStop& stop : plan.path.budget_stops) {
    char line[200];
    std::snprintf(
        line, sizeof line,
        "  path budget   %s stopped at its %.3f s share of path_seconds: the path is the "
        "best found, not proven %s\n",
        to_string(stop.algorithm), stop.seconds,
        stop.algorithm == PathAlgorithm::random_greedy ? "the best of every trial" : "optimal");
    os << line;
  }
}

// Naive and optimized FLOPs, the speedup and the largest intermediate.
void write_costs(std::ostream& os, const ExplainedPlan& plan) {
  const double naive = naive_flops_log10(plan.problem);
  std::set<Mode> modes;
  for (const ProblemOperand& input : plan.problem.inputs) {
    modes.insert(input.modes.begin(), input.modes.end());
  }
  int scaling = 0;
  for (const PathStep& step : plan.path.steps) scaling = std::max(scaling, step_scaling(step));
  os << "  naive         " << format_log10(naive) << " FLOPs, scaling " << modes.size()
     << " (one einsum loop over every mode)\n";
  os << "  optimized     " << format_count(plan.path.flops) << " FLOPs, scaling " << scaling
     << " (the path; both counted as opt_einsum does)\n";
  os << "  speedup       ";
  if (plan.path.flops > 0 && !std::isinf(naive)) {
    os << format_ratio(naive - std::log10(plan.path.flops)) << "x (theoretical)\n";
  } else {
    os << "n/a (no FLOPs)\n";
  }
  os << "  largest intermediate " << format_count(plan.path.largest_intermediate) << " elements\n";
}

// The block plan (planner/slice's lines: sliced modes, block count,
// residency, device bytes) and the FLOPs its blocks recompute, over the
// cheapest unsliced path found (the search's, when slicing chose a tree of
// its own).
void write_slicing(std::ostream& os, const ExplainedPlan& plan) {
  if (!plan.sliced) return;
  os << to_string(plan.slice, plan.problem);
  if (plan.slice.stopped_at_budget) {
    os << "  slice budget  the slice search stopped at its share of path_seconds: the slices "
          "are the best it found, not all it would have tried\n";
  }
  if (plan.slice.sliced.empty() || plan.slice.unsliced_flops <= 0) return;
  char line[200];
  std::snprintf(line, sizeof line,
                "  slicing overhead %.3fx (FLOPs of all %lld blocks %s over the unsliced path's "
                "%s)\n",
                plan.slice.overhead(), static_cast<long long>(plan.slice.block_count),
                format_count(plan.slice.flops).c_str(),
                format_count(plan.slice.unsliced_flops).c_str());
  os << line;
}

// The scaling model's line: the predicted time on one device, then on
// each device count with its speedup, and what binds where it is not the
// links.
void write_scaling(std::ostream& os, const ExplainedPlan& plan) {
  if (plan.scaling.empty()) return;
  const double one = plan.slice.seconds;
  os << "  devices       predicted " << line_of("%.3g s on 1", one);
  bool staging = false, short_of_blocks = false;
  for (const DeviceScaling& scaling : plan.scaling) {
    if (scaling.devices == 1) continue;
    os << ", " << line_of("%.3g s", scaling.seconds) << " on " << scaling.devices;
    if (scaling.seconds > 0) os << " (" << line_of("%.2fx", one / scaling.seconds) << ')';
    staging = staging || scaling.staging_bound;
    short_of_blocks = short_of_blocks || scaling.devices_with_work < scaling.devices;
  }
  os << "\n                (each device its own link, resident inputs copied to each, partial "
        "outputs timed as added on the host, an upper bound where NCCL combines them"
     << (staging ? "; the host's staging copies bind" : "")
     << (short_of_blocks ? "; fewer blocks than devices leave some idle" : "") << ")\n";
}

struct StepRow {
  std::string step, scaling, kind, flops, remaining;
  std::vector<std::string> contraction;  // wrapped lines
};

void write_table(std::ostream& os, const ExplainedPlan& plan) {
  std::size_t width = kMinContractionWidth;
  for (const PathStep& step : plan.path.steps) {
    width = std::max(width, width_of(joined(step_pieces(plan.problem, step))));
  }
  width = std::min(width, kMaxContractionWidth);
  std::vector<std::string> remaining = remaining_after_steps(plan.problem, plan.path);
  std::size_t remaining_width = width_of("remaining");
  for (std::string& text : remaining) {
    text = shortened(text, kRemainingWidth);
    remaining_width = std::max(remaining_width, width_of(text));
  }
  const auto row = [&](const StepRow& cells) {
    os << kGap << right(cells.step, kStepWidth) << kGap << right(cells.scaling, kScalingWidth)
       << kGap << left(cells.kind, kKindWidth) << kGap << right(cells.flops, kFlopsWidth) << kGap
       << left(cells.contraction[0], width) << kGap << cells.remaining << '\n';
    const std::string indent(kStepWidth + kScalingWidth + kKindWidth + kFlopsWidth + 8, ' ');
    for (std::size_t line = 1; line < cells.contraction.size(); ++line) {
      os << kGap << indent << cells.contraction[line] << '\n';
    }
  };
  os << '\n';
  row({"step", "scaling", "kind", "FLOPs", "remaining", {"contraction"}});
  const std::size_t rule =
      kStepWidth + kScalingWidth + kKindWidth + kFlopsWidth + width + remaining_width + 10;
  os << kGap << std::string(rule, '-') << '\n';
  for (std::size_t index = 0; index < plan.path.steps.size(); ++index) {
    const PathStep& step = plan.path.steps[index];
    row({std::to_string(index), std::to_string(step_scaling(step)),
         step_kind(plan.program, static_cast<int>(index)), format_count(step.flops),
         remaining[index], wrapped(step_pieces(plan.problem, step), width)});
  }
}

}  // namespace

double naive_flops_log10(const Problem& problem) {
  std::set<Mode> modes;
  std::size_t set_sizes = 0;
  for (const ProblemOperand& input : problem.inputs) {
    const std::set<Mode> own(input.modes.begin(), input.modes.end());
    set_sizes += own.size();
    modes.insert(own.begin(), own.end());
  }
  double log10_size = 0;
  for (Mode mode : modes) {
    if (problem.extents[mode] == 0) return -std::numeric_limits<double>::infinity();
    log10_size += std::log10(static_cast<double>(problem.extents[mode]));
  }
  const bool inner = set_sizes > modes.size();
  const std::size_t terms = problem.inputs.size();
  const double factor = static_cast<double>(std::max<std::size_t>(1, terms - 1) + (inner ? 1 : 0));
  return log10_size + std::log10(factor);
}

int step_scaling(const PathStep& step) {
  std::set<Mode> modes(step.result.begin(), step.result.end());
  for (const std::vector<Mode>& operand : step.operand_modes) {
    modes.insert(operand.begin(), operand.end());
  }
  return static_cast<int>(modes.size());
}

std::string step_kind(const Program& program, int step) {
  bool elementwise = false, reduce = false, permute = false;
  for (const Op& op : program.ops) {
    if (op.step != step) continue;
    switch (op.kind) {
      case OpKind::gemm:
        return op.batch > 1 ? "batched GEMM" : "GEMM";
      case OpKind::elementwise:
        elementwise = true;
        break;
      case OpKind::reduce:
        reduce = true;
        break;
      case OpKind::permute:
        permute = true;
        break;
    }
  }
  if (elementwise) return "elementwise";
  if (reduce) return "reduce";
  return permute ? "permute" : "view";
}

std::string render_explain(const ExplainedPlan& plan, ExplainDetail detail) {
  std::ostringstream os;
  os << "einstream plan for '" << plan.expression << "'\n";
  os << "  parsed as     " << to_string(plan.problem) << '\n';
  os << "  data type     " << to_string(plan.output.dtype) << '\n';
  os << "  backend       " << to_string(plan.backend) << " (requested "
     << to_string(plan.options.backend) << ")\n";
  write_path_search(os, plan);
  os << "  memory limit  " << to_string(plan.options.memory_limit) << '\n';
  write_inputs(os, plan);
  write_costs(os, plan);
  write_slicing(os, plan);
  write_scaling(os, plan);
  write_table(os, plan);
  if (detail == ExplainDetail::program) os << '\n' << to_string(plan.program);
  return os.str();
}

}  // namespace detail

}  // namespace einstream
