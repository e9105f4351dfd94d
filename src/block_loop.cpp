#include "src/block_loop.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "einstream/error.hpp"
#include "planner/block_cursor.hpp"

namespace einstream::detail {

namespace {

bool contains(const std::vector<Mode>& modes, Mode mode) {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

// Per streamed input, the loop levels whose mode it carries: its block
// changes exactly when one of their indices does.
std::vector<std::vector<std::size_t>> carried_levels(const Problem& problem,
                                                     const SlicePlan& plan) {
  std::vector<std::vector<std::size_t>> carried(problem.inputs.size());
  for (std::size_t operand = 0; operand < problem.inputs.size(); ++operand) {
    if (plan.inputs[operand] != Residency::streamed) continue;
    for (std::size_t level = 0; level < plan.sliced.size(); ++level) {
      if (contains(problem.inputs[operand].modes, plan.sliced[level].mode)) {
        carried[operand].push_back(level);
      }
    }
  }
  return carried;
}

}  // namespace

std::int64_t run_block_loop(const Problem& problem, const SlicePlan& plan,
                            const std::vector<BlockShape>& shapes,
                            const std::vector<std::vector<std::int64_t>>& input_strides,
                            const std::vector<std::int64_t>& output_strides, Scalar alpha,
                            Scalar beta, BlockBackend& backend, const BlockProgress& progress,
                            std::optional<BlockRange> range) {
  const BlockRange walk = range ? *range : BlockRange{0, plan.block_count};
  if (walk.begin < 0 || walk.end > plan.block_count || walk.begin > walk.end) {
    throw Error("block loop: range [" + std::to_string(walk.begin) + ", " +
                std::to_string(walk.end) + ") is not within the plan's " +
                std::to_string(plan.block_count) + " blocks");
  }
  std::map<std::vector<std::int64_t>, const BlockShape*> shape_of;
  for (const BlockShape& shape : shapes) shape_of.emplace(shape.level_extents, &shape);
  const int count = static_cast<int>(problem.inputs.size());
  const bool output_streamed = plan.output == Residency::streamed;
  const std::vector<std::vector<std::size_t>> carried = carried_levels(problem, plan);

  backend.upload_residents(beta != Scalar(0.0));
  // The block indices each streamed input's current block was loaded at.
  std::vector<std::vector<std::int64_t>> loaded(count);
  std::vector<bool> ever_loaded(count, false);
  std::vector<std::int64_t> key;
  BlockOffsets offsets;
  offsets.inputs.resize(count);
  BlockCursor cursor(problem, plan);
  std::int64_t blocks = 0;
  if (walk.size() == 0) {
    backend.finish();
    return 0;
  }
  cursor.seek(walk.begin);
  for (std::int64_t position = walk.begin; position < walk.end; ++position) {
    if (position > walk.begin) cursor.next();
    const bool starts = cursor.first_of_sum() || position == walk.begin;
    const bool ends = cursor.last_of_sum() || position + 1 == walk.end;
    const auto found = shape_of.find(cursor.level_extents());
    if (found == shape_of.end()) throw Error("block loop: a block shape the plan did not lower");
    const BlockShape& shape = *found->second;
    for (int operand = 0; operand < count; ++operand) {
      offsets.inputs[operand] = cursor.offset(operand, input_strides[operand]);
      if (plan.inputs[operand] != Residency::streamed) continue;
      key.clear();
      for (std::size_t level : carried[operand]) key.push_back(cursor.index()[level]);
      if (!ever_loaded[operand] || key != loaded[operand]) {
        backend.load_input(operand, offsets.inputs[operand], shape);
        loaded[operand] = key;
        ever_loaded[operand] = true;
      }
    }
    offsets.output = cursor.offset(-1, output_strides);
    const Scalar block_beta = starts ? beta : Scalar(1.0);
    if (output_streamed && starts) {
      backend.start_output(offsets.output, shape, block_beta != Scalar(0.0));
    }
    backend.compute(shape, offsets, alpha, block_beta);
    if (output_streamed && ends) backend.store_output(offsets.output, shape);
    ++blocks;
    if (progress) progress(blocks, walk.size());
  }
  backend.finish();
  return blocks;
}

}  // namespace einstream::detail
