// Builds without NCCL (or without CUDA): the ranks' partials are summed
// with MPI, and einstream/mpi.hpp never makes an NcclRanks
// (nccl_between_ranks is false where nccl_built() is).
#include "einstream/error.hpp"
#include "einstream/nccl_ranks.hpp"

namespace einstream::detail {

namespace {
[[noreturn]] void no_nccl() {
  throw Error(
      "NCCL between ranks: this build of einstream has no NCCL (configure the CUDA build with "
      "-DEINSTREAM_ENABLE_NCCL=ON where the toolkit's libnccl and nccl.h are found)");
}
}  // namespace

struct NcclRanks::State {};

std::vector<unsigned char> NcclRanks::unique_id() { no_nccl(); }
NcclRanks::NcclRanks(int) { no_nccl(); }
void NcclRanks::join(const std::vector<unsigned char>&, int, int) { no_nccl(); }
NcclRanks::~NcclRanks() = default;
void NcclRanks::sum(void*, std::int64_t, DataType, int, bool) { no_nccl(); }
void NcclRanks::abort() noexcept {}

}  // namespace einstream::detail
