// Builds without NCCL (or without CUDA): several devices' partial sums are
// combined on the host, and MultiDeviceExecutor never makes an NcclReduce.
#include "einstream/error.hpp"
#include "src/nccl_reduce.hpp"

namespace einstream::detail {

struct NcclReduce::State {};

bool nccl_built() { return false; }

NcclReduce::NcclReduce(const std::vector<int>&) {
  throw Error(
      "NCCL: this build of einstream has no NCCL (configure the CUDA build with "
      "-DEINSTREAM_ENABLE_NCCL=ON where the toolkit's libnccl and nccl.h are found)");
}
NcclReduce::~NcclReduce() = default;
void NcclReduce::sum_into_first(const std::vector<void*>&, std::int64_t, DataType) {}

}  // namespace einstream::detail
