// The choice einstream/mpi.hpp makes between NCCL and MPI for summing the
// ranks' partials, from what each rank knows of itself and the identities
// the ranks allgather: no MPI and no GPU needed.
#include "einstream/nccl_ranks.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "einstream/devices.hpp"
#include "einstream/error.hpp"
#include "src/device_memory.hpp"

namespace einstream::detail {
namespace {

NcclRankCandidate eligible_candidate() {
  NcclRankCandidate candidate;
  candidate.host = "node7";
  candidate.bus_id = "0000:3B:00.0";
  candidate.nccl_built = true;
  candidate.one_cuda_device = true;
  candidate.dtype = DataType::f32;
  candidate.device_partial = true;
  return candidate;
}

TEST(NcclRanks, AnEligibleRankIsItsHostAndBusId) {
  const NcclRankCandidate candidate = eligible_candidate();
  EXPECT_TRUE(nccl_rank_eligible(candidate));
  EXPECT_EQ(nccl_rank_identity(candidate), "node7 0000:3B:00.0");
}

TEST(NcclRanks, EachMissingConditionMakesTheRankIneligible) {
  std::vector<NcclRankCandidate> ineligible(7, eligible_candidate());
  ineligible[0].nccl_built = false;
  ineligible[1].one_cuda_device = false;  // host backend, or several devices
  ineligible[2].output_empty = true;
  ineligible[3].dtype = DataType::f16;  // NCCL would sum halves in half precision
  ineligible[4].dtype = DataType::bf16;
  ineligible[5].bus_id = "";  // no GPU, or no CUDA
  ineligible[6].host = "";
  for (std::size_t index = 0; index < ineligible.size(); ++index) {
    SCOPED_TRACE("condition " + std::to_string(index));
    EXPECT_FALSE(nccl_rank_eligible(ineligible[index]));
    EXPECT_EQ(nccl_rank_identity(ineligible[index]), "");
  }
  for (DataType dtype : {DataType::f64, DataType::c64, DataType::c128}) {
    NcclRankCandidate candidate = eligible_candidate();
    candidate.dtype = dtype;
    EXPECT_TRUE(nccl_rank_eligible(candidate)) << to_string(dtype);
  }
}

TEST(NcclRanks, NoRoomForTheDevicePartialKeepsTheRankOut) {
  NcclRankCandidate candidate = eligible_candidate();
  candidate.device_partial = false;
  // Eligible to try the allocation, but without the partial it takes no part.
  EXPECT_TRUE(nccl_rank_eligible(candidate));
  EXPECT_EQ(nccl_rank_identity(candidate), "");
}

TEST(NcclRanks, DistinctGpusOfEveryRankChooseNccl) {
  EXPECT_TRUE(nccl_between_ranks({"node0 0000:01:00.0", "node0 0000:41:00.0"}));
  // The same bus id on other hosts is another GPU.
  EXPECT_TRUE(
      nccl_between_ranks({"node0 0000:01:00.0", "node1 0000:01:00.0", "node2 0000:01:00.0"}));
  EXPECT_TRUE(nccl_between_ranks({"node0 0000:01:00.0"}));
}

TEST(NcclRanks, TwoRanksOnOneGpuChooseMpi) {
  EXPECT_FALSE(
      nccl_between_ranks({"node0 0000:01:00.0", "node1 0000:01:00.0", "node0 0000:01:00.0"}));
}

TEST(NcclRanks, OneIneligibleRankChoosesMpiForAll) {
  EXPECT_FALSE(nccl_between_ranks({"node0 0000:01:00.0", "", "node0 0000:41:00.0"}));
  EXPECT_FALSE(nccl_between_ranks({"", "", ""}));
  EXPECT_FALSE(nccl_between_ranks({}));
}

TEST(NcclRanks, BusIdIsEmptyWithoutThatDevice) {
  // No ordinal -1 anywhere; past the visible devices there is none either.
  EXPECT_EQ(device_bus_id(-1), "");
  EXPECT_EQ(device_bus_id(static_cast<int>(devices().size())), "");
  for (const DeviceInfo& gpu : devices()) {
    EXPECT_FALSE(device_bus_id(gpu.index).empty()) << gpu.index;
  }
}

TEST(NcclRanks, WithoutNcclNoCommunicatorIsMade) {
  if (nccl_built()) GTEST_SKIP() << "this build has NCCL (the next tests make communicators)";
  EXPECT_THROW(NcclRanks::unique_id(), Error);
  EXPECT_THROW(NcclRanks(0), Error);
}

TEST(NcclRanks, NoDeviceOrAnIdOfTheWrongSizeIsAnError) {
  if (!nccl_built()) GTEST_SKIP() << "this build has no NCCL";
  if (devices().empty()) {
    // The device is set before anything joins.
    EXPECT_THROW(NcclRanks(0), CudaError);
    GTEST_SKIP() << "no GPU visible: the id is checked on a GPU machine";
  }
  NcclRanks member(0);
  EXPECT_THROW(member.join(std::vector<unsigned char>(16), 0, 1), Error);
  EXPECT_THROW(member.sum(nullptr, 1, DataType::f32, 0, false), Error);  // not joined
}

// A communicator of one rank: its sum, onto the root or all, is the
// buffer itself, in every dtype (the halves too, which mpi.hpp keeps on
// the MPI path but NcclRanks sums).
TEST(NcclRanks, OneRankSumsInPlace) {
  if (!nccl_built()) GTEST_SKIP() << "this build has no NCCL";
  if (devices().empty()) GTEST_SKIP() << "no GPU visible: a communicator needs a device";
  NcclRanks ranks(0);
  ranks.join(NcclRanks::unique_id(), 0, 1);
  for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128, DataType::f16,
                         DataType::bf16}) {
    for (bool all_ranks : {false, true}) {
      SCOPED_TRACE(std::string(to_string(dtype)) + (all_ranks ? ", all ranks" : ", root"));
      constexpr std::int64_t kElements = 1000;
      std::vector<unsigned char> values(static_cast<std::size_t>(kElements) * size_of(dtype));
      for (std::size_t index = 0; index < values.size(); ++index) {
        // Finite in every dtype: each odd byte (a high byte, little-endian)
        // below 0x3b keeps the exponent bits from all ones.
        values[index] = static_cast<unsigned char>(index % 2 == 1 ? index % 0x3b : index % 251);
      }
      DevicePartial partial(values.size(), 0);
      copy_host_to_device(partial.get(), values.data(), values.size());
      ranks.sum(partial.get(), kElements, dtype, 0, all_ranks);
      std::vector<unsigned char> summed(values.size());
      copy_device_to_host(summed.data(), partial.get(), summed.size());
      EXPECT_EQ(summed, values);
    }
  }
}

}  // namespace
}  // namespace einstream::detail
