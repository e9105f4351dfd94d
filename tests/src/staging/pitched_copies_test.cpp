#include "src/staging/pitched_copies.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "src/staging/block_copy.hpp"

namespace einstream::detail {
namespace {

using Extents = std::vector<std::int64_t>;

// What cudaMemcpy2DAsync does with the copies, on the host: every copy's rows
// from the strided side into the packed side.
std::vector<float> run_copies(const PitchedCopies& copies, const float* source) {
  const std::int64_t copy_bytes = copies.width * copies.height;
  std::vector<float> packed(static_cast<std::size_t>(copy_bytes * copies.count()) / sizeof(float));
  auto* destination = reinterpret_cast<char*>(packed.data());
  for (std::int64_t copy = 0; copy < copies.count(); ++copy) {
    const char* rows = reinterpret_cast<const char*>(source) + copies.offset(copy);
    for (std::int64_t row = 0; row < copies.height; ++row) {
      std::memcpy(destination + copy * copy_bytes + row * copies.width, rows + row * copies.pitch,
                  static_cast<std::size_t>(copies.width));
    }
  }
  return packed;
}

TEST(PitchedCopies, ContiguousBlockIsOneRow) {
  const auto copies = pitched_copies({4, 8, 16}, {128, 16, 1}, 4, 64, 16);
  ASSERT_TRUE(copies.has_value());
  EXPECT_EQ(copies->width, 4 * 8 * 16 * 4);
  EXPECT_EQ(copies->height, 1);
  EXPECT_EQ(copies->count(), 1);
}

TEST(PitchedCopies, SlicedMiddleAxisIsOneTwoDimensionalCopy) {
  // A block of 3 of 8 rows of a 4 x 8 x 16 tensor: 4 runs of 3 x 16 elements.
  const auto copies = pitched_copies({4, 3, 16}, {128, 16, 1}, 4, 64, 16);
  ASSERT_TRUE(copies.has_value());
  EXPECT_EQ(copies->width, 3 * 16 * 4);
  EXPECT_EQ(copies->height, 4);
  EXPECT_EQ(copies->pitch, 128 * 4);
  EXPECT_EQ(copies->count(), 1);
}

TEST(PitchedCopies, RefusesShortRowsNegativeStridesAndTooManyCopies) {
  EXPECT_FALSE(pitched_copies({64, 64}, {1, 64}, 4, 64, 16).has_value());    // transposed
  EXPECT_FALSE(pitched_copies({8, 64}, {128, 1}, 4, 1024, 16).has_value());  // rows of 256 B
  EXPECT_FALSE(pitched_copies({8, 64}, {-64, 1}, 4, 64, 16).has_value());    // negative stride
  EXPECT_FALSE(pitched_copies({8, 64}, {0, 1}, 4, 64, 16).has_value());      // broadcast
  EXPECT_FALSE(pitched_copies({40, 2, 64}, {1024, 128, 1}, 4, 64, 16).has_value());  // 40 copies
  EXPECT_TRUE(pitched_copies({40, 2, 64}, {1024, 128, 1}, 4, 64, 40).has_value());
}

// Random sub-blocks of random packed tensors (axes in a random order, so
// some blocks are transposed): wherever the decomposition is offered, doing
// its copies gives exactly the packed block gather_block gives.
TEST(PitchedCopies, RandomBlocksMatchGather) {
  const unsigned seed = 20261124;
  std::mt19937 random(seed);
  int offered = 0;
  for (int trial = 0; trial < 400; ++trial) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " trial " + std::to_string(trial));
    const int rank = 1 + static_cast<int>(random() % 5);
    Extents full(rank), block(rank), start(rank), order(rank);
    for (int axis = 0; axis < rank; ++axis) {
      full[axis] = 1 + static_cast<std::int64_t>(random() % 9);
      block[axis] = 1 + static_cast<std::int64_t>(random() % full[axis]);
      start[axis] = static_cast<std::int64_t>(random() % (full[axis] - block[axis] + 1));
    }
    std::iota(order.begin(), order.end(), 0);
    if (random() % 2 == 0) std::shuffle(order.begin(), order.end(), random);
    // Strides of the full tensor laid out in `order` (last = innermost).
    Extents strides(rank);
    std::int64_t step = 1;
    for (int position = rank; position-- > 0;) {
      strides[order[position]] = step;
      step *= full[order[position]];
    }
    std::vector<float> tensor(static_cast<std::size_t>(step));
    std::iota(tensor.begin(), tensor.end(), 0.0f);
    std::int64_t origin = 0;
    for (int axis = 0; axis < rank; ++axis) origin += start[axis] * strides[axis];

    const auto copies = pitched_copies(block, strides, sizeof(float), 4, 64);
    if (!copies) continue;
    ++offered;
    const std::int64_t count =
        std::accumulate(block.begin(), block.end(), std::int64_t{1}, std::multiplies<>());
    std::vector<float> expected(static_cast<std::size_t>(count));
    gather_block(tensor.data() + origin, block, strides, sizeof(float), expected.data(), nullptr);
    EXPECT_EQ(run_copies(*copies, tensor.data() + origin), expected);
  }
  EXPECT_GT(offered, 100);  // the test must exercise the decomposition
}

}  // namespace
}  // namespace einstream::detail
