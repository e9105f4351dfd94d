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
  // A reduction split because it launched fewer than fill_threads threads
  // aims at this many times fill_threads. Column sums ij->j of 16384^2 f32
  // on an H100 read at 1.18, 1.17, 1.15 and 1.09 of copy bandwidth split to
  // 1, 2, 4 and 8 fills (0.80 at the old quarter fill, on the H200); 2 leaves
  // the H200's higher bandwidth more blocks in flight.
  std::int64_t split_fills = 2;
};

}  // namespace einstream::detail
