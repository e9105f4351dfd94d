// Host-side fault injection: every pass through a fault site (a thread-pool
// chunk, a .npy file write) is made to fail in turn, and each failure must
// leave the library as documented: an Error naming the site, inputs
// untouched, no partial or temporary file, the pool and the Plan usable.
//
// The host executor runs a Plan on the calling thread and never uses the
// pool; the pool's users are the block copies (gather_block, scatter_block)
// of the streaming executor, so the pool sweeps run over those.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "src/fault_injection.hpp"
#include "src/staging/block_copy.hpp"
#include "src/staging/thread_pool.hpp"
#include "src/npy.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using detail::FaultInjection;
using detail::FaultSite;
using detail::ThreadPool;

constexpr std::int64_t kCountPasses = std::numeric_limits<std::int64_t>::max();

// Disarms every site when a test ends, pass or fail, so no armed site leaks
// into the next test.
class FaultInjectionTest : public ::testing::Test {
 protected:
  void TearDown() override { FaultInjection::disarm_all(); }
};

// How many times `site` is passed by `operation`.
template <typename Operation>
std::int64_t count_passes(FaultSite site, Operation&& operation) {
  FaultInjection::arm(site, kCountPasses);
  operation();
  const std::int64_t passes = FaultInjection::passes(site);
  FaultInjection::disarm(site);
  return passes;
}

// Runs `operation` with the k-th pass through `site` failing; the Error must
// name the site.
template <typename Operation>
void expect_injected_failure(FaultSite site, std::int64_t k, Operation&& operation) {
  FaultInjection::arm(site, k);
  try {
    operation();
    ADD_FAILURE() << "pass " << k << " through " << detail::to_string(site) << " did not fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(FaultInjection::message(site)), std::string::npos)
        << "pass " << k << ": " << error.what();
  }
  FaultInjection::disarm(site);
}

TEST_F(FaultInjectionTest, AnArmedSiteFailsOnlyItsKthPass) {
  EXPECT_NO_THROW(FaultInjection::check(FaultSite::npy_write));
  FaultInjection::arm(FaultSite::npy_write, 3);
  EXPECT_NO_THROW(FaultInjection::check(FaultSite::npy_write));
  EXPECT_NO_THROW(FaultInjection::check(FaultSite::npy_write));
  EXPECT_THROW(FaultInjection::check(FaultSite::npy_write), Error);
  // One arming, one failure.
  EXPECT_NO_THROW(FaultInjection::check(FaultSite::npy_write));
  EXPECT_EQ(FaultInjection::passes(FaultSite::npy_write), 3);
  // Sites count separately.
  FaultInjection::arm(FaultSite::thread_pool_task, 1);
  EXPECT_NO_THROW(FaultInjection::check(FaultSite::npy_write));
  EXPECT_THROW(FaultInjection::check(FaultSite::thread_pool_task), Error);
  EXPECT_THROW(FaultInjection::arm(FaultSite::npy_write, -1), Error);
}

// Each index of [0, count) must be visited exactly once.
void expect_parallel_for_covers(ThreadPool& pool, std::int64_t count) {
  std::vector<std::atomic<int>> visits(static_cast<std::size_t>(count));
  pool.parallel_for(count, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t index = begin; index < end; ++index) ++visits[index];
  });
  for (std::int64_t index = 0; index < count; ++index) {
    ASSERT_EQ(visits[index].load(), 1) << "index " << index;
  }
}

TEST_F(FaultInjectionTest, EveryFailedPoolChunkReachesTheCallerAndThePoolStaysUsable) {
  ThreadPool pool(4);
  constexpr std::int64_t kCount = 1000;
  const std::int64_t passes =
      count_passes(FaultSite::thread_pool_task, [&] { expect_parallel_for_covers(pool, kCount); });
  EXPECT_EQ(passes, pool.size());
  for (std::int64_t k = 1; k <= passes; ++k) {
    expect_injected_failure(FaultSite::thread_pool_task, k,
                            [&] { pool.parallel_for(kCount, [](std::int64_t, std::int64_t) {}); });
    expect_parallel_for_covers(pool, kCount);
  }
}

TEST_F(FaultInjectionTest, BodiesThrowingOnEveryThreadPropagateTheFirstException) {
  ThreadPool pool(4);
  for (int round = 0; round < 50; ++round) {
    // A non-Error exception from every chunk at once: one reaches the
    // caller, after every chunk finished, and nothing terminates.
    std::atomic<int> finished{0};
    EXPECT_THROW(pool.parallel_for(64,
                                   [&](std::int64_t, std::int64_t) {
                                     ++finished;
                                     throw std::runtime_error("body failed");
                                   }),
                 std::runtime_error);
    EXPECT_EQ(finished.load(), pool.size());
    expect_parallel_for_covers(pool, 64);
  }
}

// A strided view large enough (2 MiB) that the block copies split it over
// the pool.
struct CopyCase {
  std::vector<std::int64_t> extents{64, 32, 128};
  std::vector<std::int64_t> strides{-32 * 256, 256, 2};  // reversed outer axis, gaps
  DataType dtype = DataType::f64;
};

TEST_F(FaultInjectionTest, EveryFailedGatherLeavesItsSourceAndThenSucceeds) {
  ThreadPool pool(4);
  const CopyCase copy;
  std::mt19937 random(16);
  testing::StridedBuffer source =
      testing::strided_buffer(TensorDesc(copy.dtype, copy.extents, copy.strides), random);
  const std::vector<unsigned char> source_before = source.bytes;
  const std::size_t element_bytes = size_of(copy.dtype);
  const std::size_t packed_bytes = 64 * 32 * 128 * element_bytes;
  std::vector<unsigned char> expected(packed_bytes);
  detail::gather_block(source.at_origin(), copy.extents, copy.strides, element_bytes,
                       expected.data(), nullptr);

  std::vector<unsigned char> packed(packed_bytes);
  auto gather = [&] {
    detail::gather_block(source.at_origin(), copy.extents, copy.strides, element_bytes,
                         packed.data(), &pool);
  };
  const std::int64_t passes = count_passes(FaultSite::thread_pool_task, gather);
  ASSERT_GT(passes, 1) << "the gather did not use the pool";
  for (std::int64_t k = 1; k <= passes; ++k) {
    std::fill(packed.begin(), packed.end(), 0);
    expect_injected_failure(FaultSite::thread_pool_task, k, gather);
    EXPECT_EQ(source.bytes, source_before) << "pass " << k;
    gather();
    EXPECT_EQ(packed, expected) << "pass " << k;
  }
}

TEST_F(FaultInjectionTest, EveryFailedScatterLeavesItsSourceAndThenSucceeds) {
  ThreadPool pool(4);
  const CopyCase copy;
  std::mt19937 random(17);
  const std::size_t element_bytes = size_of(copy.dtype);
  const std::int64_t count = 64 * 32 * 128;
  const std::vector<unsigned char> packed = testing::random_tensor(copy.dtype, count, random);
  const TensorDesc view(copy.dtype, copy.extents, copy.strides);
  const testing::StridedBuffer initial = testing::strided_buffer(view, random);
  testing::StridedBuffer expected = initial;
  detail::scatter_block(packed.data(), copy.extents, copy.strides, element_bytes,
                        expected.at_origin(), nullptr);

  testing::StridedBuffer destination = initial;
  auto scatter = [&] {
    detail::scatter_block(packed.data(), copy.extents, copy.strides, element_bytes,
                          destination.at_origin(), &pool);
  };
  const std::int64_t passes = count_passes(FaultSite::thread_pool_task, scatter);
  ASSERT_GT(passes, 1) << "the scatter did not use the pool";
  for (std::int64_t k = 1; k <= passes; ++k) {
    destination = initial;
    const std::vector<unsigned char> packed_before = packed;
    expect_injected_failure(FaultSite::thread_pool_task, k, scatter);
    EXPECT_EQ(packed, packed_before) << "pass " << k;
    // A failed scatter may have written part of its view, never outside it:
    // rerunning it completes the output.
    scatter();
    EXPECT_EQ(destination.bytes, expected.bytes) << "pass " << k;
  }
}

// The host executor runs on the calling thread: a sliced Plan passes through
// no pool site, so a failed pool call elsewhere cannot disturb it. Should the
// host executor start using the pool, this fails and becomes a sweep over k.
TEST_F(FaultInjectionTest, SlicedHostPlanDoesNotUseThePoolAndRunsAfterAPoolFailure) {
  ThreadPool pool(3);
  expect_injected_failure(FaultSite::thread_pool_task, 2,
                          [&] { pool.parallel_for(10, [](std::int64_t, std::int64_t) {}); });
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(8192);
  std::mt19937 random(18);
  std::int64_t passes = 0;
  testing::AgainstReference run;
  passes = count_passes(FaultSite::thread_pool_task, [&] {
    run = testing::plan_against_reference("ij,jk,kl->il", {{24, 20}, {20, 28}, {28, 16}},
                                          DataType::f64, options, {0.5, 0}, {2.0, 0}, random);
  });
  EXPECT_LE(run.error, testing::tolerance(DataType::f64)) << run.explain;
  EXPECT_EQ(run.explain.find("slicing       none"), std::string::npos) << run.explain;
  EXPECT_EQ(passes, 0);
}

// A scratch directory of its own, removed at the end.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              (name + "-" + std::to_string(std::random_device{}()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

std::vector<unsigned char> file_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Sweeps k over every write of write_npy(desc) to a target that exists and
// to one that does not.
void sweep_npy_writes(const TensorDesc& desc, std::mt19937& random, std::int64_t minimum_passes) {
  ScratchDirectory directory("einstream-fault-npy");
  const std::string target = (directory.path() / "out.npy").string();
  const std::string fresh = (directory.path() / "fresh.npy").string();
  testing::StridedBuffer data = testing::strided_buffer(desc, random);
  const std::vector<unsigned char> data_before = data.bytes;
  {
    std::ofstream existing(target, std::ios::binary);
    existing << "what was there before";
  }
  const std::vector<unsigned char> target_before = file_bytes(target);

  const std::int64_t passes =
      count_passes(FaultSite::npy_write, [&] { detail::write_npy(fresh, desc, data.at_origin()); });
  ASSERT_GE(passes, minimum_passes);
  const std::vector<unsigned char> written = file_bytes(fresh);
  std::filesystem::remove(fresh);

  for (std::int64_t k = 1; k <= passes; ++k) {
    expect_injected_failure(FaultSite::npy_write, k,
                            [&] { detail::write_npy(target, desc, data.at_origin()); });
    EXPECT_EQ(file_bytes(target), target_before) << "write " << k;
    expect_injected_failure(FaultSite::npy_write, k,
                            [&] { detail::write_npy(fresh, desc, data.at_origin()); });
    // No temporary file left, and no partial new file.
    EXPECT_EQ(directory.entries(), std::vector<std::string>{"out.npy"}) << "write " << k;
    EXPECT_EQ(data.bytes, data_before) << "write " << k;
  }
  detail::write_npy(target, desc, data.at_origin());
  EXPECT_EQ(file_bytes(target), written);
  const detail::NpyArray read = detail::read_npy(target);
  EXPECT_EQ(read.desc.extents, desc.extents);
}

TEST_F(FaultInjectionTest, EveryFailedNpyWriteLeavesTheTargetAndNoTemporaryFile) {
  std::mt19937 random(19);
  // Contiguous: the header, then the data in one write.
  sweep_npy_writes(TensorDesc(DataType::c64, {3, 5}), random, 2);
  // Strided, 2.5 MiB: the header, then the data gathered in 1 MiB chunks.
  sweep_npy_writes(TensorDesc(DataType::f64, {640, 512}, {-1024, 2}), random, 4);
}

TEST_F(FaultInjectionTest, APlanWhoseOutputWriteFailedExecutesAndWritesAgain) {
  Options options;
  options.backend = Backend::host;
  options.memory_limit = MemoryLimit::from_bytes(4096);
  const std::vector<TensorDesc> inputs{TensorDesc(DataType::f32, {16, 12}),
                                       TensorDesc(DataType::f32, {12, 20})};
  Plan plan("ij,jk->ki", inputs, options);
  std::mt19937 random(20);
  const auto a = testing::random_tensor(DataType::f32, 16 * 12, random);
  const auto b = testing::random_tensor(DataType::f32, 12 * 20, random);
  std::vector<float> first(static_cast<std::size_t>(plan.output().element_count()));
  plan.execute({a.data(), b.data()}, first.data());
  ScratchDirectory directory("einstream-fault-plan");
  const std::string target = (directory.path() / "c.npy").string();
  expect_injected_failure(FaultSite::npy_write, 2,
                          [&] { detail::write_npy(target, plan.output(), first.data()); });
  EXPECT_TRUE(directory.entries().empty());

  std::vector<float> second(first.size());
  plan.execute({a.data(), b.data()}, second.data());
  EXPECT_EQ(second, first);
  detail::write_npy(target, plan.output(), second.data());
  const detail::NpyArray read = detail::read_npy(target);
  ASSERT_EQ(read.data.size(), second.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(read.data.data(), second.data(), read.data.size()), 0);
}

}  // namespace
}  // namespace einstream
