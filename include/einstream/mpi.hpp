// einstream over MPI: one execution spread over the ranks of a communicator.
//
// Header-only, so the library itself needs no MPI: include it where you
// compile with your MPI (mpicxx, or CMake's MPI::MPI_CXX). Every rank holds
// the inputs and builds the same Plan; each rank runs its share of the
// plan's blocks (Plan::execute_share: contiguous shares of the loop order,
// balanced by their work), and the partial results are summed onto the root
// (or every rank). A plan must be sliced into at least as many blocks as
// there are ranks for every rank to have work: a memory limit
// (Options::memory_limit) sets how finely.
//
// How the partials are summed (DistributedTimes::reduced_with says which):
// - NCCL, on the devices, where every rank's plan runs on the CUDA backend
//   on one GPU (plan.pipelines() == 1), no two ranks on the same GPU (same
//   host and PCI bus id: NCCL refuses a GPU twice), the library was built
//   with NCCL, the output is not empty and not f16 or bf16, and every rank
//   found room for an output-sized partial on its GPU (allocated each
//   call, outside the plan's memory limit). The ranks allgather each one's (host, bus id) and
//   decide from the same data, so all choose alike. Each rank's share runs into its device partial,
//   one ncclReduce (ncclAllReduce with `all_ranks`) sums them in place, and the receiving ranks add
//   the sum to the output (through the host: accumulate()). The NCCL communicator is made once
//   (ncclCommInitRank from rank 0's unique id, broadcast with MPI: seconds)
//   and kept as an attribute of the MPI communicator, reused while the
//   ranks' GPUs stay the same, destroyed with it (MPI_Comm_free).
// - MPI otherwise: host partials and MPI_Reduce (MPI_Allreduce). Halves are
//   widened to float and rounded once where received; NCCL would sum them
//   in half precision, rounding at every rank's addition, an error growing
//   with the rank count, so halves always take this path.
//
// Failures: whatever throws before a collective (a plan, a share, a null
// output, rank 0's NCCL id, a rank's device or stream for NCCL, an NCCL
// call refused) is agreed on over MPI and raised on every rank as the same
// Error, so no rank is left waiting. NCCL itself has no timeout: a rank
// whose ncclCommInitRank or reduction fails inside NCCL (or that dies)
// after the others entered theirs can leave them waiting in NCCL, which
// einstream cannot interrupt; run multi-GPU jobs under the launcher's time
// limit. Once the ranks agree on an NCCL failure, each aborts its
// communicator (ncclCommAbort) and the next call makes a new one.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/nccl_ranks.hpp"
#include "einstream/plan.hpp"

namespace einstream {

namespace mpi_detail {

// The lowest rank whose `failed` is set, or -1; that rank's message is
// then everyone's.
inline int first_failure(MPI_Comm comm, bool failed, std::string& message) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = failed ? rank : size, first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return -1;
  int length = static_cast<int>(message.size());
  MPI_Bcast(&length, 1, MPI_INT, first, comm);
  message.resize(static_cast<std::size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first, comm);
  return first;
}

// This rank's shares of the blocks, first to first + its pipelines - 1,
// of `total` over the ranks of `comm`.
struct Shares {
  int first = 0;
  int total = 1;
};

inline Shares shares_of_rank(int pipelines, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<int> counts(static_cast<std::size_t>(size));
  MPI_Allgather(&pipelines, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  Shares shares;
  shares.total = 0;
  for (int other = 0; other < size; ++other) {
    if (other == rank) shares.first = shares.total;
    shares.total += counts[static_cast<std::size_t>(other)];
  }
  return shares;
}

// Sums `values` (reals; a complex element is two) over the ranks onto root
// (or every rank), in pieces MPI's int counts can hold.
template <class Real>
void sum_over_ranks(Real* values, std::int64_t count, MPI_Datatype type, int root, bool all_ranks,
                    MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  constexpr std::int64_t kPiece = std::int64_t{1} << 30;
  for (std::int64_t done = 0; done < count; done += kPiece) {
    const int piece = static_cast<int>(std::min(kPiece, count - done));
    Real* at = values + done;
    if (all_ranks) {
      MPI_Allreduce(MPI_IN_PLACE, at, piece, type, MPI_SUM, comm);
    } else {
      MPI_Reduce(rank == root ? MPI_IN_PLACE : at, at, piece, type, MPI_SUM, root, comm);
    }
  }
}

// Sums a half-precision partial (`count` elements of f16 or bf16 in
// `bytes`) over the ranks: MPI has no half type, so each rank's values are
// widened to float, summed, and rounded back once where they are received.
inline void sum_half_over_ranks(unsigned char* bytes, std::int64_t count, DataType dtype, int root,
                                bool all_ranks, bool receives, MPI_Comm comm) {
  std::vector<float> wide(static_cast<std::size_t>(count));
  for (std::size_t index = 0; index < wide.size(); ++index) {
    std::uint16_t bits = 0;
    std::memcpy(&bits, bytes + 2 * index, sizeof bits);
    wide[index] =
        dtype == DataType::f16 ? float(float16::from_bits(bits)) : float(bfloat16::from_bits(bits));
  }
  sum_over_ranks(wide.data(), count, MPI_FLOAT, root, all_ranks, comm);
  if (!receives) return;
  for (std::size_t index = 0; index < wide.size(); ++index) {
    const std::uint16_t bits =
        dtype == DataType::f16 ? float16(wide[index]).bits : bfloat16(wide[index]).bits;
    std::memcpy(bytes + 2 * index, &bits, sizeof bits);
  }
}

// Every rank's `mine`, in rank order.
inline std::vector<std::string> allgather_strings(const std::string& mine, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(size)), offsets(lengths.size());
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm);
  int total = 0;
  for (std::size_t other = 0; other < lengths.size(); ++other) {
    offsets[other] = total;
    total += lengths[other];
  }
  std::vector<char> joined(static_cast<std::size_t>(total) + 1);
  MPI_Allgatherv(mine.data(), length, MPI_CHAR, joined.data(), lengths.data(), offsets.data(),
                 MPI_CHAR, comm);
  std::vector<std::string> all;
  for (std::size_t other = 0; other < lengths.size(); ++other) {
    all.emplace_back(joined.data() + offsets[other], static_cast<std::size_t>(lengths[other]));
  }
  return all;
}

inline std::string processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, static_cast<std::size_t>(std::max(length, 0)));
}

// The NCCL communicator kept on an MPI communicator (an attribute), with
// the ranks' identities it was made for.
struct NcclOfComm {
  std::vector<std::string> identities;
  std::unique_ptr<detail::NcclRanks> ranks;
};

inline int delete_nccl_of_comm(MPI_Comm, int, void* attribute, void*) {
  delete static_cast<NcclOfComm*>(attribute);
  return MPI_SUCCESS;
}

// The attribute key, made once per process. Copies of the MPI
// communicator (MPI_Comm_dup) do not inherit it: an NCCL communicator
// serves one MPI communicator.
inline int nccl_keyval() {
  static const int keyval = [] {
    int made = MPI_KEYVAL_INVALID;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, delete_nccl_of_comm, &made, nullptr);
    return made;
  }();
  return keyval;
}

inline NcclOfComm* nccl_of_comm(MPI_Comm comm) {
  void* attribute = nullptr;
  int found = 0;
  MPI_Comm_get_attr(comm, nccl_keyval(), &attribute, &found);
  return found != 0 ? static_cast<NcclOfComm*>(attribute) : nullptr;
}

// Drops this rank's kept NCCL communicator; aborted (ncclCommAbort) after
// a failure, where destroying it could wait on work that never finishes.
inline void drop_nccl_of_comm(MPI_Comm comm, bool abort) {
  NcclOfComm* kept = nccl_of_comm(comm);
  if (kept == nullptr) return;
  if (abort && kept->ranks) kept->ranks->abort();
  MPI_Comm_delete_attr(comm, nccl_keyval());
}

// The NCCL communicator over the ranks of `comm` for these identities,
// the kept one or a new one (every rank makes it: ncclCommInitRank is
// collective). A failure on any rank is every rank's Error.
inline detail::NcclRanks& nccl_ranks(MPI_Comm comm, const std::vector<std::string>& identities,
                                     int device) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const NcclOfComm* kept = nccl_of_comm(comm);
  // The identities are allgathered, so the kept communicators agree; the
  // minimum also covers a rank that dropped its own.
  int reusable = kept != nullptr && kept->identities == identities ? 1 : 0, all_reusable = 0;
  MPI_Allreduce(&reusable, &all_reusable, 1, MPI_INT, MPI_MIN, comm);
  if (all_reusable == 1) return *nccl_of_comm(comm)->ranks;
  drop_nccl_of_comm(comm, false);
  // What can fail on one rank alone (rank 0's id, each rank's device and
  // stream) is agreed on before ncclCommInitRank, which waits for every
  // rank and would wait forever for one that left.
  std::string message;
  bool failed = false;
  std::vector<unsigned char> id(detail::NcclRanks::kUniqueIdBytes);
  auto made = std::make_unique<NcclOfComm>();
  made->identities = identities;
  try {
    if (rank == 0) id = detail::NcclRanks::unique_id();
    made->ranks = std::make_unique<detail::NcclRanks>(device);
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  int failing = first_failure(comm, failed, message);
  if (failing >= 0) {
    throw Error("execute_distributed: rank " + std::to_string(failing) + " of " +
                std::to_string(size) + " failed to prepare NCCL: " + message);
  }
  MPI_Bcast(id.data(), static_cast<int>(id.size()), MPI_BYTE, 0, comm);
  try {
    made->ranks->join(id, rank, size);
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  failing = first_failure(comm, failed, message);
  if (failing >= 0) {
    made->ranks->abort();
    throw Error("execute_distributed: rank " + std::to_string(failing) + " of " +
                std::to_string(size) + " failed to join the NCCL communicator: " + message);
  }
  NcclOfComm* kept_now = made.release();
  MPI_Comm_set_attr(comm, nccl_keyval(), kept_now);
  return *kept_now->ranks;
}

// Sums the ranks' device partials (`elements` of `dtype` from `origin`) in
// place with NCCL; a failure on any rank is every rank's Error, and the
// communicator is aborted on every rank (made anew next time).
inline void sum_with_nccl(void* origin, std::int64_t elements, DataType dtype, int root,
                          bool all_ranks, const std::vector<std::string>& identities, int device,
                          MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  detail::NcclRanks& ranks = nccl_ranks(comm, identities, device);
  std::string message;
  bool failed = false;
  try {
    ranks.sum(origin, elements, dtype, root, all_ranks);
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  const int failing = first_failure(comm, failed, message);
  if (failing >= 0) {
    drop_nccl_of_comm(comm, true);
    throw Error("execute_distributed: rank " + std::to_string(failing) + " of " +
                std::to_string(size) + " failed in the NCCL sum: " + message);
  }
}

}  // namespace mpi_detail

// Where one rank's time in execute_distributed went (MPI_Wtime seconds):
// its share of the blocks, and the reduction (the sum over the ranks, with
// making the NCCL communicator the first time, and, where the result is
// received, adding it into the output). `reduced_with` says how the
// partials were summed: "nccl" (on the devices) or "mpi" (in host memory;
// see the top of this file for when each), "" for an empty output.
struct DistributedTimes {
  double share_seconds = 0;
  double reduce_seconds = 0;
  std::string reduced_with;
};

// out = alpha * einsum(inputs) + beta * out on `root` (on every rank with
// `all_ranks`; other ranks' `output` is neither read nor written and may be
// null). Collective: call it on every rank of `comm` with a Plan built the
// same way and the same inputs. A failure on any rank (its share threw, or
// the root's output is null) is reported on every rank, after all have
// agreed on it, as Error naming the first failing rank and its message: no
// rank is left waiting (but see the top of this file for NCCL). Inputs as
// Plan::execute() takes them; the output in host or device memory (a device
// output's span goes through the host for the final sum). The CUDA backend
// works on every rank (each rank's GPUs from its Plan's Options::device or
// Options::devices: every device of every rank runs one share of the
// blocks); with one GPU per rank, none shared, the sum runs on the GPUs
// with NCCL.
// `times`, when given, receives this rank's share and reduction times and
// how the partials were summed.
inline void execute_distributed(Plan& plan, MPI_Comm comm, const std::vector<const void*>& inputs,
                                void* output, Scalar alpha = 1.0, Scalar beta = 0.0, int root = 0,
                                bool all_ranks = false, DistributedTimes* times = nullptr) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const bool receives = all_ranks || rank == root;
  if (times != nullptr) *times = DistributedTimes{};
  // Nothing may throw before the collectives below: a rank that left
  // early would leave the others waiting. A failure is carried to them.
  std::string message;
  bool failed = false;
  TensorDesc desc;
  int pipelines = 1;
  int device = 0;
  detail::NcclRankCandidate candidate;
  std::unique_ptr<detail::DevicePartial> device_partial;
  try {
    desc = plan.output();
    pipelines = plan.pipelines();
    candidate.host = mpi_detail::processor_name();
    candidate.nccl_built = detail::nccl_built();
    candidate.one_cuda_device = plan.backend() == Backend::cuda && pipelines == 1;
    candidate.output_empty = desc.element_count() == 0;
    candidate.dtype = desc.dtype;
    if (candidate.nccl_built && candidate.one_cuda_device) {
      device = plan.options().device;  // a CUDA plan's: the first of Options::devices
      candidate.bus_id = detail::device_bus_id(device);
    }
    if (detail::nccl_rank_eligible(candidate)) {
      try {
        device_partial = std::make_unique<detail::DevicePartial>(
            static_cast<std::size_t>(desc.span().elements) * size_of(desc.dtype), device);
        candidate.device_partial = true;
      } catch (const MemoryError&) {
        // No room beside the plan's memory: this rank's "" below sends
        // every rank to the MPI path.
      }
    }
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  const bool empty = desc.element_count() == 0;
  const std::size_t element = size_of(desc.dtype);
  const std::int64_t elements = empty ? 0 : desc.span().elements;
  const std::size_t origin_offset =
      empty ? 0 : static_cast<std::size_t>(desc.span().origin) * element;
  // Every device of every rank is a worker: this rank's plan runs
  // `pipelines` consecutive shares.
  const mpi_detail::Shares shares = mpi_detail::shares_of_rank(pipelines, comm);
  // Every rank decides from the same allgathered identities (a failed
  // rank's is ""), so all take the same path.
  const std::vector<std::string> identities = mpi_detail::allgather_strings(
      failed ? std::string() : detail::nccl_rank_identity(candidate), comm);
  const bool nccl = detail::nccl_between_ranks(identities);
  if (!nccl) device_partial.reset();
  std::vector<unsigned char> partial;  // the MPI path's buffer of a partial output
  unsigned char* origin = nullptr;
  try {
    if (failed) throw Error(message);
    if (root < 0 || root >= size) {
      throw Error("execute_distributed: root " + std::to_string(root) + " is not a rank of the " +
                  std::to_string(size) + "-rank communicator");
    }
    if (!is_complex(desc.dtype) && (alpha.imag() != 0.0 || beta.imag() != 0.0)) {
      throw Error("execute_distributed: alpha and beta must be real for data type " +
                  std::string(to_string(desc.dtype)));
    }
    if (receives && output == nullptr && !empty) {
      throw Error("execute_distributed: the output is a null pointer on a rank that receives it");
    }
    if (!empty) {
      if (nccl) {
        origin = static_cast<unsigned char*>(device_partial->get()) + origin_offset;
      } else {
        partial.resize(static_cast<std::size_t>(elements) * element);
        origin = partial.data() + origin_offset;
      }
      const double start = MPI_Wtime();
      plan.execute_share(inputs, origin, shares.first, shares.total, alpha);
      if (times != nullptr) times->share_seconds = MPI_Wtime() - start;
    }
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  const int failing = mpi_detail::first_failure(comm, failed, message);
  if (failing >= 0) {
    throw Error("execute_distributed: rank " + std::to_string(failing) + " of " +
                std::to_string(size) + " failed: " + message);
  }
  if (empty) return;
  const double reduce_start = MPI_Wtime();
  if (nccl) {
    mpi_detail::sum_with_nccl(origin, elements, desc.dtype, root, all_ranks, identities, device,
                              comm);
  } else {
    const bool is_double = desc.dtype == DataType::f64 || desc.dtype == DataType::c128;
    const std::int64_t reals = elements * (is_complex(desc.dtype) ? 2 : 1);
    if (is_half_precision(desc.dtype)) {
      mpi_detail::sum_half_over_ranks(partial.data(), elements, desc.dtype, root, all_ranks,
                                      receives, comm);
    } else if (is_double) {
      mpi_detail::sum_over_ranks(reinterpret_cast<double*>(partial.data()), reals, MPI_DOUBLE, root,
                                 all_ranks, comm);
    } else {
      mpi_detail::sum_over_ranks(reinterpret_cast<float*>(partial.data()), reals, MPI_FLOAT, root,
                                 all_ranks, comm);
    }
  }
  if (receives) accumulate(desc, origin, output, beta);
  if (times != nullptr) {
    times->reduce_seconds = MPI_Wtime() - reduce_start;
    times->reduced_with = nccl ? "nccl" : "mpi";
  }
}

}  // namespace einstream
