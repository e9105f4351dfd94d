// Support for einstream/mpi.hpp: summing the ranks' partial results with
// NCCL where every rank runs on a GPU of its own. Library functions the
// header-only MPI layer calls, declared without CUDA, NCCL or MPI types (an
// NCCL unique id travels as bytes, the communicator and device memory sit
// behind pointers to library types), so this header is installed and
// compiles anywhere. Implemented in src/nccl_ranks.cpp (the choice, device
// partials), cuda/nccl_ranks.cpp (NCCL builds) or src/nccl_ranks_none.cpp,
// and cuda/devices.cpp or src/devices_none.cpp (device_bus_id). Not API:
// these names may change; use execute_distributed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream::detail {

class DeviceAllocation;

// Whether this build of einstream links NCCL (for several GPUs of one
// process too: src/nccl_reduce.hpp).
bool nccl_built();

// The PCI bus id of CUDA device `device` ("0000:3B:00.0"): one GPU has one
// id in every process of its host, however CUDA_VISIBLE_DEVICES numbers it.
// "" in a build without CUDA, on a machine without a GPU, and for an
// ordinal that is no device. Never throws.
std::string device_bus_id(int device);

// What one rank knows of itself when the ranks choose how to sum their
// partials.
struct NcclRankCandidate {
  std::string host;    // MPI_Get_processor_name
  std::string bus_id;  // device_bus_id of its plan's GPU; "" without one
  bool nccl_built = false;
  bool one_cuda_device = false;  // the CUDA backend, plan.pipelines() == 1
  bool output_empty = false;
  DataType dtype = DataType::f32;
  bool device_partial = false;  // a device partial was allocated on its GPU
};

// Whether the rank can take part in an NCCL sum, before its device partial
// is tried: NCCL built, one CUDA device, a host and bus id, a non-empty
// output, and not a half-precision type. NCCL sums f16 and bf16 in half
// precision, rounding at every rank's addition, where the MPI path sums
// them in float and rounds once: its error would grow with the rank count,
// so halves stay on the MPI path.
bool nccl_rank_eligible(const NcclRankCandidate& candidate);

// The rank's part of the choice, allgathered over the ranks: "host bus_id"
// where it is eligible and holds its device partial, else "".
std::string nccl_rank_identity(const NcclRankCandidate& candidate);

// Whether the ranks sum with NCCL: every identity non-empty and no two
// alike (NCCL refuses two ranks on one GPU). A pure function of the
// allgathered identities, so every rank reaches the same answer. False for
// no identities.
bool nccl_between_ranks(const std::vector<std::string>& identities);

// A rank's partial in the memory of `device` (MemoryError when it has no
// room, Error in a build without CUDA).
class DevicePartial {
 public:
  DevicePartial(std::size_t bytes, int device);
  ~DevicePartial();
  DevicePartial(const DevicePartial&) = delete;
  DevicePartial& operator=(const DevicePartial&) = delete;
  void* get() const;

 private:
  std::unique_ptr<DeviceAllocation> allocation_;
};

// One rank's member of an NCCL communicator over the ranks, on one device,
// with a stream there. Destroyed with ncclCommDestroy (or ncclCommAbort
// after abort()).
class NcclRanks {
 public:
  // NCCL_UNIQUE_ID_BYTES (checked where nccl.h is seen).
  static constexpr std::size_t kUniqueIdBytes = 128;

  // A new communicator's id (ncclGetUniqueId), made on one rank and sent
  // to the others. Throws CudaError (Error without NCCL).
  static std::vector<unsigned char> unique_id();

  // A member on `device`, with its stream, that has joined nothing yet:
  // what can fail locally fails here, before the collective join.
  // Throws CudaError (Error without NCCL).
  explicit NcclRanks(int device);
  // Joins the communicator `id` names as `rank` of `ranks`
  // (ncclCommInitRank: every rank must call it, and it takes seconds).
  // Throws CudaError naming the failing call.
  void join(const std::vector<unsigned char>& id, int rank, int ranks);
  ~NcclRanks();
  NcclRanks(const NcclRanks&) = delete;
  NcclRanks& operator=(const NcclRanks&) = delete;

  // Sums `elements` elements of `dtype` at `buffer` (memory of the
  // communicator's device) over the ranks, in place: onto `root` with
  // ncclReduce, onto every rank with ncclAllReduce (`all_ranks`). Complex
  // types sum as twice as many reals. The buffer's writers must be done
  // (execute_share returns when its partial is written). Returns when the
  // sum is.
  void sum(void* buffer, std::int64_t elements, DataType dtype, int root, bool all_ranks);

  // After a failure: ncclCommAbort now (it does not wait for the
  // communicator's pending work, as ncclCommDestroy would).
  void abort() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace einstream::detail
