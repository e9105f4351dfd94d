#include "planner/arena.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"

namespace einstream::detail {

// Offsets by first fit over lifetimes: a buffer may reuse the bytes of any
// buffer whose last reader ran before it is written. Largest first, which
// keeps the peak close to the largest set of simultaneously live buffers.
void assign_arena(Program& program) {
  const std::int64_t element_bytes = static_cast<std::int64_t>(size_of(program.dtype));
  std::vector<int> order(program.buffers.size());
  std::iota(order.begin(), order.end(), 0);
  auto bytes_of = [&](int index) {
    std::int64_t bytes = 0;
    if (!checked_multiply(program.buffers[index].elements, element_bytes, &bytes) ||
        !checked_add(bytes, kArenaAlignment - 1, &bytes)) {
      throw ShapeError("intermediate " + std::to_string(index) + " of " +
                       std::to_string(program.buffers[index].elements) +
                       " elements takes more bytes than a 64-bit count holds");
    }
    return bytes / kArenaAlignment * kArenaAlignment;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return bytes_of(x) > bytes_of(y); });
  std::vector<int> placed;
  for (int index : order) {
    ArenaBuffer& buffer = program.buffers[index];
    std::vector<std::pair<std::int64_t, std::int64_t>> taken;
    for (int other : placed) {
      const ArenaBuffer& live = program.buffers[other];
      if (live.first_op <= buffer.last_op && buffer.first_op <= live.last_op) {
        taken.emplace_back(live.offset_bytes, live.offset_bytes + bytes_of(other));
      }
    }
    std::sort(taken.begin(), taken.end());
    std::int64_t offset = 0;
    for (const auto& range : taken) {
      if (offset + bytes_of(index) <= range.first) break;
      offset = std::max(offset, range.second);
    }
    buffer.offset_bytes = offset;
    std::int64_t end = 0;
    if (!checked_add(offset, bytes_of(index), &end)) {
      throw ShapeError(
          "the intermediates of this contraction take more bytes than a 64-bit "
          "count holds");
    }
    program.arena_bytes = std::max(program.arena_bytes, end);
    placed.push_back(index);
  }
}

}  // namespace einstream::detail
