// The one place CUDA runtime errors become einstream::CudaError. Every CUDA
// runtime call goes through EINSTREAM_CUDA_CHECK, which records the call's
// source text, file and line.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "einstream/error.hpp"

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
    const cudaError_t einstream_status_ = (call);                                          \
    if (einstream_status_ != cudaSuccess) {                                                \
      ::einstream::detail::throw_cuda_error(einstream_status_, #call, __FILE__, __LINE__); \
    }                                                                                      \
  } while (0)
