#include "src/staging/block_copy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/tensor.hpp"
#include "src/staging/thread_pool.hpp"

namespace einstream::detail {
namespace {

using Extents = std::vector<std::int64_t>;
using Bytes = std::vector<unsigned char>;

constexpr unsigned char kSentinel = 0xA5;

// A strided view into its own buffer: `origin` is the element offset of view
// element (0, ..., 0) in the buffer, so negative strides stay inside it.
struct StridedView {
  Extents extents;
  Extents strides;
  std::int64_t origin = 0;
  std::int64_t buffer_elements = 1;
};

std::int64_t element_count(const Extents& extents) {
  return std::accumulate(
      extents.begin(), extents.end(), std::int64_t{1},
      [](std::int64_t product, std::int64_t extent) { return product * extent; });
}

// Element offset (from the view's origin) of C-order linear index `linear`.
std::int64_t view_offset(const StridedView& view, std::int64_t linear) {
  std::int64_t offset = 0;
  for (std::size_t axis = view.extents.size(); axis-- > 0;) {
    offset += (linear % view.extents[axis]) * view.strides[axis];
    linear /= view.extents[axis];
  }
  return offset;
}

// Random rank 0-6 view: a C-order layout of a random axis order, with padding
// between axes, flipped signs, and (when `allow_broadcast`) zero strides.
// max_elements bounds the view, max_extent the typical extent.
StridedView random_view(std::mt19937& random, bool allow_broadcast, std::int64_t max_extent,
                        std::int64_t max_elements) {
  auto chance = [&](int percent) { return static_cast<int>(random() % 100) < percent; };
  StridedView view;
  const int rank = static_cast<int>(random() % 7);
  for (int axis = 0; axis < rank; ++axis) {
    std::int64_t extent = 1 + static_cast<std::int64_t>(random() % max_extent);
    if (chance(15)) extent = 1;
    if (chance(3)) extent = 0;
    view.extents.push_back(extent);
  }
  // Halve the largest extent until the view fits (in double: the product of
  // six random extents can pass 2^63).
  auto fits = [&] {
    double count = 1;
    for (auto extent : view.extents) count *= static_cast<double>(extent);
    return count <= static_cast<double>(max_elements);
  };
  while (!fits()) {
    auto largest = std::max_element(view.extents.begin(), view.extents.end());
    *largest = (*largest + 1) / 2;
  }
  std::vector<int> order(rank);
  std::iota(order.begin(), order.end(), 0);
  if (chance(70)) std::shuffle(order.begin(), order.end(), random);
  view.strides.assign(rank, 0);
  std::int64_t step = 1;
  for (int position = rank - 1; position >= 0; --position) {
    const int axis = order[position];
    view.strides[axis] = step;
    const std::int64_t padding = chance(30) ? static_cast<std::int64_t>(random() % 3) : 0;
    step *= std::max<std::int64_t>(view.extents[axis], 1) + padding;
  }
  for (int axis = 0; axis < rank; ++axis) {
    if (chance(25)) view.strides[axis] = -view.strides[axis];
    if (allow_broadcast && chance(15)) view.strides[axis] = 0;
  }
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  if (element_count(view.extents) > 0) {
    for (int axis = 0; axis < rank; ++axis) {
      const std::int64_t reach = (view.extents[axis] - 1) * view.strides[axis];
      lowest += std::min<std::int64_t>(0, reach);
      highest += std::max<std::int64_t>(0, reach);
    }
  }
  // Slack on both ends, so a copy that strays past the view hits sentinels.
  view.origin = -lowest + 3;
  view.buffer_elements = highest - lowest + 7;
  return view;
}

std::string describe(const StridedView& view, std::size_t element_bytes) {
  std::string text = "extents [";
  for (auto extent : view.extents) text += " " + std::to_string(extent);
  text += " ] strides [";
  for (auto stride : view.strides) text += " " + std::to_string(stride);
  return text + " ] element_bytes " + std::to_string(element_bytes);
}

Bytes random_bytes(std::mt19937& random, std::size_t count) {
  Bytes bytes(count);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  return bytes;
}

// Checks packed C-order `packed` against the view in `buffer`, element by
// element, the way a naive nested loop would read it.
void expect_packed_matches_view(const Bytes& packed, const Bytes& buffer, const StridedView& view,
                                std::size_t element_bytes) {
  const std::int64_t count = element_count(view.extents);
  for (std::int64_t linear = 0; linear < count; ++linear) {
    const std::int64_t element = view.origin + view_offset(view, linear);
    ASSERT_EQ(std::memcmp(packed.data() + linear * element_bytes,
                          buffer.data() + element * element_bytes, element_bytes),
              0)
        << "element " << linear << " of " << count;
  }
}

// Checks that exactly the view's elements of `buffer` hold `packed`, and every
// other byte still holds the sentinel.
void expect_scattered(const Bytes& buffer, const Bytes& packed, const StridedView& view,
                      std::size_t element_bytes) {
  expect_packed_matches_view(packed, buffer, view, element_bytes);
  std::vector<bool> in_view(static_cast<std::size_t>(view.buffer_elements), false);
  const std::int64_t count = element_count(view.extents);
  for (std::int64_t linear = 0; linear < count; ++linear) {
    in_view[view.origin + view_offset(view, linear)] = true;
  }
  for (std::int64_t element = 0; element < view.buffer_elements; ++element) {
    if (in_view[element]) continue;
    for (std::size_t byte = 0; byte < element_bytes; ++byte) {
      ASSERT_EQ(buffer[element * element_bytes + byte], kSentinel)
          << "gap element " << element << " was written";
    }
  }
}

struct RandomViewCase {
  std::int64_t max_extent;
  std::int64_t max_elements;
  unsigned seeds;
};

// Small views exercise every layout shape; large ones (above the pool's
// threshold) exercise the split of many outer positions, and of a few long
// runs into pieces.
const RandomViewCase kRandomViewCases[] = {
    {5, 4096, 400}, {64, 1 << 18, 12}, {1 << 16, 1 << 18, 24}};
const std::size_t kElementSizes[] = {4, 8, 16};

// Blocks are packed in C order: the one c_order_strides of the public API.
TEST(BlockCopy, PackedBlocksAreRowMajor) {
  EXPECT_EQ(c_order_strides({2, 3, 4}), Extents({12, 4, 1}));
  EXPECT_EQ(c_order_strides({5}), Extents({1}));
  EXPECT_EQ(c_order_strides({}), Extents({}));
}

TEST(BlockCopy, GatherMatchesNaiveLoopOnRandomViews) {
  ThreadPool pool(3);
  for (const auto& limits : kRandomViewCases) {
    for (unsigned seed = 0; seed < limits.seeds; ++seed) {
      for (std::size_t element_bytes : kElementSizes) {
        for (ThreadPool* use_pool : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::mt19937 random(seed);
          const StridedView view =
              random_view(random, true, limits.max_extent, limits.max_elements);
          SCOPED_TRACE("seed " + std::to_string(seed) + " " + describe(view, element_bytes) +
                       (use_pool ? " pool of 3" : " no pool"));
          const Bytes buffer = random_bytes(random, view.buffer_elements * element_bytes);
          Bytes packed(element_count(view.extents) * element_bytes + element_bytes, kSentinel);
          gather_block(buffer.data() + view.origin * element_bytes, view.extents, view.strides,
                       element_bytes, packed.data(), use_pool);
          expect_packed_matches_view(packed, buffer, view, element_bytes);
          for (std::size_t byte = packed.size() - element_bytes; byte < packed.size(); ++byte) {
            ASSERT_EQ(packed[byte], kSentinel) << "gather wrote past the packed block";
          }
        }
      }
    }
  }
}

TEST(BlockCopy, ScatterWritesTheViewAndLeavesGapsUntouched) {
  ThreadPool pool(3);
  for (const auto& limits : kRandomViewCases) {
    for (unsigned seed = 0; seed < limits.seeds; ++seed) {
      for (std::size_t element_bytes : kElementSizes) {
        for (ThreadPool* use_pool : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::mt19937 random(seed);
          const StridedView view =
              random_view(random, false, limits.max_extent, limits.max_elements);
          SCOPED_TRACE("seed " + std::to_string(seed) + " " + describe(view, element_bytes) +
                       (use_pool ? " pool of 3" : " no pool"));
          const Bytes packed = random_bytes(random, element_count(view.extents) * element_bytes);
          Bytes buffer(view.buffer_elements * element_bytes, kSentinel);
          scatter_block(packed.data(), view.extents, view.strides, element_bytes,
                        buffer.data() + view.origin * element_bytes, use_pool);
          expect_scattered(buffer, packed, view, element_bytes);
        }
      }
    }
  }
}

TEST(BlockCopy, ScatterOfGatherRestoresTheView) {
  ThreadPool pool(3);
  for (unsigned seed = 0; seed < 200; ++seed) {
    std::mt19937 random(seed);
    const std::size_t element_bytes = kElementSizes[seed % 3];
    const StridedView view = random_view(random, false, 24, 1 << 17);
    SCOPED_TRACE("seed " + std::to_string(seed) + " " + describe(view, element_bytes));
    const Bytes original = random_bytes(random, view.buffer_elements * element_bytes);
    Bytes packed(element_count(view.extents) * element_bytes);
    gather_block(original.data() + view.origin * element_bytes, view.extents, view.strides,
                 element_bytes, packed.data(), &pool);
    Bytes restored(original.size(), kSentinel);
    scatter_block(packed.data(), view.extents, view.strides, element_bytes,
                  restored.data() + view.origin * element_bytes, &pool);
    const std::int64_t count = element_count(view.extents);
    for (std::int64_t linear = 0; linear < count; ++linear) {
      const std::int64_t element = view.origin + view_offset(view, linear);
      ASSERT_EQ(std::memcmp(restored.data() + element * element_bytes,
                            original.data() + element * element_bytes, element_bytes),
                0)
          << "element " << linear;
    }
  }
}

TEST(BlockCopy, OddElementSizesUseTheGenericPath) {
  std::mt19937 random(7);
  const StridedView view{{5, 7}, {1, 6}, 0, 6 * 7};
  for (std::size_t element_bytes : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
    SCOPED_TRACE("seed 7 " + describe(view, element_bytes));
    const Bytes buffer = random_bytes(random, view.buffer_elements * element_bytes);
    Bytes packed(35 * element_bytes);
    gather_block(buffer.data(), view.extents, view.strides, element_bytes, packed.data(), nullptr);
    expect_packed_matches_view(packed, buffer, view, element_bytes);
  }
}

TEST(BlockCopy, ZeroElementViewsAndScalarsCopyWhatTheyHold) {
  const float value = 2.5f;
  float result = 0.0f;
  gather_block(&value, {}, {}, sizeof(float), &result, nullptr);
  EXPECT_EQ(result, 2.5f);
  gather_block(&value, {1, 1}, {-4, 9}, sizeof(float), &result, nullptr);
  EXPECT_EQ(result, 2.5f);
  // Nothing is read or written: null pointers are fine.
  gather_block(nullptr, {4, 0, 3}, {0, 1, 2}, sizeof(float), nullptr, nullptr);
  scatter_block(nullptr, {0}, {1}, sizeof(float), nullptr, nullptr);
  // A zero stride cannot alias in an empty view.
  scatter_block(nullptr, {4, 0}, {0, 1}, sizeof(float), nullptr, nullptr);
}

TEST(BlockCopy, RejectsMismatchedAndAliasingLayouts) {
  float values[8] = {};
  float packed[8] = {};
  EXPECT_THROW(gather_block(values, {2, 4}, {4}, sizeof(float), packed, nullptr), Error);
  EXPECT_THROW(gather_block(values, {-1}, {1}, sizeof(float), packed, nullptr), Error);
  EXPECT_THROW(gather_block(values, {8}, {1}, 0, packed, nullptr), Error);
  EXPECT_THROW(scatter_block(packed, {2, 4}, {0, 1}, sizeof(float), values, nullptr), Error);
}

// The sizes the streaming executor moves: a 64 MiB block whose rows are 4 KiB
// runs of a wider tensor, gathered and scattered back through a pool.
TEST(BlockCopy, LargeBlockWithPoolRoundTrips) {
  ThreadPool pool(3);
  const std::int64_t rows = 16384;
  const std::int64_t columns = 1024;  // 4 KiB of floats per run
  const std::int64_t row_stride = columns + 96;
  const std::size_t element_bytes = 4;
  std::mt19937 random(11);
  SCOPED_TRACE("seed 11");
  std::vector<std::uint32_t> tensor(rows * row_stride);
  for (auto& value : tensor) value = static_cast<std::uint32_t>(random());
  std::vector<std::uint32_t> packed(rows * columns);
  gather_block(tensor.data(), {rows, columns}, {row_stride, 1}, element_bytes, packed.data(),
               &pool);
  for (std::int64_t row = 0; row < rows; ++row) {
    ASSERT_EQ(std::memcmp(&packed[row * columns], &tensor[row * row_stride], columns * 4), 0)
        << "row " << row;
  }
  // Back into a fresh tensor, negated row order: the gaps must stay untouched.
  std::vector<std::uint32_t> scattered(tensor.size(), 0xA5A5A5A5u);
  std::uint32_t* last_row = scattered.data() + (rows - 1) * row_stride;
  scatter_block(packed.data(), {rows, columns}, {-row_stride, 1}, element_bytes, last_row, &pool);
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::uint32_t* written = last_row - row * row_stride;
    ASSERT_EQ(std::memcmp(written, &packed[row * columns], columns * 4), 0) << "row " << row;
    for (std::int64_t column = columns; column < row_stride; ++column) {
      ASSERT_EQ(written[column], 0xA5A5A5A5u) << "row " << row << " gap " << column;
    }
  }
}

// A fully contiguous block merges to one run; the pool must still split it.
TEST(BlockCopy, ContiguousBlockIsOneSplitRun) {
  ThreadPool pool(3);
  std::mt19937 random(5);
  SCOPED_TRACE("seed 5");
  const Bytes source = random_bytes(random, 16 << 20);
  Bytes packed(source.size());
  gather_block(source.data(), {64, 256, 256}, {65536, 256, 1}, 4, packed.data(), &pool);
  EXPECT_TRUE(packed == source);
}

// A transposed view takes the tiled path; long runs are also split over the
// pool, and neither tile edge is a multiple of the tile.
TEST(BlockCopy, LargeTransposeWithPoolRoundTrips) {
  ThreadPool pool(3);
  const std::int64_t rows = 1501;
  const std::int64_t columns = 5003;
  std::mt19937 random(13);
  SCOPED_TRACE("seed 13");
  std::vector<std::uint32_t> tensor(rows * columns);
  for (auto& value : tensor) value = static_cast<std::uint32_t>(random());
  // View (c, r) of the row-major (r, c) tensor.
  std::vector<std::uint32_t> packed(tensor.size());
  gather_block(tensor.data(), {columns, rows}, {1, columns}, 4, packed.data(), &pool);
  for (std::int64_t column = 0; column < columns; ++column) {
    for (std::int64_t row = 0; row < rows; ++row) {
      ASSERT_EQ(packed[column * rows + row], tensor[row * columns + column])
          << "row " << row << " column " << column;
    }
  }
  std::vector<std::uint32_t> restored(tensor.size(), 0);
  scatter_block(packed.data(), {columns, rows}, {1, columns}, 4, restored.data(), &pool);
  EXPECT_TRUE(restored == tensor);
}

TEST(ThreadPool, DefaultSizeIsBounded) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
  EXPECT_LE(pool.size(), ThreadPool::kMaxDefaultThreads);
  EXPECT_EQ(ThreadPool(1).size(), 1);
  EXPECT_EQ(ThreadPool(3).size(), 3);
  EXPECT_THROW(ThreadPool(-1), Error);
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (std::int64_t count : {0, 1, 2, 3, 7, 64, 1000, 100003}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " count " + std::to_string(count));
      std::unique_ptr<std::atomic<int>[]> visits(new std::atomic<int>[count + 1]);
      for (std::int64_t index = 0; index <= count; ++index) visits[index] = 0;
      std::atomic<int> calls{0};
      pool.parallel_for(count, [&](std::int64_t begin, std::int64_t end) {
        ASSERT_LE(0, begin);
        ASSERT_LT(begin, end);
        ASSERT_LE(end, count);
        ++calls;
        for (std::int64_t index = begin; index < end; ++index) ++visits[index];
      });
      for (std::int64_t index = 0; index < count; ++index) ASSERT_EQ(visits[index], 1) << index;
      EXPECT_LE(calls.load(), threads);
    }
  }
}

TEST(ThreadPool, RethrowsAfterEveryChunkFinishes) {
  ThreadPool pool(3);
  std::atomic<std::int64_t> covered{0};
  try {
    pool.parallel_for(300, [&](std::int64_t begin, std::int64_t end) {
      covered += end - begin;
      if (begin == 0) throw std::runtime_error("chunk zero failed");
    });
    FAIL() << "parallel_for did not rethrow";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "chunk zero failed");
  }
  EXPECT_EQ(covered.load(), 300);
  // The pool is usable after an exception.
  covered = 0;
  pool.parallel_for(300, [&](std::int64_t begin, std::int64_t end) { covered += end - begin; });
  EXPECT_EQ(covered.load(), 300);
}

TEST(ThreadPool, RepeatedCallsReuseTheThreads) {
  ThreadPool pool(3);
  std::int64_t total = 0;
  for (int call = 0; call < 2000; ++call) {
    std::atomic<std::int64_t> sum{0};
    pool.parallel_for(call % 50, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t index = begin; index < end; ++index) sum += index;
    });
    total += sum;
  }
  std::int64_t expected = 0;
  for (int call = 0; call < 2000; ++call) expected += (call % 50) * (call % 50 - 1) / 2;
  EXPECT_EQ(total, expected);
}

TEST(ThreadPool, NestedCallIsRejectedNotDeadlocked) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(4,
                                 [&](std::int64_t, std::int64_t) {
                                   pool.parallel_for(4, [](std::int64_t, std::int64_t) {});
                                 }),
               Error);
}

// Long contiguous runs take the non-temporal store path: every alignment of
// the destination and every tail length must still copy exactly.
TEST(BlockCopy, LongContiguousRunsAtAnyAlignment) {
  const std::int64_t length = (std::int64_t{1} << 20) + 37;
  std::vector<unsigned char> source(static_cast<std::size_t>(length) + 64);
  for (std::size_t index = 0; index < source.size(); ++index) {
    source[index] = static_cast<unsigned char>(index * 131 + 7);
  }
  for (int offset : {0, 1, 8, 15}) {
    for (std::int64_t trim : {0, 1, 63}) {
      const std::int64_t count = length - trim;
      std::vector<unsigned char> destination(static_cast<std::size_t>(count) + 32, kSentinel);
      gather_block(source.data() + 3, {count}, {1}, 1, destination.data() + offset, nullptr);
      for (int index = 0; index < offset; ++index) ASSERT_EQ(destination[index], kSentinel);
      ASSERT_EQ(std::memcmp(destination.data() + offset, source.data() + 3,
                            static_cast<std::size_t>(count)),
                0)
          << "offset " << offset << " trim " << trim;
      ASSERT_EQ(destination[static_cast<std::size_t>(offset + count)], kSentinel);
    }
  }
}

}  // namespace
}  // namespace einstream::detail
