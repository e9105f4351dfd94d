#include "planner/block_assignment.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "einstream/error.hpp"
#include "planner/block_cursor.hpp"

namespace einstream::detail {

namespace {

bool is_summed(const Problem& problem, Mode mode) {
  return std::find(problem.output.begin(), problem.output.end(), mode) == problem.output.end();
}

// Whether every loop level inside the outermost sliced summed level is
// summed too: then the blocks of one output block's sum are consecutive.
bool sums_are_contiguous(const Problem& problem, const SlicePlan& plan) {
  bool inside_sum = false;
  for (const SlicedMode& level : plan.sliced) {
    const bool summed = is_summed(problem, level.mode);
    if (inside_sum && !summed) return false;
    inside_sum = inside_sum || summed;
  }
  return true;
}

struct Walk {
  std::vector<double> prefix;       // prefix[p]: work of blocks [0, p)
  std::vector<bool> output_starts;  // per position (and the end): an output block starts
};

Walk walk(const Problem& problem, const SlicePlan& plan) {
  Walk result;
  result.prefix.push_back(0);
  BlockCursor cursor(problem, plan);
  do {
    double elements = 1;
    for (std::int64_t extent : cursor.level_extents()) elements *= static_cast<double>(extent);
    result.prefix.push_back(result.prefix.back() + elements);
    result.output_starts.push_back(cursor.first_of_sum());
  } while (cursor.next());
  result.output_starts.push_back(true);
  return result;
}

// The position in [low, high] whose prefix work is nearest `target`, among
// those `allowed` says may start a range.
std::int64_t nearest(const Walk& walk, double target, std::int64_t low, std::int64_t high,
                     bool aligned) {
  const auto first = walk.prefix.begin() + low, last = walk.prefix.begin() + high + 1;
  std::int64_t above = std::lower_bound(first, last, target) - walk.prefix.begin();
  above = std::min(above, high);
  std::int64_t below = std::max(low, above - 1);
  if (aligned) {
    while (above < high && !walk.output_starts[above]) ++above;
    while (below > low && !walk.output_starts[below]) --below;
  }
  const double up = std::fabs(walk.prefix[above] - target);
  const double down = std::fabs(walk.prefix[below] - target);
  return down <= up ? below : above;
}

std::int64_t count_output_blocks(const Walk& walk) {
  return std::count(walk.output_starts.begin(), walk.output_starts.end() - 1, true);
}

}  // namespace

BlockAssignment assign_blocks(const Problem& problem, const SlicePlan& plan,
                              const std::vector<double>& speeds) {
  if (speeds.empty()) throw Error("assign_blocks: no workers");
  for (std::size_t worker = 0; worker < speeds.size(); ++worker) {
    if (!(speeds[worker] > 0) || !std::isfinite(speeds[worker])) {
      throw Error("assign_blocks: worker " + std::to_string(worker) + " has speed " +
                  std::to_string(speeds[worker]) + "; speeds must be positive");
    }
  }
  const Walk blocks = walk(problem, plan);
  const auto count = static_cast<std::int64_t>(blocks.prefix.size()) - 1;
  const int workers = static_cast<int>(speeds.size());
  const bool contiguous = sums_are_contiguous(problem, plan);
  const int busy = static_cast<int>(std::min<std::int64_t>(workers, count));
  const bool aligned = contiguous && count_output_blocks(blocks) >= busy;
  const double total_speed = std::accumulate(speeds.begin(), speeds.end(), 0.0);
  BlockAssignment assignment;
  if (count <= workers) {
    // A block each for the first workers; no balancing to do.
    for (std::int64_t worker = 0; worker < workers; ++worker) {
      assignment.ranges.push_back({std::min(worker, count), std::min(worker + 1, count)});
    }
    assignment.partial_sums = count > 1 && (!contiguous || count_output_blocks(blocks) < count);
    return assignment;
  }
  std::int64_t begin = 0;
  double speed_so_far = 0;
  for (int worker = 0; worker < workers; ++worker) {
    speed_so_far += speeds[worker];
    std::int64_t end = count;
    if (worker + 1 < workers) {
      const double target = blocks.prefix[count] * speed_so_far / total_speed;
      end = nearest(blocks, target, begin, count, aligned);
    }
    assignment.ranges.push_back({begin, end});
    begin = end;
  }
  for (std::size_t worker = 0; worker + 1 < assignment.ranges.size(); ++worker) {
    const std::int64_t boundary = assignment.ranges[worker].end;
    if (boundary == 0 || boundary == count) continue;
    // A range that starts inside an output block's sum, or any split of a
    // plan whose sums interleave with kept modes, shares output blocks.
    if (!contiguous || !blocks.output_starts[boundary]) assignment.partial_sums = true;
  }
  return assignment;
}

}  // namespace einstream::detail
