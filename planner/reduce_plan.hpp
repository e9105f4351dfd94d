// ReducePlan: how the CUDA reduce kernels (cuda/reduce.cu) run one reduce op,
// planned on the host from the op's layouts alone, once, when the Program is
// lowered: merged kept and summed axes, the kernel variant, the grid, the
// width of its loads, the splits of the sums and the workspace they need.
// Plain data (no CUDA type), so the planner knows every workspace exactly
// and tests run on any machine.
//
// A reduce sums result[i] = sum over r of source[i, r]: the source's leading
// axes are the result's (equal extents, the result's order in memory given
// only by its strides), its trailing axes are summed. A summed axis with a
// negative stride is walked from its other end (the order of a sum is free;
// source_offset moves the base there), so summed strides are >= 0. Kept axes
// merge among themselves and summed axes among themselves, summed axes
// sorted by stride first. The merged shape picks a variant:
//   (a) thread_per_output: a thread sums each output, threads along the kept
//       axis with the smallest source stride (ijk->jk); with too few outputs
//       to fill the GPU a block also splits each sum over threadIdx.y. When
//       that axis is unit-stride, a thread owns vector_width consecutive
//       outputs and reads them as one 16-byte vector per summed position.
//   (b) transpose_tile: the source's unit-stride axis p and the result's q
//       are different kept axes (ijk->ki): a block owns a kTile x kTile tile
//       of (p, q) outputs and transposes it through shared memory.
//   (c) warp_per_output / block_per_output: the unit-stride source axis is
//       summed (ijk->ij): `group` consecutive lanes (4 to 32 of a warp, so
//       a warp holds several short rows; or the whole block for long sums
//       and few outputs) walk each output's sum, each lane reading
//       vector_width contiguous elements at a time. The group is as wide as
//       leaves every lane kSumUnroll loads, so each has that many in flight.
//   (d) splits over (a) or (c): when they launch fewer threads than fill the
//       GPU (DeviceTraits::fill_threads), each sum is cut into up to
//       kMaxSplits ranges over gridDim.y; partial sums go to a workspace and
//       a second kernel adds them. The only case with a non-zero workspace.
//   (e) many_axes: more than kMaxKeptAxes kept or kMaxSummedAxes summed
//       axes remain (tensor networks of many short modes). A thread per
//       output for short sums, a block per output otherwise, each thread
//       walking a contiguous range of the sum with a coordinate per axis;
//       axis lists of kMaxLaunchAxes hold any launchable view. Correct for
//       every shape, not tuned: no vectors, no splits.
// vector_width > 1 needs the contiguous run (the summed run in (c), the kept
// axis in (a)) and every other source stride to be multiples of it, which
// the plan checks; the base pointer's alignment is known only at launch,
// which falls back to `scalar` (the same variant with one element a load).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/device_traits.hpp"
#include "planner/tensor_layout.hpp"

namespace einstream::detail {

// The kernels' launch shape and tiling, shared by the planner and the kernels.
namespace reduce_tiling {
constexpr int kBlockThreads = 256;
constexpr int kWarpThreads = 32;
constexpr int kMaxKeptAxes = 12;   // after merging
constexpr int kMaxSummedAxes = 8;  // after merging
constexpr int kSumUnroll = 8;      // independent loads in flight per thread
constexpr int kVectorBytes = 16;   // the widest load: 4 f32, 8 f16, 2 f64 or c64
// A split leaving a thread fewer elements than this costs more in partials
// and combines than it gains in parallelism.
constexpr std::int64_t kMinSumPerThread = 16;
// Splits write a partial sum per output each: their bytes stay under this
// fraction of the bytes the sums read (f32 partials are doubles: a split
// for every 64 summed f32).
constexpr std::int64_t kMaxPartialShare = 32;
constexpr std::int64_t kMaxSplits = 1024;         // gridDim.y of (d)
constexpr std::int64_t kMaxGridBlocks = 1 << 30;  // kernels stride over the rest
// (a): outputs along x when the block also splits the sum along y.
constexpr int kSlicedOutputs = 32;
constexpr int kSlicedRows = kBlockThreads / kSlicedOutputs;
// (b): tile of kTile (source-contiguous p) x kTile (result-contiguous q).
constexpr int kTile = 32;
constexpr int kTileRows = 8;  // blockDim.y; each thread owns kTile / kTileRows q rows
constexpr int kTileRowsPerThread = kTile / kTileRows;
constexpr int kTileSumUnroll = 4;             // x kTileRowsPerThread loads in flight
constexpr std::int64_t kTileMinExtent = 8;    // narrower p or q wastes most of a tile
constexpr std::int64_t kTileMinBlocks = 256;  // fewer tiles: (a) with splits fills better
// (c): a contiguous summed axis shorter than a warp leaves lanes idle; (a) then.
constexpr std::int64_t kGroupMinExtent = kWarpThreads;
// Longer sums (in loads of vector_width) get a block when outputs are few.
constexpr std::int64_t kWarpSumLimit = 1024;
// The narrowest group of lanes per output: 4 lanes of 16-byte loads read two
// whole 32-byte sectors at a time.
constexpr int kMinGroupLanes = 4;
// (e): sums of at most this many elements take a thread per output.
constexpr std::int64_t kManyAxesThreadSum = 64;
}  // namespace reduce_tiling

// Kept axes, innermost first: an output index decomposes into coordinates.
// (A kernel parameter, as are the two structs below.)
struct KeptAxes {
  int rank = 0;
  std::int64_t extent[reduce_tiling::kMaxKeptAxes] = {};
  std::int64_t source_stride[reduce_tiling::kMaxKeptAxes] = {};
  std::int64_t result_stride[reduce_tiling::kMaxKeptAxes] = {};
};

// Summed axes, innermost first, and the cursor's step written in their
// mixed radix (so advancing needs additions and carries, no division or
// multiplication). Digits above step_rank are zero: advancing skips those
// axes unless a carry reaches them.
struct SummedAxes {
  int rank = 0;
  int step_rank = 0;
  std::int64_t extent[reduce_tiling::kMaxSummedAxes] = {};
  std::int64_t stride[reduce_tiling::kMaxSummedAxes] = {};
  std::int64_t step_digit[reduce_tiling::kMaxSummedAxes] = {};
  std::int64_t step_offset[reduce_tiling::kMaxSummedAxes] = {};  // step_digit * stride
  std::int64_t wrap_offset[reduce_tiling::kMaxSummedAxes] = {};  // extent * stride
};

// (b)'s two tiled axes; the other kept axes go in a KeptAxes.
struct TileAxes {
  std::int64_t p_extent = 0, q_extent = 0;
  std::int64_t p_source_stride = 0, q_source_stride = 0;
  std::int64_t p_result_stride = 0, q_result_stride = 0;
  std::int64_t p_tiles = 0, q_tiles = 0;
};

enum class ReduceVariant {
  none,               // the result has no elements: nothing to launch
  fill_zero,          // a summed extent is 0: result = epilogue(0)
  thread_per_output,  // (a)
  transpose_tile,     // (b)
  warp_per_output,    // (c), `group` lanes (4 to 32) of a warp per output
  block_per_output,   // (c), a block per output
  many_axes,          // (e)
};

// (e)'s axes, innermost first, as the kernel lists them.
struct ManyAxesReduce {
  std::vector<std::int64_t> kept_extents, kept_source_strides, kept_result_strides;
  std::vector<std::int64_t> summed_extents, summed_strides;
  bool block_per_output = false;  // else a thread per output
};

// What a launch changes when the source pointer is not aligned to
// vector_width elements: one element a load, so (a)'s threads own one output
// each (a grid vector_width times as wide) and (c)'s lanes step by `group`
// elements (a cursor with that step).
struct ScalarLaunch {
  std::int64_t grid_x = 1;
  SummedAxes summed;
};

struct ReducePlan {
  DataType dtype = DataType::f32;
  // Why these layouts cannot be launched (they do not describe a reduction,
  // too many axes remain after merging, an unsupported data type); empty
  // when they can. Launching a plan with an error throws it.
  std::string error;
  ReduceVariant variant = ReduceVariant::none;
  TensorLayout fill_layout;  // fill_zero: the result
  std::int64_t outputs = 0;
  std::int64_t sum_length = 0;
  // Elements from element (0, ..., 0) to where the summed axes start once
  // their strides are made non-negative.
  std::int64_t source_offset = 0;
  KeptAxes kept;         // (b): the kept axes other than p and q
  SummedAxes summed;     // its cursor steps by the threads that share a sum
  int vector_width = 1;  // elements a load: 1, or kVectorBytes / the element size
  int group = 0;         // (c): lanes per output
  ScalarLaunch scalar;   // the launch when the source is not aligned to vector_width
  TileAxes tile;         // (b)
  ManyAxesReduce many;   // (e)
  std::int64_t tile_count = 0;
  int block_x = reduce_tiling::kBlockThreads, block_y = 1;
  std::int64_t grid_x = 1;
  std::int64_t splits = 1;  // gridDim.y; (d) when above 1
  std::int64_t split_length = 0;
  std::int64_t finalize_grid_x = 0;   // (d)'s second pass, a warp per output
  std::uint64_t workspace_bytes = 0;  // (d)'s partial sums
};

// Bytes of one accumulator (the kernels add f16 and bf16 in float, f32 and
// f64 in double, c64 and c128 in complex double); 0 for a type the kernels
// do not support.
constexpr std::size_t reduce_accumulator_bytes(DataType dtype) {
  switch (dtype) {
    case DataType::f16:
    case DataType::bf16:
      return sizeof(float);
    case DataType::f32:
    case DataType::f64:
      return sizeof(double);
    case DataType::c64:
    case DataType::c128:
      return 2 * sizeof(double);
    default:
      return 0;
  }
}

// Plans the reduce of `source` into `result` (layouts as above). Layouts it
// cannot launch give a plan whose `error` says why: lowering plans every op
// for any backend, and only a CUDA launch of such a plan fails. (ShapeError
// only for an element count over 64 bits, which lowering rejects first.)
ReducePlan plan_reduce(DataType dtype, const TensorLayout& source, const TensorLayout& result,
                       const DeviceTraits& device = DeviceTraits{});

std::string to_string(ReduceVariant variant);
// One line for tests and explain(): variant, grid, block, group, vector
// width, splits, workspace.
std::string to_string(const ReducePlan& plan);

}  // namespace einstream::detail
