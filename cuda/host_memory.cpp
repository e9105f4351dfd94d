#include "cuda/host_memory.hpp"

#include <cuda_runtime_api.h>

#include <iterator>
#include <map>
#include <mutex>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/nvtx.hpp"
#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

cudaPointerAttributes attributes_of(const void* pointer) {
  cudaPointerAttributes attributes{};
  EINSTREAM_CUDA_CHECK(cudaPointerGetAttributes(&attributes, pointer));
  return attributes;
}

// The process's registration of exactly [begin, begin + bytes), made now if
// none is alive; null when the system refuses it.
std::shared_ptr<HostRegistration> shared_registration(void* begin, std::size_t bytes) {
  static std::mutex mutex;
  static std::map<std::pair<std::uintptr_t, std::size_t>, std::weak_ptr<HostRegistration>> alive;
  const std::lock_guard<std::mutex> lock(mutex);
  for (auto entry = alive.begin(); entry != alive.end();) {
    entry = entry->second.expired() ? alive.erase(entry) : std::next(entry);
  }
  const std::pair<std::uintptr_t, std::size_t> key{reinterpret_cast<std::uintptr_t>(begin), bytes};
  const auto found = alive.find(key);
  if (found != alive.end()) return found->second.lock();
  std::shared_ptr<HostRegistration> made = HostRegistration::try_register(begin, bytes);
  if (made) alive.emplace(key, made);
  return made;
}

}  // namespace

std::vector<BufferPlace> HostMemory::classify(const std::vector<TensorDesc>& buffers,
                                              const std::vector<const void*>& pointers, int device,
                                              bool register_pageable) {
  std::vector<BufferPlace> places(buffers.size());
  registrations_.resize(buffers.size());
  for (std::size_t index = 0; index < buffers.size(); ++index) {
    BufferPlace& place = places[index];
    place.span = memory_span(buffers[index], pointers[index]);
    std::shared_ptr<HostRegistration>& registration = registrations_[index];
    const MemorySpan& span = place.span;
    if (registration && (reinterpret_cast<std::uintptr_t>(registration->get()) != span.begin ||
                         registration->bytes() != span.end - span.begin)) {
      registration.reset();
    }
    if (span.end == span.begin) continue;
    const auto* begin = reinterpret_cast<const void*>(span.begin);
    const cudaPointerAttributes attributes = attributes_of(begin);
    if (attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged) {
      if (attributes.device != device) {
        const std::string what = index + 1 == buffers.size() ? std::string("the output")
                                                             : "input " + std::to_string(index);
        throw Error(what + " is in the memory of device " + std::to_string(attributes.device) +
                    " but the plan runs on device " + std::to_string(device) +
                    ": use Options::device, or copy the tensor");
      }
      place.on_device = true;
      registration.reset();
      continue;
    }
    // Both ends: a span that starts in a page-locked range (one the caller
    // registered, say) may run past it.
    place.page_locked =
        registration != nullptr ||
        (attributes.type == cudaMemoryTypeHost &&
         attributes_of(reinterpret_cast<const void*>(span.end - 1)).type == cudaMemoryTypeHost);
    if (!place.page_locked && register_pageable) {
      const NvtxRange range("einstream: register host memory");
      registration = shared_registration(const_cast<void*>(begin), span.end - span.begin);
      place.page_locked = registration != nullptr;
    }
  }
  return places;
}

}  // namespace einstream::detail
