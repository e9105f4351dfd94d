// Arena offsets of a Program's intermediates: a lifetime-based allocator
// over one allocation, so the Program's peak working memory is exact before
// anything runs.
#pragma once

#include <cstdint>

#include "planner/program.hpp"

namespace einstream::detail {

// Every intermediate starts on this boundary (bytes): what cudaMalloc
// gives, and enough for any vector load.
constexpr std::int64_t kArenaAlignment = 256;

// Sets each buffer's offset_bytes and program.arena_bytes (the peak) from
// the buffers' lifetimes (first_op..last_op). Throws ShapeError when the
// bytes overflow 64 bits.
void assign_arena(Program& program);

}  // namespace einstream::detail
