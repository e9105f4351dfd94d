// NcclRanks: one rank's member of an NCCL communicator over MPI ranks (one
// GPU each), made by ncclCommInitRank from a unique id rank 0 created and
// sent over MPI (einstream/mpi.hpp), and the in-place sum of the ranks'
// device partials: ncclReduce onto the root or ncclAllReduce onto all, on
// a stream of the communicator's device.
//
// Bytes: each rank's partial crosses NCCL's ring or tree once (NVLink,
// PCIe peer traffic or the network between hosts), none the host link.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>
#include <string>

#include "cuda/check.hpp"
#include "cuda/current_device.hpp"
#include "cuda/nccl_check.hpp"
#include "cuda/nccl_type.hpp"
#include "cuda/resources.hpp"
#include "einstream/error.hpp"
#include "einstream/nccl_ranks.hpp"

namespace einstream::detail {

static_assert(NcclRanks::kUniqueIdBytes == NCCL_UNIQUE_ID_BYTES,
              "NcclRanks::kUniqueIdBytes must be nccl.h's NCCL_UNIQUE_ID_BYTES");
static_assert(sizeof(ncclUniqueId) == NCCL_UNIQUE_ID_BYTES, "an ncclUniqueId is its bytes");

struct NcclRanks::State {
  int device = 0;
  ncclComm_t comm = nullptr;
  std::unique_ptr<Stream> stream;

  ~State() {
    if (comm != nullptr) ncclCommDestroy(comm);
  }
};

std::vector<unsigned char> NcclRanks::unique_id() {
  ncclUniqueId id;
  EINSTREAM_NCCL_CHECK(ncclGetUniqueId(&id));
  std::vector<unsigned char> bytes(kUniqueIdBytes);
  std::memcpy(bytes.data(), &id, kUniqueIdBytes);
  return bytes;
}

NcclRanks::NcclRanks(int device) : state_(std::make_unique<State>()) {
  const CurrentDeviceGuard guard;
  state_->device = device;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(device));
  state_->stream = std::make_unique<Stream>();
}

void NcclRanks::join(const std::vector<unsigned char>& id, int rank, int ranks) {
  State& s = *state_;
  if (s.comm != nullptr) throw Error("NCCL between ranks: this member has joined already");
  if (id.size() != kUniqueIdBytes) {
    throw Error("NCCL between ranks: a unique id of " + std::to_string(id.size()) +
                " bytes; NCCL's has " + std::to_string(kUniqueIdBytes));
  }
  ncclUniqueId unique;
  std::memcpy(&unique, id.data(), kUniqueIdBytes);
  const CurrentDeviceGuard guard;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(s.device));
  EINSTREAM_NCCL_CHECK(ncclCommInitRank(&s.comm, ranks, unique, rank));
}

NcclRanks::~NcclRanks() = default;

void NcclRanks::sum(void* buffer, std::int64_t elements, DataType dtype, int root, bool all_ranks) {
  State& s = *state_;
  if (s.comm == nullptr) {
    throw Error("NCCL between ranks: no communicator (not joined, or aborted)");
  }
  if (elements <= 0) return;
  const CurrentDeviceGuard guard;
  EINSTREAM_CUDA_CHECK(cudaSetDevice(s.device));
  const NcclType type = nccl_type(dtype);
  const auto count =
      static_cast<std::size_t>(elements) * static_cast<std::size_t>(type.per_element);
  if (all_ranks) {
    EINSTREAM_NCCL_CHECK(
        ncclAllReduce(buffer, buffer, count, type.type, ncclSum, s.comm, s.stream->get()));
  } else {
    // In place on the root; the others only send.
    EINSTREAM_NCCL_CHECK(
        ncclReduce(buffer, buffer, count, type.type, ncclSum, root, s.comm, s.stream->get()));
  }
  // Blocks for as long as a peer has not joined the reduction: NCCL has no
  // timeout of its own (see einstream/mpi.hpp).
  s.stream->synchronize();
  ncclResult_t asynchronous = ncclSuccess;
  EINSTREAM_NCCL_CHECK(ncclCommGetAsyncError(s.comm, &asynchronous));
  if (asynchronous != ncclSuccess) {
    throw_nccl_error(asynchronous,
                     all_ranks ? "ncclAllReduce (asynchronous)" : "ncclReduce (asynchronous)",
                     __FILE__, __LINE__);
  }
}

void NcclRanks::abort() noexcept {
  if (state_ != nullptr && state_->comm != nullptr) {
    ncclCommAbort(state_->comm);
    state_->comm = nullptr;
  }
}

}  // namespace einstream::detail
