// cuda/permute's tiles of 8-byte words (2 f32, 4 f16 or bf16 a word) against
// the host loop: whole and partial tiles, unit axes whose extents are a
// whole number of words of 4 or only of 2 elements (and odd ones, which
// keep element tiles), runs folded from short axes, gaps, broadcasts,
// reversed axes, misaligned pointers (element tiles) and the epilogue.
// Every case states the word its plan has; f64, c64 and c128 keep element
// tiles and run the same cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/permute.hpp"
#include "tests/cuda/permute_check.hpp"
#include "tests/support/gpu.hpp"

namespace einstream::detail {
namespace {

using namespace permute_testing;

using permute_tiling::kMaxTileVector;

// The elements of a tile word `problem`'s plan has for T, given those for
// f32 and for the half types (every other type: 1, element tiles), when
// words hold at most `max_vector` elements.
template <typename T>
int expected_vector(int f32_vector, int half_vector, int max_vector) {
  if constexpr (std::is_same_v<T, float>) return std::min(f32_vector, max_vector);
  if constexpr (testing::IsHalf<T>::value) return std::min(half_vector, max_vector);
  return 1;
}

// These tensors are small: the planner alone would take words of 2 for
// them (too few tiles of 4), so each runs with words of up to 4 and of 2.
template <typename T>
void expect_word_tiles(const Case& problem, int f32_vector, int half_vector, std::uint64_t seed,
                       const Epilogue& epilogue = Epilogue::plain(),
                       bool nan_filled_result = false) {
  for (int max_vector : {kMaxTileVector, 2}) {
    const PermutePlan plan =
        plan_permute(dtype_of<T>(), TensorLayout{problem.extents, problem.source_strides},
                     TensorLayout{problem.extents, problem.result_strides}, max_vector);
    EXPECT_EQ(plan.variant, PermuteVariant::tiled) << to_string(plan) << ", " << describe(problem);
    EXPECT_EQ(plan.tile_vector, expected_vector<T>(f32_vector, half_vector, max_vector))
        << to_string(dtype_of<T>()) << ": " << to_string(plan) << ", " << describe(problem);
    expect_permute<T>(problem, seed, epilogue, nan_filled_result, max_vector);
  }
}

struct WordCase {
  Case problem;
  int f32_vector;
  int half_vector;
};

void expect_every_dtype(const std::vector<WordCase>& cases, std::uint64_t seed) {
  for (const WordCase& each : cases) {
    for_each_dtype([&](auto zero) {
      expect_word_tiles<decltype(zero)>(each.problem, each.f32_vector, each.half_vector, seed);
    });
    ++seed;
  }
}

TEST(PermuteWordTiles, MoveWholeAndPartialTiles) {
  EINSTREAM_REQUIRE_GPU();
  expect_every_dtype(
      {
          {permuted({128, 256}, {1, 0}), 2, 4},       // whole tiles: 64 x 64 f32, 128 x 128 f16
          {permuted({132, 68}, {1, 0}), 2, 4},        // whole words, partial tiles
          {permuted({130, 66}, {1, 0}), 2, 2},        // words of 2 elements only
          {permuted({65, 33}, {1, 0}), 1, 1},         // odd unit axes: element tiles
          {permuted({12, 20, 36}, {2, 0, 1}), 2, 2},  // a source run of 36
          {permuted({12, 20, 36}, {1, 2, 0}), 1, 1},  // a result run of 12: element tiles
          {permuted({6, 10, 34}, {2, 1, 0}), 2, 2},
          {permuted({40, 300}, {1, 0}), 2, 2},  // a result run of 40: half a 128-long tile is 64
      },
      2000);
}

TEST(PermuteWordTiles, FoldShortAxesIntoTheRuns) {
  EINSTREAM_REQUIRE_GPU();
  expect_every_dtype(
      {
          {permuted({16, 16, 16, 16}, {3, 1, 0, 2}), 2, 4},
          {permuted(Extents(6, 8), {5, 3, 1, 4, 0, 2}), 2, 4},  // the benchmark's rank 6
          {permuted({16, 16, 8, 16, 32}, {1, 4, 0, 3, 2}), 2, 4},
          {permuted({8, 8, 8, 8, 8}, {4, 3, 2, 1, 0}), 2, 4},
          {permuted({4, 6, 4, 6, 4, 6}, {1, 0, 3, 2, 5, 4}), 2, 2},
      },
      2100);
  std::mt19937_64 rng(2150);
  for (std::uint64_t seed = 2150; seed < 2170; ++seed) {
    const Extents shape = {4, 8, 12, 16, 4};
    Permutation perm = random_permutation(5, rng);
    const Case problem = permuted(shape, perm);
    // Random permutations may keep the innermost mode in place or leave a
    // run short: only the data is checked.
    for_each_dtype([&](auto zero) {
      expect_permute<decltype(zero)>(problem, seed, Epilogue::plain(), false, kMaxTileVector);
    });
  }
}

TEST(PermuteWordTiles, HandleGapsBroadcastsAndReversedAxes) {
  EINSTREAM_REQUIRE_GPU();
  std::vector<WordCase> cases = {
      {permuted({64, 96}, {1, 0}, {0, 8}), 2, 4},  // result rows of 72: whole words
      {permuted({64, 96}, {1, 0}, {0, 2}), 2, 2},  // rows of 66: words of 2
      {permuted({64, 96}, {1, 0}, {0, 1}), 1, 1},  // rows of 65: element tiles
  };
  const auto add = [&](Extents extents, Extents source_strides, Extents result_strides,
                       int f32_vector, int half_vector) {
    Case problem{std::move(extents), std::move(source_strides), std::move(result_strides)};
    fit_buffers(problem);
    cases.push_back({problem, f32_vector, half_vector});
  };
  // The result's innermost axis broadcast (a source step of 0 words), and
  // an outer axis broadcast.
  add({64, 96, 8}, {1, 64, 0}, row_major({64, 96, 8}), 2, 4);
  add({5, 64, 96}, {0, 1, 64}, row_major({5, 64, 96}), 2, 4);
  // A reversed outer axis (negative word strides and steps), a reversed
  // source unit axis (element tiles: words would read backwards).
  add({96, 64}, {1, -96}, row_major({96, 64}), 2, 4);
  add({3, 96, 64}, {-96 * 64, 1, 96}, row_major({3, 96, 64}), 2, 4);
  add({96, 64}, {-1, 96}, row_major({96, 64}), 1, 1);
  // One odd unit axis keeps element tiles: the source's, the result's (its
  // rows padded to 34); so does a result step of two elements.
  add({33, 64}, {1, 34}, row_major({33, 64}), 1, 1);
  add({64, 33}, {1, 64}, {34, 1}, 1, 1);
  add({64, 33}, {1, 64}, {68, 2}, 1, 1);
  expect_every_dtype(cases, 2200);
}

// The launch takes word tiles only when both pointers are aligned to a word;
// any other shift (2 to 12 bytes; 4 bytes is a whole word of 2 half
// elements but not of 4) runs the element tiles of the same plan, and a
// shift of whole words the word tiles again.
TEST(PermuteWordTiles, FallBackToElementTilesOnMisalignedPointers) {
  EINSTREAM_REQUIRE_GPU();
  std::uint64_t seed = 2300;
  for (std::int64_t source_shift : {0, 1, 2, 3, 4}) {
    for (std::int64_t result_shift : {0, 1, 2, 4}) {
      for (const Case& shape : {permuted({132, 68}, {1, 0}), permuted({130, 66}, {1, 0}),
                                permuted({16, 16, 16, 16}, {3, 1, 0, 2})}) {
        Case problem = shape;
        fit_buffers(problem, source_shift, result_shift);
        for_each_dtype([&](auto zero) {
          expect_permute<decltype(zero)>(problem, seed, Epilogue::plain(), false, kMaxTileVector);
        });
        ++seed;
      }
    }
  }
}

TEST(PermuteWordTiles, ApplyAlphaBetaAndIgnoreNanOutputWhenBetaIsZero) {
  EINSTREAM_REQUIRE_GPU();
  const Epilogue accumulate = Epilogue::scaled({2.0, 0.5}, {-0.5, 0.25});
  const Epilogue overwrite = Epilogue::scaled({-1.5, 1.0}, {0.0, 0.0});
  std::uint64_t seed = 2400;
  for_each_dtype([&](auto zero) {
    using T = decltype(zero);
    for (const WordCase& each :
         {WordCase{permuted({132, 68}, {1, 0}), 2, 4}, WordCase{permuted({130, 66}, {1, 0}), 2, 2},
          WordCase{permuted({16, 16, 16, 16}, {3, 1, 0, 2}), 2, 4}}) {
      expect_word_tiles<T>(each.problem, each.f32_vector, each.half_vector, seed++, accumulate);
      expect_word_tiles<T>(each.problem, each.f32_vector, each.half_vector, seed++, overwrite,
                           /*nan_filled_result=*/true);
      expect_word_tiles<T>(each.problem, each.f32_vector, each.half_vector, seed++,
                           Epilogue::plain(), /*nan_filled_result=*/true);
    }
  });
}

}  // namespace
}  // namespace einstream::detail
