#include "planner/reduce_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "src/axis_merge.hpp"

namespace einstream::detail {

using namespace reduce_tiling;

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t magnitude(std::int64_t stride) { return stride < 0 ? -stride : stride; }

// A merged kept axis.
struct Axis {
  std::int64_t extent, source_stride, result_stride;
};

std::string layout_error(const TensorLayout& layout, const char* name) {
  if (layout.extents.size() != layout.strides.size()) {
    return std::string("reduce: the ") + name + " layout has " +
           std::to_string(layout.extents.size()) + " extents but " +
           std::to_string(layout.strides.size()) + " strides";
  }
  for (std::int64_t extent : layout.extents) {
    if (extent < 0) return std::string("reduce: the ") + name + " layout has a negative extent";
  }
  return {};
}

// Why `source` and `result` do not describe a reduction; empty when they do.
std::string reduction_error(DataType dtype, const TensorLayout& source,
                            const TensorLayout& result) {
  std::string error = layout_error(source, "source");
  if (error.empty()) error = layout_error(result, "result");
  if (!error.empty()) return error;
  const int kept_rank = result.rank();
  if (source.rank() < kept_rank) {
    return "reduce: the source has rank " + std::to_string(source.rank()) +
           " but the result has rank " + std::to_string(kept_rank) +
           "; the source needs the result's axes first, then the summed axes";
  }
  for (int axis = 0; axis < kept_rank; ++axis) {
    if (source.extents[axis] != result.extents[axis]) {
      return "reduce: kept axis " + std::to_string(axis) + " has extent " +
             std::to_string(source.extents[axis]) + " in the source but " +
             std::to_string(result.extents[axis]) + " in the result";
    }
    if (result.strides[axis] < 0) {
      return "reduce: result axis " + std::to_string(axis) + " has negative stride " +
             std::to_string(result.strides[axis]) + "; result strides must be non-negative";
    }
  }
  if (reduce_accumulator_bytes(dtype) == 0) {
    return std::string("reduce: data type ") + to_string(dtype) +
           " is not supported by the CUDA kernels (f32, f64, c64, c128, f16, bf16 are)";
  }
  return {};
}

// Kept axes in the result's memory order (outermost first) merge wherever
// the source agrees; returned innermost first.
std::vector<Axis> merged_kept_axes(const TensorLayout& source, const TensorLayout& result) {
  const int kept_rank = result.rank();
  std::vector<int> order(kept_rank);
  for (int axis = 0; axis < kept_rank; ++axis) order[axis] = axis;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return result.strides[a] > result.strides[b]; });
  std::vector<std::int64_t> extents, source_strides, result_strides;
  for (int axis : order) {
    extents.push_back(source.extents[axis]);
    source_strides.push_back(source.strides[axis]);
    result_strides.push_back(result.strides[axis]);
  }
  const MergedAxes kept = merge_axes(extents, {source_strides, result_strides});
  std::vector<Axis> axes;
  for (int axis = kept.rank() - 1; axis >= 0; --axis) {
    axes.push_back({kept.extents[axis], kept.strides[0][axis], kept.strides[1][axis]});
  }
  return axes;
}

// Summed axes with their strides made non-negative (adding each reversed
// axis's far end to `source_offset`), sorted by stride and merged; returned
// innermost first as {extent, stride} in a MergedAxes of one layout.
MergedAxes merged_summed_axes(const TensorLayout& source, int kept_rank,
                              std::int64_t& source_offset) {
  std::vector<int> order;
  for (int axis = kept_rank; axis < source.rank(); ++axis) order.push_back(axis);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return magnitude(source.strides[a]) > magnitude(source.strides[b]);
  });
  std::vector<std::int64_t> extents, strides;
  source_offset = 0;
  for (int axis : order) {
    const std::int64_t stride = source.strides[axis];
    if (stride < 0) source_offset += (source.extents[axis] - 1) * stride;
    extents.push_back(source.extents[axis]);
    strides.push_back(magnitude(stride));
  }
  MergedAxes summed = merge_axes(extents, {strides});
  std::reverse(summed.extents.begin(), summed.extents.end());
  std::reverse(summed.strides[0].begin(), summed.strides[0].end());
  return summed;
}

// The widest load, in elements, that the element type allows.
int widest_vector(DataType dtype) {
  return static_cast<int>(kVectorBytes / static_cast<std::int64_t>(size_of(dtype)));
}

// Whether every kept source stride (but `skip`'s) and every summed stride
// (but axis 0's when `skip_summed_run`) is a multiple of `width`: then a
// vector that starts aligned at one position does at every other.
bool strides_multiple_of(std::int64_t width, const std::vector<Axis>& axes, int skip,
                         const MergedAxes& summed, bool skip_summed_run) {
  for (int i = 0; i < static_cast<int>(axes.size()); ++i) {
    if (i != skip && axes[i].source_stride % width != 0) return false;
  }
  for (int axis = skip_summed_run ? 1 : 0; axis < summed.rank(); ++axis) {
    if (summed.strides[0][axis] % width != 0) return false;
  }
  return true;
}

// (c)'s width: the unit-stride summed run and every other stride must be
// multiples of it; 1 otherwise (only the widest vector or none, so the
// kernels are built for two widths).
int run_vector_width(DataType dtype, const std::vector<Axis>& axes, const MergedAxes& summed) {
  const int width = widest_vector(dtype);
  if (width <= 1 || summed.rank() == 0 || summed.strides[0][0] != 1 ||
      summed.extents[0] % width != 0 || !strides_multiple_of(width, axes, -1, summed, true)) {
    return 1;
  }
  return width;
}

// (a)'s width: the kept axis the threads run along (axes[0]) must be
// unit-stride with an extent and every other stride multiples of it.
int column_vector_width(DataType dtype, const std::vector<Axis>& axes, const MergedAxes& summed) {
  const int width = widest_vector(dtype);
  if (width <= 1 || axes.empty() || axes[0].source_stride != 1 || axes[0].extent % width != 0 ||
      !strides_multiple_of(width, axes, 0, summed, false)) {
    return 1;
  }
  return width;
}

void fill_kept(KeptAxes& kept, const std::vector<Axis>& axes) {
  kept.rank = static_cast<int>(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) {
    kept.extent[i] = axes[i].extent;
    kept.source_stride[i] = axes[i].source_stride;
    kept.result_stride[i] = axes[i].result_stride;
  }
}

// The summed axes with the cursor's step, `step` flat indices, in their
// mixed radix. Past the outermost axis the digits wrap; the walks never use
// a position at or beyond the end of the sum, so that is harmless.
SummedAxes summed_axes(const MergedAxes& merged, std::int64_t step) {
  SummedAxes summed;
  summed.rank = merged.rank();
  for (int axis = 0; axis < summed.rank; ++axis) {
    summed.extent[axis] = merged.extents[axis];
    summed.stride[axis] = merged.strides[0][axis];
    summed.step_digit[axis] = step % summed.extent[axis];
    step /= summed.extent[axis];
    summed.step_offset[axis] = summed.step_digit[axis] * summed.stride[axis];
    summed.wrap_offset[axis] = summed.extent[axis] * summed.stride[axis];
    if (summed.step_digit[axis] != 0) summed.step_rank = axis + 1;
  }
  return summed;
}

// Splits of a sum when `threads` launched threads (each walking every
// `walkers`-th element of its range) are fewer than `fill`: about `target`
// threads then. Split boundaries fall on multiples of `width`, so no vector
// straddles two.
void choose_splits(ReducePlan& plan, std::int64_t threads, std::int64_t walkers, std::int64_t fill,
                   std::int64_t target, std::int64_t width) {
  plan.splits = 1;
  if (threads < fill) {
    std::int64_t splits = ceil_div(target, threads);
    splits = std::min(splits, plan.sum_length / (walkers * kMinSumPerThread));
    // The partials are written and read again: at most 1/kMaxPartialShare
    // of the bytes the sums read.
    const auto partial_bytes = static_cast<std::int64_t>(reduce_accumulator_bytes(plan.dtype));
    splits = std::min(splits, plan.sum_length * static_cast<std::int64_t>(size_of(plan.dtype)) /
                                  (kMaxPartialShare * partial_bytes));
    plan.splits = std::max<std::int64_t>(1, std::min(splits, kMaxSplits));
  }
  plan.split_length = ceil_div(ceil_div(plan.sum_length, plan.splits), width) * width;
  plan.splits = ceil_div(plan.sum_length, plan.split_length);  // no empty splits
  if (plan.splits > 1) {
    plan.finalize_grid_x =
        std::min(ceil_div(plan.outputs, kBlockThreads / kWarpThreads), kMaxGridBlocks);
    plan.workspace_bytes = static_cast<std::uint64_t>(plan.splits * plan.outputs) *
                           reduce_accumulator_bytes(plan.dtype);
  }
}

// (b) when the unit-stride axes of source and result are distinct kept axes
// wide enough for a tile, and there are enough tiles (or sums too short to
// split); false otherwise.
bool plan_transpose_tile(ReducePlan& plan, const std::vector<Axis>& axes,
                         const MergedAxes& summed) {
  int source_unit = -1, result_unit = -1;
  for (int i = 0; i < static_cast<int>(axes.size()); ++i) {
    if (source_unit < 0 && magnitude(axes[i].source_stride) == 1) source_unit = i;
    if (result_unit < 0 && axes[i].result_stride == 1) result_unit = i;
  }
  if (source_unit < 0 || result_unit < 0 || source_unit == result_unit ||
      axes[source_unit].extent < kTileMinExtent || axes[result_unit].extent < kTileMinExtent) {
    return false;
  }
  TileAxes tile;
  tile.p_extent = axes[source_unit].extent;
  tile.q_extent = axes[result_unit].extent;
  tile.p_source_stride = axes[source_unit].source_stride;
  tile.q_source_stride = axes[result_unit].source_stride;
  tile.p_result_stride = axes[source_unit].result_stride;
  tile.q_result_stride = axes[result_unit].result_stride;
  tile.p_tiles = ceil_div(tile.p_extent, kTile);
  tile.q_tiles = ceil_div(tile.q_extent, kTile);
  const std::int64_t tile_count =
      tile.p_tiles * tile.q_tiles * (plan.outputs / tile.p_extent / tile.q_extent);
  if (tile_count < kTileMinBlocks && plan.sum_length > kSumUnroll * kMinSumPerThread) return false;
  plan.variant = ReduceVariant::transpose_tile;
  plan.tile = tile;
  plan.tile_count = tile_count;
  std::vector<Axis> others;
  for (int i = 0; i < static_cast<int>(axes.size()); ++i) {
    if (i != source_unit && i != result_unit) others.push_back(axes[i]);
  }
  fill_kept(plan.kept, others);
  plan.summed = summed_axes(summed, 1);
  plan.block_x = kTile;
  plan.block_y = kTileRows;
  plan.grid_x = std::min(tile_count, kMaxGridBlocks);
  plan.scalar = {plan.grid_x, plan.summed};
  return true;
}

// (c)'s lanes per output within a warp: as many as leave each lane
// kSumUnroll loads of the `loads` an output's sum takes.
int warp_group_lanes(std::int64_t loads) {
  int lanes = kWarpThreads;
  while (lanes > kMinGroupLanes && loads < std::int64_t{lanes} * kSumUnroll) lanes /= 2;
  return lanes;
}

// (c), and (d) over it. A thread with vectors of `width` keeps `width` times
// the bytes in flight, so `width` times fewer fill the GPU: that decides a
// warp or a block per output (a block whose step outruns a short summed run
// pays a carry into the outer summed axes on every load). The splits are
// sized in threads as for scalar loads: more of them cost only partials.
void plan_group_per_output(ReducePlan& plan, const std::vector<Axis>& axes,
                           const MergedAxes& summed, const DeviceTraits& device) {
  fill_kept(plan.kept, axes);
  const int width = run_vector_width(plan.dtype, axes, summed);
  const std::int64_t loads = plan.sum_length / width;
  const bool warp =
      plan.outputs * kWarpThreads >= device.fill_threads / width || loads <= kWarpSumLimit;
  plan.variant = warp ? ReduceVariant::warp_per_output : ReduceVariant::block_per_output;
  plan.vector_width = width;
  plan.group = warp ? warp_group_lanes(loads) : kBlockThreads;
  plan.summed = summed_axes(summed, std::int64_t{plan.group} * width);
  const std::int64_t blocks = ceil_div(plan.outputs, kBlockThreads / plan.group);
  plan.grid_x = std::min(blocks, kMaxGridBlocks);
  plan.scalar = {plan.grid_x, summed_axes(summed, plan.group)};
  choose_splits(plan, plan.grid_x * kBlockThreads, std::int64_t{plan.group} * width,
                device.fill_threads, device.fill_threads, width);
}

// (a), and (d) over it: threads along the smallest non-zero source stride,
// each owning vector_width consecutive outputs along it. Slicing the sum in
// the block costs nothing, so it is sized for fill_threads. Few owners
// (column sums ij->j: 16384 f32 columns are 4096 threads of vectors, 128
// blocks) are split to split_fills times fill_threads: split only to fill the
// GPU as scalar threads would (2 splits, 256 blocks of 256 threads) they
// read at 0.80 of copy bandwidth on the H200 (bf16, 128 blocks: 0.53),
// each SM holding one or two blocks; at 16 splits, 1.18 on an H100 (bf16,
// 32 splits: 1.11). A split writes partials for every output, no more than
// 1/kMaxPartialShare of the bytes read (2 MB for the column sums above).
void plan_thread_per_output(ReducePlan& plan, std::vector<Axis> axes, const MergedAxes& summed,
                            const DeviceTraits& device) {
  std::stable_sort(axes.begin(), axes.end(), [](const Axis& a, const Axis& b) {
    const auto key = [](const Axis& axis) {
      return axis.source_stride == 0 ? INT64_MAX : magnitude(axis.source_stride);
    };
    return key(a) < key(b);
  });
  fill_kept(plan.kept, axes);
  plan.variant = ReduceVariant::thread_per_output;
  plan.vector_width = column_vector_width(plan.dtype, axes, summed);
  const std::int64_t owners = plan.outputs / plan.vector_width;  // threads with outputs
  if (owners < device.fill_threads && plan.sum_length >= kSlicedRows * kMinSumPerThread) {
    plan.block_x = kSlicedOutputs;
    plan.block_y = kSlicedRows;
  }
  plan.summed = summed_axes(summed, plan.block_y);
  plan.grid_x = std::min(ceil_div(owners, plan.block_x), kMaxGridBlocks);
  plan.scalar = {std::min(ceil_div(plan.outputs, plan.block_x), kMaxGridBlocks), plan.summed};
  choose_splits(plan, plan.grid_x * kBlockThreads, plan.block_y, device.fill_threads,
                device.fill_threads * device.split_fills, 1);
}

// (e): every axis listed, a thread or a block per output.
void plan_many_axes(ReducePlan& plan, const std::vector<Axis>& axes, const MergedAxes& summed) {
  plan.variant = ReduceVariant::many_axes;
  ManyAxesReduce& many = plan.many;
  for (const Axis& axis : axes) {
    many.kept_extents.push_back(axis.extent);
    many.kept_source_strides.push_back(axis.source_stride);
    many.kept_result_strides.push_back(axis.result_stride);
  }
  many.summed_extents = summed.extents;
  many.summed_strides = summed.strides[0];
  many.block_per_output = plan.sum_length > kManyAxesThreadSum;
  plan.block_x = kBlockThreads;
  plan.grid_x = std::min(
      many.block_per_output ? plan.outputs : ceil_div(plan.outputs, kBlockThreads), kMaxGridBlocks);
}

}  // namespace

ReducePlan plan_reduce(DataType dtype, const TensorLayout& source, const TensorLayout& result,
                       const DeviceTraits& device) {
  ReducePlan plan;
  plan.dtype = dtype;
  plan.error = reduction_error(dtype, source, result);
  if (!plan.error.empty()) return plan;
  plan.outputs = result.element_count();
  plan.sum_length = 1;
  for (int axis = result.rank(); axis < source.rank(); ++axis)
    plan.sum_length *= source.extents[axis];
  if (plan.outputs == 0) return plan;  // ReduceVariant::none
  if (plan.sum_length == 0) {
    plan.variant = ReduceVariant::fill_zero;
    plan.fill_layout = result;
    return plan;
  }
  const std::vector<Axis> axes = merged_kept_axes(source, result);
  const MergedAxes summed = merged_summed_axes(source, result.rank(), plan.source_offset);
  if (static_cast<int>(axes.size()) > kMaxLaunchAxes || summed.rank() > kMaxLaunchAxes) {
    plan.error = "reduce: " + std::to_string(axes.size()) + " kept and " +
                 std::to_string(summed.rank()) + " summed axes remain after merging; at most " +
                 std::to_string(kMaxLaunchAxes) + " of each are supported";
    return plan;
  }
  if (static_cast<int>(axes.size()) > kMaxKeptAxes || summed.rank() > kMaxSummedAxes) {
    plan_many_axes(plan, axes, summed);
    return plan;
  }
  if (plan_transpose_tile(plan, axes, summed)) return plan;
  // (c) for a contiguous summed axis; also for a handful of outputs,
  // whatever the strides, since (a) would leave most lanes of its block idle.
  const bool summed_contiguous =
      summed.rank() > 0 && summed.strides[0][0] == 1 && summed.extents[0] >= kGroupMinExtent;
  if (summed_contiguous || plan.outputs < kSlicedOutputs) {
    plan_group_per_output(plan, axes, summed, device);
  } else {
    plan_thread_per_output(plan, axes, summed, device);
  }
  return plan;
}

std::string to_string(ReduceVariant variant) {
  switch (variant) {
    case ReduceVariant::none:
      return "none";
    case ReduceVariant::fill_zero:
      return "fill zero";
    case ReduceVariant::thread_per_output:
      return "thread per output";
    case ReduceVariant::transpose_tile:
      return "transpose tile";
    case ReduceVariant::warp_per_output:
      return "warp per output";
    case ReduceVariant::block_per_output:
      return "block per output";
    case ReduceVariant::many_axes:
      return "many axes";
  }
  return "invalid";
}

std::string to_string(const ReducePlan& plan) {
  if (!plan.error.empty()) return "not launchable: " + plan.error;
  std::string text = to_string(plan.variant);
  if (plan.variant == ReduceVariant::none || plan.variant == ReduceVariant::fill_zero) return text;
  text += ", grid " + std::to_string(plan.grid_x) + "x" + std::to_string(plan.splits) + ", block " +
          std::to_string(plan.block_x) + "x" + std::to_string(plan.block_y);
  if (plan.variant == ReduceVariant::warp_per_output) {
    text += ", " + std::to_string(plan.group) + " lanes per output";
  }
  if (plan.variant == ReduceVariant::many_axes) {
    text += ", " + std::to_string(plan.many.kept_extents.size()) + " kept and " +
            std::to_string(plan.many.summed_extents.size()) + " summed axes, a " +
            (plan.many.block_per_output ? "block" : "thread") + " per output";
  }
  if (plan.vector_width > 1) text += ", vectors of " + std::to_string(plan.vector_width);
  if (plan.splits > 1) {
    text += ", sums split in " + std::to_string(plan.splits) + " of " +
            std::to_string(plan.split_length) + ", workspace " +
            std::to_string(plan.workspace_bytes) + " B";
  }
  return text;
}

}  // namespace einstream::detail
