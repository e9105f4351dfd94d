// The hyper-optimizing path search, after cotengra's HyperOptimizer: many
// trials, each building a tree with its own draw of the hyper-parameters
// (greedy with random temperature and costmod, or recursive bisection with
// random part counts, imbalance and group size), then exact reconfiguration
// of small subtrees of the best few trees.
//
// The tuner is the cheap end of cotengra's optlib choices: the first
// kExploreTrials trials sample the hyper-parameters at random; after that
// most trials take the parameters of one of the kElite best trials so far
// and perturb them, a poor man's Bayesian optimizer (at a sub-second budget
// a model of the cost surface would cost as much as the trials it saves).
// Trials run in batches of kBatchTrials over a few host threads, the budget
// is looked at between batches only, and a trial sees the results of earlier
// batches only, so which trials run and what they draw depends on the clock
// alone, never on thread timing or count: trial i draws from a generator
// seeded by (seed, i), and trees are ranked by (over the memory cap?, FLOPs,
// trial index). Equal seeds therefore give equal paths whenever the trial
// count, not the budget, ends the sampling and reconfiguration finishes (it
// stops where its sweeps change nothing).
//
// The budget: sampling gets kSamplingShare of it, reconfiguration the rest
// (and whatever sampling left over). Trial 0 is the plain greedy, so the
// result never costs more than greedy_path's; on small networks dp's tree
// (trial -1) is a candidate too.
//
// Reconfiguration, not sampling, makes the final cost: on random regular
// graphs and circuits of 100-400 operands it takes the best sampled tree
// down by 10^0.5 to 10^1.5, and a tree's sampled cost hardly predicts where
// it ends (greedy trees 10^2 dearer than the best bisection tree can end
// the cheapest). So sampling gets the smaller share, and reconfiguration
// runs in two stages: every candidate settles with small subtrees (cheap,
// and a fair predictor of the end), then the candidates, best first, get
// the expensive sweeps (larger subtrees, then grown at random) for as long
// as the budget lasts. Where the budget is short (hundreds of operands) the
// expensive sweeps go to the trees that deserve them.
#include "planner/path_hyper.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "planner/path_budget.hpp"
#include "planner/path_hyper_trial.hpp"
#include "planner/path_reconfigure.hpp"

namespace einstream::detail {

namespace {

// On 5x6-qubit circuits at a 1 s budget, 0.2-0.4 all gave the same mean
// cost (10^9.71-9.73 over five seeds) against 10^9.87 at 0.5.
constexpr double kSamplingShare = 0.3;
// Trials per batch: the budget is looked at between batches. Fixed, not per
// thread, so that the path does not depend on the thread count.
constexpr int kBatchTrials = 8;
// Trials drawn at random before the tuner exploits; then the share of trials
// that perturb one of the kElite best so far.
constexpr int kExploreTrials = 64;
constexpr double kExploitShare = 0.75;
constexpr std::size_t kElite = 8;
// Trees kept from sampling for reconfiguration.
constexpr std::size_t kCandidates = 16;
// Bisection's space: parts per split, imbalance (log10, 0.01 to 0.5) and the
// largest group joined without a split (at most kExactJoinMaxTensors is
// joined exactly, larger groups by greedy).
constexpr int kPartsMin = 2;
constexpr int kPartsMax = 5;
constexpr double kLogImbalanceMin = -2.0;
constexpr double kLogImbalanceMax = -0.3;
constexpr int kCutoffMin = 4;
constexpr int kCutoffMax = 16;
// Networks up to this many operands also get dp's tree as a candidate
// (within kDpShare of the budget): there dp is fast and exact among paths
// without outer products, which trials and reconfiguration of 10-tensor
// subtrees can miss by a fraction of a percent.
constexpr int kDpOperands = 30;
constexpr double kDpShare = 0.25;
// Reconfiguration's first stage settles every candidate with subtrees of
// kSettleSize tensors; the second sweeps with kSweepSize until settled, then
// grows subtrees of kSweepSize at random, kRandomSweeps sweeps at most (they
// stop earlier once one changes nothing). Random growth at 10 tensors is the
// strongest step: on the 100-operand 3-regular benchmark graph it reaches
// 10^6.534 from every seed tried, where random growth at 8 left 6.54-6.56.
constexpr int kSettleSize = 8;
constexpr int kSweepSize = 10;
constexpr int kRandomSweeps = 16;

// SplitMix64's finalizer: seeds for trials that differ in every bit.
std::uint64_t mix(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

double uniform(std::mt19937_64& random, double low, double high) {
  return low + (high - low) * unit_interval(random);
}

int uniform_int(std::mt19937_64& random, int low, int high) {
  return std::min(high, low + static_cast<int>(unit_interval(random) * (high - low + 1)));
}

struct Candidate {
  Candidate(int trial_index, PathTree built, double memory_cap)
      : trial(trial_index), tree(std::move(built)) {
    measure(memory_cap);
  }
  void measure(double memory_cap) {
    flops = tree.flops();
    over_cap = memory_cap > 0 && tree.largest_before_output() > memory_cap;
  }

  int trial;
  PathTree tree;
  double flops = 0;
  bool over_cap = false;
};

bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.over_cap != b.over_cap) return !a.over_cap;
  if (a.flops != b.flops) return a.flops < b.flops;
  return a.trial < b.trial;
}

// Keeps the kCandidates best, one per cost (equal costs are nearly always
// the same tree, and reconfiguring it twice finds nothing new).
void keep(std::vector<Candidate>& best, Candidate candidate) {
  for (const Candidate& kept : best) {
    if (kept.over_cap == candidate.over_cap && kept.flops == candidate.flops) return;
  }
  best.push_back(std::move(candidate));
  std::sort(best.begin(), best.end(), ranks_before);
  if (best.size() > kCandidates) best.pop_back();
}

// A finished trial, as the tuner sees it.
struct Scored {
  TrialParameters parameters;
  bool over_cap = false;
  double flops = 0;
  int trial = 0;
};

bool scores_before(const Scored& a, const Scored& b) {
  if (a.over_cap != b.over_cap) return !a.over_cap;
  if (a.flops != b.flops) return a.flops < b.flops;
  return a.trial < b.trial;
}

// `elite`'s parameters, each knob moved a little (within its range).
TrialParameters perturb(const TrialParameters& elite, std::mt19937_64& random) {
  TrialParameters parameters = elite;
  const double log_temperature = parameters.greedy.temperature > 0
                                     ? std::log10(parameters.greedy.temperature)
                                     : kGreedyLogTemperatureMin;
  parameters.greedy.temperature =
      std::pow(10.0, std::clamp(log_temperature + uniform(random, -0.3, 0.3),
                                kGreedyLogTemperatureMin, kGreedyLogTemperatureMax));
  parameters.greedy.alpha = std::clamp(parameters.greedy.alpha + uniform(random, -0.3, 0.3),
                                       kGreedyAlphaMin, kGreedyAlphaMax);
  parameters.imbalance =
      std::pow(10.0, std::clamp(std::log10(parameters.imbalance) + uniform(random, -0.2, 0.2),
                                kLogImbalanceMin, kLogImbalanceMax));
  parameters.cutoff =
      std::clamp(parameters.cutoff + uniform_int(random, -2, 2), kCutoffMin, kCutoffMax);
  parameters.parts =
      std::clamp(parameters.parts + uniform_int(random, -1, 1), kPartsMin, kPartsMax);
  return parameters;
}

// `elite`: the best trials of the earlier batches, best first.
TrialParameters draw_parameters(int trial, const PathSearchOptions& options,
                                const HyperOptions& hyper, const std::vector<Scored>& elite,
                                std::mt19937_64& random) {
  TrialParameters parameters;
  parameters.greedy.memory_cap = options.memory_cap;
  parameters.greedy.branch_count = kGreedyBranchCount;
  if (trial == 0) return parameters;  // the plain greedy
  parameters.greedy.temperature =
      std::pow(10.0, uniform(random, kGreedyLogTemperatureMin, kGreedyLogTemperatureMax));
  parameters.greedy.alpha = uniform(random, kGreedyAlphaMin, kGreedyAlphaMax);
  // Every knob is drawn whatever the method, so the sequence is fixed.
  const bool bisection = unit_interval(random) < hyper.bisection_share;
  parameters.parts = uniform_int(random, kPartsMin, kPartsMax);
  parameters.imbalance = std::pow(10.0, uniform(random, kLogImbalanceMin, kLogImbalanceMax));
  parameters.cutoff = uniform_int(random, kCutoffMin, kCutoffMax);
  parameters.partitioner = hyper.partitioner;
  parameters.method = bisection ? TrialMethod::bisection : TrialMethod::greedy;
  const double exploit = unit_interval(random);
  const double pick = unit_interval(random);
  if (trial >= kExploreTrials && !elite.empty() && exploit < kExploitShare) {
    const std::size_t chosen =
        std::min(elite.size() - 1, static_cast<std::size_t>(pick * elite.size()));
    return perturb(elite[chosen].parameters, random);
  }
  return parameters;
}

// Runs work(0..count-1) on up to `threads` threads (the caller's among them),
// rethrowing the first failure once all have stopped.
template <typename Work>
void parallel_for(int count, int threads, const Work& work) {
  std::atomic<int> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    for (int index = next++; index < count; index = next++) {
      try {
        work(index);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int thread = 1; thread < std::min(threads, count); ++thread) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the others do the work
    }
  }
  worker();
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

int thread_count(const HyperOptions& hyper) {
  if (hyper.threads > 0) return std::min(hyper.threads, kHyperMaxThreads);
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hardware, 1, kHyperMaxThreads);
}

void sort_candidates(std::vector<Candidate>& best) {
  std::stable_sort(best.begin(), best.end(), [](const Candidate& a, const Candidate& b) {
    if (a.over_cap != b.over_cap) return !a.over_cap;
    return a.flops < b.flops;
  });
}

// One stage of reconfiguration over every candidate (in their order, so the
// best get the budget first), then the candidates re-ranked; `stage` does one
// tree within the deadline it is given and says whether it finished. False
// where any candidate did not finish.
template <typename Stage>
bool reconfigure_stage(std::vector<Candidate>& best, const PathSearchOptions& options, int threads,
                       const SearchDeadline& deadline, const Stage& stage) {
  std::vector<char> finished(best.size(), 1);
  parallel_for(static_cast<int>(best.size()), threads, [&](int k) {
    SearchDeadline own = deadline;
    finished[k] = stage(best[k], own) ? 1 : 0;
    best[k].measure(options.memory_cap);
  });
  sort_candidates(best);
  return std::find(finished.begin(), finished.end(), 0) == finished.end();
}

// The two stages (see the top of the file). False where the deadline cut
// either short.
bool reconfigure_candidates(std::vector<Candidate>& best, const PathSearchOptions& options,
                            int threads, const SearchDeadline& deadline) {
  // Fixed growth sweeps until settled; random growth kRandomSweeps at most.
  auto sweeps = [&](int tensors, std::mt19937_64* random) {
    ReconfigureOptions reconfiguration;
    reconfiguration.subtree_tensors = tensors;
    reconfiguration.memory_cap = options.memory_cap;
    reconfiguration.random = random;
    if (random != nullptr) reconfiguration.max_sweeps = kRandomSweeps;
    return reconfiguration;
  };
  const bool settled = reconfigure_stage(
      best, options, threads, deadline, [&](Candidate& candidate, SearchDeadline& own) {
        return reconfigure(candidate.tree, sweeps(kSettleSize, nullptr), own);
      });
  const bool swept = reconfigure_stage(
      best, options, threads, deadline, [&](Candidate& candidate, SearchDeadline& own) {
        if (!reconfigure(candidate.tree, sweeps(kSweepSize, nullptr), own)) return false;
        std::mt19937_64 random(
            mix(options.seed ^ mix(~static_cast<std::uint64_t>(candidate.trial))));
        return reconfigure(candidate.tree, sweeps(kSweepSize, &random), own);
      });
  return settled && swept;
}

}  // namespace

LinearPath hyper_path(const Problem& problem, const PathSearchOptions& options,
                      const HyperOptions& hyper, bool* stopped_at_budget) {
  if (stopped_at_budget != nullptr) *stopped_at_budget = false;
  if (problem.inputs.size() <= 2) return greedy_path(problem, options);

  const bool timed = options.seconds > 0;
  SearchDeadline deadline(options.seconds);
  SearchDeadline sampling(timed && hyper.reconfigure ? options.seconds * kSamplingShare
                                                     : options.seconds);
  const TreeNetwork network(problem);
  const OperandGraph graph(network);
  const int threads = thread_count(hyper);
  const int trials = std::max(1, options.trials);
  std::vector<Scored> history;
  std::vector<Scored> elite;

  std::vector<Candidate> best;
  bool cut_short = false;
  if (network.operand_count() <= kDpOperands) {
    PathSearchOptions exact = options;
    exact.seconds = timed ? options.seconds * kDpShare : 0;
    bool dp_stopped = false;
    const LinearPath dp = dp_path(problem, exact, &dp_stopped);
    cut_short = dp_stopped;
    keep(best, Candidate(-1, PathTree::from_linear(network, dp), options.memory_cap));
  }
  for (int first = 0; first < trials; first += kBatchTrials) {
    if (first > 0 && sampling.passed()) {
      cut_short = true;
      break;
    }
    const int count = std::min(kBatchTrials, trials - first);
    std::vector<std::unique_ptr<Candidate>> results(static_cast<std::size_t>(count));
    std::vector<TrialParameters> drawn(static_cast<std::size_t>(count));
    parallel_for(count, threads, [&](int k) {
      const int trial = first + k;
      std::mt19937_64 random(mix(options.seed ^ mix(static_cast<std::uint64_t>(trial))));
      drawn[k] = draw_parameters(trial, options, hyper, elite, random);
      results[k] = std::make_unique<Candidate>(
          trial, run_trial(problem, network, graph, drawn[k], random), options.memory_cap);
    });
    for (int k = 0; k < count; ++k) {
      history.push_back({drawn[k], results[k]->over_cap, results[k]->flops, first + k});
      keep(best, std::move(*results[k]));
    }
    elite = history;
    std::sort(elite.begin(), elite.end(), scores_before);
    if (elite.size() > kElite) elite.resize(kElite);
  }

  if (hyper.reconfigure) {
    cut_short = !reconfigure_candidates(best, options, threads, deadline) || cut_short;
  }
  if (stopped_at_budget != nullptr) *stopped_at_budget = cut_short;
  return best.front().tree.linear();
}

LinearPath hyper_path(const Problem& problem, const PathSearchOptions& options,
                      bool* stopped_at_budget) {
  return hyper_path(problem, options, HyperOptions{}, stopped_at_budget);
}

}  // namespace einstream::detail
