// Plans used from several threads at once: separate Plans executing
// concurrently on the host backend (whole and sliced), and one Plan read by
// many threads. scripts/sanitize.sh runs these under ThreadSanitizer, where a
// data race in planning, execution or the read-only accessors fails the run.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::tolerance;

constexpr int kThreads = 4;
constexpr int kExecutionsPerThread = 3;

struct Case {
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  DataType dtype;
  std::uint64_t memory_limit_bytes;  // 0: the whole problem at once
};

// One per thread: different expressions, dtypes and slicing.
const Case kCases[kThreads] = {
    {"ij,jk->ik", {{24, 18}, {18, 20}}, DataType::f64, 0},
    {"abc,cd,dbe->ae", {{6, 5, 7}, {7, 4}, {4, 5, 6}}, DataType::f32, 8 * 1024},
    {"bij,bjk->bik", {{3, 8, 6}, {3, 6, 5}}, DataType::c128, 16 * 1024},
    {"ii,ij->j", {{9, 9}, {9, 11}}, DataType::c64, 0},
};

struct Operands {
  std::vector<TensorDesc> descs;
  std::vector<std::vector<unsigned char>> data;
  std::vector<const void*> pointers;
};

Operands random_operands(const Case& problem, std::mt19937& random) {
  Operands operands;
  for (const auto& shape : problem.shapes) {
    operands.descs.emplace_back(problem.dtype, shape);
    operands.data.push_back(
        random_tensor(problem.dtype, operands.descs.back().element_count(), random));
  }
  for (const auto& tensor : operands.data) operands.pointers.push_back(tensor.data());
  return operands;
}

std::vector<unsigned char> reference_output(const Case& problem, const Operands& operands,
                                            const TensorDesc& output) {
  std::vector<detail::ReferenceInput> inputs;
  for (std::size_t operand = 0; operand < operands.data.size(); ++operand) {
    inputs.push_back(
        {operands.pointers[operand], problem.dtype, operands.descs[operand].effective_strides()});
  }
  std::vector<unsigned char> expected(output.element_count() * size_of(problem.dtype));
  detail::reference_einsum(detail::parse(problem.expression, problem.shapes), inputs,
                           {expected.data(), problem.dtype, output.effective_strides()});
  return expected;
}

Options host_options(std::uint64_t memory_limit_bytes) {
  Options options;
  options.backend = Backend::host;
  if (memory_limit_bytes != 0) options.memory_limit = MemoryLimit::from_bytes(memory_limit_bytes);
  return options;
}

// Plans, executes kExecutionsPerThread times and checks every result; returns
// what went wrong, or an empty string.
std::string plan_and_check(const Case& problem, unsigned seed) {
  std::mt19937 random(seed);
  const Operands operands = random_operands(problem, random);
  try {
    Plan plan(problem.expression, operands.descs, host_options(problem.memory_limit_bytes));
    const std::vector<unsigned char> expected = reference_output(problem, operands, plan.output());
    const std::int64_t count = plan.output().element_count();
    for (int execution = 0; execution < kExecutionsPerThread; ++execution) {
      std::vector<unsigned char> actual(expected.size());
      plan.execute(operands.pointers, actual.data());
      const double error = relative_error(problem.dtype, actual.data(), expected.data(), count);
      if (error > tolerance(problem.dtype)) {
        return problem.expression + " (seed " + std::to_string(seed) + "): execution " +
               std::to_string(execution) + " has relative error " + std::to_string(error);
      }
    }
  } catch (const Error& error) {
    return problem.expression + " (seed " + std::to_string(seed) + "): " + error.what();
  }
  return {};
}

TEST(Concurrency, PlansOnSeveralThreadsExecuteLikeTheReference) {
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&failures, thread] {
      failures[thread] = plan_and_check(kCases[thread], 100 + static_cast<unsigned>(thread));
    });
  }
  for (auto& thread : threads) thread.join();
  for (int thread = 0; thread < kThreads; ++thread) {
    EXPECT_EQ(failures[thread], "") << "thread " << thread;
  }
}

TEST(Concurrency, SharedPlanAnswersExplainAndPathFromEveryThread) {
  const Case problem = kCases[1];  // sliced, so explain() has the most to say
  std::mt19937 random(7);
  const Operands operands = random_operands(problem, random);
  Plan plan(problem.expression, operands.descs, host_options(problem.memory_limit_bytes));
  const Plan& shared = plan;
  const std::string explained = shared.explain();
  const PathInfo path = shared.path();
  const std::vector<std::int64_t> output_extents = shared.output().extents;
  const std::uint64_t workspace = shared.workspace_bytes();

  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        if (shared.explain() != explained) ++mismatches[thread];
        if (shared.path().path != path.path || shared.path().flops != path.flops) {
          ++mismatches[thread];
        }
        if (shared.output().extents != output_extents) ++mismatches[thread];
        if (shared.workspace_bytes() != workspace) ++mismatches[thread];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int thread = 0; thread < kThreads; ++thread) {
    EXPECT_EQ(mismatches[thread], 0) << "thread " << thread;
  }

  // Reading it from many threads left the plan as it was: it still computes
  // the right result.
  const std::vector<unsigned char> expected = reference_output(problem, operands, plan.output());
  std::vector<unsigned char> actual(expected.size());
  plan.execute(operands.pointers, actual.data());
  EXPECT_LE(
      relative_error(problem.dtype, actual.data(), expected.data(), plan.output().element_count()),
      tolerance(problem.dtype));
}

}  // namespace
}  // namespace einstream
