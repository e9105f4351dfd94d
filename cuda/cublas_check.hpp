// The one place cuBLAS status codes become einstream::CudaError, with the
// call's source text, file and line (as EINSTREAM_CUDA_CHECK does for the
// runtime, and with the same fault injection: FaultSite::cublas_call).
#pragma once

#include <cublas_v2.h>

#include <string>

#include "einstream/error.hpp"
#include "src/fault_injection.hpp"

namespace einstream::detail {

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call,
                                            const char* file, int line) {
  throw CudaError(std::string(call) + " failed with " + cublasGetStatusName(status) + " (" +
                      cublasGetStatusString(status) + ") at " + file + ":" + std::to_string(line),
                  call, file, line);
}

}  // namespace einstream::detail

#define EINSTREAM_CUBLAS_CHECK(call)                                                              \
  do {                                                                                            \
    constexpr bool einstream_is_call_ = ::einstream::detail::is_call_text(#call);                 \
    if (einstream_is_call_ && ::einstream::detail::FaultInjection::fails_now(                     \
                                  ::einstream::detail::FaultSite::cublas_call)) {                 \
      ::einstream::detail::throw_injected_cuda_error(::einstream::detail::FaultSite::cublas_call, \
                                                     #call, __FILE__, __LINE__);                  \
    }                                                                                             \
    const cublasStatus_t einstream_status_ = (call);                                              \
    if (einstream_status_ != CUBLAS_STATUS_SUCCESS) {                                             \
      ::einstream::detail::throw_cublas_error(einstream_status_, #call, __FILE__, __LINE__);      \
    }                                                                                             \
  } while (0)
