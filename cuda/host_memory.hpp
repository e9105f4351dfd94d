// Where the caller's buffers of one execution live: device (or managed)
// memory, used in place; page-locked host memory (cudaMallocHost, registered
// by the caller, or registered here when Options::register_host_memory
// asks), DMA'd in place; or pageable host memory, staged through pinned
// buffers. Registrations made here follow the pointers: one registered for
// an earlier execution is released when a later one passes another buffer.
// They are shared in the process: the pipelines of several devices (or
// several Plans) that register the same span hold one registration, made by
// the first and released by the last, so concurrent pipelines neither
// register a span twice (which CUDA refuses) nor unregister it under another.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cuda/resources.hpp"
#include "einstream/tensor.hpp"
#include "src/memory_span.hpp"

namespace einstream::detail {

struct BufferPlace {
  MemorySpan span;
  bool on_device = false;    // device or managed memory of the plan's device
  bool page_locked = false;  // host memory the DMA engines read in place
};

class HostMemory {
 public:
  // The places of `buffers` (the inputs, then the output) at `pointers`.
  // Throws Error naming the buffer when it is device memory of another
  // device than `device`. With `register_pageable`, pageable host spans are
  // registered (page-locked in place) where the system allows.
  std::vector<BufferPlace> classify(const std::vector<TensorDesc>& buffers,
                                    const std::vector<const void*>& pointers, int device,
                                    bool register_pageable);

 private:
  std::vector<std::shared_ptr<HostRegistration>> registrations_;
};

}  // namespace einstream::detail
