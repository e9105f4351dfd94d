// Summing one buffer per GPU of this process into the first GPU's, with
// NCCL: how several devices' partial sums are combined without crossing
// the host (src/multi_device). Declared without CUDA or NCCL headers;
// implemented in cuda/nccl_reduce.cpp where the build found NCCL, else in
// src/nccl_reduce_none.cpp (nccl_built() false, construction throws).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "einstream/nccl_ranks.hpp"  // nccl_built()
#include "einstream/tensor.hpp"

namespace einstream::detail {

class NcclReduce {
 public:
  // One communicator per device (ncclCommInitAll) and a stream on each,
  // made here and kept. `devices` are distinct ordinals (NCCL refuses a
  // GPU twice in one communicator), at least two. Throws CudaError naming
  // the NCCL call that failed.
  explicit NcclReduce(const std::vector<int>& devices);
  ~NcclReduce();
  NcclReduce(const NcclReduce&) = delete;
  NcclReduce& operator=(const NcclReduce&) = delete;

  // buffers[d], `elements` elements of `dtype` in the memory of devices[d]:
  // buffers[0] becomes their sum (in place), the others are left as they
  // were. One ncclReduce per device in one group; returns when it is done.
  // The complex types are summed as twice as many reals.
  void sum_into_first(const std::vector<void*>& buffers, std::int64_t elements, DataType dtype);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace einstream::detail
