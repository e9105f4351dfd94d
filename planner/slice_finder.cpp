#include "planner/slice_finder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <utility>

#include "einstream/error.hpp"
#include "planner/path_budget.hpp"
#include "planner/path_greedy_core.hpp"
#include "planner/path_hyper_tree.hpp"
#include "planner/path_reconfigure.hpp"

namespace einstream::detail {

namespace {

// Sweeps of reconfiguration after each slicing move (a full one, until it
// settles, runs once the tree fits).
constexpr int kSweepsPerMove = 2;
// Random trials scale each move's score by exp(temperature x Gumbel noise),
// the temperature drawn from [kMinTemperature, kMaxTemperature).
constexpr double kMinTemperature = 0.05;
constexpr double kMaxTemperature = 1.0;

// Blocks of a mode; a mode of extent 0 (block 0) is one empty block.
std::int64_t blocks_of(std::int64_t extent, std::int64_t block) {
  return block <= 0 ? 1 : (extent + block - 1) / block;
}

// One move: cut `mode` from its block to `block`.
struct Move {
  Mode mode = -1;
  std::int64_t block = 0;
  double score = std::numeric_limits<double>::infinity();
};

// The tree under block extents. The network lives on the heap so the tree's
// pointer to it survives moves of the state.
struct BlockTree {
  BlockTree(const Problem& problem, const std::vector<std::int64_t>& blocks,
            const LinearPath& linear) {
    Problem block = problem;
    block.extents = blocks;
    network = std::make_unique<TreeNetwork>(block);
    tree = std::make_unique<PathTree>(PathTree::from_linear(*network, linear));
  }

  std::unique_ptr<TreeNetwork> network;
  std::unique_ptr<PathTree> tree;
};

// A standard Gumbel variate: -log(-log(u)), u uniform in (0, 1).
double gumbel(std::mt19937_64& random) {
  const double uniform = std::clamp(unit_interval(random), 1e-300, 1 - 1e-16);
  return -std::log(-std::log(uniform));
}

// How far over the cap the intermediates are: the sum of log(size / cap)
// over those above it. A move's gain is what it removes of this.
double excess(double size, double cap) { return size > cap ? std::log(size / cap) : 0; }

// One greedy slicing trial.
class SliceTrial {
 public:
  SliceTrial(const Problem& problem, const SliceFinderOptions& options, SearchDeadline& deadline,
             std::mt19937_64* random, bool reconfigure)
      : problem_(problem),
        options_(options),
        deadline_(deadline),
        random_(random),
        reconfigure_(reconfigure && options.reconfigure),
        temperature_(random == nullptr ? 0
                                       : kMinTemperature + (kMaxTemperature - kMinTemperature) *
                                                               unit_interval(*random)) {}

  // Slices until the block tree fits the cap (or no move is left), then
  // restores the slices it no longer needs.
  SlicedPath run(const LinearPath& path) {
    blocks_ = problem_.extents;
    BlockTree state(problem_, blocks_, path);
    while (state.tree->largest_before_output() > options_.memory_cap) {
      const Move move = best_move(*state.tree);
      if (move.mode < 0) break;
      blocks_[move.mode] = move.block;
      state = BlockTree(problem_, blocks_, state.tree->linear());
      improve(state, kSweepsPerMove);
    }
    if (state.tree->largest_before_output() <= options_.memory_cap) {
      improve(state, ReconfigureOptions{}.max_sweeps);
      restore_unneeded(state);
    }
    SlicedPath result;
    result.path = state.tree->linear();
    result.blocks = blocks_;
    result.largest_intermediate = state.tree->largest_before_output();
    result.fits = result.largest_intermediate <= options_.memory_cap;
    result.flops = sliced_flops(problem_, result.path, blocks_);
    return result;
  }

 private:
  void improve(BlockTree& state, int sweeps) {
    if (!reconfigure_ || deadline_.passed()) return;
    ReconfigureOptions reconfiguration;
    reconfiguration.subtree_tensors = options_.subtree_tensors;
    reconfiguration.memory_cap = options_.memory_cap;
    reconfiguration.max_sweeps = sweeps;
    reconfigure(*state.tree, reconfiguration, deadline_);
  }

  // The move with the least FLOP overhead per unit of excess removed; with
  // a temperature, each score is scaled by random noise.
  Move best_move(const PathTree& tree) const;

  // Restores each sliced mode (most blocks first) whose restoring keeps the
  // block tree within the cap.
  void restore_unneeded(BlockTree& state) {
    std::vector<Mode> sliced;
    for (Mode mode = 0; mode < problem_.mode_count(); ++mode) {
      if (blocks_[mode] < problem_.extents[mode]) sliced.push_back(mode);
    }
    std::stable_sort(sliced.begin(), sliced.end(), [&](Mode a, Mode b) {
      return blocks_of(problem_.extents[a], blocks_[a]) >
             blocks_of(problem_.extents[b], blocks_[b]);
    });
    for (Mode mode : sliced) {
      std::vector<std::int64_t> restored = blocks_;
      restored[mode] = problem_.extents[mode];
      BlockTree candidate(problem_, restored, state.tree->linear());
      if (candidate.tree->largest_before_output() > options_.memory_cap) continue;
      blocks_ = std::move(restored);
      state = std::move(candidate);
    }
  }

  const Problem& problem_;
  const SliceFinderOptions& options_;
  SearchDeadline& deadline_;
  std::mt19937_64* random_;
  bool reconfigure_;
  double temperature_;
  std::vector<std::int64_t> blocks_;
};

// Per mode: the FLOPs of the steps carrying it (a step carries the modes of
// both its children), and the excess it could remove (over-cap results
// carrying it). The total over all blocks is count x sum of step FLOPs;
// cutting mode m from b0 to b1 blocks multiplies count by b0/b1 and the
// steps carrying m by b1/b0, so the new total is
// count x (without_m x b0/b1 + with_m).
Move SliceTrial::best_move(const PathTree& tree) const {
  const int modes = problem_.mode_count();
  std::vector<double> with(modes, 0);
  std::vector<char> candidate(modes, 0);
  double total = 0;
  const int root = tree.root();
  std::vector<int> over;  // internal nodes over the cap
  for (int id = tree.network().operand_count(); id < tree.node_count(); ++id) {
    const TreeNode& node = tree.node(id);
    total += node.flops;
    for (int child : {node.left, node.right}) {
      for (Mode mode : tree.node(child).modes) with[mode] += node.flops;
    }
    // A mode in both children is counted twice above; undo the second.
    for (Mode mode : tree.node(node.left).modes) {
      const auto& right = tree.node(node.right).modes;
      if (std::binary_search(right.begin(), right.end(), mode)) with[mode] -= node.flops;
    }
    if (id != root && node.size > options_.memory_cap) {
      over.push_back(id);
      for (Mode mode : node.modes) candidate[mode] = 1;
    }
  }
  Move best;
  for (Mode mode = 0; mode < modes; ++mode) {
    const std::int64_t block = blocks_[mode];
    if (!candidate[mode] || block <= 1) continue;
    for (std::int64_t next : {std::int64_t{1}, block % 2 == 0 && block > 2 ? block / 2 : 0}) {
      if (next == 0) continue;
      const double ratio = static_cast<double>(next) / static_cast<double>(block);
      double gain = 0;
      for (int id : over) {
        const TreeNode& node = tree.node(id);
        if (!std::binary_search(node.modes.begin(), node.modes.end(), mode)) continue;
        gain +=
            excess(node.size, options_.memory_cap) - excess(node.size * ratio, options_.memory_cap);
      }
      if (gain <= 0) continue;
      const double after = (total - with[mode]) / ratio + with[mode];
      // log(after / total) is 0 for a free cut; a small floor keeps the
      // gain deciding between free cuts.
      double score = (std::log(after / total) + 1e-9) / gain;
      if (random_ != nullptr) score *= std::exp(temperature_ * gumbel(*random_));
      if (score < best.score) best = {mode, next, score};
    }
  }
  return best;
}

bool better(const SlicedPath& a, const SlicedPath& b) {
  if (a.fits != b.fits) return a.fits;
  if (!a.fits) return a.largest_intermediate < b.largest_intermediate;
  return a.flops < b.flops;
}

}  // namespace

double sliced_flops(const Problem& problem, const LinearPath& path,
                    const std::vector<std::int64_t>& blocks) {
  if (blocks.size() != problem.extents.size()) {
    throw Error("sliced_flops: " + std::to_string(blocks.size()) + " block sizes for " +
                std::to_string(problem.extents.size()) + " modes");
  }
  const ContractionPath whole = evaluate_path(problem, path);
  double flops = 0;
  for (const PathStep& step : whole.steps) {
    std::vector<char> carried(problem.extents.size(), 0);
    for (const std::vector<Mode>& modes : step.operand_modes) {
      for (Mode mode : modes) carried[mode] = 1;
    }
    double repeats = 1;
    for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
      if (!carried[mode])
        repeats *= static_cast<double>(blocks_of(problem.extents[mode], blocks[mode]));
    }
    flops += step.flops * repeats;
  }
  return flops;
}

SlicedPath find_slices(const Problem& problem, const LinearPath& path,
                       const SliceFinderOptions& options) {
  if (!(options.memory_cap > 0)) throw Error("find_slices: the memory cap must be positive");
  SlicedPath unsliced;
  unsliced.path = path;
  unsliced.blocks = problem.extents;
  const ContractionPath whole = evaluate_path(problem, path);
  unsliced.flops = unsliced.unsliced_flops = whole.flops;
  const bool pairwise = std::all_of(path.begin(), path.end(),
                                    [](const std::vector<int>& step) { return step.size() == 2; });
  // A problem with a mode of extent 0 has no elements to slice.
  const bool empty = std::any_of(problem.extents.begin(), problem.extents.end(),
                                 [](std::int64_t extent) { return extent == 0; });
  if (problem.inputs.size() < 2 || !pairwise || empty) {
    unsliced.largest_intermediate = whole.largest_intermediate;
    unsliced.fits = whole.largest_intermediate <= options.memory_cap;
    return unsliced;
  }
  unsliced.largest_intermediate =
      BlockTree(problem, problem.extents, path).tree->largest_before_output();
  unsliced.fits = unsliced.largest_intermediate <= options.memory_cap;
  if (unsliced.fits) return unsliced;
  SearchDeadline deadline(options.seconds);
  SlicedPath best;
  bool found = false;
  for (int trial = 0; trial < std::max(options.trials, 2); ++trial) {
    if (trial > 0 && deadline.passed()) break;
    std::mt19937_64 random(options.seed * 0x9E3779B97F4A7C15ULL +
                           static_cast<std::uint64_t>(trial));
    SliceTrial slicing(problem, options, deadline, trial < 2 ? nullptr : &random, trial != 1);
    SlicedPath result = slicing.run(path);
    if (!found || better(result, best)) best = std::move(result);
    found = true;
  }
  best.unsliced_flops = std::min(whole.flops, evaluate_path(problem, best.path).flops);
  best.stopped_at_budget = deadline.was_passed();
  return best;
}

}  // namespace einstream::detail
