// Planning time: contraction path search (including simplification and every
// search `auto` runs) for random 3-regular graphs and 2D lattices of 10 to
// 1000 tensors with extents 2-16, one core. Issue 3's targets: `auto` on 100
// operands under 1 s, `greedy` on 1000 operands under 1 s. Reports the path's
// FLOPs so a faster search cannot hide a worse path.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "bench/networks.hpp"
#include "einstream/plan.hpp"
#include "planner/path.hpp"

namespace {

using einstream::PathAlgorithm;

void report(benchmark::State& state, const einstream::detail::ContractionPath& path,
            PathAlgorithm algorithm) {
  state.counters["log10_flops"] = std::log10(path.flops);
  state.counters["log10_largest"] = std::log10(path.largest_intermediate);
  state.SetLabel(einstream::to_string(algorithm));
}

void BM_PathRegular(benchmark::State& state) {
  const auto algorithm = static_cast<PathAlgorithm>(state.range(1));
  const einstream::detail::Problem problem =
      einstream::bench::random_regular_network(static_cast<int>(state.range(0)), 1);
  einstream::detail::ContractionPath path;
  for (auto _ : state) {
    path = einstream::detail::find_path(problem, algorithm);
    benchmark::DoNotOptimize(path.flops);
  }
  report(state, path, algorithm);
}

void BM_PathLattice(benchmark::State& state) {
  const auto algorithm = static_cast<PathAlgorithm>(state.range(2));
  const einstream::detail::Problem problem = einstream::bench::lattice_network(
      static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1);
  einstream::detail::ContractionPath path;
  for (auto _ : state) {
    path = einstream::detail::find_path(problem, algorithm);
    benchmark::DoNotOptimize(path.flops);
  }
  report(state, path, algorithm);
}

constexpr int kAuto = static_cast<int>(PathAlgorithm::automatic);
constexpr int kGreedy = static_cast<int>(PathAlgorithm::greedy);

BENCHMARK(BM_PathRegular)
    ->ArgsProduct({{10, 30, 100, 300}, {kAuto, kGreedy}})
    ->Args({1000, kGreedy})
    ->Unit(benchmark::kMillisecond);
// 10, 30, 100, 300 and 1000 sites: 2x5, 5x6, 10x10, 15x20, 25x40.
BENCHMARK(BM_PathLattice)
    ->Args({2, 5, kAuto})
    ->Args({5, 6, kAuto})
    ->Args({10, 10, kAuto})
    ->Args({15, 20, kAuto})
    ->Args({2, 5, kGreedy})
    ->Args({5, 6, kGreedy})
    ->Args({10, 10, kGreedy})
    ->Args({15, 20, kGreedy})
    ->Args({25, 40, kGreedy})
    ->Unit(benchmark::kMillisecond);

// The public entry point on a hand-sized expression: parse, search, report.
void BM_ContractionPathRing(benchmark::State& state) {
  const int operands = static_cast<int>(state.range(0));
  auto label = [](int index) {
    return static_cast<char>(index < 26 ? 'a' + index : 'A' + index - 26);
  };
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  for (int operand = 0; operand < operands; ++operand) {
    if (operand) expression += ',';
    expression += label(operand);
    expression += label((operand + 1) % operands);
    expression += label(operands + operand);
    shapes.push_back({8, 8, 2});
  }
  for (auto _ : state) {
    einstream::PathInfo info = einstream::contraction_path(expression, shapes, {});
    benchmark::DoNotOptimize(info.flops);
  }
}
BENCHMARK(BM_ContractionPathRing)->Arg(4)->Arg(10)->Arg(26)->Unit(benchmark::kMicrosecond);

}  // namespace
