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
// run spans a tile; returns the run's extent.
std::int64_t fold_run(const std::vector<int>& order, std::vector<bool>& taken,
                      const std::vector<PermuteAxis>& axes, std::vector<PermuteAxis>& run) {
  std::int64_t extent = element_count(run);
  for (int axis : order) {
    if (extent >= kTile) break;
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

// The tiled variant when the innermost mode moves (the source's unit-stride
// axis is not the result's innermost) and both runs span kMinTileRun; false
// otherwise.
bool plan_tiled(PermutePlan& plan, const std::vector<PermuteAxis>& axes) {
  const int rank = static_cast<int>(axes.size());
  int source_unit = -1;
  for (int i = 0; i < rank && source_unit < 0; ++i) {
    if (std::llabs(axes[i].source_stride) == 1) source_unit = i;
  }
  if (source_unit <= 0) return false;
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
  tiled.result_run_extent = fold_run(result_order, taken, axes, tiled.result_run);
  tiled.source_run_extent = fold_run(source_order, taken, axes, tiled.source_run);
  if (std::min(tiled.result_run_extent, tiled.source_run_extent) < kMinTileRun) return false;
  for (int i = 0; i < rank; ++i) {
    if (!taken[i]) tiled.outer.push_back(axes[i]);
  }
  const bool wide = static_cast<int>(size_of(plan.dtype)) <= kWideTileBytes &&
                    tiled.result_run_extent >= kWideTile;
  size_tiles(tiled, wide ? kWideTile : kTile);
  plan.variant = PermuteVariant::tiled;
  plan.tiled = std::move(tiled);
  return true;
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
  return plan;
}

PermutePlan plan_permute(DataType dtype, const TensorLayout& source, const TensorLayout& result) {
  PermutePlan plan;
  plan.dtype = dtype;
  plan.error = layout_error(source, result);
  if (!plan.error.empty()) return plan;
  std::vector<PermuteAxis> axes = merged_axes(source, result);
  plan.merged_rank = static_cast<int>(axes.size());
  if (plan.merged_rank > kMaxRank) {
    plan.error = "permute: " + std::to_string(plan.merged_rank) +
                 " axes remain after merging adjacent ones; at most " + std::to_string(kMaxRank) +
                 " are supported (source " + to_string(source) + ", result " + to_string(result) +
                 ")";
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
  if (!plan_tiled(plan, axes)) plan_strided(plan, axes);
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
  }
  return "invalid";
}

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
           std::to_string(plan.tiled.blocks) + " blocks";
  }
  text += ", " + std::to_string(plan.elements.blocks) + " blocks";
  if (plan.vector > 1) {
    text += " (" + std::to_string(plan.packets.blocks) + " with " + std::to_string(plan.vector) +
            "-element packets when aligned)";
  }
  return text;
}

}  // namespace einstream::detail
