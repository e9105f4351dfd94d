// Sliced modes chosen together with the contraction tree (cotengra's
// SliceFinder followed by its slice-and-reconfigure loop).
//
// When the largest intermediate of a path exceeds a cap, slicing a mode
// divides every intermediate that carries it by the mode's block count, at
// the price of recomputing, once per block, every step that does not carry
// it. The finder slices greedily: each move cuts one mode of an
// intermediate over the cap (to a block of 1, or to half its block), the
// move with the least FLOP overhead per unit of size it removes above the
// cap; after each move the tree is reconfigured under the block extents
// (planner/path_reconfigure), since a tree that was best unsliced is rarely
// best once some modes are cut: the total over all blocks is the block
// tree's FLOPs times the block count, so reconfiguring the block tree
// minimizes exactly the sliced cost. Once the tree fits, sliced modes that
// are no longer needed are restored. Several trials (the first one
// deterministic, the others with random noise on the scores, seeded) keep
// the cheapest fitting result; one trial slices the fixed tree without
// reconfiguring, so the result is never dearer than slicing after the path.
//
// The result feeds planner/slice (SlicePlan): its block sizes are the
// chosen sliced modes (planner/slice_path.hpp puts the two together).
#pragma once

#include <cstdint>
#include <vector>

#include "planner/path.hpp"
#include "planner/problem.hpp"

namespace einstream::detail {

struct SliceFinderOptions {
  // Largest intermediate of a block in elements (the output exempt, as
  // PathSearchOptions::memory_cap); must be > 0.
  double memory_cap = 0;
  // Greedy slicing trials; the first two (reconfigured and fixed tree) are
  // deterministic, the others draw noise from `seed`.
  int trials = 16;
  std::uint64_t seed = 0;
  // Wall-time budget in seconds (<= 0: none). When it runs out, the trial
  // under way finishes slicing without reconfiguring and no further trial
  // starts; stopped_at_budget then says so.
  double seconds = 0.5;
  // Reconfigure the tree under the slices (false: slicing after the path).
  bool reconfigure = true;
  // Tensors of each re-optimized subtree.
  int subtree_tensors = 8;
};

struct SlicedPath {
  // The path (over the whole problem) the blocks run.
  LinearPath path;
  // Block size per mode: the mode's extent where it is not sliced.
  std::vector<std::int64_t> blocks;
  // FLOPs of every block together, counted as evaluate_path counts them.
  double flops = 0;
  // FLOPs of the cheapest unsliced path seen: the smaller of the path the
  // finder started from and `path` itself, unsliced (so overhead() >= 1).
  double unsliced_flops = 0;
  // Largest intermediate of one block (the output exempt), in elements.
  double largest_intermediate = 0;
  // Whether largest_intermediate is within the cap.
  bool fits = false;
  bool stopped_at_budget = false;

  // Sliced FLOPs over the unsliced path's: the price of fitting the cap.
  double overhead() const { return unsliced_flops > 0 ? flops / unsliced_flops : 1; }
};

// Slices chosen with the tree, starting from `path` (pairwise steps). When
// `path` already fits the cap it is returned unsliced. When no slicing fits
// (an intermediate whose modes are all cut to one index is over the cap),
// the result has fits = false and the smallest largest intermediate found.
SlicedPath find_slices(const Problem& problem, const LinearPath& path,
                       const SliceFinderOptions& options);

// FLOPs of every block of `path` under these block sizes, summed as the
// blocks run: a step costs its product of extents at block extents (edge
// blocks included), for every combination of the sliced modes' blocks. An
// independent count of SlicedPath::flops.
double sliced_flops(const Problem& problem, const LinearPath& path,
                    const std::vector<std::int64_t>& blocks);

}  // namespace einstream::detail
