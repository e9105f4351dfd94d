// The one place CUDA runtime errors become einstream::CudaError. Every CUDA
// runtime call goes through EINSTREAM_CUDA_CHECK, which records the call's
// source text, file and line.
//
// Tests can make the k-th checked call fail (src/fault_injection.hpp,
// FaultSite::cuda_runtime_call); disarmed, that costs one relaxed atomic load
// per call.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "einstream/error.hpp"
#include "src/fault_injection.hpp"

namespace einstream::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                          int line) {
  throw CudaError(std::string(call) + " failed with " + cudaGetErrorName(status) + " (" +
                      cudaGetErrorString(status) + ") at " + file + ":" + std::to_string(line),
                  call, file, line);
}

}  // namespace einstream::detail

#define EINSTREAM_CUDA_CHECK(call)                                                         \
  do {                                                                                     \
    constexpr bool einstream_is_call_ = ::einstream::detail::is_call_text(#call);          \
    if (einstream_is_call_ && ::einstream::detail::FaultInjection::fails_now(              \
                                  ::einstream::detail::FaultSite::cuda_runtime_call)) {    \
      ::einstream::detail::throw_injected_cuda_error(                                      \
          ::einstream::detail::FaultSite::cuda_runtime_call, #call, __FILE__, __LINE__);   \
    }                                                                                      \
    const cudaError_t einstream_status_ = (call);                                          \
    if (einstream_status_ != cudaSuccess) {                                                \
      ::einstream::detail::throw_cuda_error(einstream_status_, #call, __FILE__, __LINE__); \
    }                                                                                      \
  } while (0)
