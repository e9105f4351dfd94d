// cuda/permute against a host loop on random data: every kernel variant
// (strided, 16-byte packets, tiled, 64-bit indices), every element type
// (f16 and bf16 as einstream::float16 / bfloat16: moved as bits, the
// epilogue in float), odd shapes, strided views on both sides and the
// alpha/beta epilogue. The tiles of 8-byte words have their own cases in
// permute_word_tiles_test.cpp.
#include "cuda/permute.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "tests/cuda/permute_check.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/kernel_values.hpp"

namespace einstream::detail {
namespace {

using namespace permute_testing;

TEST(Permute, TransposesOddShapesInEveryDtype) {
  EINSTREAM_REQUIRE_GPU();
  const std::vector<Extents> shapes = {{33, 65},        {7, 9, 11},         {129, 3, 67},
                                       {1, 31, 1, 17},  {3, 1, 5, 1, 7, 2}, {2, 3, 4, 5},
                                       {100, 1, 37, 5}, {64, 64, 3}};
  std::uint64_t seed = 100;
  for (const Extents& shape : shapes) {
    // Every permutation up to rank 4, a dozen random ones beyond.
    std::vector<Permutation> perms;
    Permutation perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    if (shape.size() <= 4) {
      do perms.push_back(perm);
      while (std::next_permutation(perm.begin(), perm.end()));
    } else {
      std::mt19937_64 rng(seed);
      for (int i = 0; i < 12; ++i)
        perms.push_back(random_permutation(static_cast<int>(shape.size()), rng));
    }
    for (const Permutation& each : perms) {
      for_each_dtype(
          [&](auto zero) { expect_permute<decltype(zero)>(permuted(shape, each), seed); });
      ++seed;
    }
  }
}

TEST(Permute, MatchesHostLoopOnRandomPermutationsUpToRank12) {
  EINSTREAM_REQUIRE_GPU();
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    const int rank = static_cast<int>(seed % 13);  // 0 to 12
    Extents shape(rank);
    const std::int64_t largest = rank <= 3 ? 300 : rank <= 6 ? 24 : 5;
    for (std::int64_t& extent : shape) {
      extent = std::uniform_int_distribution<std::int64_t>(1, largest)(rng);
    }
    // Keep the host loop short: at most ~2^18 elements.
    for (std::size_t axis = 0;; axis = (axis + 1) % std::max<std::size_t>(shape.size(), 1)) {
      std::int64_t count = 1;
      for (std::int64_t extent : shape) count *= extent;
      if (count <= (1 << 18) || shape.empty()) break;
      shape[axis] = (shape[axis] + 1) / 2;
    }
    Case problem = permuted(shape, random_permutation(rank, rng));
    // Some sources read reversed along random axes.
    for (std::int64_t& stride : problem.source_strides) {
      if (rng() % 4 == 0) stride = -stride;
    }
    fit_buffers(problem, static_cast<std::int64_t>(rng() % 2),
                static_cast<std::int64_t>(rng() % 2));
    for_each_dtype([&](auto zero) { expect_permute<decltype(zero)>(problem, seed); });
  }
}

TEST(Permute, CopiesScalarsAndLaunchesNothingForZeroElements) {
  EINSTREAM_REQUIRE_GPU();
  for_each_dtype([&](auto zero) {
    using T = decltype(zero);
    Case scalar_case;  // rank 0
    expect_permute<T>(scalar_case, 7);
    Case empty = permuted({4, 0, 3}, {2, 0, 1});
    empty.result_size = 8;  // nothing of it may change
    expect_permute<T>(empty, 8);
    expect_permute<T>(permuted({1, 1, 1}, {2, 1, 0}), 9);
  });
}

TEST(Permute, ReadsBroadcastDiagonalAndReversedSources) {
  EINSTREAM_REQUIRE_GPU();
  std::vector<Case> cases;
  const auto add = [&](Extents extents, Extents source_strides, Extents result_strides) {
    Case problem{std::move(extents), std::move(source_strides), std::move(result_strides)};
    fit_buffers(problem);
    cases.push_back(problem);
  };
  add({5, 37, 64}, {0, 64, 1}, row_major({5, 37, 64}));      // broadcast outer mode
  add({37, 64, 5}, {64, 1, 0}, row_major({37, 64, 5}));      // broadcast innermost mode: tiled
  add({6, 7, 8}, {0, 0, 0}, row_major({6, 7, 8}));           // one element everywhere
  add({50}, {51}, {1});                                      // diagonal of a 50x50 matrix
  add({40, 33}, {40 * 33 + 33, 1}, {1, 40});                 // i,i,k -> k,i: diagonal, transposed
  add({9, 9, 9}, {81 + 9 + 1, 0, 1}, row_major({9, 9, 9}));  // diagonal beside a broadcast
  add({64, 48}, {-1, 64}, row_major({64, 48}));              // reversed unit axis, transposed
  add({48, 64}, {64, -1}, row_major({48, 64}));              // reversed unit axis, in place
  add({30, 20, 10}, {-200, -10, -1}, row_major({30, 20, 10}));  // fully reversed copy
  add({8, 100}, {-1, -8}, row_major({8, 100}));                 // reversed and transposed
  std::uint64_t seed = 500;
  for (const Case& problem : cases) {
    for_each_dtype([&](auto zero) { expect_permute<decltype(zero)>(problem, seed); });
    ++seed;
  }
}

TEST(Permute, LeavesGapsInResultViewsUntouched) {
  EINSTREAM_REQUIRE_GPU();
  std::uint64_t seed = 600;
  for_each_dtype([&](auto zero) {
    using T = decltype(zero);
    expect_permute<T>(permuted({40, 50}, {1, 0}, {3, 1}), seed++);
    expect_permute<T>(permuted({40, 50}, {0, 1}, {0, 2}), seed++);  // rows stay packet-aligned
    expect_permute<T>(permuted({6, 7, 8, 9}, {3, 1, 0, 2}, {1, 0, 2, 1}), seed++);
    expect_permute<T>(permuted({16, 16, 16, 4}, {2, 1, 0, 3}, {0, 5, 0, 0}), seed++);
    // Result strides that skip: every other element of the result buffer.
    Case sparse = permuted({33, 17}, {1, 0});
    sparse.result_strides = {2 * 33 + 1, 2};
    fit_buffers(sparse);
    expect_permute<T>(sparse, seed++);
  });
}

TEST(Permute, AppliesAlphaBetaAndIgnoresNanOutputWhenBetaIsZero) {
  EINSTREAM_REQUIRE_GPU();
  const Epilogue accumulate = Epilogue::scaled({2.0, 0.5}, {-0.5, 0.25});
  const Epilogue overwrite = Epilogue::scaled({-1.5, 1.0}, {0.0, 0.0});
  std::uint64_t seed = 700;
  for_each_dtype([&](auto zero) {
    using T = decltype(zero);
    for (const Case& problem :
         {permuted({33, 65}, {1, 0}), permuted({64, 32}, {0, 1}), permuted({5, 6, 7}, {2, 0, 1}),
          permuted({31, 3}, {0, 1}), permuted({16, 16, 16}, {2, 1, 0}, {0, 2, 1})}) {
      expect_permute<T>(problem, seed++, accumulate);
      expect_permute<T>(problem, seed++, overwrite, /*nan_filled_result=*/true);
      expect_permute<T>(problem, seed++, Epilogue::plain(), /*nan_filled_result=*/true);
    }
  });
}

TEST(Permute, FallsBackFromPacketsOnMisalignedViews) {
  EINSTREAM_REQUIRE_GPU();
  std::uint64_t seed = 800;
  for_each_dtype([&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t source_shift : {0, 1, 2}) {
      for (std::int64_t result_shift : {0, 1, 3}) {
        Case problem = permuted({12, 10, 64}, {1, 0, 2});
        fit_buffers(problem, source_shift, result_shift);
        expect_permute<T>(problem, seed++);
        Case odd_inner = permuted({12, 10, 6}, {1, 0, 2});  // 6 is no multiple of 4
        fit_buffers(odd_inner, source_shift, result_shift);
        expect_permute<T>(odd_inner, seed++);
      }
    }
  });
}

TEST(Permute, FoldsShortInnerModesOfTheBenchmarkShapes) {
  EINSTREAM_REQUIRE_GPU();
  // DESIGN.md's cases (the first scaled down to keep the host loop short).
  expect_permute<float>(permuted({32, 32, 32, 32}, {3, 1, 0, 2}), 900);
  expect_permute<float>(permuted({16, 16, 16, 16, 16, 16}, {5, 3, 1, 4, 0, 2}), 901);
  expect_permute<float>(permuted({32, 32, 32, 32, 8}, {4, 3, 2, 1, 0}), 902);
  expect_permute<double>(permuted({16, 16, 16, 16, 16, 16}, {5, 3, 1, 4, 0, 2}), 903);
  expect_permute<float16>(permuted({32, 32, 32, 32}, {3, 1, 0, 2}), 905);
  expect_permute<bfloat16>(permuted({16, 16, 16, 16, 16, 16}, {5, 3, 1, 4, 0, 2}), 906);
  expect_permute<float16>(permuted({32, 32, 32, 32, 8}, {4, 3, 2, 1, 0}), 907);
  expect_permute<std::complex<double>>(
      permuted({4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2}, {11, 9, 7, 5, 3, 1, 10, 8, 6, 4, 2, 0}), 904);
}

TEST(Permute, HandlesSixteenAxesThatDoNotMerge) {
  EINSTREAM_REQUIRE_GPU();
  Permutation reversed(16);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  expect_permute<float>(permuted(Extents(16, 2), reversed), 1000);
  expect_permute<float16>(permuted(Extents(16, 2), reversed), 1002);
  expect_permute<std::complex<double>>(permuted(Extents(16, 2), reversed), 1001);
}

TEST(Permute, RejectsMismatchedLayouts) {
  EINSTREAM_REQUIRE_GPU();
  const Epilogue plain = Epilogue::plain();
  float* none = nullptr;
  const auto call = [&](const TensorLayout& source, const TensorLayout& result) {
    permute(DataType::f32, none, source, none, result, plain, nullptr);
  };
  // Parentheses keep the braces' commas out of the macro's arguments.
  EXPECT_THROW((call({{2, 3}, {3, 1}}, {{2, 3, 1}, {3, 1, 1}})), Error);  // ranks differ
  EXPECT_THROW((call({{2, 3}, {3, 1}}, {{3, 2}, {2, 1}})), Error);        // extents differ
  EXPECT_THROW((call({{2, 3}, {3, 1}}, {{2, 3}, {-3, 1}})), Error);       // negative result stride
  EXPECT_THROW((call({{2, 3}, {3}}, {{2, 3}, {3, 1}})), Error);           // strides missing
}

// Past sixteen merged axes (tensor networks of many short modes) the
// many-axes kernel moves the elements: reversed and random permutations of
// 17 to 22 axes of extents 2 and 3, results with gaps, an epilogue, every
// element type.
TEST(Permute, MoreAxesThanTheTunedKernelsHoldMoveThroughTheManyAxesKernel) {
  EINSTREAM_REQUIRE_GPU();
  Permutation reversed(17);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  const Case seventeen = permuted(Extents(17, 2), reversed);
  ASSERT_EQ(plan_permute(DataType::f32, {seventeen.extents, seventeen.source_strides},
                         {seventeen.extents, seventeen.result_strides})
                .variant,
            PermuteVariant::many_axes);
  for_each_dtype([&](auto value) {
    using T = decltype(value);
    expect_permute<T>(seventeen, 1100);
  });
  std::mt19937_64 rng(1101);
  for (int trial = 0; trial < 6; ++trial) {
    const int rank = 17 + trial;  // up to 22 axes, 2^22 elements at most
    Extents extents(rank, 2);
    if (trial % 2 == 1) extents[rng() % rank] = 3;
    Extents gaps(rank, 0);
    if (trial >= 3) gaps[rng() % rank] = 1;
    // A random order may keep neighbours adjacent, which merge: draw until
    // more than sixteen axes remain.
    Case problem;
    for (int draw = 0; draw < 1000; ++draw) {
      problem = permuted(extents, random_permutation(rank, rng), gaps);
      const PermutePlan plan =
          plan_permute(DataType::f32, {problem.extents, problem.source_strides},
                       {problem.extents, problem.result_strides});
      if (plan.variant == PermuteVariant::many_axes) break;
    }
    ASSERT_GT(plan_permute(DataType::f32, {problem.extents, problem.source_strides},
                           {problem.extents, problem.result_strides})
                  .merged_rank,
              permute_tiling::kMaxRank)
        << describe(problem);
    const Epilogue scaled = trial % 2 == 0 ? Epilogue::plain() : Epilogue::scaled(0.5, -2.0);
    expect_permute<float>(problem, 1200 + trial, scaled);
    expect_permute<bfloat16>(problem, 1300 + trial, scaled);
    expect_permute<std::complex<double>>(problem, 1400 + trial, scaled);
  }
}

// A plain f16/bf16 permute moves bits: every pattern, NaN payloads and
// signalling NaNs included, arrives unchanged through each variant (packets,
// single elements, tiles), which a round trip through float would not
// guarantee. The source holds all 65536 patterns.
TEST(Permute, HalfTypesMoveEveryBitPatternUnchanged) {
  EINSTREAM_REQUIRE_GPU();
  const auto check = [](auto zero) {
    using T = decltype(zero);
    std::vector<T> source(1 << 16);
    for (std::size_t i = 0; i < source.size(); ++i) {
      source[i] = T::from_bits(static_cast<std::uint16_t>(i * 40503u));  // odd: a bijection
    }
    DeviceMemory device_source(source.size() * sizeof(T));
    DeviceMemory device_result(source.size() * sizeof(T));
    device_source.upload(source);
    const std::vector<std::pair<Extents, Permutation>> views = {
        {{256, 256}, {0, 1}},             // a copy: 8-element packets
        {{64, 32, 32}, {1, 0, 2}},        // inner mode stays: strided packets
        {{4096, 4, 4}, {1, 0, 2}},        // inner mode of 4 stays: single elements
        {{256, 256}, {1, 0}},             // transpose: tiled in words of 2
        {{250, 262}, {1, 0}},             // unit axes of 2 mod 4: words of 2, partial tiles
        {{251, 261}, {1, 0}},             // odd unit axes: element tiles
        {{16, 16, 16, 16}, {3, 1, 0, 2}}  // rank 4, innermost moves: tiled in words
    };
    for (const auto& [extents, perm] : views) {
      const Case problem = permuted(extents, perm);
      SCOPED_TRACE(std::string(to_string(dtype_of<T>())) + ", " + describe(problem));
      EINSTREAM_CUDA_CHECK(cudaMemset(device_result.get(), 0, source.size() * sizeof(T)));
      permute(dtype_of<T>(), device_source.get(), {problem.extents, problem.source_strides},
              device_result.get(), {problem.extents, problem.result_strides}, Epilogue::plain(),
              nullptr);
      EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
      const std::vector<T> got = device_result.download<T>(source.size());
      int failures = 0;
      Extents index(extents.size(), 0);
      for (std::size_t element = 0; element < source.size(); ++element) {
        std::int64_t source_offset = 0, result_offset = 0;
        for (std::size_t axis = 0; axis < extents.size(); ++axis) {
          source_offset += index[axis] * problem.source_strides[axis];
          result_offset += index[axis] * problem.result_strides[axis];
        }
        if (got[result_offset].bits != source[source_offset].bits && ++failures <= 5) {
          ADD_FAILURE() << "result element " << result_offset << ": bits "
                        << got[result_offset].bits << ", expected " << source[source_offset].bits;
        }
        for (int axis = static_cast<int>(extents.size()) - 1;
             axis >= 0 && ++index[axis] == problem.extents[axis]; --axis) {
          index[axis] = 0;
        }
      }
      EXPECT_EQ(failures, 0);
    }
  };
  check(float16{});
  check(bfloat16{});
}

// Over 2^31 elements the kernels index in 64 bits. The source holds its own
// element index as bits, so the check is exact and needs no host copy of it.
TEST(Permute, MovesTensorsOverTwoToThe31Elements) {
  EINSTREAM_REQUIRE_GPU();
  const std::int64_t a_extent = 2049, b_extent = 1024, c_extent = 1024;
  const std::int64_t count = a_extent * b_extent * c_extent;  // 2^31 + 2^20
  const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(float);
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  EINSTREAM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < 2 * bytes + (std::size_t{1} << 30)) {
    GTEST_SKIP() << "needs " << (2 * bytes >> 20) << " MiB of device memory, " << (free_bytes >> 20)
                 << " MiB free";
  }
  DeviceMemory source(bytes);
  DeviceMemory result(bytes);
  const std::int64_t chunk = std::int64_t{1} << 26;
  std::vector<std::uint32_t> host(static_cast<std::size_t>(chunk));
  for (std::int64_t first = 0; first < count; first += chunk) {
    const std::int64_t length = std::min(chunk, count - first);
    for (std::int64_t i = 0; i < length; ++i) host[i] = static_cast<std::uint32_t>(first + i);
    EINSTREAM_CUDA_CHECK(cudaMemcpy(static_cast<std::uint32_t*>(source.get()) + first, host.data(),
                                    length * sizeof(std::uint32_t), cudaMemcpyHostToDevice));
  }

  // result[c][a][b] = source[a][b][c]: the innermost mode moves (tiled).
  const Extents extents = {c_extent, a_extent, b_extent};
  permute(DataType::f32, source.get(), {extents, {1, b_extent * c_extent, c_extent}}, result.get(),
          {extents, row_major(extents)}, Epilogue::plain(), nullptr);
  EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
  const std::int64_t plane = a_extent * b_extent;
  host.resize(static_cast<std::size_t>(plane));
  std::int64_t mismatches = 0;
  for (std::int64_t c = 0; c < c_extent; ++c) {
    EINSTREAM_CUDA_CHECK(cudaMemcpy(host.data(),
                                    static_cast<std::uint32_t*>(result.get()) + c * plane,
                                    plane * sizeof(std::uint32_t), cudaMemcpyDeviceToHost));
    for (std::int64_t ab = 0; ab < plane; ++ab) {
      mismatches += host[ab] != static_cast<std::uint32_t>(ab * c_extent + c);
    }
  }
  EXPECT_EQ(mismatches, 0);

  // Small views whose source offsets span more than 2^31 elements: the
  // strided and tiled kernels in 64-bit indexing.
  const std::int64_t far = 1'073'000'000;
  const std::vector<std::pair<Extents, Extents>> views = {{{3, 5, 7}, {far, 7, 1}},
                                                          {{40, 3, 40}, {1, far, 40}}};
  for (const auto& [view_extents, source_strides] : views) {
    std::int64_t view_count = 1;
    for (std::int64_t extent : view_extents) view_count *= extent;
    permute(DataType::f32, source.get(), {view_extents, source_strides}, result.get(),
            {view_extents, row_major(view_extents)}, Epilogue::plain(), nullptr);
    EINSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<std::uint32_t> got = result.download<std::uint32_t>(view_count);
    for (std::int64_t i = 0, j = 0; i < view_extents[0]; ++i) {
      for (std::int64_t k = 0; k < view_extents[1]; ++k) {
        for (std::int64_t l = 0; l < view_extents[2]; ++l, ++j) {
          const std::int64_t offset =
              i * source_strides[0] + k * source_strides[1] + l * source_strides[2];
          EXPECT_EQ(got[j], static_cast<std::uint32_t>(offset))
              << "extents " << to_text(view_extents) << " at " << i << "," << k << "," << l;
        }
      }
    }
  }
}

}  // namespace
}  // namespace einstream::detail
