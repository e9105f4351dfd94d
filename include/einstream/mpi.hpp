// einstream over MPI: one execution spread over the ranks of a communicator.
//
// Header-only, so the library itself needs no MPI: include it where you
// compile with your MPI (mpicxx, or CMake's MPI::MPI_CXX). Every rank holds
// the inputs and builds the same Plan; each rank runs its share of the
// plan's blocks (Plan::execute_share: contiguous shares of the loop order,
// balanced by their work), and the partial results are summed onto the root
// (or every rank) with MPI. A plan must be sliced into at least as many
// blocks as there are ranks for every rank to have work: a memory limit
// (Options::memory_limit) sets how finely.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "einstream/error.hpp"
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

}  // namespace mpi_detail

// Where one rank's time in execute_distributed went (MPI_Wtime seconds):
// its share of the blocks, and the reduction (the MPI sum and, where the
// result is received, adding it into the output).
struct DistributedTimes {
  double share_seconds = 0;
  double reduce_seconds = 0;
};

// out = alpha * einsum(inputs) + beta * out on `root` (on every rank with
// `all_ranks`; other ranks' `output` is neither read nor written and may be
// null). Collective: call it on every rank of `comm` with a Plan built the
// same way and the same inputs. A failure on any rank (its share threw, or
// the root's output is null) is reported on every rank, after all have
// agreed on it, as Error naming the first failing rank and its message: no
// rank is left waiting. Inputs as Plan::execute() takes them; the output
// in host or device memory (a device output's span goes through the host
// for the final sum). The CUDA backend works on every rank (each rank's
// GPUs from its Plan's Options::device or Options::devices: every device
// of every rank runs one share of the blocks).
// `times`, when given, receives this rank's share and reduction times.
inline void execute_distributed(Plan& plan, MPI_Comm comm, const std::vector<const void*>& inputs,
                                void* output, Scalar alpha = 1.0, Scalar beta = 0.0, int root = 0,
                                bool all_ranks = false, DistributedTimes* times = nullptr) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const bool receives = all_ranks || rank == root;
  // Nothing may throw before the collectives below: a rank that left
  // early would leave the others waiting. A failure is carried to them.
  std::string message;
  bool failed = false;
  TensorDesc desc;
  std::vector<unsigned char> partial;  // the buffer of a partial output
  int pipelines = 1;
  try {
    desc = plan.output();
    pipelines = plan.pipelines();
    if (desc.element_count() > 0) {
      partial.resize(static_cast<std::size_t>(desc.span().elements) * size_of(desc.dtype));
    }
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  const bool empty = desc.element_count() == 0;
  const std::size_t element = size_of(desc.dtype);
  const std::int64_t elements = empty ? 0 : desc.span().elements;
  unsigned char* const origin =
      partial.data() + (empty ? 0 : static_cast<std::size_t>(desc.span().origin) * element);
  // Every device of every rank is a worker: this rank's plan runs
  // `pipelines` consecutive shares.
  const mpi_detail::Shares shares = mpi_detail::shares_of_rank(pipelines, comm);
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
  const bool is_double = desc.dtype == DataType::f64 || desc.dtype == DataType::c128;
  const std::int64_t reals = elements * (is_complex(desc.dtype) ? 2 : 1);
  if (is_half_precision(desc.dtype)) {
    mpi_detail::sum_half_over_ranks(partial.data(), elements, desc.dtype, root, all_ranks, receives,
                                    comm);
  } else if (is_double) {
    mpi_detail::sum_over_ranks(reinterpret_cast<double*>(partial.data()), reals, MPI_DOUBLE, root,
                               all_ranks, comm);
  } else {
    mpi_detail::sum_over_ranks(reinterpret_cast<float*>(partial.data()), reals, MPI_FLOAT, root,
                               all_ranks, comm);
  }
  if (receives) accumulate(desc, origin, output, beta);
  if (times != nullptr) times->reduce_seconds = MPI_Wtime() - reduce_start;
}

}  // namespace einstream
