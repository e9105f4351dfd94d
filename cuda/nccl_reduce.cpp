// NcclReduce: the partial sums of several GPUs of one process summed into
// the first GPU's buffer by one ncclReduce per device, issued from this one
// thread inside ncclGroupStart/End (NCCL's way of driving several devices
// from one thread without deadlock). The communicators come from
// ncclCommInitAll once, when the executor first combines, and are kept.
//
// Bytes: each of the other devices' buffers crosses to the first device
// once (NVLink or PCIe peer traffic, along NCCL's ring or tree), none the
// host link.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <string>

#include "cuda/check.hpp"
#include "cuda/current_device.hpp"
#include "cuda/nccl_check.hpp"
#include "cuda/nccl_type.hpp"
#include "cuda/resources.hpp"
#include "einstream/error.hpp"
#include "src/nccl_reduce.hpp"

namespace einstream::detail {

bool nccl_built() { return true; }

struct NcclReduce::State {
  std::vector<int> devices;
  std::vector<ncclComm_t> comms;
  std::vector<std::unique_ptr<Stream>> streams;  // streams[d] on devices[d]

  ~State() {
    for (ncclComm_t comm : comms) {
      if (comm != nullptr) ncclCommDestroy(comm);
    }
  }
};

NcclReduce::NcclReduce(const std::vector<int>& devices) : state_(std::make_unique<State>()) {
  if (devices.size() < 2) {
    throw Error("NCCL reduce: " + std::to_string(devices.size()) +
                " device(s); combining needs at least two");
  }
  const CurrentDeviceGuard guard;
  State& s = *state_;
  s.devices = devices;
  s.comms.assign(devices.size(), nullptr);
  EINSTREAM_NCCL_CHECK(
      ncclCommInitAll(s.comms.data(), static_cast<int>(devices.size()), devices.data()));
  for (int device : devices) {
    EINSTREAM_CUDA_CHECK(cudaSetDevice(device));
    s.streams.push_back(std::make_unique<Stream>());
  }
}

NcclReduce::~NcclReduce() = default;

void NcclReduce::sum_into_first(const std::vector<void*>& buffers, std::int64_t elements,
                                DataType dtype) {
  State& s = *state_;
  if (buffers.size() != s.devices.size()) {
    throw Error("NCCL reduce: " + std::to_string(buffers.size()) + " buffers for " +
                std::to_string(s.devices.size()) + " devices");
  }
  if (elements <= 0) return;
  const CurrentDeviceGuard guard;
  const NcclType type = nccl_type(dtype);
  const auto count =
      static_cast<std::size_t>(elements) * static_cast<std::size_t>(type.per_element);
  // Every call queued between ncclGroupStart and ncclGroupEnd must reach
  // ncclGroupEnd even when one fails, or the thread's group stays open:
  // the first failure is thrown after it.
  EINSTREAM_NCCL_CHECK(ncclGroupStart());
  ncclResult_t queued = ncclSuccess;
  for (std::size_t index = 0; index < buffers.size() && queued == ncclSuccess; ++index) {
    // In place on the root (device 0); the others only send.
    queued = ncclReduce(buffers[index], buffers[index], count, type.type, ncclSum, 0,
                        s.comms[index], s.streams[index]->get());
  }
  const ncclResult_t ended = ncclGroupEnd();
  if (queued != ncclSuccess) throw_nccl_error(queued, "ncclReduce", __FILE__, __LINE__);
  if (ended != ncclSuccess) throw_nccl_error(ended, "ncclGroupEnd()", __FILE__, __LINE__);
  for (std::size_t index = 0; index < buffers.size(); ++index) {
    EINSTREAM_CUDA_CHECK(cudaSetDevice(s.devices[index]));
    s.streams[index]->synchronize();
    ncclResult_t asynchronous = ncclSuccess;
    EINSTREAM_NCCL_CHECK(ncclCommGetAsyncError(s.comms[index], &asynchronous));
    if (asynchronous != ncclSuccess) {
      throw_nccl_error(asynchronous, "ncclReduce (asynchronous)", __FILE__, __LINE__);
    }
  }
}

}  // namespace einstream::detail
