// Slicing chosen with the path (planner/slice_finder, planner/slice_path):
// random networks under caps fit them, cost what an independent count of
// their blocks says, still compute the reference's result, and beat slicing
// a fixed path where reconfiguring pays.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/lower.hpp"
#include "planner/path.hpp"
#include "planner/slice.hpp"
#include "planner/slice_finder.hpp"
#include "planner/slice_path.hpp"
#include "src/host/block_executor.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::detail {
namespace {

// A random network: `operands` tensors on a random graph of about `degree`
// edges per vertex (the configuration model, loops dropped, repeated edges
// merged), extents drawn from `bonds`, and `open` of the operands with one
// output mode each (extent 2).
Problem random_network(unsigned seed, int operands, int degree,
                       const std::vector<std::int64_t>& bonds, int open) {
  std::mt19937 random(seed);
  std::vector<int> half_edges;
  for (int vertex = 0; vertex < operands; ++vertex) {
    half_edges.insert(half_edges.end(), degree, vertex);
  }
  std::shuffle(half_edges.begin(), half_edges.end(), random);
  Problem problem;
  problem.inputs.resize(operands);
  auto add_mode = [&](std::int64_t extent, std::vector<int> holders) {
    const Mode mode = problem.mode_count();
    problem.extents.push_back(extent);
    problem.labels.push_back("m" + std::to_string(mode));
    for (int holder : holders) problem.inputs[holder].modes.push_back(mode);
    return mode;
  };
  std::vector<std::pair<int, int>> edges;
  for (std::size_t k = 0; k + 1 < half_edges.size(); k += 2) {
    const std::pair<int, int> edge = std::minmax(half_edges[k], half_edges[k + 1]);
    if (edge.first == edge.second) continue;
    if (std::find(edges.begin(), edges.end(), edge) != edges.end()) continue;
    edges.push_back(edge);
    add_mode(bonds[random() % bonds.size()], {edge.first, edge.second});
  }
  for (int k = 0; k < open; ++k) {
    problem.output.push_back(add_mode(2, {static_cast<int>(random() % operands)}));
  }
  for (ProblemOperand& operand : problem.inputs) {
    operand.rank = static_cast<int>(operand.modes.size());
    for (int axis = 0; axis < operand.rank; ++axis) operand.axes.push_back(axis);
  }
  return problem;
}

Problem with_extents(const Problem& problem, const std::vector<std::int64_t>& extents) {
  Problem block = problem;
  block.extents = extents;
  return block;
}

// Largest result of any step but the last, evaluated on the block problem.
double largest_block_intermediate(const Problem& problem, const SlicedPath& sliced) {
  const ContractionPath path = evaluate_path(with_extents(problem, sliced.blocks), sliced.path);
  double largest = 0;
  for (std::size_t step = 0; step + 1 < path.steps.size(); ++step) {
    largest = std::max(largest, path.steps[step].result_size);
  }
  return largest;
}

// FLOPs of every block, each block's problem evaluated on its own extents
// (edge blocks included): the count find_slices reports, made independently.
double enumerated_flops(const Problem& problem, const SlicedPath& sliced) {
  std::vector<Mode> modes;
  for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
    if (sliced.blocks[mode] < problem.extents[mode]) modes.push_back(mode);
  }
  std::vector<std::int64_t> start(modes.size(), 0);
  double flops = 0;
  while (true) {
    std::vector<std::int64_t> extents = problem.extents;
    for (std::size_t k = 0; k < modes.size(); ++k) {
      extents[modes[k]] = std::min(sliced.blocks[modes[k]], problem.extents[modes[k]] - start[k]);
    }
    flops += evaluate_path(with_extents(problem, extents), sliced.path).flops;
    std::size_t k = 0;
    for (; k < modes.size(); ++k) {
      start[k] += sliced.blocks[modes[k]];
      if (start[k] < problem.extents[modes[k]]) break;
      start[k] = 0;
    }
    if (k == modes.size()) return flops;
  }
}

SliceFinderOptions finder_options(double cap) {
  SliceFinderOptions options;
  options.memory_cap = cap;
  options.trials = 8;
  options.seconds = 0;  // trial counts, not time, end these searches
  return options;
}

constexpr double kMostBlocksCounted = 4096;

TEST(SliceFinder, RandomNetworksFitTheCapAndCostWhatTheirBlocksCost) {
  int sliced_cases = 0;
  int counted_cases = 0;
  for (unsigned seed = 0; seed < 24; ++seed) {
    const Problem problem = random_network(seed, 14 + static_cast<int>(seed % 3) * 4, 3,
                                           {2, 3, 4, 6}, static_cast<int>(seed % 3));
    const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
    const double cap = std::max(4.0, path.largest_intermediate / (4 << (seed % 4)));
    const SlicedPath sliced = find_slices(problem, path.linear(), finder_options(cap));
    SCOPED_TRACE("seed " + std::to_string(seed) + ", cap " + std::to_string(cap));
    ASSERT_TRUE(sliced.fits);
    EXPECT_LE(largest_block_intermediate(problem, sliced), cap);
    EXPECT_DOUBLE_EQ(sliced.largest_intermediate, largest_block_intermediate(problem, sliced));
    // Slicing never saves work on the path the blocks run.
    EXPECT_GE(sliced.flops, evaluate_path(problem, sliced.path).flops * (1 - 1e-12));
    double blocks = 1;
    for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
      blocks *= static_cast<double>((problem.extents[mode] + sliced.blocks[mode] - 1) /
                                    sliced.blocks[mode]);
    }
    // The count block by block, where the blocks are few enough to walk.
    if (blocks <= kMostBlocksCounted) {
      const double counted = enumerated_flops(problem, sliced);
      EXPECT_NEAR(sliced.flops, counted, counted * 1e-12);
      const double unsliced = std::min(path.flops, evaluate_path(problem, sliced.path).flops);
      EXPECT_NEAR(sliced.overhead(), counted / unsliced, 1e-12 * counted / unsliced);
      ++counted_cases;
    }
    EXPECT_DOUBLE_EQ(sliced.unsliced_flops,
                     std::min(path.flops, evaluate_path(problem, sliced.path).flops));
    EXPECT_GE(sliced.overhead(), 1 - 1e-12);
    if (sliced.blocks != problem.extents) ++sliced_cases;
  }
  EXPECT_GE(sliced_cases, 20);
  EXPECT_GE(counted_cases, 16);
}

TEST(SliceFinder, APathThatFitsIsReturnedUnsliced) {
  const Problem problem = random_network(3, 12, 3, {2, 3}, 1);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const SlicedPath sliced =
      find_slices(problem, path.linear(), finder_options(path.largest_intermediate));
  EXPECT_TRUE(sliced.fits);
  EXPECT_EQ(sliced.blocks, problem.extents);
  EXPECT_EQ(sliced.path, path.linear());
  EXPECT_DOUBLE_EQ(sliced.overhead(), 1.0);
}

TEST(SliceFinder, ACapNoSlicingReachesIsReported) {
  // Every intermediate holds at least one element: a cap under one cannot
  // be met.
  const Problem problem = random_network(5, 10, 3, {4}, 0);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const SlicedPath sliced = find_slices(problem, path.linear(), finder_options(0.5));
  EXPECT_FALSE(sliced.fits);
  EXPECT_GT(sliced.largest_intermediate, 0.5);
  EXPECT_THROW(find_slices(problem, path.linear(), finder_options(0)), Error);
}

TEST(SliceFinder, AnEmptyProblemIsLeftUnsliced) {
  Problem problem = random_network(6, 12, 3, {4}, 1);
  problem.extents[0] = 0;
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  const SlicedPath sliced = find_slices(problem, path.linear(), finder_options(1));
  EXPECT_EQ(sliced.blocks, problem.extents);
  EXPECT_EQ(sliced.flops, path.flops);
  EXPECT_EQ(sliced_flops(problem, path.linear(), problem.extents), path.flops);
}

TEST(SliceFinder, EqualSeedsGiveEqualSlices) {
  const Problem problem = random_network(11, 40, 3, {2, 3}, 0);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  SliceFinderOptions options = finder_options(path.largest_intermediate / 64);
  options.seed = 17;
  const SlicedPath first = find_slices(problem, path.linear(), options);
  const SlicedPath second = find_slices(problem, path.linear(), options);
  EXPECT_EQ(first.path, second.path);
  EXPECT_EQ(first.blocks, second.blocks);
  EXPECT_EQ(first.flops, second.flops);
  EXPECT_FALSE(first.stopped_at_budget);
}

TEST(SliceFinder, TheTimeBudgetStopsIt) {
  const Problem problem = random_network(2, 200, 3, {2}, 0);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  SliceFinderOptions options = finder_options(path.largest_intermediate / 256);
  options.trials = 1000;
  options.seconds = 1e-6;
  const SlicedPath sliced = find_slices(problem, path.linear(), options);
  EXPECT_TRUE(sliced.stopped_at_budget);
  // Stopped, it still slices until the cap fits.
  EXPECT_TRUE(sliced.fits);
  EXPECT_LE(largest_block_intermediate(problem, sliced), options.memory_cap);
}

// Slicing after the path (the fixed tree, as slicing worked before the
// finder) against slicing with it. With the tree reconfigured under the
// slices the result is never dearer, and on these networks it is cheaper.
TEST(SliceFinder, SlicingWithThePathBeatsSlicingAfterIt) {
  int cheaper = 0;
  for (unsigned seed = 0; seed < 8; ++seed) {
    const Problem problem = random_network(100 + seed, 60, 3, {2}, 0);
    const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
    SliceFinderOptions options = finder_options(path.largest_intermediate / 64);
    options.reconfigure = false;
    const SlicedPath after = find_slices(problem, path.linear(), options);
    options.reconfigure = true;
    const SlicedPath with = find_slices(problem, path.linear(), options);
    ASSERT_TRUE(after.fits && with.fits);
    EXPECT_LE(with.flops, after.flops) << "seed " << seed;
    std::printf("seed %u: sliced FLOPs after the path / with it: %.2f\n", seed,
                after.flops / with.flops);
    if (with.flops < 0.9 * after.flops) ++cheaper;
  }
  EXPECT_GE(cheaper, 6);
}

// The strides of a C-order tensor of these modes' extents.
std::vector<std::int64_t> c_order(const Problem& problem, const std::vector<Mode>& modes) {
  std::vector<std::int64_t> strides(modes.size(), 1);
  for (std::size_t k = modes.size(); k-- > 1;) {
    strides[k - 1] = strides[k] * problem.extents[modes[k]];
  }
  return strides;
}

// Runs `slice` on `path` with the host block executor; compares with the
// reference on the same random f64 data.
double error_against_reference(const Problem& problem, const ContractionPath& path,
                               const SlicePlan& slice, std::mt19937& random) {
  std::vector<TensorDesc> descs;
  std::vector<std::vector<std::int64_t>> strides;
  std::vector<std::vector<unsigned char>> data;
  std::vector<const void*> pointers;
  std::vector<ReferenceInput> reference_inputs;
  for (const ProblemOperand& operand : problem.inputs) {
    std::vector<std::int64_t> extents;
    for (Mode mode : operand.modes) extents.push_back(problem.extents[mode]);
    descs.emplace_back(DataType::f64, extents);
    strides.push_back(c_order(problem, operand.modes));
    data.push_back(testing::random_tensor(DataType::f64, descs.back().element_count(), random));
    pointers.push_back(data.back().data());
  }
  for (std::size_t k = 0; k < data.size(); ++k) {
    reference_inputs.push_back({data[k].data(), DataType::f64, strides[k]});
  }
  const TensorDesc output(DataType::f64, problem.output_extents());
  const std::vector<std::int64_t> output_strides = c_order(problem, problem.output);
  HostBlockExecutor executor(problem, DataType::f64, strides, output_strides, slice,
                             host_block_shapes(problem, path, slice, descs, output));
  std::vector<unsigned char> actual(static_cast<std::size_t>(output.element_count()) * 8);
  std::vector<unsigned char> expected = actual;
  ExecutionReport report;
  executor.run(pointers, actual.data(), 1.0, 0.0, false, report);
  reference_einsum(problem, reference_inputs, {expected.data(), DataType::f64, output_strides});
  return testing::relative_error(DataType::f64, actual.data(), expected.data(),
                                 output.element_count());
}

TEST(SliceFinder, SlicedNetworksMatchTheReferenceOnTheHostBackend) {
  for (unsigned seed = 0; seed < 10; ++seed) {
    const Problem problem = random_network(200 + seed, 9, 3, {2, 3, 4}, 1 + seed % 2);
    const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
    const SlicedPath sliced =
        find_slices(problem, path.linear(), finder_options(path.largest_intermediate / 8));
    ASSERT_TRUE(sliced.fits);
    ASSERT_NE(sliced.blocks, problem.extents);
    const ContractionPath chosen = evaluate_path(problem, sliced.path);
    std::vector<std::vector<std::int64_t>> strides;
    for (const ProblemOperand& operand : problem.inputs) {
      strides.push_back(c_order(problem, operand.modes));
    }
    SliceOptions options;
    options.budget = std::uint64_t{1} << 40;
    const SlicePlan slice =
        evaluate_slices(problem, chosen, DataType::f64, strides, c_order(problem, problem.output),
                        options, sliced.blocks);
    EXPECT_GT(slice.block_count, 1);
    EXPECT_NEAR(slice.flops, sliced.flops, 1e-9 * sliced.flops);
    std::mt19937 random(seed);
    EXPECT_LE(error_against_reference(problem, chosen, slice, random),
              testing::tolerance(DataType::f64))
        << "seed " << seed;
  }
}

// plan_path_and_slices under budgets the unsliced problem exceeds: its plan
// fits, is no slower than slicing the fixed path, reports its overhead
// against the given path, and computes the reference's result.
TEST(SlicePath, BudgetsUnderTheWholeProblemGetAFittingPlanNoSlowerThanTheFixedPath) {
  int planned = 0;
  for (unsigned seed = 0; seed < 8; ++seed) {
    const Problem problem = random_network(300 + seed, 8, 3, {3, 4}, 1);
    const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
    std::vector<std::vector<std::int64_t>> strides;
    for (const ProblemOperand& operand : problem.inputs) {
      strides.push_back(c_order(problem, operand.modes));
    }
    const std::vector<std::int64_t> output_strides = c_order(problem, problem.output);
    SliceOptions options;
    options.budget = std::uint64_t{1} << 40;
    const SlicePlan whole = evaluate_slices(problem, path, DataType::f64, strides, output_strides,
                                            options, problem.extents);
    // Between the least budget slicing the fixed path reaches (from its
    // MemoryError at one byte) and the whole problem's.
    options.budget = 1;
    std::uint64_t least = 0;
    try {
      plan_slices(problem, path, DataType::f64, strides, output_strides, options);
    } catch (const MemoryError& error) {
      least = error.bytes_needed();
    }
    if (least == 0 || least >= whole.device_bytes) continue;
    options.budget = least + (whole.device_bytes - least) / 4;
    SlicePathOptions finder;
    finder.seconds = 0;
    finder.seed = seed;
    SlicePlan fixed;
    try {
      fixed = plan_slices(problem, path, DataType::f64, strides, output_strides, options);
    } catch (const MemoryError&) {
      ADD_FAILURE() << "seed " << seed << ": no plan at " << options.budget << " bytes";
      continue;
    }
    const PathSlices chosen = plan_path_and_slices(problem, path, DataType::f64, strides,
                                                   output_strides, options, finder);
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_LE(chosen.slice.device_bytes, options.budget);
    // SlicePlan::seconds is the time model's prediction, not a measured time:
    // the chosen plan is never predicted slower than slicing the fixed path.
    EXPECT_LE(chosen.slice.seconds, fixed.seconds);
    const double unsliced = std::min(path.flops, chosen.path.flops);
    EXPECT_DOUBLE_EQ(chosen.slice.unsliced_flops, unsliced);
    EXPECT_DOUBLE_EQ(chosen.slice.overhead(), chosen.slice.flops / unsliced);
    EXPECT_GE(chosen.slice.overhead(), 1 - 1e-12);
    EXPECT_FALSE(chosen.slice.stopped_at_budget);  // no time limit
    std::mt19937 random(seed);
    EXPECT_LE(error_against_reference(problem, chosen.path, chosen.slice, random),
              testing::tolerance(DataType::f64));
    ++planned;
  }
  EXPECT_GE(planned, 4);
}

// The public path: a host Plan under a byte budget below the whole
// problem's plans its slices with the path (or a path that fits whole) and
// still computes the reference's result. Small networks: the reference
// loops over every mode at once.
TEST(SlicePath, HostPlansUnderAByteBudgetMatchTheReference) {
  int sliced = 0;
  for (unsigned seed = 0; seed < 6; ++seed) {
    const Problem problem = random_network(400 + seed, 8, 3, {3, 4}, 1);
    std::vector<std::vector<std::int64_t>> input_modes;
    std::vector<TensorDesc> descs;
    std::vector<std::vector<std::int64_t>> strides;
    for (const ProblemOperand& operand : problem.inputs) {
      input_modes.emplace_back(operand.modes.begin(), operand.modes.end());
      std::vector<std::int64_t> extents;
      for (Mode mode : operand.modes) extents.push_back(problem.extents[mode]);
      descs.emplace_back(DataType::f64, extents);
      strides.push_back(c_order(problem, operand.modes));
    }
    const std::vector<std::int64_t> output_modes(problem.output.begin(), problem.output.end());
    Options options;
    options.backend = Backend::host;
    options.path_seed = seed;
    const Plan unlimited(input_modes, output_modes, descs, options);
    const ContractionPath path = evaluate_path(problem, unlimited.path().path);
    SliceOptions slicing;
    slicing.budget = std::uint64_t{1} << 40;
    const SlicePlan whole =
        evaluate_slices(problem, path, DataType::f64, strides, c_order(problem, problem.output),
                        slicing, problem.extents);
    // The smallest budget that plans (from the MemoryError of one byte)
    // where it is under the whole problem's.
    options.memory_limit = MemoryLimit::from_bytes(1);
    std::uint64_t least = 0;
    try {
      Plan too_small(input_modes, output_modes, descs, options);
    } catch (const MemoryError& error) {
      least = error.bytes_needed();
    }
    if (least == 0 || least >= whole.device_bytes) continue;
    options.memory_limit = MemoryLimit::from_bytes(least + (whole.device_bytes - least) / 4);
    const auto plan = std::make_unique<Plan>(input_modes, output_modes, descs, options);
    std::mt19937 random(seed);
    std::vector<std::vector<unsigned char>> data;
    std::vector<const void*> pointers;
    std::vector<ReferenceInput> reference_inputs;
    for (std::size_t k = 0; k < descs.size(); ++k) {
      data.push_back(testing::random_tensor(DataType::f64, descs[k].element_count(), random));
      pointers.push_back(data.back().data());
      reference_inputs.push_back({data.back().data(), DataType::f64, strides[k]});
    }
    const std::int64_t count = plan->output().element_count();
    std::vector<unsigned char> actual(static_cast<std::size_t>(count) * 8);
    std::vector<unsigned char> expected = actual;
    plan->execute(pointers, actual.data());
    reference_einsum(problem, reference_inputs,
                     {expected.data(), DataType::f64, c_order(problem, problem.output)});
    EXPECT_LE(testing::relative_error(DataType::f64, actual.data(), expected.data(), count),
              testing::tolerance(DataType::f64))
        << "seed " << seed << "\n"
        << plan->explain();
    ++sliced;
  }
  EXPECT_GE(sliced, 4);
}

TEST(SlicePath, TheFindersTimeBudgetIsReportedOnTheSlicePlan) {
  const Problem problem = random_network(9, 120, 3, {2, 3}, 0);
  const ContractionPath path = find_path(problem, PathAlgorithm::greedy);
  std::vector<std::vector<std::int64_t>> strides;
  for (const ProblemOperand& operand : problem.inputs) {
    strides.push_back(c_order(problem, operand.modes));
  }
  SliceOptions options;
  options.budget = static_cast<std::uint64_t>(path.largest_intermediate);  // f32: 1/4 of it
  SlicePathOptions finder;
  finder.trials = 1000;
  finder.seconds = 1e-6;
  const PathSlices chosen =
      plan_path_and_slices(problem, path, DataType::f32, strides, {}, options, finder);
  EXPECT_TRUE(chosen.stopped_at_budget);
  EXPECT_TRUE(chosen.slice.stopped_at_budget);
  EXPECT_LE(chosen.slice.device_bytes, options.budget);
}

}  // namespace
}  // namespace einstream::detail
