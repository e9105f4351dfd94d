#include "planner/permute_plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "einstream/error.hpp"
#include "src/axis_merge.hpp"

namespace einstream::detail {

using namespace permute_tiling;

namespace {

std::string shapes_of(const TensorLayout& source, const TensorLayout& result) {
  return " (source " + to_string(source) + ", result " + to_string(result) + ")";
}

// Lowering plans every op, so the messages are built only for an error.
std::string layout_error(const TensorLayout& source, const TensorLayout& result) {
  if (source.extents.size() != source.strides.size() ||
      result.extents.size() != result.strides.size()) {
    return "permute: a layout has a different number of extents and strides" +
           shapes_of(source, result);
  }
  if (source.rank() != result.rank()) {
    return "permute: the source has rank " + std::to_string(source.rank()) +
           " but the result has rank " + std::to_string(result.rank()) + shapes_of(source, result);
  }
  for (int axis = 0; axis < result.rank(); ++axis) {
    if (source.extents[axis] != result.extents[axis] || result.extents[axis] < 0) {
      return "permute: axis " + std::to_string(axis) +
             " has different or negative extents in the source and the result" +
             shapes_of(source, result);
    }
    if (result.strides[axis] < 0) {
      return "permute: the result's stride on axis " + std::to_string(axis) +
             " is negative; result strides must be non-negative" + shapes_of(source, result);
    }
  }
  return {};
}

// The axes in the result's memory order, merged; innermost first.
std::vector<PermuteAxis> merged_axes(const TensorLayout& source, const TensorLayout& result) {
  const int rank = result.rank();
  std::vector<int> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int left, int right) {
    return result.strides[left] > result.strides[right];
  });
  std::vector<std::int64_t> extents;
  std::vector<std::vector<std::int64_t>> strides(2);
  for (int axis : order) {
    extents.push_back(result.extents[axis]);
    strides[0].push_back(result.strides[axis]);
    strides[1].push_back(source.strides[axis]);
  }
  const MergedAxes merged = merge_axes(extents, strides);
  std::vector<PermuteAxis> axes;
  for (int i = merged.rank() - 1; i >= 0; --i) {
    axes.push_back({merged.extents[i], merged.strides[1][i], merged.strides[0][i]});
  }
  return axes;
}

std::int64_t element_count(const std::vector<PermuteAxis>& axes) {
  std::int64_t count = 1;
  for (const PermuteAxis& axis : axes) count *= axis.extent;
  return count;
}

bool fits_32bit_index(const std::vector<PermuteAxis>& axes) {
  std::int64_t source_span = 0;
  std::int64_t result_span = 0;
  for (const PermuteAxis& axis : axes) {
    source_span += (axis.extent - 1) * std::llabs(axis.source_stride);
    result_span += (axis.extent - 1) * axis.result_stride;
  }
  return element_count(axes) <= kInt32IndexLimit && source_span <= kInt32IndexLimit &&
         result_span <= kInt32IndexLimit;
}

StridedLaunch strided_launch(std::vector<PermuteAxis> axes) {
  StridedLaunch launch;
  launch.items = element_count(axes);
  launch.blocks = (launch.items + kStridedItemsPerBlock - 1) / kStridedItemsPerBlock;
  launch.axes = std::move(axes);
  return launch;
}

// 16-byte packets need both views contiguous along the innermost axis and
// every other stride a whole number of packets (and, at launch, aligned
// pointers).
bool packs(const std::vector<PermuteAxis>& axes, int vector) {
  const PermuteAxis& inner = axes.front();
  if (inner.source_stride != 1 || inner.result_stride != 1 || inner.extent % vector != 0) {
    return false;
  }
  for (std::size_t i = 1; i < axes.size(); ++i) {
    if (axes[i].source_stride % vector != 0 || axes[i].result_stride % vector != 0) return false;
  }
  return true;
}

void plan_strided(PermutePlan& plan, const std::vector<PermuteAxis>& axes) {
  plan.variant = PermuteVariant::strided;
  plan.elements = strided_launch(axes);
  const int element = static_cast<int>(size_of(plan.dtype));
  const int vector = element < kVectorBytes ? kVectorBytes / element : 1;
  if (vector > 1 && packs(axes, vector)) {
    std::vector<PermuteAxis> packed = axes;
    packed.front().extent /= vector;
    for (std::size_t i = 1; i < packed.size(); ++i) {
      packed[i].source_stride /= vector;
      packed[i].result_stride /= vector;
    }
    plan.vector = vector;
    plan.packets = strided_launch(std::move(packed));
  }
}

// Folds axes not yet taken into a tile run, in the given order, until the
// run spans `target` elements; returns the run's extent.
std::int64_t fold_run(const std::vector<int>& order, std::int64_t target, std::vector<bool>& taken,
                      const std::vector<PermuteAxis>& axes, std::vector<PermuteAxis>& run) {
  std::int64_t extent = element_count(run);
  for (int axis : order) {
    if (extent >= target) break;
    if (taken[axis]) continue;
    taken[axis] = true;
    run.push_back(axes[axis]);
    extent *= axes[axis].extent;
  }
  return extent;
}

// The tile counts and grid of `tiled` with tiles of `result_tile` x kTile.
void size_tiles(TiledLaunch& tiled, int result_tile) {
  tiled.result_tile = result_tile;
  tiled.result_run_tiles = (tiled.result_run_extent + result_tile - 1) / result_tile;
  tiled.source_run_tiles = (tiled.source_run_extent + kTile - 1) / kTile;
  tiled.tile_count = tiled.result_run_tiles * tiled.source_run_tiles * element_count(tiled.outer);
  tiled.blocks = std::min(tiled.tile_count, kMaxTiledBlocks);
}

// The index of the source's unit-stride axis when it is not the result's
// innermost (the innermost mode moves), -1 otherwise.
int moved_source_unit(const std::vector<PermuteAxis>& axes) {
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (std::llabs(axes[i].source_stride) == 1) return i == 0 ? -1 : static_cast<int>(i);
  }
  return -1;
}

// The tile plane: the result run (axes[0] first) folded in the result's
// memory order until it spans `result_target` elements, then the source run
// (axes[source_unit] first) in the source's until it spans `source_target`.
TiledLaunch tile_plane(const std::vector<PermuteAxis>& axes, int source_unit,
                       std::int64_t result_target, std::int64_t source_target) {
  const int rank = static_cast<int>(axes.size());
  std::vector<int> result_order(rank);
  std::iota(result_order.begin(), result_order.end(), 0);
  std::vector<int> source_order = result_order;
  // The source's memory order; broadcast axes last, as folding them in
  // would lengthen no contiguous read.
  const auto source_step = [&](int axis) {
    const std::int64_t stride = std::llabs(axes[axis].source_stride);
    return stride == 0 ? std::numeric_limits<std::int64_t>::max() : stride;
  };
  std::stable_sort(source_order.begin(), source_order.end(),
                   [&](int left, int right) { return source_step(left) < source_step(right); });
  std::vector<bool> taken(rank, false);
  taken[source_unit] = true;  // it heads the source run
  TiledLaunch tiled;
  tiled.source_run = {axes[source_unit]};
  tiled.result_run_extent = fold_run(result_order, result_target, taken, axes, tiled.result_run);
  tiled.source_run_extent = fold_run(source_order, source_target, taken, axes, tiled.source_run);
  for (int i = 0; i < rank; ++i) {
    if (!taken[i]) tiled.outer.push_back(axes[i]);
  }
  return tiled;
}

// The tiled variant when the innermost mode moves and both runs span
// kMinTileRun; false otherwise. Elements of at most kWideTileBytes fold the
// result run to a wide tile's length (a result run of 32 takes the next
// axis in), and take wide tiles when it is that long.
bool plan_tiled(PermutePlan& plan, const std::vector<PermuteAxis>& axes) {
  const int source_unit = moved_source_unit(axes);
  if (source_unit < 0) return false;
  const bool small = static_cast<int>(size_of(plan.dtype)) <= kWideTileBytes;
  TiledLaunch tiled = tile_plane(axes, source_unit, small ? kWideTile : kTile, kTile);
  if (std::min(tiled.result_run_extent, tiled.source_run_extent) < kMinTileRun) return false;
  size_tiles(tiled, small && tiled.result_run_extent >= kWideTile ? kWideTile : kTile);
  plan.variant = PermuteVariant::tiled;
  plan.tiled = std::move(tiled);
  return true;
}

// `axis` in words of `vector` elements. A run's `head` (its unit-stride
// axis) counts words: its unit stride stays 1 and its stride in the other
// layout stays as it is (a word step there is `vector` element steps of it,
// a whole number of words). Any other axis keeps its extent and has its
// strides divided.
PermuteAxis in_words(PermuteAxis axis, bool head, int vector) {
  if (head) {
    axis.extent /= vector;
  } else {
    axis.source_stride /= vector;
    axis.result_stride /= vector;
  }
  return axis;
}

// Word tiles of `vector` elements: both runs' unit-stride axes whole words
// long, the result's stride 1 and the source's +1 (a reversed one reads
// words backwards), every other stride a whole number of words, and both
// runs at least half a tile long (kTile * vector elements a side).
bool plan_word_tiles(PermutePlan& plan, const std::vector<PermuteAxis>& axes, int vector) {
  const int source_unit = moved_source_unit(axes);
  const PermuteAxis& result_head = axes.front();
  const PermuteAxis& source_head = axes[source_unit];
  if (result_head.result_stride != 1 || source_head.source_stride != 1 ||
      result_head.extent % vector != 0 || source_head.extent % vector != 0) {
    return false;
  }
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const bool source_whole =
        static_cast<int>(i) == source_unit || axes[i].source_stride % vector == 0;
    const bool result_whole = i == 0 || axes[i].result_stride % vector == 0;
    if (!source_whole || !result_whole) return false;
  }
  const std::int64_t side = std::int64_t{kTile} * vector;
  TiledLaunch elements = tile_plane(axes, source_unit, side, side);
  if (std::min(elements.result_run_extent, elements.source_run_extent) < side / 2) return false;
  TiledLaunch words;
  for (std::size_t i = 0; i < elements.result_run.size(); ++i) {
    words.result_run.push_back(in_words(elements.result_run[i], i == 0, vector));
  }
  for (std::size_t i = 0; i < elements.source_run.size(); ++i) {
    words.source_run.push_back(in_words(elements.source_run[i], i == 0, vector));
  }
  for (const PermuteAxis& axis : elements.outer) {
    words.outer.push_back(in_words(axis, false, vector));
  }
  words.result_run_extent = elements.result_run_extent / vector;
  words.source_run_extent = elements.source_run_extent / vector;
  words.source_step = result_head.source_stride / vector;
  words.result_step = source_head.result_stride / vector;
  size_tiles(words, kTile);
  plan.tile_vector = vector;
  plan.word_tiled = std::move(words);
  return true;
}

// The largest word (of at most kTileWordBytes, and `max_vector` elements
// when that is positive) that tiles `axes`; left to the planner, a larger
// word needs kMinWiderWordTiles of its tiles (a word of 2 tiles whatever
// shape a word of 4 does). 32-bit indexing only: the path past 2^31
// elements keeps the element tiles.
void plan_word_tiled(PermutePlan& plan, const std::vector<PermuteAxis>& axes, int max_vector) {
  if (!plan.index32) return;
  const int element = static_cast<int>(size_of(plan.dtype));
  int vector = std::min(kMaxTileVector, std::max(1, kTileWordBytes / element));
  if (max_vector > 0) vector = std::min(vector, max_vector);
  for (; vector > 1; vector /= 2) {
    if (!plan_word_tiles(plan, axes, vector)) continue;
    if (vector == 2 || max_vector > 0 || plan.word_tiled.tile_count >= kMinWiderWordTiles) return;
  }
}

}  // namespace

PermutePlan with_result_tile(PermutePlan plan, int result_tile) {
  if (plan.variant != PermuteVariant::tiled) {
    throw Error("with_result_tile: the plan is " + to_string(plan.variant) + ", not tiled");
  }
  if (result_tile != kTile && result_tile != kWideTile) {
    throw Error("with_result_tile: tiles are " + std::to_string(kTile) + " or " +
                std::to_string(kWideTile) + " long along the result run, not " +
                std::to_string(result_tile));
  }
  size_tiles(plan.tiled, result_tile);
  plan.tile_vector = 1;
  plan.word_tiled = TiledLaunch{};
  return plan;
}

PermutePlan plan_permute(DataType dtype, const TensorLayout& source, const TensorLayout& result,
                         int max_tile_vector) {
  PermutePlan plan;
  plan.dtype = dtype;
  plan.error = layout_error(source, result);
  if (!plan.error.empty()) return plan;
  std::vector<PermuteAxis> axes = merged_axes(source, result);
  plan.merged_rank = static_cast<int>(axes.size());
  if (plan.merged_rank > kMaxManyRank) {
    plan.error = "permute: " + std::to_string(plan.merged_rank) +
                 " axes remain after merging adjacent ones; at most " +
                 std::to_string(kMaxManyRank) + " are supported (source " + to_string(source) +
                 ", result " + to_string(result) + ")";
    return plan;
  }
  // The kernels move elements of every data type (f16 and bf16 as their
  // bits: only an epilogue computes, in float).
  if (!is_supported(dtype)) {
    plan.error = std::string("permute: data type ") + to_string(dtype) +
                 " is not supported by the CUDA kernels (f32, f64, c64, c128, f16, bf16 are)";
    return plan;
  }
  if (axes.empty()) axes.push_back({1, 0, 0});  // a scalar: one element
  if (element_count(axes) == 0) return plan;    // zero-element views launch nothing
  plan.index32 = fits_32bit_index(axes);
  if (plan.merged_rank > kMaxRank) {
    plan.variant = PermuteVariant::many_axes;
    plan.elements = strided_launch(axes);
  } else if (plan_tiled(plan, axes)) {
    plan_word_tiled(plan, axes, max_tile_vector);
  } else {
    plan_strided(plan, axes);
  }
  return plan;
}

std::string to_string(PermuteVariant variant) {
  switch (variant) {
    case PermuteVariant::none:
      return "none";
    case PermuteVariant::strided:
      return "strided";
    case PermuteVariant::tiled:
      return "tiled";
    case PermuteVariant::many_axes:
      return "many axes";
  }
  return "invalid";
}

namespace {

std::string word_tiles_text(const PermutePlan& plan) {
  if (plan.tile_vector <= 1) return {};
  const TiledLaunch& words = plan.word_tiled;
  const std::string side = std::to_string(kTile * plan.tile_vector);
  return " (" + std::to_string(words.tile_count) + " tiles of " + side + "x" + side + " in " +
         std::to_string(plan.tile_vector) + "-element words when aligned)";
}

}  // namespace

std::string to_string(const PermutePlan& plan) {
  if (!plan.error.empty()) return "not launchable: " + plan.error;
  std::string text = to_string(plan.variant);
  if (plan.variant == PermuteVariant::none) return text;
  text += ", rank " + std::to_string(plan.merged_rank) + (plan.index32 ? ", 32-bit" : ", 64-bit");
  if (plan.variant == PermuteVariant::tiled) {
    return text + ", runs " + std::to_string(plan.tiled.result_run_extent) + "x" +
           std::to_string(plan.tiled.source_run_extent) + ", " +
           std::to_string(plan.tiled.tile_count) + " tiles of " +
           std::to_string(plan.tiled.result_tile) + "x" + std::to_string(kTile) + " on " +
           std::to_string(plan.tiled.blocks) + " blocks" + word_tiles_text(plan);
  }
  text += ", " + std::to_string(plan.elements.blocks) + " blocks";
  if (plan.vector > 1) {
    text += " (" + std::to_string(plan.packets.blocks) + " with " + std::to_string(plan.vector) +
            "-element packets when aligned)";
  }
  return text;
}

}  // namespace einstream::detail
