// The one place cuBLAS status codes become einstream::CudaError, with the
// call's source text, file and line (as EINSTREAM_CUDA_CHECK does for the
// runtime).
#pragma once

#include <cublas_v2.h>

#include <string>

#include "einstream/error.hpp"

namespace einstream::detail {

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call,
                                            const char* file, int line) {
  throw CudaError(std::string(call) + " failed with " + cublasGetStatusName(status) + " (" +
                      cublasGetStatusString(status) + ") at " + file + ":" + std::to_string(line),
                  call, file, line);
}

}  // namespace einstream::detail

#define EINSTREAM_CUBLAS_CHECK(call)                                                         \
  do {                                                                                       \
    const cublasStatus_t einstream_status_ = (call);                                         \
    if (einstream_status_ != CUBLAS_STATUS_SUCCESS) {                                        \
      ::einstream::detail::throw_cublas_error(einstream_status_, #call, __FILE__, __LINE__); \
    }                                                                                        \
  } while (0)
