// Plan::explain(): the header's numbers against values computed here from
// the problem, the per-step rows, the kinds of lowered steps, the slicing
// overhead of a sliced host plan, column alignment on a large network, and
// the program detail level.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/explain.hpp"
#include "tests/support/against_reference.hpp"

namespace einstream {
namespace {

TensorDesc f64(std::vector<std::int64_t> extents) { return {DataType::f64, std::move(extents)}; }

Options host_options(PathAlgorithm path = PathAlgorithm::automatic) {
  Options options;
  options.backend = Backend::host;
  options.path = path;
  return options;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return lines;
}

// The number after `label` at the start of a line ("  naive         5.000e+08 FLOPs").
double header_number(const std::string& text, const std::string& label) {
  for (const std::string& line : lines_of(text)) {
    if (line.rfind(label, 0) == 0) return std::stod(line.substr(label.size()));
  }
  ADD_FAILURE() << "no line starts with '" << label << "' in\n" << text;
  return 0;
}

// Code points of UTF-8 text, so columns are counted as a terminal shows them.
std::u32string code_points(const std::string& text) {
  std::u32string points;
  for (std::size_t at = 0; at < text.size();) {
    const auto lead = static_cast<unsigned char>(text[at]);
    const int length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    char32_t point = length == 1 ? lead : lead & (0x7f >> length);
    for (int byte = 1; byte < length; ++byte) {
      point = (point << 6) | (static_cast<unsigned char>(text[at + byte]) & 0x3f);
    }
    points.push_back(point);
    at += length;
  }
  return points;
}

std::string ascii(const std::u32string& points) {
  std::string text;
  for (char32_t point : points) text += point < 0x80 ? static_cast<char>(point) : '?';
  return text;
}

std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The step table: column positions from its header line, then its rows.
struct Table {
  std::u32string header;
  std::vector<std::u32string> lines;  // rows and continuation lines, in order
  std::size_t step_end = 0, scaling_end = 0, kind_start = 0, flops_end = 0;
  std::size_t contraction_start = 0, remaining_start = 0;
};

Table table_of(const std::string& text) {
  Table table;
  const std::vector<std::string> lines = lines_of(text);
  std::size_t at = 0;
  while (at < lines.size() && lines[at].rfind("  step  ", 0) != 0) ++at;
  if (at + 1 >= lines.size()) {
    ADD_FAILURE() << "no step table in\n" << text;
    return table;
  }
  table.header = code_points(lines[at]);
  const std::string header = ascii(table.header);
  table.step_end = header.find("step") + 4;
  table.scaling_end = header.find("scaling") + 7;
  table.kind_start = header.find("kind");
  table.flops_end = header.find("FLOPs") + 5;
  table.contraction_start = header.find("contraction");
  table.remaining_start = header.find("remaining");
  EXPECT_EQ(lines[at + 1].find_first_not_of(' '), 2u);  // the rule
  for (at += 2; at < lines.size() && !lines[at].empty(); ++at) {
    table.lines.push_back(code_points(lines[at]));
  }
  return table;
}

struct Row {
  std::string step, scaling, kind, flops, contraction, remaining;
};

bool is_continuation(const Table& table, const std::u32string& line) {
  return ascii(line.substr(0, table.step_end)).find_first_not_of(' ') == std::string::npos;
}

std::vector<Row> rows_of(const Table& table) {
  std::vector<Row> rows;
  for (const std::u32string& line : table.lines) {
    const std::string text = ascii(line);
    if (is_continuation(table, line)) {
      rows.back().contraction += trimmed(text);
      continue;
    }
    Row row;
    row.step = trimmed(text.substr(0, table.step_end));
    row.scaling = trimmed(text.substr(table.step_end, table.scaling_end - table.step_end));
    const std::string kind_and_flops =
        trimmed(text.substr(table.kind_start, table.flops_end - table.kind_start));
    const std::size_t split = kind_and_flops.find_last_of(' ');
    row.kind = trimmed(kind_and_flops.substr(0, split));
    row.flops = kind_and_flops.substr(split + 1);
    row.contraction = trimmed(
        text.substr(table.contraction_start, table.remaining_start - table.contraction_start));
    row.remaining = trimmed(text.substr(table.remaining_start));
    rows.push_back(row);
  }
  return rows;
}

// Every extent of one problem times opt_einsum's factor for `terms`
// operands: max(1, terms - 1), plus one when some mode is in two operands.
TEST(Explain, HeaderCountsNaiveFlopsAndSpeedupAsOptEinsum) {
  std::mt19937 random(11);
  std::uniform_int_distribution<std::int64_t> extent(2, 9);
  const std::string letters = "piqjklrs";
  std::vector<std::int64_t> extents;
  double product = 1;
  for (std::size_t mode = 0; mode < letters.size(); ++mode) {
    extents.push_back(extent(random));
    product *= static_cast<double>(extents.back());
  }
  SCOPED_TRACE("seed 11, extents p i q j k l r s: " + ::testing::PrintToString(extents));
  auto e = [&](char label) { return extents[letters.find(label)]; };
  const Plan plan(
      "pi,qj,ijkl,rk,sl->pqrs",
      {f64({e('p'), e('i')}), f64({e('q'), e('j')}), f64({e('i'), e('j'), e('k'), e('l')}),
       f64({e('r'), e('k')}), f64({e('s'), e('l')})},
      host_options());
  const std::string text = plan.explain();
  const double naive = product * (4 + 1);  // five operands, i j k l shared
  EXPECT_NEAR(header_number(text, "  naive         ") / naive, 1.0, 1e-3) << text;
  EXPECT_NEAR(header_number(text, "  optimized     ") / plan.path().flops, 1.0, 1e-3) << text;
  EXPECT_NEAR(header_number(text, "  speedup       ") / (naive / plan.path().flops), 1.0, 1e-3)
      << text;
  EXPECT_EQ(header_number(text, "  largest intermediate "), plan.path().largest_intermediate)
      << text;
  EXPECT_NE(text.find("FLOPs, scaling 8 "), std::string::npos) << text;  // eight modes
}

// One operand has no mode shared with another; two operands count one
// term plus the inner product, whether or not the shared mode is summed.
TEST(Explain, NaiveFlopsFollowOptEinsumsInnerProductRule) {
  const struct {
    const char* expression;
    std::vector<TensorDesc> inputs;
    double naive;
  } cases[] = {{"ij->i", {f64({3, 5})}, 15},
               {"ij,jk->ik", {f64({3, 5}), f64({5, 7})}, 3 * 5 * 7 * 2},
               {"ij,ik->ijk", {f64({3, 5}), f64({3, 7})}, 3 * 5 * 7 * 2},
               {"i,j->ij", {f64({3}), f64({5})}, 15}};
  for (const auto& problem : cases) {
    const std::string text = Plan(problem.expression, problem.inputs, host_options()).explain();
    EXPECT_EQ(header_number(text, "  naive         "), problem.naive) << problem.expression << '\n'
                                                                      << text;
  }
}

TEST(Explain, RowsShowContractionScalingKindFlopsAndRemaining) {
  const Plan plan("ij,jk,kl->il", {f64({2, 3}), f64({3, 4}), f64({4, 5})},
                  host_options(PathAlgorithm::naive));
  const std::string text = plan.explain();
  const std::vector<Row> rows = rows_of(table_of(text));
  ASSERT_EQ(rows.size(), 2u) << text;
  EXPECT_EQ(rows[0].step, "0");
  EXPECT_EQ(rows[0].contraction, "ij,jk->ik");
  EXPECT_EQ(rows[0].scaling, "3");
  EXPECT_EQ(rows[0].kind, "GEMM");
  EXPECT_EQ(rows[0].flops, "48");  // 2 * 3 * 4, times 2 for the summed j
  EXPECT_EQ(rows[0].remaining, "kl,ik->il");
  EXPECT_EQ(rows[1].step, "1");
  EXPECT_EQ(rows[1].contraction, "kl,ik->il");
  EXPECT_EQ(rows[1].flops, "80");  // 2 * 4 * 5 * 2
  EXPECT_EQ(rows[1].remaining, "il->il");
}

TEST(Explain, FourOperandRowsFollowThePath) {
  const Plan plan("ab,bc,cd,de->ae", {f64({6, 2}), f64({2, 7}), f64({7, 3}), f64({3, 5})},
                  host_options(PathAlgorithm::optimal));
  const std::string text = plan.explain();
  const std::vector<Row> rows = rows_of(table_of(text));
  ASSERT_EQ(rows.size(), 3u) << text;
  double flops = 0;
  for (std::size_t index = 0; index < rows.size(); ++index) {
    EXPECT_EQ(rows[index].step, std::to_string(index));
    EXPECT_EQ(rows[index].scaling, "3") << text;  // every pairwise step of a chain
    EXPECT_EQ(rows[index].kind, "GEMM") << text;
    flops += std::stod(rows[index].flops);
  }
  EXPECT_EQ(flops, plan.path().flops) << text;
  EXPECT_EQ(rows.back().remaining, "ae->ae") << text;
  // Three operands are left after the first step, two after the second.
  EXPECT_EQ(std::count(rows[0].remaining.begin(), rows[0].remaining.end(), ','), 2) << text;
  EXPECT_EQ(std::count(rows[1].remaining.begin(), rows[1].remaining.end(), ','), 1) << text;
}

TEST(Explain, KindsNameWhatTheStepWasLoweredTo) {
  const struct {
    const char* expression;
    std::vector<TensorDesc> inputs;
    const char* kind;
  } cases[] = {{"bij,bjk->bik", {f64({4, 3, 5}), f64({4, 5, 2})}, "batched GEMM"},
               {"ij,jk->ik", {f64({3, 5}), f64({5, 2})}, "GEMM"},
               {"ijk->i", {f64({3, 4, 5})}, "reduce"},
               {"ij,ij->ij", {f64({3, 4}), f64({3, 4})}, "elementwise"},
               {"ij->ji", {f64({3, 4})}, "permute"}};
  for (const auto& problem : cases) {
    const std::string text = Plan(problem.expression, problem.inputs, host_options()).explain();
    const std::vector<Row> rows = rows_of(table_of(text));
    ASSERT_EQ(rows.size(), 1u) << text;
    EXPECT_EQ(rows[0].kind, problem.kind) << text;
  }
}

// ij,jk->ik with a long summed j under a small host budget: the blocks
// accumulate, and the overhead line is the FLOPs the execution reports over
// the unsliced path's.
TEST(Explain, SlicedPlanShowsItsBlocksAndOverhead) {
  std::mt19937 random(3);
  Options options = host_options();
  options.memory_limit = MemoryLimit::from_bytes(4 * 4 * 8 + 4 * 1000 * 8 * 2 * 2);
  const std::vector<std::vector<std::int64_t>> shapes = {{4, 4000}, {4000, 4}, {4, 6}};
  const testing::AgainstReference run = testing::plan_against_reference(
      "ij,jk,kl->il", shapes, DataType::f64, options, 1.0, 0.0, random);
  EXPECT_LE(run.error, 1e-12) << "seed 3\n" << run.explain;
  EXPECT_NE(run.explain.find("blocks, loop order"), std::string::npos) << run.explain;

  std::vector<TensorDesc> descs;
  for (const auto& shape : shapes) descs.push_back(f64(shape));
  Plan plan("ij,jk,kl->il", descs, options);
  std::vector<std::vector<double>> inputs;
  std::uniform_real_distribution<double> value(-1, 1);
  for (const TensorDesc& desc : descs) {
    inputs.emplace_back(static_cast<std::size_t>(desc.element_count()));
    for (double& element : inputs.back()) element = value(random);
  }
  std::vector<double> output(static_cast<std::size_t>(plan.output().element_count()));
  plan.execute({inputs[0].data(), inputs[1].data(), inputs[2].data()}, output.data());
  const ExecutionReport& report = plan.last_report();
  ASSERT_GT(report.blocks, 1);
  const std::string text = plan.explain();
  const double overhead = header_number(text, "  slicing overhead ");
  const std::string unsliced_label = "over the unsliced path's ";
  const std::size_t at = text.find(unsliced_label);
  ASSERT_NE(at, std::string::npos) << text;
  const double unsliced = std::stod(text.substr(at + unsliced_label.size()));
  // The unsliced path is the cheapest found, so the blocks' path is no cheaper.
  EXPECT_LE(unsliced, plan.path().flops) << text;
  EXPECT_NEAR(overhead, report.flops / unsliced, 6e-4) << text;  // printed %.3f
  EXPECT_GE(overhead, 1.0) << text;
  EXPECT_NE(text.find("FLOPs of all " + std::to_string(report.blocks) + " blocks"),
            std::string::npos)
      << text;
}

// A block plan made here, rendered directly: its overhead is its FLOPs over
// the unsliced path's, and a slice finder stopped by its budget says so.
TEST(Explain, SlicingLinesShowTheBlockPlansOverheadAndBudgetStop) {
  const std::string expression = "ij,jk->ik";
  const detail::Problem problem = detail::parse(expression, {{4, 8}, {8, 4}});
  const detail::ContractionPath path = detail::find_path(problem, PathAlgorithm::greedy);
  detail::SlicePlan slice;
  slice.sliced = {{1, 2, 4}};  // j in 4 blocks of 2
  slice.inputs = {detail::Residency::resident, detail::Residency::streamed};
  slice.block_count = 4;
  slice.unsliced_flops = path.flops;
  slice.flops = 1.25 * path.flops;
  const Options options = host_options();
  const std::vector<TensorDesc> inputs = {f64({4, 8}), f64({8, 4})};
  const TensorDesc output = f64({4, 4});
  const detail::Program program;
  const detail::ExplainedPlan plan{expression, problem, path, 0.0,   options, Backend::host,
                                   inputs,     output,  true, slice, program};
  const std::string finished = detail::render_explain(plan, ExplainDetail::summary);
  EXPECT_NE(finished.find("slicing overhead 1.250x (FLOPs of all 4 blocks 320 over the "
                          "unsliced path's 256)"),
            std::string::npos)
      << finished;
  EXPECT_EQ(finished.find("slice budget"), std::string::npos) << finished;
  slice.stopped_at_budget = true;
  const std::string stopped = detail::render_explain(plan, ExplainDetail::summary);
  EXPECT_NE(stopped.find("slice budget  the slice search stopped"), std::string::npos) << stopped;
}

// A CUDA plan's scaling line: the predicted time on one device, then on
// each count with its speedup, and the reason where the links do not bind.
TEST(Explain, ScalingLineShowsEachDeviceCountsPredictionAndWhatBinds) {
  const std::string expression = "ij,jk->ik";
  const detail::Problem problem = detail::parse(expression, {{4, 8}, {8, 4}});
  const detail::ContractionPath path = detail::find_path(problem, PathAlgorithm::greedy);
  detail::SlicePlan slice;
  slice.sliced = {{0, 1, 4}};
  slice.inputs = {detail::Residency::streamed, detail::Residency::resident};
  slice.block_count = 4;
  slice.seconds = 1.0;
  const Options options = host_options();
  const std::vector<TensorDesc> inputs = {f64({4, 8}), f64({8, 4})};
  const TensorDesc output = f64({4, 4});
  const detail::Program program;
  std::vector<detail::DeviceScaling> scaling(2);
  scaling[0].devices = 2;
  scaling[0].seconds = 0.5;
  scaling[0].devices_with_work = 2;
  scaling[1].devices = 8;
  scaling[1].seconds = 0.4;
  scaling[1].devices_with_work = 4;
  scaling[1].staging_bound = true;
  const detail::ExplainedPlan plan{expression, problem, path, 0.0,   options, Backend::cuda,
                                   inputs,     output,  true, slice, program, scaling};
  const std::string text = detail::render_explain(plan, ExplainDetail::summary);
  EXPECT_NE(text.find("devices       predicted 1 s on 1, 0.5 s on 2 (2.00x), 0.4 s on 8 (2.50x)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the host's staging copies bind"), std::string::npos) << text;
  EXPECT_NE(text.find("fewer blocks than devices leave some idle"), std::string::npos) << text;
  // Host plans (no scaling) have no such line.
  const std::string host = Plan(expression, {f64({4, 8}), f64({8, 4})}, host_options()).explain();
  EXPECT_EQ(host.find("devices       predicted"), std::string::npos) << host;
}

TEST(Explain, UnslicedPlanHasNoOverheadLine) {
  const std::string text = Plan("ij,jk->ik", {f64({3, 4}), f64({4, 5})}, host_options()).explain();
  EXPECT_EQ(text.find("slicing overhead"), std::string::npos) << text;
}

// 40 modes of extent 2 on 20 operands of a random 4-regular graph, plus
// three operands of 20 modes each whose steps are far wider than the
// contraction column: every row keeps the header's column positions, and
// long contractions wrap within their column.
std::vector<std::vector<std::int64_t>> regular_network(std::mt19937& random) {
  // The configuration model: four half-edges per operand, paired at random.
  std::vector<int> half_edges;
  for (int node = 0; node < 20; ++node) half_edges.insert(half_edges.end(), 4, node);
  std::vector<std::vector<std::int64_t>> modes(20);
  for (;;) {
    std::shuffle(half_edges.begin(), half_edges.end(), random);
    bool simple = true;
    for (std::size_t at = 0; at < half_edges.size(); at += 2)
      simple &= half_edges[at] != half_edges[at + 1];
    if (simple) break;
  }
  for (std::size_t at = 0; at < half_edges.size(); at += 2) {
    modes[half_edges[at]].push_back(static_cast<std::int64_t>(at / 2));
    modes[half_edges[at + 1]].push_back(static_cast<std::int64_t>(at / 2));
  }
  return modes;
}

void expect_aligned(const std::string& text) {
  const Table table = table_of(text);
  ASSERT_FALSE(table.lines.empty()) << text;
  const std::size_t contraction_width = table.remaining_start - 2 - table.contraction_start;
  for (const std::u32string& line : table.lines) {
    const std::string shown = ascii(line);
    if (is_continuation(table, line)) {
      EXPECT_EQ(shown.find_first_not_of(' '), table.contraction_start) << shown << '\n' << text;
      EXPECT_LE(line.size(), table.contraction_start + contraction_width) << shown;
      continue;
    }
    ASSERT_GT(line.size(), table.remaining_start) << shown;
    EXPECT_NE(shown[table.step_end - 1], ' ') << shown;
    EXPECT_EQ(shown[table.step_end], ' ') << shown;
    EXPECT_NE(shown[table.scaling_end - 1], ' ') << shown;
    EXPECT_NE(shown[table.kind_start], ' ') << shown;
    EXPECT_NE(shown[table.flops_end - 1], ' ') << shown;
    EXPECT_EQ(shown.substr(table.contraction_start - 2, 2), "  ") << shown;
    EXPECT_NE(shown[table.contraction_start], ' ') << shown;
    EXPECT_EQ(shown.substr(table.remaining_start - 2, 2), "  ") << shown;
    EXPECT_NE(shown[table.remaining_start], ' ') << shown;
    EXPECT_LE(line.size() - table.remaining_start, 40u) << shown;  // cut short with "..."
  }
}

TEST(Explain, ColumnsStayAlignedOnAFortyModeNetwork) {
  std::mt19937 random(7);
  const std::vector<std::vector<std::int64_t>> modes = regular_network(random);
  std::vector<TensorDesc> inputs(modes.size(), f64({2, 2, 2, 2}));
  const Plan network(modes, {}, inputs, host_options(PathAlgorithm::greedy));
  const std::string text = network.explain();
  SCOPED_TRACE("seed 7");
  expect_aligned(text);
  EXPECT_NE(text.find("..."), std::string::npos) << text;  // long remaining lists are cut

  // A ring of six operands of 20 modes each (60 modes: past the 52 letters
  // the labels are two-byte code points, which the columns count once):
  // every step is wider than the contraction column.
  std::vector<std::vector<std::int64_t>> wide(6);
  for (std::int64_t operand = 0; operand < 6; ++operand) {
    for (std::int64_t mode = 0; mode < 10; ++mode) {
      wide[operand].push_back(10 * operand + mode);
      wide[operand].push_back((10 * (operand + 1) + mode) % 60);
    }
  }
  const std::vector<TensorDesc> wide_inputs(6, f64(std::vector<std::int64_t>(20, 2)));
  const Plan long_steps(wide, {}, wide_inputs, host_options(PathAlgorithm::greedy));
  const std::string long_text = long_steps.explain();
  expect_aligned(long_text);
  const Table table = table_of(long_text);
  EXPECT_TRUE(std::any_of(table.lines.begin(), table.lines.end(), [&](const std::u32string& line) {
    return is_continuation(table, line);
  })) << long_text;
  // Wrapping loses nothing: the rows' contractions are the steps' whole.
  for (const Row& row : rows_of(table)) {
    EXPECT_NE(row.contraction.find("->"), std::string::npos) << long_text;
  }
}

TEST(Explain, ProgramDetailAppendsTheLoweredProgram) {
  const Plan plan("ij,jk,kl->il", {f64({2, 3}), f64({3, 4}), f64({4, 5})}, host_options());
  const std::string summary = plan.explain();
  const std::string program = plan.explain(ExplainDetail::program);
  EXPECT_EQ(summary, plan.explain(ExplainDetail::summary));
  EXPECT_EQ(summary.find("program:"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("[step 0]"), std::string::npos) << summary;
  EXPECT_EQ(program.rfind(summary, 0), 0u) << program;
  EXPECT_NE(program.find("program:"), std::string::npos) << program;
  EXPECT_NE(program.find("0. [step 0] gemm"), std::string::npos) << program;
  EXPECT_NE(program.find("t0: "), std::string::npos) << program;  // a buffer line
}

TEST(Explain, DetailNamesParseAndRoundTrip) {
  for (ExplainDetail detail : {ExplainDetail::summary, ExplainDetail::program}) {
    EXPECT_EQ(explain_detail_from_string(to_string(detail)), detail);
  }
  try {
    (void)explain_detail_from_string("full");
    ADD_FAILURE() << "no throw";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'full'"), std::string::npos) << message;
    EXPECT_NE(message.find("'summary' or 'program'"), std::string::npos) << message;
  }
}

TEST(Explain, MovedFromPlanThrowsAtEveryDetail) {
  Plan first("i->", {f64({3})});
  const Plan second = std::move(first);
  const Plan& moved = first;  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_THROW((void)moved.explain(), Error);
  EXPECT_THROW((void)moved.explain(ExplainDetail::program), Error);
  EXPECT_NE(second.explain().find("i->"), std::string::npos);
}

}  // namespace
}  // namespace einstream
