// The choice between NCCL and MPI for summing the ranks' partials
// (einstream/mpi.hpp), and the device partial NCCL sums in place. Pure and
// CUDA-free: built into every configuration, so the choice is tested on
// any machine.
#include "einstream/nccl_ranks.hpp"

#include <set>

#include "src/device_memory.hpp"

namespace einstream::detail {

bool nccl_rank_eligible(const NcclRankCandidate& candidate) {
  return candidate.nccl_built && candidate.one_cuda_device && !candidate.output_empty &&
         !is_half_precision(candidate.dtype) && !candidate.host.empty() &&
         !candidate.bus_id.empty();
}

std::string nccl_rank_identity(const NcclRankCandidate& candidate) {
  if (!nccl_rank_eligible(candidate) || !candidate.device_partial) return "";
  // A bus id has no space, so no two (host, bus id) pairs join alike.
  return candidate.host + " " + candidate.bus_id;
}

bool nccl_between_ranks(const std::vector<std::string>& identities) {
  if (identities.empty()) return false;
  std::set<std::string> seen;
  for (const std::string& identity : identities) {
    if (identity.empty() || !seen.insert(identity).second) return false;
  }
  return true;
}

DevicePartial::DevicePartial(std::size_t bytes, int device)
    : allocation_(std::make_unique<DeviceAllocation>(bytes, device)) {}
DevicePartial::~DevicePartial() = default;
void* DevicePartial::get() const { return allocation_->get(); }

}  // namespace einstream::detail
