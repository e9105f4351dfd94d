// RAII owners of the CUDA objects an executor holds: streams, events, a
// cuBLAS handle and pinned host buffers. Destructors never throw (errors at teardown are ignored:
// there is nobody left to report them to).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>

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

// An event without timing, for ordering streams and the host.
class Event {
 public:
  Event() { EINSTREAM_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~Event() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const { EINSTREAM_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  void synchronize() const { EINSTREAM_CUDA_CHECK(cudaEventSynchronize(event_)); }
  void wait_on(cudaStream_t stream) const {
    EINSTREAM_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0));
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// Page-locked host memory, which the DMA engines read at full link speed.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ > 0) EINSTREAM_CUDA_CHECK(cudaMallocHost(&pointer_, bytes_));
  }
  ~PinnedBuffer() {
    if (pointer_ != nullptr) cudaFreeHost(pointer_);
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* get() const { return pointer_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* pointer_ = nullptr;
  std::size_t bytes_ = 0;
};

// Caller memory page-locked in place (cudaHostRegister) for as long as this
// object lives. try_register returns null, and clears the error, when the
// memory cannot be registered (a memlock limit, or a range the caller
// registered in part): the executor then stages it like pageable memory.
class HostRegistration {
 public:
  static std::unique_ptr<HostRegistration> try_register(void* pointer, std::size_t bytes) {
    if (bytes == 0) return nullptr;
    // Portable: page-locked for every device's context, as the pipelines of
    // several devices DMA the same caller buffer.
    if (cudaHostRegister(pointer, bytes, cudaHostRegisterPortable) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return std::unique_ptr<HostRegistration>(new HostRegistration(pointer, bytes));
  }
  ~HostRegistration() { cudaHostUnregister(pointer_); }
  HostRegistration(const HostRegistration&) = delete;
  HostRegistration& operator=(const HostRegistration&) = delete;

  const void* get() const { return pointer_; }
  std::size_t bytes() const { return bytes_; }

 private:
  HostRegistration(void* pointer, std::size_t bytes) : pointer_(pointer), bytes_(bytes) {}
  void* pointer_;
  std::size_t bytes_;
};

}  // namespace einstream::detail
