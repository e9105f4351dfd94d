// Reductions and elementwise products on device-resident f32 data (and a
// few in f16 and bf16, which compute in float: the same element counts move
// half the bytes), against a device-to-device copy of the same bytes
// measured in the same run.
//
// Each case reports bytes_per_second (bytes read + written by the kernel,
// over the event-timed kernel time), copy_bytes_per_second (a
// cudaMemcpyAsync moving as many bytes: half read, half written) and
// fraction_of_copy, the ratio of the two. Targets are in the headers of
// cuda/reduce.cu and cuda/elementwise.cu.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "bench/cuda/device_timing.hpp"
#include "cuda/check.hpp"
#include "cuda/elementwise.hpp"
#include "cuda/reduce.hpp"
#include "cuda/resources.hpp"

namespace einstream::detail {
namespace {

constexpr int kCopyRepeats = 5;
constexpr std::int64_t kGiBOfFloats = std::int64_t{1} << 28;

using bench::copy_seconds;
using bench::EventTimer;

// Filled with 0x3c3c3c3c, about 0.0115 as f32 (1.06 as f16, 0.0115 as
// bf16): finite values, no denormals.
class DeviceBuffer : public bench::DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bench::DeviceBuffer(bytes, 0x3c) {}
};

bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

// Times `launch` once per benchmark iteration and reports bandwidth against
// the copy of the same bytes.
void run_timed(benchmark::State& state, std::size_t bytes_moved,
               const std::function<void(cudaStream_t)>& launch) {
  const Stream stream;
  EventTimer timer;
  // A copy moving bytes_moved in all: half read, half written.
  const DeviceBuffer from(bytes_moved / 2), to(bytes_moved / 2);
  const double copy =
      copy_seconds(from.get(), to.get(), bytes_moved / 2, stream.get(), timer, kCopyRepeats);
  launch(stream.get());  // warm-up
  EINSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  double total = 0;
  for (auto _ : state) {
    const double time = timer.seconds(stream.get(), [&] { launch(stream.get()); });
    state.SetIterationTime(time);
    total += time;
  }
  const double mean = total / static_cast<double>(state.iterations());
  state.counters["bytes_per_second"] = static_cast<double>(bytes_moved) / mean;
  state.counters["copy_bytes_per_second"] = static_cast<double>(bytes_moved) / copy;
  state.counters["fraction_of_copy"] = copy / mean;
}

// A reduction of a dense tensor of `extents` (row-major) to the kept axes
// `kept`, in result order, row-major in that order.
// `device` plans it (DeviceTraits' defaults unless a case compares others).
void run_reduce(benchmark::State& state, const std::vector<std::int64_t>& extents,
                const std::vector<int>& kept, DataType dtype = DataType::f32,
                const DeviceTraits& device = DeviceTraits{}) {
  if (!have_gpu()) {
    state.SkipWithError("no CUDA device visible");
    return;
  }
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t count = 1;
  for (int axis = static_cast<int>(extents.size()) - 1; axis >= 0; --axis) {
    strides[axis] = count;
    count *= extents[axis];
  }
  TensorLayout source, result;
  for (int axis : kept) {
    source.extents.push_back(extents[axis]);
    source.strides.push_back(strides[axis]);
    result.extents.push_back(extents[axis]);
  }
  for (int axis = 0; axis < static_cast<int>(extents.size()); ++axis) {
    if (std::find(kept.begin(), kept.end(), axis) != kept.end()) continue;
    source.extents.push_back(extents[axis]);
    source.strides.push_back(strides[axis]);
  }
  result.strides.assign(result.extents.size(), 0);
  std::int64_t outputs = 1;
  for (int axis = static_cast<int>(result.extents.size()) - 1; axis >= 0; --axis) {
    result.strides[axis] = outputs;
    outputs *= result.extents[axis];
  }
  const std::size_t element = size_of(dtype);
  const ReducePlan plan = plan_reduce(dtype, source, result, device);
  if (!plan.error.empty()) {
    state.SkipWithError(plan.error.c_str());
    return;
  }
  const std::size_t workspace_bytes = plan.workspace_bytes;
  DeviceBuffer source_data(count * element), result_data(outputs * element);
  DeviceBuffer workspace(workspace_bytes);
  state.SetLabel(to_string(plan));
  run_timed(state, (count + outputs) * element, [&](cudaStream_t stream) {
    reduce(plan, source_data.get(), result_data.get(), Epilogue::plain(), workspace.get(),
           workspace_bytes, stream);
  });
}

DeviceTraits split_to_fills(std::int64_t fills) {
  DeviceTraits device;
  device.split_fills = fills;
  return device;
}

// first * second over `extents` into a row-major result.
void run_multiply(benchmark::State& state, const std::vector<std::int64_t>& extents,
                  const std::vector<std::int64_t>& first_strides,
                  const std::vector<std::int64_t>& second_strides, DataType dtype = DataType::f32) {
  if (!have_gpu()) {
    state.SkipWithError("no CUDA device visible");
    return;
  }
  const auto reach = [&](const std::vector<std::int64_t>& strides) {
    std::int64_t last = 0;
    for (std::size_t axis = 0; axis < extents.size(); ++axis)
      last += (extents[axis] - 1) * strides[axis];
    return last + 1;
  };
  TensorLayout result{extents, std::vector<std::int64_t>(extents.size())};
  std::int64_t count = 1;
  for (int axis = static_cast<int>(extents.size()) - 1; axis >= 0; --axis) {
    result.strides[axis] = count;
    count *= extents[axis];
  }
  const std::size_t element = size_of(dtype);
  const std::int64_t first_count = reach(first_strides), second_count = reach(second_strides);
  DeviceBuffer first(first_count * element), second(second_count * element);
  DeviceBuffer result_data(count * element);
  const TensorLayout first_layout{extents, first_strides}, second_layout{extents, second_strides};
  run_timed(state, (first_count + second_count + count) * element, [&](cudaStream_t stream) {
    multiply(dtype, first.get(), first_layout, second.get(), second_layout, result_data.get(),
             result, Epilogue::plain(), stream);
  });
}

// 1 GiB, ijk->ki: the summed j sits between the kept axes, and the result
// transposes them (the shared-memory tile variant).
void BM_ReduceTransposing_ijk_ki(benchmark::State& state) {
  run_reduce(state, {1024, 512, 512}, {2, 0});
}
// 1 GiB, ijk->ij: contiguous sums of 512 (16 lanes of a warp per output,
// vectors of 4).
void BM_ReduceRows_ijk_ij(benchmark::State& state) { run_reduce(state, {1024, 512, 512}, {0, 1}); }
// 1 GiB, ij->i with rows of 64: 4 lanes per row, 8 rows a warp.
void BM_ReduceShortRows_ij_i(benchmark::State& state) {
  run_reduce(state, {std::int64_t{1} << 22, 64}, {0});
}
// 1 GiB, ijk->jk: strided sums of 1024, contiguous outputs (a thread per
// vector of 4 outputs).
void BM_ReduceColumns_ijk_jk(benchmark::State& state) {
  run_reduce(state, {1024, 512, 512}, {1, 2});
}
// 1 GiB, ij->j of 16384^2 (the in-memory suite's column-sums): 16384
// outputs, so the sums are sliced in the block and split over the grid.
void BM_ReduceColumns_ij_j(benchmark::State& state) { run_reduce(state, {16384, 16384}, {1}); }
// The same split to 1, 4 and 8 fills of the GPU (DeviceTraits::split_fills;
// the default is 2), to check that choice in the same run.
void BM_ReduceColumns_ij_j_Fills(benchmark::State& state) {
  run_reduce(state, {16384, 16384}, {1}, DataType::f32, split_to_fills(state.range(0)));
}
// 1 GiB to a scalar: split over blocks, then a second pass.
void BM_ReduceFullSum(benchmark::State& state) { run_reduce(state, {kGiBOfFloats}, {}); }
// 512 MiB, aibjcde->ij: five summed modes of 8 interleaved with two kept of 64.
void BM_ReduceFiveSmallModes(benchmark::State& state) {
  run_reduce(state, {8, 64, 8, 64, 8, 8, 8}, {1, 3});
}
// 8192^2 Hadamard product: contiguous, 16-byte vectors.
void BM_MultiplyHadamard(benchmark::State& state) {
  run_multiply(state, {8192, 8192}, {8192, 1}, {8192, 1});
}
// i,j->ij with 8192 each: reads are tiny, 256 MiB written.
void BM_MultiplyOuter(benchmark::State& state) {
  run_multiply(state, {8192, 8192}, {1, 0}, {0, 1});
}
// The same in f16 (128 MiB written), and the batched outer product of the
// in-memory suite, bi,bj->bij with rows of 1024.
void BM_MultiplyOuter_f16(benchmark::State& state) {
  run_multiply(state, {8192, 8192}, {1, 0}, {0, 1}, DataType::f16);
}
void BM_MultiplyBatchedOuter(benchmark::State& state) {
  run_multiply(state, {64, 1024, 1024}, {1024, 1, 0}, {1024, 0, 1});
}
// The write ceiling of the outer products: a cudaMemsetAsync of their 256
// MiB. Its fraction_of_copy is what a kernel that only writes can reach.
void BM_WriteCeiling(benchmark::State& state) {
  if (!have_gpu()) {
    state.SkipWithError("no CUDA device visible");
    return;
  }
  const std::size_t bytes = std::size_t{8192} * 8192 * sizeof(float);
  DeviceBuffer target(bytes);
  run_timed(state, bytes, [&](cudaStream_t stream) {
    EINSTREAM_CUDA_CHECK(cudaMemsetAsync(target.get(), 0x3c, bytes, stream));
  });
}
// bij,bj->bij with 64 x 1024 x 1024: the second operand broadcasts over i.
void BM_MultiplyBatchedBroadcast(benchmark::State& state) {
  run_multiply(state, {64, 1024, 1024}, {1024 * 1024, 1024, 1}, {1024, 0, 1});
}

// The half types: the tile, warp, column and split variants, and 16-byte
// vectors of 8 elements. (bf16 for the full sum: 2^28 f16 elements of 1.06 overflow.)
void BM_ReduceTransposing_ijk_ki_f16(benchmark::State& state) {
  run_reduce(state, {1024, 512, 512}, {2, 0}, DataType::f16);
}
void BM_ReduceRows_ijk_ij_bf16(benchmark::State& state) {
  run_reduce(state, {1024, 512, 512}, {0, 1}, DataType::bf16);
}
void BM_ReduceFullSum_bf16(benchmark::State& state) {
  run_reduce(state, {kGiBOfFloats}, {}, DataType::bf16);
}
void BM_ReduceColumns_ij_j_bf16(benchmark::State& state) {
  run_reduce(state, {16384, 16384}, {1}, DataType::bf16);
}
void BM_ReduceFiveSmallModes_bf16(benchmark::State& state) {
  run_reduce(state, {8, 64, 8, 64, 8, 8, 8}, {1, 3}, DataType::bf16);
}
void BM_MultiplyHadamard_f16(benchmark::State& state) {
  run_multiply(state, {8192, 8192}, {8192, 1}, {8192, 1}, DataType::f16);
}

BENCHMARK(BM_ReduceTransposing_ijk_ki)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceRows_ijk_ij)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceShortRows_ij_i)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceColumns_ijk_jk)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceColumns_ij_j)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceColumns_ij_j_Fills)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceFullSum)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceFiveSmallModes)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyHadamard)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyOuter)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyBatchedBroadcast)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyOuter_f16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyBatchedOuter)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WriteCeiling)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceTransposing_ijk_ki_f16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceRows_ijk_ij_bf16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceFullSum_bf16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceColumns_ij_j_bf16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReduceFiveSmallModes_bf16)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyHadamard_f16)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace einstream::detail
