// DeviceTraits: the facts about the target GPU that size kernel launches when
// planning, as plain data, so the planner needs no device to plan them. The
// defaults are an H100's and an H200's (132 SMs each).
#pragma once

#include <cstdint>

namespace einstream::detail {

struct DeviceTraits {
  // Resident threads that keep the memory system busy: 132 SMs x 2048
  // threads, rounded down to a power of two. A reduction that would launch
  // fewer is split further over its sums.
  std::int64_t fill_threads = std::int64_t{1} << 18;
};

}  // namespace einstream::detail
