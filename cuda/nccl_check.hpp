// The one place NCCL status codes become einstream::CudaError, with the
// call's source text, file and line (as EINSTREAM_CUDA_CHECK does for the
// runtime) and NCCL's own account of the failure where it kept one
// (ncclGetLastError: "Duplicate GPU detected", say).
#pragma once

#include <nccl.h>

#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

[[noreturn]] inline void throw_nccl_error(ncclResult_t status, const char* call, const char* file,
                                          int line) {
  std::string message = std::string(call) + " failed with NCCL error " +
                        std::to_string(static_cast<int>(status)) + " (" +
                        ncclGetErrorString(status) + ") at " + file + ":" + std::to_string(line);
  const char* last = ncclGetLastError(nullptr);
  if (last != nullptr && *last != '\0') message += ": " + std::string(last);
  throw CudaError(message, call, file, line);
}

}  // namespace einstream::detail

#define EINSTREAM_NCCL_CHECK(call)                                                         \
  do {                                                                                     \
    const ncclResult_t einstream_status_ = (call);                                         \
    if (einstream_status_ != ncclSuccess) {                                                \
      ::einstream::detail::throw_nccl_error(einstream_status_, #call, __FILE__, __LINE__); \
    }                                                                                      \
  } while (0)
