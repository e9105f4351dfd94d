// execute_distributed under mpirun (ctest runs it on 3 ranks): every rank
// builds the same Plan on the same inputs (seeded), the shares are summed
// over the ranks, and the root's (or every rank's) result matches the
// reference executor.
#include "einstream/mpi.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "einstream/devices.hpp"
#include "einstream/nccl_ranks.hpp"
#include "planner/parse.hpp"
#include "src/device_memory.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/differential.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

int rank_of() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int rank_count() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

struct Distributed {
  double error = 0;          // on the ranks that received the result
  std::int64_t blocks = 0;   // the plan's (execute() on this rank)
  std::string reduced_with;  // DistributedTimes::reduced_with
};

Distributed run_distributed(const std::string& expression,
                            const std::vector<std::vector<std::int64_t>>& shapes, DataType dtype,
                            const Options& options, Scalar alpha, Scalar beta, int root,
                            bool all_ranks, unsigned seed, bool device_output = false) {
  std::mt19937 random(seed);  // the same on every rank: the same inputs
  const testing::RandomOperands operands = testing::random_operands(shapes, dtype, random);
  const std::vector<const void*>& pointers = operands.pointers;
  Plan plan(expression, operands.descs, options);
  const std::int64_t count = plan.output().element_count();
  std::vector<unsigned char> actual = testing::random_tensor(dtype, count, random);
  const std::vector<unsigned char> initial = actual;
  DistributedTimes times;
  if (device_output) {
    // The result lands in device memory on every rank.
    detail::DeviceAllocation output(actual.size(), options.device);
    output.copy_from_host(actual.data(), actual.size());
    execute_distributed(plan, MPI_COMM_WORLD, pointers, output.get(), alpha, beta, root, all_ranks,
                        &times);
    output.copy_to_host(actual.data(), actual.size());
  } else {
    execute_distributed(plan, MPI_COMM_WORLD, pointers, actual.data(), alpha, beta, root, all_ranks,
                        &times);
  }
  Distributed result;
  result.reduced_with = times.reduced_with;
  std::vector<unsigned char> scratch = initial;
  plan.execute(pointers, scratch.data(), alpha, beta);
  result.blocks = plan.last_report().blocks;
  if (all_ranks || rank_of() == root) {
    const std::vector<unsigned char> expected =
        testing::reference_result(expression, operands, plan.output(), initial, alpha, beta);
    const double bound = testing::terms_bound(expression, operands.descs, pointers, plan.output(),
                                              initial.data(), alpha, beta);
    result.error =
        testing::error_against_reference(dtype, actual.data(), expected.data(), count, bound);
  }
  return result;
}

// A device budget that slices `expression` into a few blocks: an eighth of
// the way from the least budget (tiny, many blocks) up to the least
// unsliced one. Rank 0's is everyone's, so every rank plans the same
// blocks; 0 on every rank when any rank's needs make no sense, so the
// ranks fail together (a rank that left a test alone would leave the
// others waiting in a collective). Collective.
std::uint64_t sliced_budget_of_rank_zero(const std::string& expression,
                                         const std::vector<TensorDesc>& descs,
                                         const TensorDesc& output, const Options& options) {
  const testing::DeviceNeeds needs = testing::device_needs(expression, descs, output, options);
  const bool sane = needs.least > 0 && needs.whole > needs.least;
  unsigned long long budget = sane ? needs.least + (needs.whole - needs.least) / 8 : 0;
  MPI_Bcast(&budget, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  int mine = sane ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1 ? budget : 0;
}

Options host_with_limit(std::uint64_t bytes) {
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(bytes);
  return options;
}

TEST(Distributed, SlicedPlansSumOverRanks) {
  for (DataType dtype : testing::kDataTypes) {
    for (int root : {0, rank_count() - 1}) {
      SCOPED_TRACE(std::string(to_string(dtype)) + ", root " + std::to_string(root));
      const Distributed run = run_distributed("ab,bc,cd->ad", {{40, 30}, {30, 50}, {50, 20}}, dtype,
                                              host_with_limit(8 << 10), 0.5, -1.5, root, false, 11);
      EXPECT_LE(run.error, testing::tolerance(dtype));
      EXPECT_GT(run.blocks, 3);
      EXPECT_EQ(run.reduced_with, "mpi");  // host plans: NCCL needs a GPU per rank
    }
  }
  // The result on every rank; a full contraction whose one output element's
  // sum is split over the ranks.
  EXPECT_LE(run_distributed("ij,ij->", {{64, 64}, {64, 64}}, DataType::f64,
                            host_with_limit(4 << 10), 2.0, 0.25, 0, true, 12)
                .error,
            testing::tolerance(DataType::f64));
}

TEST(Distributed, RandomProblemsMatchTheReference) {
  for (unsigned seed = 0; seed < 30; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 8;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    try {
      const Distributed run =
          run_distributed(problem.expression, problem.shapes, dtype,
                          host_with_limit(std::uint64_t{512} << (seed % 4)), 1.0, 0.5,
                          static_cast<int>(seed) % rank_count(), seed % 2 == 1, 100 + seed);
      EXPECT_LE(run.error, testing::tolerance(dtype));
    } catch (const MemoryError&) {
      // under the smallest block: every rank's Plan refuses it alike
    }
  }
}

// On a GPU machine the ranks share the device(s): each rank's share of a
// plan sliced under a small device budget runs on the CUDA backend, and the
// shares sum to the reference (issue 13: two ranks sharing one GPU). Then
// rank 0 runs two pipelines (Options::devices) and the others one each:
// every device of every rank is a worker. Each case also sums into a
// device output.
TEST(Distributed, CudaSharesSumOverRanks) {
  const std::vector<DeviceInfo> gpus = devices();
  if (gpus.empty()) GTEST_SKIP() << "no GPU visible: the CUDA shares are run on a GPU machine";
  const std::string expression = "ab,bc,cd->ad";
  // Small enough that each rank's naive reference (every index combination,
  // 120 x 80 x 200 x 60) takes well under a second: at 300 x 200 x 500 x 100
  // it took tens of seconds per case on two ranks sharing a machine, which
  // read as a hang.
  const std::vector<std::vector<std::int64_t>> shapes = {{120, 80}, {80, 200}, {200, 60}};
  for (const auto& [dtype, root_devices] : std::vector<std::pair<DataType, int>>{
           {DataType::f32, 1}, {DataType::f64, 1}, {DataType::f64, 2}}) {
    Options options;
    options.backend = Backend::cuda;
    options.device = rank_of() % static_cast<int>(gpus.size());
    if (rank_of() == 0 && root_devices > 1) {
      options.devices.assign(static_cast<std::size_t>(root_devices), options.device);
    }
    std::vector<TensorDesc> descs;
    for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
    const std::uint64_t budget =
        sliced_budget_of_rank_zero(expression, descs, TensorDesc(dtype, {120, 60}), options);
    ASSERT_GT(budget, 0u) << "a rank's least device budget or least unsliced budget made no "
                             "sense (a 1-byte budget accepted, or nothing to slice)";
    options.memory_limit = MemoryLimit::from_bytes(budget);
    SCOPED_TRACE(std::string(to_string(dtype)) + ", budget " + std::to_string(budget) + ", " +
                 std::to_string(root_devices) + " pipeline(s) on rank 0");
    const Distributed run =
        run_distributed(expression, shapes, dtype, options, 1.5, -0.5, 0, true, 21);
    EXPECT_LE(run.error, testing::tolerance(dtype));
    EXPECT_GT(run.blocks, 1);
    // The same into a device output on every rank.
    EXPECT_LE(
        run_distributed(expression, shapes, dtype, options, 1.5, -0.5, 0, true, 22, true).error,
        testing::tolerance(dtype));
  }
}

// Every rank on a GPU of its own (rank r on device r): the partials are
// summed on the GPUs with NCCL (reduced_with "nccl"; the halves with MPI,
// which sums them in float), onto the root and onto all, into host and
// device outputs, and match the reference. Skipped on every rank alike
// where some rank lacks NCCL or a GPU of its own. On an N-GPU machine:
// mpirun -np N build/tests/einstream_mpi_tests --gtest_filter='*Nccl*'
TEST(Distributed, NcclSumsOneGpuPerRank) {
  const int ranks = rank_count();
  int mine = detail::nccl_built() && static_cast<int>(devices().size()) >= ranks ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (all == 0) {
    GTEST_SKIP() << "needs NCCL in the build and at least " << ranks
                 << " GPUs visible to every rank (rank r on device r); here NCCL is "
                 << (detail::nccl_built() ? "built" : "not built") << " and " << devices().size()
                 << " GPU(s) are visible";
  }
  Options options;
  options.backend = Backend::cuda;
  options.device = rank_of();
  const auto expected_path = [](DataType dtype) {
    return is_half_precision(dtype) ? "mpi" : "nccl";
  };
  // A sliced problem (every rank has blocks), each dtype, root 0 and the
  // last rank, then all ranks; host then device outputs.
  const std::string expression = "ab,bc,cd->ad";
  const std::vector<std::vector<std::int64_t>> shapes = {{120, 80}, {80, 200}, {200, 60}};
  for (DataType dtype : testing::kDataTypes) {
    std::vector<TensorDesc> descs;
    for (const auto& shape : shapes) descs.emplace_back(dtype, shape);
    const std::uint64_t budget =
        sliced_budget_of_rank_zero(expression, descs, TensorDesc(dtype, {120, 60}), options);
    ASSERT_GT(budget, 0u) << "a rank's least device budget or least unsliced budget made no "
                             "sense (a 1-byte budget accepted, or nothing to slice)";
    Options sliced = options;
    sliced.memory_limit = MemoryLimit::from_bytes(budget);
    for (const auto& [root, all_ranks] :
         std::vector<std::pair<int, bool>>{{0, false}, {ranks - 1, false}, {0, true}}) {
      for (bool device_output : {false, true}) {
        SCOPED_TRACE(std::string(to_string(dtype)) + ", root " + std::to_string(root) +
                     (all_ranks ? ", all ranks" : "") +
                     (device_output ? ", device output" : ", host output"));
        const Distributed run = run_distributed(expression, shapes, dtype, sliced, 1.5, -0.5, root,
                                                all_ranks, 31, device_output);
        EXPECT_EQ(run.reduced_with, expected_path(dtype));
        EXPECT_LE(run.error, testing::tolerance(dtype));
      }
    }
  }
  // Random problems, unsliced (worker 0 has the one block, the others
  // sum zeros), in every dtype.
  for (unsigned seed = 0; seed < 18; ++seed) {
    std::mt19937 random(seed);
    testing::RandomProblemLimits limits;
    limits.max_extent = 8;
    const testing::RandomProblem problem = testing::random_problem(random, limits);
    const DataType dtype = testing::kDataTypes[seed % testing::kDataTypeCount];
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression + ", " +
                 to_string(dtype));
    const Distributed run =
        run_distributed(problem.expression, problem.shapes, dtype, options, 1.0, 0.5,
                        static_cast<int>(seed) % ranks, seed % 2 == 1, 200 + seed, seed % 3 == 0);
    if (!run.reduced_with.empty()) {
      EXPECT_EQ(run.reduced_with, expected_path(dtype));
    }
    EXPECT_LE(run.error, testing::tolerance(dtype));
  }
}

// One rank's failure reaches every rank as an Error naming it; none hangs.
TEST(Distributed, OneRanksFailureIsEveryRanksError) {
  Plan plan("ij,jk->ik", {TensorDesc(DataType::f32, {4, 3}), TensorDesc(DataType::f32, {3, 5})},
            host_with_limit(1 << 20));
  std::vector<float> a(12, 1.0f), b(15, 1.0f), c(20, 0.0f);
  std::vector<const void*> inputs = {a.data(), b.data()};
  if (rank_of() == 1) inputs.pop_back();  // rank 1 passes one input too few
  try {
    execute_distributed(plan, MPI_COMM_WORLD, inputs, c.data());
    ADD_FAILURE() << "no error on rank " << rank_of();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("rank 1 of"), std::string::npos) << error.what();
  }
  // The root's null output is refused on every rank too.
  EXPECT_THROW(execute_distributed(plan, MPI_COMM_WORLD, {a.data(), b.data()},
                                   rank_of() == 0 ? nullptr : c.data()),
               Error);
  // A moved-from Plan on one rank (its output() and pipelines() throw
  // before any collective) fails every rank, not a hang.
  Plan copy("ij,jk->ik", {TensorDesc(DataType::f32, {4, 3}), TensorDesc(DataType::f32, {3, 5})},
            host_with_limit(1 << 20));
  if (rank_of() == rank_count() - 1) Plan taken(std::move(copy));
  try {
    execute_distributed(copy, MPI_COMM_WORLD, {a.data(), b.data()}, c.data());
    ADD_FAILURE() << "no error on rank " << rank_of();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("rank " + std::to_string(rank_count() - 1) + " of"),
              std::string::npos)
        << error.what();
  }
  // Afterwards the communicator still works.
  execute_distributed(plan, MPI_COMM_WORLD, {a.data(), b.data()}, c.data());
  if (rank_of() == 0) {
    EXPECT_FLOAT_EQ(c[0], 3.0f);
  }
}

}  // namespace

// The failures of a rank other than 0 (whose gtest printer is off), on
// stderr with the rank and the test.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::fprintf(stderr, "[rank %d] %s.%s: %s:%d: %s\n", rank_,
                 test != nullptr ? test->test_suite_name() : "?",
                 test != nullptr ? test->name() : "?",
                 result.file_name() != nullptr ? result.file_name() : "?", result.line_number(),
                 result.message());
  }

 private:
  int rank_;
};

}  // namespace einstream

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints gtest's progress; the other ranks print their
  // failures, each line naming the rank.
  if (einstream::rank_of() != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new einstream::FailurePrinter(einstream::rank_of()));
  }
  const int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
