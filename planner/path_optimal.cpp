// Exact contraction path, after opt_einsum's 'optimal': a depth-first search
// over pairwise contractions (outer products included) with branch and bound.
//
// The cost of a step depends only on the two operands and on which of their
// modes the rest of the network or the output still needs, so a search state
// is the set of remaining operands, each a set of modes. What keeps the
// search small:
//   - the bound starts at the greedy path's cost, so from the first node on
//     only strictly cheaper partial paths survive;
//   - a partial path is also cut when its cost plus a lower bound on the rest
//     reaches the bound: every remaining operand is an input of some later
//     step, which costs at least that operand's size, and a step has at most
//     two of today's operands as inputs;
//   - steps on disjoint operands commute, so orders differing only by such
//     swaps give one contraction tree at one cost. The search takes each tree
//     in one canonical order: every intermediate is keyed by the highest
//     input position it holds, and a step may only make an intermediate whose
//     key exceeds every other intermediate's (undoing the step that made the
//     highest-keyed intermediate, over and over, recovers that order);
//   - a state reached again (by another tree) at no lower cost than before is
//     dropped: its completions were already searched under a looser bound;
//   - candidate steps are tried cheapest first, which finds good complete
//     paths early (and once a step alone reaches the bound, so do the rest).
//
// The search is still exponential, so it watches the time budget: once it
// runs out, every node returns at once and the best path found so far (at
// worst the greedy path that seeded the bound) is the answer.
//
// An operand is a row of words: one bit per mode, then a tag holding its key
// and whether it is an intermediate (the canonical order depends on both, so
// they are part of the state). A state keeps its rows sorted, so it is its
// own memo key, with a multiset hash updated per step in O(1)
// (planner/path_optimal_state.hpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "planner/path.hpp"
#include "planner/path_budget.hpp"
#include "planner/path_optimal_state.hpp"

namespace einstream::detail {

namespace {

using optimal::kByteValues;
using optimal::kWordBits;
using optimal::layout_for;
using optimal::mix;
using optimal::RowLayout;
using optimal::StateMemo;
using optimal::Word;

// Nodes of up to this many operands read the clock only now and then.
constexpr int kSampledClockOperands = 16;

struct Candidate {
  double flops = 0;
  double result_size = 0;
  // Lower bound on the cost of finishing after this step.
  double rest_bound = 0;
  int first = 0;
  int second = 0;
};

// kFixedWords > 0 fixes the number of words per row at compile time, so that
// the per-word loops of the hot path unroll; 0 reads it at run time.
template <int kFixedWords>
class OptimalSearch {
 public:
  OptimalSearch(const Problem& problem, const RowLayout& layout, double memory_cap,
                SearchDeadline& deadline)
      : count_(static_cast<int>(problem.inputs.size())),
        layout_(layout),
        memory_cap_(memory_cap),
        deadline_(deadline),
        memo_(layout.words) {
    // Products of extents by byte of a row: a set's size is then one look-up
    // per byte up to its highest bit. Tag bits count as extent 1.
    byte_products_.assign(static_cast<std::size_t>(words()) * 8 * kByteValues, 1.0);
    for (Mode mode = 0; mode < problem.mode_count(); ++mode) {
      const double extent = static_cast<double>(problem.extents[mode]);
      // With an extent of 0 a superset can be smaller than its subset; the
      // lower bounds rely on the opposite.
      if (extent == 0) sizes_grow_with_modes_ = false;
      const int byte = mode / 8;
      for (int value = 0; value < kByteValues; ++value) {
        if (value & (1 << (mode % 8))) byte_products_[byte * kByteValues + value] *= extent;
      }
    }
    output_.assign(words(), 0);
    for (Mode mode : problem.output) set_bit(output_.data(), mode);
    mode_mask_.assign(words(), 0);
    for (Mode mode = 0; mode < problem.mode_count(); ++mode) set_bit(mode_mask_.data(), mode);
    tag_mask_ = (Word{1} << layout_.tag_bits) - 1;

    inputs_.assign(static_cast<std::size_t>(count_) * words(), 0);
    for (int operand = 0; operand < count_; ++operand) {
      Word* set = row(inputs_.data(), operand);
      for (Mode mode : problem.inputs[operand].modes) set_bit(set, mode);
      set[layout_.tag_word] |= static_cast<Word>(operand) << 1 << layout_.tag_shift;
    }
    states_by_depth_.resize(count_);
    steps_.resize(static_cast<std::size_t>(count_ - 1) * 3 * words());
    candidates_by_depth_.resize(count_);
    keys_by_depth_.resize(count_);
    seen_.resize(static_cast<std::size_t>(count_) * 3 * words());
    involved_.resize(words());
    result_.resize(words());
    others_.resize(words());
    rotation_result_.resize(words());
    rotation_partial_.resize(words());
  }

  // Starts the bound at a known path.
  void seed(const LinearPath& path, double flops) {
    best_path_ = path;
    best_flops_ = flops;
  }

  // The best path found, or an empty path when none satisfies the memory cap.
  LinearPath run() {
    std::vector<int> order(count_);
    for (int k = 0; k < count_; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return row_less(row(inputs_.data(), a), row(inputs_.data(), b));
    });
    std::vector<Word>& root = states_by_depth_[0];
    Word hash = 0;
    for (int k : order) {
      root.insert(root.end(), row(inputs_.data(), k), row(inputs_.data(), k) + words());
      hash += row_hash(row(inputs_.data(), k));
    }
    search(0, 0.0, hash);
    return best_path_;
  }

 private:
  int words() const { return kFixedWords > 0 ? kFixedWords : layout_.words; }

  static void set_bit(Word* set, Mode mode) {
    set[mode / kWordBits] |= Word{1} << (mode % kWordBits);
  }
  Word* row(Word* rows, int index) const {
    return rows + static_cast<std::size_t>(index) * words();
  }
  const Word* row(const Word* rows, int index) const {
    return rows + static_cast<std::size_t>(index) * words();
  }
  bool row_less(const Word* a, const Word* b) const {
    return std::lexicographical_compare(a, a + words(), b, b + words());
  }
  Word tag_of(const Word* set) const {
    return (set[layout_.tag_word] >> layout_.tag_shift) & tag_mask_;
  }
  // Summed over a state's rows, a hash of the set of operands.
  Word row_hash(const Word* set) const {
    Word hash = 0;
    for (int word = 0; word < words(); ++word) hash = mix(hash ^ set[word]) + word;
    return hash;
  }

  double size_of(const Word* set) const {
    double size = 1;
    for (int word = 0; word < words(); ++word) {
      const double* table =
          byte_products_.data() + static_cast<std::size_t>(word) * 8 * kByteValues;
      for (Word bits = set[word]; bits != 0; bits >>= 8, table += kByteValues) {
        size *= table[bits & 0xff];
      }
    }
    return size;
  }

  // Every operand left after a step is the input of a later step, which
  // costs at least the operand's size; a step takes at most two of them. So
  // the rest costs at least s1 + s3 + s5 + ... over the sizes in descending
  // order. `sizes_by_rank` is this state's sizes, descending, with `first`,
  // `second` (their ranks) to drop and `result_size` to add.
  static double rest_bound(const std::vector<double>& sizes_by_rank, int first_rank,
                           int second_rank, double result_size) {
    double bound = 0;
    int index = 0;
    bool placed = false;
    const int count = static_cast<int>(sizes_by_rank.size());
    for (int rank = 0; rank < count; ++rank) {
      if (rank == first_rank || rank == second_rank) continue;
      if (!placed && result_size >= sizes_by_rank[rank]) {
        if (index++ % 2 == 0) bound += result_size;
        placed = true;
      }
      if (index++ % 2 == 0) bound += sizes_by_rank[rank];
    }
    if (!placed && index % 2 == 0) bound += result_size;
    return bound;
  }

  // Cost of contracting the mode sets `a` and `b` into `result` (all without
  // tags), as evaluate_path counts it.
  double step_cost(const Word* a, const Word* b, const Word* result) const {
    bool sums = false;
    for (int word = 0; word < words(); ++word) {
      involved_[word] = (a[word] | b[word]) & mode_mask_[word];
      sums = sums || involved_[word] != (result[word] & mode_mask_[word]);
    }
    return size_of(involved_.data()) * (sums ? 2.0 : 1.0);
  }

  // Whether contracting operand x with the intermediate y = (y1, y2), at
  // `step_flops`, is beaten by the same three operands taken as (x, y1) then
  // y2, or (x, y2) then y1. Both reach the same state, so a strictly cheaper
  // one makes this branch useless: everything after it is cheaper from there.
  bool rotation_is_cheaper(const Word* operands, int depth, int x, int y, double step_flops,
                           const Word* seen1, const Word* seen2, const Word* seen3) const {
    const Word* y_row = row(operands, y);
    if (!((tag_of(y_row)) & 1)) return false;
    // The step that made y: the latest one whose result is y (tags make rows
    // of operands unique, and an older equal row was consumed since).
    const Word* made_step = nullptr;
    for (int made = depth - 1; made >= 0 && made_step == nullptr; --made) {
      const Word* step_rows = steps_.data() + static_cast<std::size_t>(made) * 3 * words();
      if (std::equal(y_row, y_row + words(), step_rows + 2 * words())) made_step = step_rows;
    }
    if (made_step == nullptr) return false;
    const Word* x_row = row(operands, x);
    const double current = step_cost(made_step, made_step + words(), y_row) + step_flops;
    // The result of (x, y), the same whichever order.
    std::vector<Word>& result = rotation_result_;
    std::vector<Word>& partial = rotation_partial_;
    for (int word = 0; word < words(); ++word) {
      const Word x_or_y = x_row[word] | y_row[word];
      // Modes that operands other than x and y hold.
      others_[word] = (seen1[word] & ~x_or_y) | ((x_row[word] ^ y_row[word]) & seen2[word]) |
                      (x_row[word] & y_row[word] & seen3[word]);
      result[word] = x_or_y & mode_mask_[word] & (output_[word] | others_[word]);
    }
    for (int side = 0; side < 2; ++side) {
      const Word* joined = made_step + side * words();          // taken with x first
      const Word* left_out = made_step + (1 - side) * words();  // then this
      for (int word = 0; word < words(); ++word) {
        partial[word] = (x_row[word] | joined[word]) & mode_mask_[word] &
                        (output_[word] | others_[word] | left_out[word]);
      }
      if (memory_cap_ > 0 && size_of(partial.data()) > memory_cap_) continue;
      const double rotated = step_cost(x_row, joined, partial.data()) +
                             step_cost(partial.data(), left_out, result.data());
      if (rotated < current) return true;
    }
    return false;
  }

  // Rebuilds the linear path from the rows of each step: positions in the
  // linear format depend on the order operands were made, which the sorted
  // states forget. Tags make every operand's row unique.
  LinearPath linear_path() const {
    std::vector<Word> current = inputs_;
    LinearPath path;
    for (int depth = 0; depth + 1 < count_; ++depth) {
      const Word* first_row = steps_.data() + static_cast<std::size_t>(depth) * 3 * words();
      std::vector<int> positions;
      for (const Word* wanted : {first_row, first_row + words()}) {
        const int count = static_cast<int>(current.size()) / words();
        for (int k = 0; k < count; ++k) {
          if (std::equal(wanted, wanted + words(), row(current.data(), k))) positions.push_back(k);
        }
      }
      std::sort(positions.begin(), positions.end());
      for (auto it = positions.rbegin(); it != positions.rend(); ++it) {
        current.erase(current.begin() + static_cast<std::ptrdiff_t>(*it) * words(),
                      current.begin() + static_cast<std::ptrdiff_t>(*it + 1) * words());
      }
      const Word* result_row = first_row + 2 * words();
      current.insert(current.end(), result_row, result_row + words());
      path.push_back(std::move(positions));
    }
    return path;
  }

  // Searches the state at `depth` (states_by_depth_[depth], count_ - depth
  // sorted rows, reached at cost `flops`).
  void search(int depth, double flops, Word hash) {
    // A node of many operands weighs all their pairs: there a clock read is
    // cheap next to the node, and sampling would let the search overrun.
    if (count_ - depth > kSampledClockOperands ? deadline_.passed() : deadline_.passed_sampled()) {
      return;
    }
    const int count = count_ - depth;
    const Word* operands = states_by_depth_[depth].data();
    if (count == 1) {
      if (flops < best_flops_) {
        best_flops_ = flops;
        best_path_ = linear_path();
      }
      return;
    }
    // With two operands left there is one step: nothing for the memo to save.
    if (count > 2 && memo_.seen_no_cheaper(operands, count, hash, flops)) return;

    // Modes held by at least one, two and three operands. A mode of the pair
    // (a, b) is needed afterwards if the output has it or some other operand
    // does: for a mode in both a and b that takes three holders, for a mode
    // in one of them two. One slice of seen_ per depth, since children are
    // built from it after deeper calls filled theirs.
    Word* seen1 = seen_.data() + static_cast<std::size_t>(depth) * 3 * words();
    Word* seen2 = seen1 + words();
    Word* seen3 = seen2 + words();
    std::fill(seen1, seen1 + 3 * words(), 0);
    for (int k = 0; k < count; ++k) {
      const Word* set = row(operands, k);
      for (int word = 0; word < words(); ++word) {
        seen3[word] |= seen2[word] & set[word];
        seen2[word] |= seen1[word] & set[word];
        seen1[word] |= set[word];
      }
    }

    // Keys, and the highest-keyed intermediate: a step not involving it must
    // take an input keyed higher still (intermediates all are lower).
    std::vector<int>& keys = keys_by_depth_[depth];
    keys.resize(count);
    int top_made = -1;
    for (int k = 0; k < count; ++k) {
      const Word tag = tag_of(row(operands, k));
      keys[k] = static_cast<int>(tag >> 1);
      if ((tag & 1) && (top_made < 0 || keys[k] > keys[top_made])) top_made = k;
    }
    const int top_key = top_made < 0 ? -1 : keys[top_made];

    const bool last = count == 2;
    const bool bounded = sizes_grow_with_modes_ && !last;
    operand_sizes_.resize(count);
    for (int k = 0; k < count; ++k) operand_sizes_[k] = size_of(row(operands, k));
    if (bounded) {
      operand_at_rank_.resize(count);
      for (int k = 0; k < count; ++k) operand_at_rank_[k] = k;
      std::sort(operand_at_rank_.begin(), operand_at_rank_.end(),
                [&](int a, int b) { return operand_sizes_[a] > operand_sizes_[b]; });
      sizes_by_rank_.resize(count);
      rank_of_.resize(count);
      for (int rank = 0; rank < count; ++rank) {
        sizes_by_rank_[rank] = operand_sizes_[operand_at_rank_[rank]];
        rank_of_[operand_at_rank_[rank]] = rank;
      }
    }

    std::vector<Candidate>& candidates = candidates_by_depth_[depth];
    candidates.clear();
    for (int first = 0; first < count; ++first) {
      const Word* a = row(operands, first);
      for (int second = first + 1; second < count; ++second) {
        if (first != top_made && second != top_made &&
            std::max(keys[first], keys[second]) < top_key) {
          continue;  // not the canonical order
        }
        // A step costs at least the size of either operand.
        if (sizes_grow_with_modes_ &&
            flops + std::max(operand_sizes_[first], operand_sizes_[second]) >= best_flops_) {
          continue;
        }
        const Word* b = row(operands, second);
        bool sums = false;
        for (int word = 0; word < words(); ++word) {
          const Word involved = (a[word] | b[word]) & mode_mask_[word];
          const Word kept = output_[word] | (a[word] & b[word] & seen3[word]) |
                            ((a[word] ^ b[word]) & seen2[word]);
          involved_[word] = involved;
          result_[word] = involved & kept;
          sums = sums || result_[word] != involved;
        }
        const double step_flops = size_of(involved_.data()) * (sums ? 2.0 : 1.0);
        if (flops + step_flops >= best_flops_) continue;
        const double result_size = size_of(result_.data());
        if (!last && memory_cap_ > 0 && result_size > memory_cap_) continue;
        const double bound =
            bounded ? rest_bound(sizes_by_rank_, rank_of_[first], rank_of_[second], result_size)
                    : 0;
        if (flops + step_flops + bound >= best_flops_) continue;
        if (rotation_is_cheaper(operands, depth, first, second, step_flops, seen1, seen2, seen3) ||
            rotation_is_cheaper(operands, depth, second, first, step_flops, seen1, seen2, seen3)) {
          continue;
        }
        candidates.push_back({step_flops, result_size, bound, first, second});
      }
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
      if (x.flops != y.flops) return x.flops < y.flops;
      return x.result_size < y.result_size;
    });

    std::vector<Word>& child_state = states_by_depth_[depth + 1];
    child_state.resize(static_cast<std::size_t>(count - 1) * words());
    // This depth's step rows: first, second, result.
    Word* first_row = steps_.data() + static_cast<std::size_t>(depth) * 3 * words();
    Word* second_row = first_row + words();
    Word* result_row = second_row + words();
    for (const Candidate& candidate : candidates) {
      // The bound may have dropped since the candidates were listed.
      if (flops + candidate.flops >= best_flops_) break;
      if (flops + candidate.flops + candidate.rest_bound >= best_flops_) continue;
      const Word* a = row(operands, candidate.first);
      const Word* b = row(operands, candidate.second);
      std::copy_n(a, words(), first_row);
      std::copy_n(b, words(), second_row);
      // The result again, rather than one stored per candidate, then its tag:
      // an intermediate keyed by the higher key of the two.
      for (int word = 0; word < words(); ++word) {
        const Word kept =
            output_[word] | (a[word] & b[word] & seen3[word]) | ((a[word] ^ b[word]) & seen2[word]);
        result_row[word] = (a[word] | b[word]) & mode_mask_[word] & kept;
      }
      const Word key = static_cast<Word>(std::max(keys[candidate.first], keys[candidate.second]));
      result_row[layout_.tag_word] |= ((key << 1) | 1) << layout_.tag_shift;
      // The child: the other operands in order, the result at its sorted place.
      Word* out = child_state.data();
      bool placed = false;
      for (int k = 0; k < count; ++k) {
        if (k == candidate.first || k == candidate.second) continue;
        const Word* set = row(operands, k);
        if (!placed && row_less(result_row, set)) {
          out = std::copy_n(result_row, words(), out);
          placed = true;
        }
        out = std::copy_n(set, words(), out);
      }
      if (!placed) std::copy_n(result_row, words(), out);
      const Word child_hash = hash - row_hash(a) - row_hash(b) + row_hash(result_row);
      search(depth + 1, flops + candidate.flops, child_hash);
      if (deadline_.was_passed()) return;
    }
  }

  int count_;
  RowLayout layout_;
  double memory_cap_;
  SearchDeadline& deadline_;
  bool sizes_grow_with_modes_ = true;
  std::vector<double> byte_products_;
  std::vector<Word> output_;
  std::vector<Word> mode_mask_;
  Word tag_mask_ = 0;
  // The inputs' rows, in the Problem's order.
  std::vector<Word> inputs_;

  double best_flops_ = std::numeric_limits<double>::infinity();
  LinearPath best_path_;
  // Rows (first, second, result) of each step on the current branch, by depth.
  std::vector<Word> steps_;
  StateMemo memo_;

  // Scratch reused across nodes so the search allocates little per node.
  std::vector<std::vector<Word>> states_by_depth_;
  std::vector<std::vector<Candidate>> candidates_by_depth_;
  std::vector<Word> seen_;
  // Mutable: step_cost works in it from const members.
  mutable std::vector<Word> involved_;
  std::vector<Word> result_;
  mutable std::vector<Word> others_;
  mutable std::vector<Word> rotation_result_;
  mutable std::vector<Word> rotation_partial_;
  std::vector<std::vector<int>> keys_by_depth_;
  // Sizes of this node's operands, and their ranks by size, descending.
  std::vector<double> operand_sizes_;
  std::vector<int> operand_at_rank_;
  std::vector<int> rank_of_;
  std::vector<double> sizes_by_rank_;
};

// Largest intermediate of a path, the final result (the output) excepted.
double largest_intermediate(const ContractionPath& path) {
  double largest = 0;
  for (std::size_t step = 0; step + 1 < path.steps.size(); ++step) {
    largest = std::max(largest, path.steps[step].result_size);
  }
  return largest;
}

// Runs the search with a row width fitted to the problem, seeded with `seed`
// (costing `seed_flops`) where given, until done or `deadline`.
LinearPath search(const Problem& problem, double memory_cap, const LinearPath* seed,
                  double seed_flops, SearchDeadline& deadline) {
  const RowLayout layout = layout_for(problem);
  auto run = [&](auto&& search) {
    if (seed != nullptr) search.seed(*seed, seed_flops);
    return search.run();
  };
  switch (layout.words) {
    case 1:
      return run(OptimalSearch<1>(problem, layout, memory_cap, deadline));
    case 2:
      return run(OptimalSearch<2>(problem, layout, memory_cap, deadline));
    default:
      return run(OptimalSearch<0>(problem, layout, memory_cap, deadline));
  }
}

}  // namespace

LinearPath optimal_path(const Problem& problem, const PathSearchOptions& options,
                        bool* stopped_at_budget) {
  if (stopped_at_budget != nullptr) *stopped_at_budget = false;
  const int count = static_cast<int>(problem.inputs.size());
  if (count == 1) return {{0}};

  SearchDeadline deadline(options.seconds);
  const LinearPath greedy = greedy_path(problem);
  const ContractionPath greedy_cost = evaluate_path(problem, greedy);

  LinearPath path;
  if (options.memory_cap > 0) {
    // The greedy path only seeds the bound if it respects the cap itself.
    const bool greedy_fits = largest_intermediate(greedy_cost) <= options.memory_cap;
    path = search(problem, options.memory_cap, greedy_fits ? &greedy : nullptr, greedy_cost.flops,
                  deadline);
    if (path.empty() && deadline.was_passed()) {
      // Out of time before any path under the cap turned up: greedy's own
      // attempt at the cap is the best known.
      path = greedy_path(problem, options);
    }
    // Otherwise, with no path, no order keeps every intermediate under the
    // cap: as documented for PathSearchOptions, the cap is then ignored.
  }
  if (path.empty()) path = search(problem, 0, &greedy, greedy_cost.flops, deadline);
  if (stopped_at_budget != nullptr) *stopped_at_budget = deadline.was_passed();
  return path;
}

}  // namespace einstream::detail
