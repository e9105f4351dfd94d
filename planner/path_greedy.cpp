// Greedy contraction path, after opt_einsum's 'greedy': at each step contract
// the pair of operands that share a mode and minimize
//   size(result) - alpha (size(first) + size(second))      (alpha = 1 here),
// breaking ties by lower FLOPs, then by operand order. Pairs with identical
// mode sets (Hadamard products) go before any other pair; pairs sharing no
// mode (outer products) only once no connected pair remains, the two
// operands with the smallest results first. Under a memory cap, pairs whose
// result is over it come last: after any outer product under it.
//
// Approach: operands carry SSA ids (inputs 0..n-1, each result the next id),
// and the linear format's current operand list is always sorted by id, so a
// position is a count of live ids below it (a Fenwick tree). Candidate pairs
// are only those sharing a mode (found through a mode -> operands index) and
// live in a binary heap; a contraction marks its two operands dead (heap
// entries naming them are dropped when they surface) and pushes the pairs of
// its result with its neighbours. A pair's result never changes while both
// operands live: a mode of theirs leaves the network only when its last other
// holder is contracted, and that holder's result then keeps the mode. So each
// step costs about (neighbours x rank + heap) instead of a scan of all pairs.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <utility>

#include "planner/path.hpp"
#include "planner/path_greedy_core.hpp"

namespace einstream::detail {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Candidate classes, taken in this order.
constexpr int kHadamardPair = 0;
constexpr int kConnectedPair = 1;

struct Candidate {
  bool over_cap = false;
  int kind = kConnectedPair;
  double score = 0;
  double flops = 0;
  int first = -1;  // SSA ids, first < second
  int second = -1;
};

// The total order of candidates; SSA ids make it strict, so the heap pops the
// same sequence whatever order the candidates were pushed in.
bool precedes(const Candidate& a, const Candidate& b) {
  if (a.over_cap != b.over_cap) return !a.over_cap;
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.score != b.score) return a.score < b.score;
  if (a.flops != b.flops) return a.flops < b.flops;
  if (a.first != b.first) return a.first < b.first;
  return a.second < b.second;
}

// std heaps keep the largest element on top; ours is the one that precedes.
bool heap_below(const Candidate& a, const Candidate& b) { return precedes(b, a); }

// Overflowed sizes (inf - inf, 0 x inf) must not poison the heap order.
double ordered(double value) { return std::isnan(value) ? kInfinity : value; }

// Counts of live SSA ids below a given id: the operand's linear position.
// (i & (~i + 1) is the lowest set bit of i, the Fenwick step.)
class LivePositions {
 public:
  explicit LivePositions(int ids) : tree_(static_cast<std::size_t>(ids) + 1, 0) {}
  void add(int id, int delta) {
    for (std::size_t i = static_cast<std::size_t>(id) + 1; i < tree_.size(); i += i & (~i + 1)) {
      tree_[i] += delta;
    }
  }
  int position(int id) const {
    int count = 0;
    for (std::size_t i = static_cast<std::size_t>(id); i > 0; i -= i & (~i + 1)) count += tree_[i];
    return count;
  }

 private:
  std::vector<int> tree_;
};

// What contracting two live operands would do.
struct PairMeasure {
  double involved_size = 1;
  double result_size = 1;
  bool sums = false;  // some mode is needed by nobody else
};

class GreedySearch {
 public:
  GreedySearch(const Problem& problem, const GreedyParameters& parameters, std::mt19937_64* random)
      : problem_(problem),
        parameters_(parameters),
        random_(random),
        input_count_(static_cast<int>(problem.inputs.size())),
        positions_(2 * input_count_),
        users_(problem.extents.size(), 0),
        holders_(problem.extents.size()),
        has_zero_extent_(std::find(problem.extents.begin(), problem.extents.end(), 0) !=
                         problem.extents.end()) {}

  GreedyOutcome run();

 private:
  double extent(Mode mode) const { return static_cast<double>(problem_.extents[mode]); }
  PairMeasure measure(int first, int second) const;
  std::vector<Mode> result_modes(int first, int second) const;
  void push_candidate(int first, int second);
  bool peek_live(Candidate* top);
  Candidate take_connected();
  std::pair<int, int> smallest_outer_pair(double* result_size) const;
  std::pair<int, int> smallest_pair(double* result_size) const;
  void contract(int first, int second);
  void push_neighbour_pairs(int id);

  const Problem& problem_;
  GreedyParameters parameters_;
  std::mt19937_64* random_;
  int input_count_;
  LivePositions positions_;
  // Indexed by SSA id: sorted modes without repeats, element count, liveness.
  std::vector<std::vector<Mode>> modes_;
  std::vector<double> sizes_;
  std::vector<char> live_;
  int live_count_ = 0;
  // Indexed by mode: live operands holding it, plus one if the output has it;
  // and the live operands holding it.
  std::vector<int> users_;
  std::vector<std::vector<int>> holders_;
  // A zero extent breaks the bound smallest_outer_pair relies on.
  bool has_zero_extent_;
  // Last id whose neighbours were gathered when this id was met (dedupe).
  std::vector<int> seen_by_;
  std::vector<Candidate> heap_;
  GreedyOutcome outcome_;
};

PairMeasure GreedySearch::measure(int first, int second) const {
  const std::vector<Mode>& a = modes_[first];
  const std::vector<Mode>& b = modes_[second];
  PairMeasure pair;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    Mode mode;
    int holders = 0;
    if (j == b.size() || (i < a.size() && a[i] < b[j])) {
      mode = a[i++];
      holders = 1;
    } else if (i == a.size() || b[j] < a[i]) {
      mode = b[j++];
      holders = 1;
    } else {
      mode = a[i++];
      ++j;
      holders = 2;
    }
    pair.involved_size *= extent(mode);
    if (users_[mode] > holders) {
      pair.result_size *= extent(mode);
    } else {
      pair.sums = true;
    }
  }
  return pair;
}

std::vector<Mode> GreedySearch::result_modes(int first, int second) const {
  const std::vector<Mode>& a = modes_[first];
  const std::vector<Mode>& b = modes_[second];
  std::vector<Mode> involved;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(involved));
  std::vector<Mode> result;
  for (Mode mode : involved) {
    const int holders = (std::binary_search(a.begin(), a.end(), mode) ? 1 : 0) +
                        (std::binary_search(b.begin(), b.end(), mode) ? 1 : 0);
    if (users_[mode] > holders) result.push_back(mode);
  }
  return result;
}

void GreedySearch::push_candidate(int first, int second) {
  if (first > second) std::swap(first, second);
  const PairMeasure pair = measure(first, second);
  Candidate candidate;
  candidate.over_cap = parameters_.memory_cap > 0 && pair.result_size > parameters_.memory_cap;
  candidate.kind = modes_[first] == modes_[second] ? kHadamardPair : kConnectedPair;
  candidate.score =
      ordered(pair.result_size - parameters_.alpha * (sizes_[first] + sizes_[second]));
  candidate.flops = ordered(pair.involved_size * (pair.sums ? 2.0 : 1.0));
  candidate.first = first;
  candidate.second = second;
  heap_.push_back(candidate);
  std::push_heap(heap_.begin(), heap_.end(), heap_below);
}

// Drops dead entries from the top; false when no live candidate remains.
bool GreedySearch::peek_live(Candidate* top) {
  while (!heap_.empty()) {
    const Candidate& front = heap_.front();
    if (live_[front.first] && live_[front.second]) {
      *top = front;
      return true;
    }
    std::pop_heap(heap_.begin(), heap_.end(), heap_below);
    heap_.pop_back();
  }
  return false;
}

// Pops the best live candidate or, with a temperature, samples one of the
// best few of its class with Boltzmann weights exp(-(score - best) / T),
// T = temperature x max(1, |best|) so the temperature means the same early
// (small scores) and late (huge scores) in a run. Hadamard pairs are always
// taken in order: their result is never larger than either input.
Candidate GreedySearch::take_connected() {
  std::vector<Candidate> choices;
  Candidate top;
  const std::size_t wanted = parameters_.temperature > 0
                                 ? static_cast<std::size_t>(std::max(1, parameters_.branch_count))
                                 : 1;
  while (choices.size() < wanted && peek_live(&top)) {
    if (!choices.empty() && (top.over_cap != choices[0].over_cap || top.kind != choices[0].kind)) {
      break;
    }
    choices.push_back(top);
    std::pop_heap(heap_.begin(), heap_.end(), heap_below);
    heap_.pop_back();
    if (top.kind == kHadamardPair) break;
  }
  std::size_t chosen = 0;
  if (choices.size() > 1) {
    const double best = choices[0].score;
    const double temperature = parameters_.temperature * std::max(1.0, std::abs(best));
    std::vector<double> weights;
    double total = 0;
    for (const Candidate& choice : choices) {
      const double weight = std::exp(-(choice.score - best) / temperature);
      weights.push_back(std::isnan(weight) ? 0.0 : weight);
      total += weights.back();
    }
    double draw = unit_interval(*random_) * total;
    while (chosen + 1 < choices.size() && draw >= weights[chosen]) draw -= weights[chosen++];
  }
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i == chosen) continue;
    heap_.push_back(choices[i]);
    std::push_heap(heap_.begin(), heap_.end(), heap_below);
  }
  return choices[chosen];
}

// The two live operands whose outer product is smallest: an operand's share
// of it is the size of the modes someone else (or the output) still needs.
std::pair<int, int> GreedySearch::smallest_outer_pair(double* result_size) const {
  int best[2] = {-1, -1};
  double kept[2] = {kInfinity, kInfinity};
  for (int id = 0; id < static_cast<int>(modes_.size()); ++id) {
    if (!live_[id]) continue;
    double size = 1;
    for (Mode mode : modes_[id]) {
      if (users_[mode] > 1) size *= extent(mode);
    }
    size = ordered(size);
    // Strictly smaller: equal sizes keep the lower id, as the heap does.
    if (best[0] < 0 || size < kept[0]) {
      best[1] = best[0];
      kept[1] = kept[0];
      best[0] = id;
      kept[0] = size;
    } else if (best[1] < 0 || size < kept[1]) {
      best[1] = id;
      kept[1] = size;
    }
  }
  *result_size = ordered(kept[0] * kept[1]);
  return {std::min(best[0], best[1]), std::max(best[0], best[1])};
}

// The live pair with the smallest result, by measuring every pair: only for
// the rare case the kept-size bound cannot serve.
std::pair<int, int> GreedySearch::smallest_pair(double* result_size) const {
  std::pair<int, int> best{-1, -1};
  *result_size = kInfinity;
  for (int first = 0; first < static_cast<int>(modes_.size()); ++first) {
    if (!live_[first]) continue;
    for (int second = first + 1; second < static_cast<int>(modes_.size()); ++second) {
      if (!live_[second]) continue;
      const double size = ordered(measure(first, second).result_size);
      if (best.first < 0 || size < *result_size) {
        best = {first, second};
        *result_size = size;
      }
    }
  }
  return best;
}

void GreedySearch::contract(int first, int second) {
  const bool last = live_count_ == 2;
  std::vector<Mode> result = result_modes(first, second);
  const PairMeasure pair = measure(first, second);

  const int first_position = positions_.position(first);
  const int second_position = positions_.position(second);
  outcome_.path.push_back({first_position, second_position});
  outcome_.flops += pair.involved_size * (pair.sums ? 2.0 : 1.0);
  outcome_.largest_intermediate = std::max(outcome_.largest_intermediate, pair.result_size);
  if (!last) {
    outcome_.largest_before_output = std::max(outcome_.largest_before_output, pair.result_size);
  }

  for (int id : {first, second}) {
    live_[id] = 0;
    positions_.add(id, -1);
    for (Mode mode : modes_[id]) {
      --users_[mode];
      auto& holders = holders_[mode];
      holders.erase(std::find(holders.begin(), holders.end(), id));
    }
  }
  const int id = static_cast<int>(modes_.size());
  for (Mode mode : result) {
    ++users_[mode];
    holders_[mode].push_back(id);
  }
  modes_.push_back(std::move(result));
  sizes_.push_back(pair.result_size);
  live_.push_back(1);
  seen_by_.push_back(-1);
  positions_.add(id, 1);
  --live_count_;
  if (live_count_ > 1) push_neighbour_pairs(id);
}

// Pushes the pairs of `id` with every live operand sharing a mode with it
// (only those with lower ids when called for the inputs, so each pair once).
void GreedySearch::push_neighbour_pairs(int id) {
  for (Mode mode : modes_[id]) {
    for (int neighbour : holders_[mode]) {
      if (neighbour >= id || seen_by_[neighbour] == id) continue;
      seen_by_[neighbour] = id;
      push_candidate(neighbour, id);
    }
  }
}

GreedyOutcome GreedySearch::run() {
  for (const ProblemOperand& input : problem_.inputs) {
    std::vector<Mode> modes = input.modes;
    std::sort(modes.begin(), modes.end());
    modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
    double size = 1;
    for (Mode mode : modes) size *= extent(mode);
    modes_.push_back(std::move(modes));
    sizes_.push_back(size);
    live_.push_back(1);
    seen_by_.push_back(-1);
  }
  for (int id = 0; id < input_count_; ++id) {
    positions_.add(id, 1);
    for (Mode mode : modes_[id]) {
      ++users_[mode];
      holders_[mode].push_back(id);
    }
  }
  for (Mode mode : problem_.output) ++users_[mode];
  live_count_ = input_count_;
  for (int id = 0; id < input_count_; ++id) push_neighbour_pairs(id);

  const double cap = parameters_.memory_cap;
  while (live_count_ > 1) {
    if (outcome_.flops > parameters_.flops_bound) {
      outcome_.abandoned = true;
      break;
    }
    Candidate top;
    const bool connected = peek_live(&top);
    // The last step makes the output, which the cap exempts.
    if (connected && (!top.over_cap || live_count_ == 2)) {
      const Candidate chosen = take_connected();
      contract(chosen.first, chosen.second);
      continue;
    }
    // Every connected pair is over the cap (or none is left): an outer
    // product under the cap goes first. If the smallest is under the cap its
    // operands share no mode, else their pair would be a candidate under it
    // (a pair's result is at most the product of their kept sizes, as
    // dropping a mode never grows a size). An extent of 0 breaks that bound:
    // summing such a mode away turns an empty product into a non-empty
    // result. So those problems measure every pair when the cap is at stake.
    double outer_size = 0;
    std::pair<int, int> outer = smallest_outer_pair(&outer_size);
    if (connected && cap > 0 && has_zero_extent_) outer = smallest_pair(&outer_size);
    if (!connected || (cap > 0 && outer_size <= cap)) {
      contract(outer.first, outer.second);
    } else {
      const Candidate chosen = take_connected();
      contract(chosen.first, chosen.second);
    }
  }
  return std::move(outcome_);
}

}  // namespace

double unit_interval(std::mt19937_64& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

GreedyOutcome greedy_search(const Problem& problem, const GreedyParameters& parameters,
                            std::mt19937_64* random) {
  if (problem.inputs.size() == 1) {
    // One operand: a single step, costed by evaluate_path itself.
    const ContractionPath path = evaluate_path(problem, {{0}});
    GreedyOutcome outcome;
    outcome.path = {{0}};
    outcome.flops = path.flops;
    outcome.largest_intermediate = path.largest_intermediate;
    return outcome;
  }
  GreedyParameters checked = parameters;
  if (random == nullptr) checked.temperature = 0;
  return GreedySearch(problem, checked, random).run();
}

LinearPath greedy_path(const Problem& problem, const PathSearchOptions& options) {
  GreedyParameters parameters;
  parameters.memory_cap = options.memory_cap;
  return greedy_search(problem, parameters, nullptr).path;
}

LinearPath greedy_path(const Problem& problem) { return greedy_path(problem, PathSearchOptions{}); }

}  // namespace einstream::detail
