// Planning time: parse + path search for ring networks of n matrices with a
// dangling mode each (an MPS-like chain closed into a ring), the shape most
// einsum users write by hand. Reports operands planned per second.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "einstream/plan.hpp"

namespace {

// Labels a..z then A..Z: 52 labels, enough for rings of 26 operands.
char label(int index) { return static_cast<char>(index < 26 ? 'a' + index : 'A' + index - 26); }

void ring_network(int operands, std::string& expression,
                  std::vector<std::vector<std::int64_t>>& shapes) {
  expression.clear();
  shapes.clear();
  for (int operand = 0; operand < operands; ++operand) {
    if (operand) expression += ',';
    expression += label(operand);
    expression += label((operand + 1) % operands);
    expression += label(operands + operand);
    shapes.push_back({8, 8, 2});
  }
}

void BM_PlanRing(benchmark::State& state) {
  const auto algorithm = static_cast<einstream::PathAlgorithm>(state.range(1));
  std::string expression;
  std::vector<std::vector<std::int64_t>> shapes;
  ring_network(static_cast<int>(state.range(0)), expression, shapes);
  einstream::Options options;
  options.path = algorithm;
  double flops = 0;
  for (auto _ : state) {
    const einstream::PathInfo info = einstream::contraction_path(expression, shapes, options);
    flops = info.flops;
    benchmark::DoNotOptimize(flops);
  }
  state.counters["path_flops"] = flops;
  state.counters["operands/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                    benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(einstream::to_string(algorithm));
}

BENCHMARK(BM_PlanRing)
    ->ArgsProduct({{4, 10, 26},
                   {static_cast<int>(einstream::PathAlgorithm::naive),
                    static_cast<int>(einstream::PathAlgorithm::greedy)}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
