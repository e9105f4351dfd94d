// PermutePlan: how the CUDA permute kernels (cuda/permute.cu) run one
// permute op (a strided copy: permutes, diagonals, broadcasts), planned on
// the host from the op's layouts alone, once, when the Program is lowered.
// Plain data (no CUDA type), tested on any machine.
//
// As cuTT and librett plan a transpose: the axes are sorted by result
// stride (the result is walked in its own memory order) and merged where
// they stay adjacent in both layouts (src/axis_merge); then the innermost
// axes pick the variant:
//   - strided: the result's innermost axis is also the source's unit-stride
//     axis, or the source has none (diagonals, broadcasts). One linear index
//     per item. When both views are contiguous along that axis and every
//     other stride is a whole number of 16-byte packets, an item may be a
//     packet: the plan holds both launches, and the launch takes the packet
//     one when both pointers are 16-byte aligned. That check is the only
//     one left to launch time, since only the run-time pointers decide it.
//   - tiled: the innermost mode moves. A block stages a kTile x kTile tile
//     of the (result run, source run) plane in shared memory; short axes
//     fold into the runs until each spans a tile.
//     For elements under kTileWordBytes, the plan also holds a launch in
//     words of `tile_vector` elements (8 bytes: 4 f16/bf16, 2 f32), when
//     both unit-stride axes are whole words long and every other stride is
//     a whole number of words: a thread loads words along the source run
//     and stores words along the result run, transposing a tile_vector x
//     tile_vector block of elements in registers between. As for packets,
//     the launch takes the word tiles when both pointers are aligned to a
//     word, the element tiles otherwise.
// 32-bit indexing whenever every count and offset fits, 64-bit otherwise.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/tensor_layout.hpp"

namespace einstream::detail {

// The kernels' launch shape and tiling, shared by the planner and the kernels.
namespace permute_tiling {
constexpr int kMaxRank = 16;  // axes after merging, for the strided and tiled variants
// The many_axes variant's room: every launchable view fits.
constexpr int kMaxManyRank = kMaxLaunchAxes;
// Strided variant: each thread keeps several independent loads in flight.
constexpr int kStridedThreads = 256;
constexpr int kStridedItemsPerThread = 4;
constexpr int kStridedItemsPerBlock = kStridedThreads * kStridedItemsPerThread;
constexpr int kVectorBytes = 16;
// Tiled variant: one warp spans a tile row (kTile is the warp size), and
// kTileRows warps each move kTile / kTileRows elements per phase.
constexpr int kTile = 32;
constexpr int kTileRows = 8;
constexpr int kTileThreads = kTile * kTileRows;
constexpr int kTileElementsPerThread = kTile / kTileRows;
// Elements of at most kWideTileBytes take tiles twice as long along the
// result run (kWideTile x kTile): the same 8 KiB per tile as f64's 32 x 32,
// so the per-tile index tables and barriers are paid per as many bytes.
// Measured on the H200: f32 32 x 32 tiles reach 70-75% of a copy, f64 ones
// 95-104% (bench/results/kernels-nvidia-h200.txt).
constexpr int kWideTile = 2 * kTile;
constexpr int kWideTileBytes = 4;
// Runs shorter than this leave most of a tile idle; the strided variant
// serves them better.
constexpr std::int64_t kMinTileRun = 8;
// Word tiles: kTile words along each run, so tile_vector * kTile elements a
// side (64 x 64 f32, 128 x 128 f16), each warp moving 256-byte lines as
// f64's 32 x 32 tiles do (94-97% of a copy on the H200, where f32's element
// tiles reached 80% and f16's 55%: the cost is per access, not per byte).
// A tile is kTile x kTile * tile_vector words: tile_vector * 8 KiB of
// shared memory (16 KiB f32, 32 KiB f16).
constexpr int kTileWordBytes = 8;
constexpr int kMaxTileVector = 4;
// Words of 4 elements make tiles of 32 KiB, at most 6 blocks an SM: a
// tensor of fewer such tiles than this (about two waves of 3 blocks on an
// H200's 132 SMs) takes words of 2, whose 8 KiB tiles fill the last wave
// better. Measured on the H200 (bench/results/kernels-nvidia-h200.txt,
// third run): at 1024 tiles (f16 16^6) words of 4 reach 86% of a copy and
// words of 2 76%; every larger case also favours words of 4 (88-95% vs
// 77-82%). Smaller tensors are not measured.
constexpr std::int64_t kMinWiderWordTiles = 1024;
// The tiled grid is capped; blocks loop over the remaining tiles.
constexpr std::int64_t kMaxTiledBlocks = std::int64_t{1} << 20;
// 32-bit indexing when every count and offset stays under this; the margin
// covers indices that run a block (or a grid stride) past the end.
constexpr std::int64_t kInt32IndexLimit =
    std::numeric_limits<std::int32_t>::max() - (std::int64_t{1} << 22);

static_assert(kTile == 32, "a tile row is one warp");
static_assert(kTile % kTileRows == 0, "every warp moves whole tile rows");
}  // namespace permute_tiling

struct PermuteAxis {
  std::int64_t extent = 0;
  std::int64_t source_stride = 0;
  std::int64_t result_stride = 0;
};

// The strided kernel over `axes` (innermost in the result first, in items).
struct StridedLaunch {
  std::vector<PermuteAxis> axes;
  std::int64_t items = 0;
  std::int64_t blocks = 0;  // of kStridedItemsPerBlock items
};

// The tiled kernel's plane and grid.
struct TiledLaunch {
  std::vector<PermuteAxis> result_run;  // tile columns: the result's unit-stride axis first
  std::vector<PermuteAxis> source_run;  // tile rows: the source's unit-stride axis first
  std::vector<PermuteAxis> outer;       // the rest, innermost (in the result) first
  std::int64_t result_run_extent = 0;
  std::int64_t source_run_extent = 0;
  // The tile's length along the result run: kTile, or kWideTile for
  // elements of at most kWideTileBytes when the run is that long.
  int result_tile = permute_tiling::kTile;
  std::int64_t result_run_tiles = 0;
  std::int64_t source_run_tiles = 0;
  std::int64_t tile_count = 0;
  std::int64_t blocks = 0;  // min(tile_count, kMaxTiledBlocks)
  // Word tiles only (axes, extents and strides in words): the steps, in
  // words, between the rows of a thread's block of elements in the source
  // (along the result's unit-stride axis) and between its columns in the
  // result (along the source's unit-stride axis).
  std::int64_t source_step = 0;
  std::int64_t result_step = 0;
};

enum class PermuteVariant {
  none,     // no elements: nothing to launch
  strided,  // elements (or packets) by linear index
  tiled,    // tiles through shared memory
  // More than kMaxRank axes remain after merging (tensor networks of many
  // short modes: 2^20 elements of bond 2 are 20 axes): single elements by
  // linear index, as `strided`'s `elements`, through a kernel whose axis
  // list holds kMaxManyRank.
  many_axes,
};

struct PermutePlan {
  DataType dtype = DataType::f32;
  // Why these layouts cannot be launched (mismatched layouts, more than
  // kMaxManyRank axes after merging, an unsupported data type); empty when
  // they can.
  // Launching a plan with an error throws it.
  std::string error;
  PermuteVariant variant = PermuteVariant::none;
  bool index32 = true;  // every count and offset fits 32-bit indexing
  // strided: one element per item, and, when `vector` > 1, `vector`
  // elements (16 bytes) per item for 16-byte aligned pointers. many_axes:
  // `elements` alone.
  StridedLaunch elements;
  int vector = 1;
  StridedLaunch packets;
  // tiled: element tiles, and, when `tile_vector` > 1, tiles of words of
  // `tile_vector` elements (kTileWordBytes) for pointers aligned to a word.
  TiledLaunch tiled;
  int tile_vector = 1;
  TiledLaunch word_tiled;
  int merged_rank = 0;  // axes left after merging
};

// `plan` (tiled) with element tiles of `result_tile` (kTile or kWideTile)
// along the result run, its tile counts and grid recomputed, and no word
// tiles: the benchmark measures each kind on the same shapes. Throws Error
// for another width or a plan that is not tiled.
PermutePlan with_result_tile(PermutePlan plan, int result_tile);

// Plans result[i] = source[i] over equal extents (source strides arbitrary,
// result strides non-negative). Layouts it cannot launch give a plan whose
// `error` says why; only a CUDA launch of such a plan fails.
// `max_tile_vector` > 0 takes the largest tile word of at most that many
// elements the shape allows (1: element tiles only), whatever its tile
// count; 0 leaves the word to the planner. Lowering leaves it; tests and
// the benchmark set it to run and measure each word size.
PermutePlan plan_permute(DataType dtype, const TensorLayout& source, const TensorLayout& result,
                         int max_tile_vector = 0);

std::string to_string(PermuteVariant variant);
// One line for tests and explain(): variant, merged rank, grid, packets.
std::string to_string(const PermutePlan& plan);

}  // namespace einstream::detail
