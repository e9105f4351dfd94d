// RAII owners of the CUDA objects an executor holds: a stream and a cuBLAS
// handle. Destructors never throw (errors at teardown are ignored: there is
// nobody left to report them to).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"

namespace einstream::detail {

class Stream {
 public:
  Stream() { EINSTREAM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const { EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

class CublasHandle {
 public:
  CublasHandle() { EINSTREAM_CUBLAS_CHECK(cublasCreate(&handle_)); }
  ~CublasHandle() {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;

  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

}  // namespace einstream::detail
