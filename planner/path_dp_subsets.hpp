// The subset table of the dp path search (planner/path_dp.cpp explains the
// method): the cap-bounded dynamic program over the connected subsets of one
// component of the network, and the facts about the network it reads.
#pragma once

#include <cstdint>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "planner/path.hpp"
#include "planner/path_budget.hpp"

namespace einstream::detail::dp {

// A set of operands of one component, bit k for the component's k-th operand.
using Mask = std::uint64_t;

constexpr int kMaxComponentOperands = 64;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
// How fast the cost cap's slack (see run()) grows between rounds: a larger
// factor means fewer rounds but a final round that prunes less.
constexpr double kCapGrowth = 2.0;

constexpr std::uint32_t kNoHalf = std::numeric_limits<std::uint32_t>::max();

inline Mask bit(int index) { return Mask{1} << index; }

inline int lowest_bit(Mask mask) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(mask);
#else
  int index = 0;
  while (!(mask & 1)) {
    mask >>= 1;
    ++index;
  }
  return index;
#endif
}

// One pairwise contraction, with operands named by SSA id: inputs are
// 0..n-1 and the k-th step's result is n+k.
using SsaStep = std::pair<int, int>;

// Facts about the whole problem that every component search reads.
struct Network {
  // Unique modes of each input, ascending.
  std::vector<std::vector<Mode>> operand_modes;
  std::vector<bool> in_output;
  std::vector<double> extents;
};

// The cheapest known tree of one connected subset of a component.
struct Subtree {
  Mask operands = 0;
  // Operands outside the subset that share a mode with it.
  Mask neighbors = 0;
  double cost = 0;
  int size = 1;
  // Entry ids of the two halves it was formed from (kNoHalf for a single
  // operand), and the left half under which it is listed in parents_.
  std::uint32_t left = kNoHalf;
  std::uint32_t right = kNoHalf;
  std::uint32_t listed_left = kNoHalf;
  // The modes of its result (ascending), as a range of SubsetSearch::legs_.
  std::uint32_t legs_begin = 0;
  std::uint32_t legs_count = 0;
};

// How a search ended.
enum class Outcome {
  reached,      // the whole network (or component) has its cheapest tree
  infeasible,   // the memory cap rules out every tree
  out_of_time,  // the time budget ran out first
};

// The cap-bounded DP over the connected subsets of one component.
class SubsetSearch {
 public:
  // `members`: the component's inputs (problem positions). `result_is_output`:
  // the component is the whole problem, so its result is exempt from the cap.
  SubsetSearch(const Network& network, std::vector<int> members, double memory_cap,
               bool result_is_output, SearchDeadline& deadline);

  // Fills the table until the whole component is reached.
  Outcome run();

  // Whether the table holds a tree of the whole component: always after
  // Outcome::reached, sometimes after Outcome::out_of_time.
  bool has_tree() const { return index_.count(full_) > 0; }

  // Appends the steps of the component's cheapest tree; returns the SSA id of
  // its result.
  int emit(std::vector<SsaStep>& steps, int input_count) const;

  // Modes of the component's result.
  std::vector<Mode> result_modes() const;

  // For a component of every input of the problem (in order): `path` (linear
  // format, pairwise steps) with each subtree replaced by the table's tree of
  // the same operands where the table's is cheaper, in SSA form. Empty when
  // `path` does not fit that shape.
  std::vector<SsaStep> reconfigure(const LinearPath& path) const;

 private:
  struct Join {
    double flops = 0;
    double result_size = 0;
  };
  // Flops and result size of joining two entries into `joined`; the result
  // modes are left in kept_.
  Join join(std::uint32_t first, std::uint32_t second, Mask joined);
  void add(const Subtree& subtree, const std::vector<Mode>& legs);
  // Tries every split whose larger half is `first` and whose other half
  // contains its neighbor `through` but no lower neighbor.
  void join_all(std::uint32_t first, int through, double cap, double& rejected);
  // One pass over all subset sizes under `cap`; returns the smallest total
  // cost it rejected for the cap (a lower bound where it stopped early).
  double round(double cap);
  int emit_subtree(std::uint32_t id, std::vector<SsaStep>& steps, int input_count) const;

  const Network& network_;
  std::vector<int> members_;
  double memory_cap_;
  bool result_is_output_;
  SearchDeadline& deadline_;
  int count_;
  Mask full_;
  // A lower bound on the cost of the component's root step (see the
  // constructor).
  double root_floor_ = 1;
  // For each mode of the problem, the component operands that carry it.
  std::vector<Mask> mode_users_;

  // The table: entries (the first count_ are the single operands, in local
  // order), their result modes, and the entry of each subset.
  std::vector<Subtree> entries_;
  std::vector<Mode> legs_;
  std::unordered_map<Mask, std::uint32_t> index_;
  // Entry ids by subset size.
  std::vector<std::vector<std::uint32_t>> by_size_;
  // For each entry, the entries whose cheapest split has it as a half, by
  // ascending size.
  std::vector<std::vector<std::uint32_t>> parents_;
  std::vector<std::uint32_t> walk_;
  std::vector<Mode> kept_;
};

}  // namespace einstream::detail::dp
