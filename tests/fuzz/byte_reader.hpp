// Reads a fuzz input as a stream of small choices. Past the end every read
// returns 0, so any prefix of an input is itself a valid (simpler) input and
// libFuzzer's mutations stay meaningful.
#pragma once

#include <cstddef>
#include <cstdint>

namespace einstream::fuzz {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return position_ < size_ ? data_[position_++] : 0; }
  // A value in [0, count); count must be positive.
  unsigned below(unsigned count) { return byte() % count; }
  bool flag() { return byte() & 1; }
  std::size_t remaining() const { return size_ - position_; }
  const std::uint8_t* rest() const { return data_ + position_; }
  void skip(std::size_t count) { position_ = count < remaining() ? position_ + count : size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace einstream::fuzz
