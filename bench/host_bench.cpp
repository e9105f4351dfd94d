// Host backend throughput on a square matrix product (ij,jk->ik), in FLOP/s.
// The host backend is the correctness baseline, not a fast path; this keeps
// its cost visible as it changes.
#include <benchmark/benchmark.h>

#include <vector>

#include "einstream/plan.hpp"

namespace {

void BM_HostMatrixProduct(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  einstream::Options options;
  options.backend = einstream::Backend::host;
  einstream::Plan plan("ij,jk->ik",
                       {einstream::TensorDesc(einstream::DataType::f32, {n, n}),
                        einstream::TensorDesc(einstream::DataType::f32, {n, n})},
                       options);
  for (auto _ : state) {
    plan.execute({a.data(), b.data()}, c.data());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(plan.path().flops, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_HostMatrixProduct)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace
