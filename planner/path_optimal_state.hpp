// The search state of the optimal path search (planner/path_optimal.cpp):
// an operand as a row of words (one bit per mode, then a tag with its key and
// whether it is an intermediate), and the memo of the lowest cost seen per
// state, keyed by the state's sorted rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "planner/problem.hpp"

namespace einstream::detail::optimal {

using Word = std::uint64_t;
constexpr int kWordBits = 64;
constexpr int kByteValues = 256;
// The memo stops taking new states past this many key words (64 MiB), so a
// search too big to finish anyway cannot exhaust memory; states already in
// it keep pruning.
constexpr std::size_t kMemoMaxWords = std::size_t{1} << 23;

inline Word mix(Word value) {
  // splitmix64's finalizer.
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ULL;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

// Where an operand row keeps its tag: (key << 1) | made, right after the mode
// bits, in the last mode word if it fits there, else in a word of its own.
struct RowLayout {
  int words = 1;
  int tag_word = 0;
  int tag_shift = 0;
  int tag_bits = 0;
};

inline RowLayout layout_for(const Problem& problem) {
  int key_bits = 1;
  while ((std::size_t{1} << key_bits) < problem.inputs.size()) ++key_bits;
  RowLayout layout;
  layout.tag_bits = key_bits + 1;
  layout.tag_word = problem.mode_count() / kWordBits;
  layout.tag_shift = problem.mode_count() % kWordBits;
  if (layout.tag_shift + layout.tag_bits > kWordBits) {
    ++layout.tag_word;
    layout.tag_shift = 0;
  }
  layout.words = layout.tag_word + 1;
  return layout;
}

// Lowest cost seen per state, in an open-addressing table whose keys (the
// sorted rows of a state) live in one arena.
class StateMemo {
 public:
  explicit StateMemo(int words) : words_(words), slots_(1024) {}

  // True if `state` (`count` sorted rows) was recorded at a cost no higher
  // than `flops`; otherwise records `flops` for it.
  bool seen_no_cheaper(const Word* state, int count, Word hash, double flops) {
    const std::size_t length = static_cast<std::size_t>(count) * words_;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t index = hash & mask;; index = (index + 1) & mask) {
      Slot& slot = slots_[index];
      if (slot.length == 0) {
        if (keys_.size() + length > kMemoMaxWords) return false;
        slot = {hash, keys_.size(), length, flops};
        keys_.insert(keys_.end(), state, state + length);
        if (++used_ * 2 > slots_.size()) grow();
        return false;
      }
      if (slot.hash == hash && slot.length == length &&
          std::memcmp(keys_.data() + slot.offset, state, length * sizeof(Word)) == 0) {
        if (slot.flops <= flops) return true;
        slot.flops = flops;
        return false;
      }
    }
  }

 private:
  struct Slot {
    Word hash = 0;
    std::size_t offset = 0;
    std::size_t length = 0;  // 0: empty (every stored state has operands)
    double flops = 0;
  };

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.length == 0) continue;
      std::size_t index = slot.hash & mask;
      while (slots_[index].length != 0) index = (index + 1) & mask;
      slots_[index] = slot;
    }
  }

  int words_;
  std::vector<Slot> slots_;
  std::vector<Word> keys_;
  std::size_t used_ = 0;
};

}  // namespace einstream::detail::optimal
