// The data a cost model of lowering needs (issue 14, "lowering choices"):
// one strided-batched GEMM C = A B at fixed M, N, K and batch, timed in all
// eight storage orders of its three matrices (A as [m, k] or [k, m], B as
// [k, n] or [n, k], C as [m, n] or [n, m], row-major, each order reached by
// cuBLAS's transpose flags and the choice of which operand goes first), in
// one run, beside the device-to-device copy of one operand (what a permute
// that packs it costs at best). Counters: TFLOP/s of each order (named by
// A, B, C: "mk_kn_mn" is the plain product), the slowest over the fastest,
// and the copy's milliseconds per operand byte pass. Where a permute plus
// the fastest order beats the order a layout allows without one, lowering
// should permute; where the orders tie, it should not.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bench/cuda/device_timing.hpp"
#include "cuda/check.hpp"
#include "cuda/cublas_check.hpp"
#include "einstream/tensor.hpp"

namespace {

using einstream::DataType;
using einstream::detail::bench::DeviceBuffer;
using einstream::detail::bench::EventTimer;

struct GemmShape {
  const char* name;
  std::int64_t m, n, k, batch;
};

// The GEMMs of bench/suite.json's gemm-bound problems.
const std::vector<GemmShape>& shapes() {
  static const std::vector<GemmShape> list = {
      {"4096^3 (64^4 two-mode contractions)", 4096, 4096, 4096, 1},
      {"leading 4096x4096x1024", 4096, 4096, 1024, 1},
      {"batched 256 x 512^3", 512, 512, 512, 256},
      {"batched 2048 x 256^3", 256, 256, 256, 2048},
      {"attention 128 x 2048^2 x 64", 2048, 2048, 64, 128},
  };
  return list;
}

struct Order {
  bool a_km, b_nk, c_nm;  // stored transposed: A as [k, m], B as [n, k], C as [n, m]
  std::string name() const {
    return std::string(a_km ? "km" : "mk") + "_" + (b_nk ? "nk" : "kn") + "_" +
           (c_nm ? "nm" : "mn");
  }
};

// Row-major X [r, c] is column-major c x r with leading dimension c. For C
// as [m, n], cuBLAS computes C^T (n x m) = B^T A^T; for C as [n, m], it
// computes C (m x n) = A B, both column-major.
void gemm(cublasHandle_t handle, DataType dtype, const GemmShape& s, const Order& order,
          const void* a, const void* b, void* c) {
  const std::int64_t lda = order.a_km ? s.m : s.k;
  const std::int64_t ldb = order.b_nk ? s.k : s.n;
  const void* first = order.c_nm ? a : b;
  const void* second = order.c_nm ? b : a;
  std::int64_t rows = s.n, columns = s.m, ld_first = ldb, ld_second = lda;
  // Column-major, B [k, n] row-major is n x k: op N gives B^T's n x k.
  cublasOperation_t op_first = order.b_nk ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_second = order.a_km ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (order.c_nm) {
    rows = s.m;
    columns = s.n;
    ld_first = lda;
    ld_second = ldb;
    // A [m, k] row-major is k x m column-major: A (m x k) needs op T.
    op_first = order.a_km ? CUBLAS_OP_N : CUBLAS_OP_T;
    op_second = order.b_nk ? CUBLAS_OP_N : CUBLAS_OP_T;
  }
  const std::int64_t stride_first = order.c_nm ? s.m * s.k : s.k * s.n;
  const std::int64_t stride_second = order.c_nm ? s.k * s.n : s.m * s.k;
  const float one = 1, zero = 0;
  if (dtype == DataType::f32) {
    EINSTREAM_CUBLAS_CHECK(cublasSgemmStridedBatched_64(
        handle, op_first, op_second, rows, columns, s.k, &one, static_cast<const float*>(first),
        ld_first, stride_first, static_cast<const float*>(second), ld_second, stride_second, &zero,
        static_cast<float*>(c), rows, s.m * s.n, s.batch));
    return;
  }
  const cudaDataType_t type = dtype == DataType::f16 ? CUDA_R_16F : CUDA_R_16BF;
  EINSTREAM_CUBLAS_CHECK(cublasGemmStridedBatchedEx_64(
      handle, op_first, op_second, rows, columns, s.k, &one, first, type, ld_first, stride_first,
      second, type, ld_second, stride_second, &zero, c, type, rows, s.m * s.n, s.batch,
      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void BM_GemmOrientation(benchmark::State& state) {
  const GemmShape& s = shapes()[static_cast<std::size_t>(state.range(0))];
  constexpr DataType kTypes[] = {DataType::f32, DataType::f16, DataType::bf16};
  const DataType dtype = kTypes[state.range(1)];
  const std::size_t element = einstream::size_of(dtype);
  // 0x3c: f16 1.06 and bf16 0.0115, finite over the sums; f32 small.
  const std::size_t a_bytes = static_cast<std::size_t>(s.m * s.k * s.batch) * element;
  const DeviceBuffer a(a_bytes, 0x3c);
  const DeviceBuffer b(static_cast<std::size_t>(s.k * s.n * s.batch) * element, 0x3c);
  const DeviceBuffer c(static_cast<std::size_t>(s.m * s.n * s.batch) * element, 0);
  const DeviceBuffer copy(a_bytes, 0);
  cublasHandle_t handle;
  EINSTREAM_CUBLAS_CHECK(cublasCreate(&handle));
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(
      handle, dtype == DataType::f32 ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
  EventTimer timer;
  const double flops = 2.0 * s.m * s.n * s.k * s.batch;
  const int repeats = flops > 5e11 ? 5 : 20;
  double fastest = 1e30, slowest = 0;
  for (auto _ : state) {
    for (int bits = 0; bits < 8; ++bits) {
      const Order order{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0};
      const double seconds = einstream::detail::bench::seconds_per_call(
          [&] { gemm(handle, dtype, s, order, a.get(), b.get(), c.get()); }, repeats);
      state.counters[order.name()] = flops / seconds * 1e-12;
      fastest = std::min(fastest, seconds);
      slowest = std::max(slowest, seconds);
    }
    state.SetIterationTime(fastest);
  }
  cublasDestroy(handle);
  state.counters["slowest_over_fastest"] = slowest / fastest;
  state.counters["copy_A_ms"] =
      einstream::detail::bench::copy_seconds(a.get(), copy.get(), a_bytes, nullptr, timer, 5) * 1e3;
  state.counters["fastest_ms"] = fastest * 1e3;
  state.SetLabel(std::string(s.name) + " " + einstream::to_string(dtype));
}

// First argument: the shape; second: 0 f32 (TF32 off), 1 f16, 2 bf16.
BENCHMARK(BM_GemmOrientation)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1, 2}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
