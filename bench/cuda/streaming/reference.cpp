#include "bench/cuda/streaming/reference.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <utility>

#include "bench/cuda/streaming/timing.hpp"
#include "einstream/einstream.hpp"

namespace streaming_bench {
namespace {

using einstream::Backend;
using einstream::Error;
using einstream::Options;
using einstream::Plan;

// Norm-wise relative error the streamed result must reach against float64:
// kToleranceF32 for f32 sums of up to kToleranceTerms terms per output
// element, growing as the square root of the count beyond (rounding errors
// of a long sum grow like sqrt(n) u): three 16384^2 operands summed over
// both modes (2^28 terms, bench/ooc.json's device-sliced) round to ~1.5e-5
// whatever the block order.
constexpr double kToleranceF32 = 1e-5;
constexpr double kToleranceTerms = double(1 << 24);
constexpr double kToleranceF64 = 1e-12;
// Further output modes are fixed while the reference slice costs more FLOPs
// than this (the host backend runs it on one thread).
constexpr double kMaxReferenceFlops = 2e9;

// Copies a strided view (element strides from `base`) in C order into
// `target`, widened to double.
template <typename T>
void gather_to_double(const T* base, const std::vector<std::int64_t>& extents,
                      const std::vector<std::int64_t>& strides, double* target) {
  const std::size_t rank = extents.size();
  if (rank == 0) {
    target[0] = static_cast<double>(base[0]);
    return;
  }
  std::int64_t outer = 1;
  for (std::size_t axis = 0; axis + 1 < rank; ++axis) outer *= extents[axis];
  const std::int64_t inner = extents[rank - 1];
  const std::int64_t inner_stride = strides[rank - 1];
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t row = 0; row < outer; ++row) {
    const T* source = base + offset;
    for (std::int64_t column = 0; column < inner; ++column) {
      *target++ = static_cast<double>(source[column * inner_stride]);
    }
    for (std::size_t axis = rank - 1; axis-- > 0;) {
      offset += strides[axis];
      if (++index[axis] < extents[axis]) break;
      offset -= strides[axis] * extents[axis];
      index[axis] = 0;
    }
  }
}

void gather_to_double(DataType dtype, const void* base, std::int64_t offset,
                      const std::vector<std::int64_t>& extents,
                      const std::vector<std::int64_t>& strides, double* target) {
  if (dtype == DataType::f32) {
    gather_to_double(static_cast<const float*>(base) + offset, extents, strides, target);
  } else {
    gather_to_double(static_cast<const double*>(base) + offset, extents, strides, target);
  }
}

// A tensor with some modes fixed at one index: its extents there become 1
// and the data starts that much further in.
struct SlicedView {
  std::vector<std::int64_t> extents;
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;
};

SlicedView slice_view(const std::string& term, const std::vector<std::int64_t>& extents,
                      const std::map<char, std::int64_t>& fixed) {
  SlicedView view{extents, einstream::c_order_strides(extents), 0};
  for (std::size_t axis = 0; axis < term.size(); ++axis) {
    const auto found = fixed.find(term[axis]);
    if (found == fixed.end()) continue;
    view.offset += found->second * view.strides[axis];
    view.extents[axis] = 1;
  }
  return view;
}

std::vector<std::vector<std::int64_t>> sliced_shapes(const OocProblem& problem,
                                                     const std::map<char, std::int64_t>& fixed) {
  std::vector<std::vector<std::int64_t>> shapes;
  for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
    shapes.push_back(slice_view(problem.terms[operand], problem.shapes[operand], fixed).extents);
  }
  return shapes;
}

}  // namespace

Reference compute_reference(const OocProblem& problem, const std::vector<const void*>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  Options host;
  host.backend = Backend::host;
  Reference reference;
  // Fix output modes, first to last, until one slice is cheap to recompute.
  std::size_t fixed_count = 0;
  while (fixed_count < problem.output_term.size()) {
    ++fixed_count;
    std::map<char, std::int64_t> probe;
    for (std::size_t position = 0; position < fixed_count; ++position) {
      probe[problem.output_term[position]] = 0;
    }
    reference.flops_per_slice =
        einstream::contraction_path(problem.expression, sliced_shapes(problem, probe)).flops;
    if (reference.flops_per_slice <= kMaxReferenceFlops) break;
  }
  if (fixed_count == 0) throw Error("the output is a scalar: no slice to check");
  reference.fixed_modes = problem.output_term.substr(0, fixed_count);

  // First, middle and last index of every fixed mode.
  for (int point = 0; point < 3; ++point) {
    ReferenceSlice slice;
    for (char mode : reference.fixed_modes) {
      const std::int64_t extent = problem.extents.at(mode);
      slice.fixed[mode] = point == 0 ? 0 : point == 1 ? extent / 2 : extent - 1;
    }
    const bool seen =
        std::any_of(reference.slices.begin(), reference.slices.end(),
                    [&](const ReferenceSlice& other) { return other.fixed == slice.fixed; });
    if (seen) continue;
    std::vector<std::vector<double>> operands;
    std::vector<const void*> pointers;
    for (std::size_t operand = 0; operand < problem.terms.size(); ++operand) {
      const SlicedView view =
          slice_view(problem.terms[operand], problem.shapes[operand], slice.fixed);
      operands.emplace_back(
          static_cast<std::size_t>(TensorDesc(DataType::f64, view.extents).element_count()));
      gather_to_double(problem.dtype, inputs[operand], view.offset, view.extents, view.strides,
                       operands.back().data());
      pointers.push_back(operands.back().data());
    }
    std::vector<TensorDesc> descs;
    for (const auto& shape : sliced_shapes(problem, slice.fixed)) {
      descs.emplace_back(DataType::f64, shape);
    }
    Plan plan(problem.expression, descs, host);
    slice.values.resize(static_cast<std::size_t>(plan.output().element_count()));
    plan.execute(pointers, slice.values.data());
    reference.slices.push_back(std::move(slice));
  }
  reference.seconds = seconds_since(start);
  return reference;
}

double relative_error(const OocProblem& problem, const Reference& reference, const void* output) {
  double worst = 0;
  for (const ReferenceSlice& slice : reference.slices) {
    const SlicedView view = slice_view(problem.output_term, problem.output_extents(), slice.fixed);
    std::vector<double> values(slice.values.size());
    gather_to_double(problem.dtype, output, view.offset, view.extents, view.strides, values.data());
    double error = 0;
    double scale = 0;
    for (std::size_t index = 0; index < values.size(); ++index) {
      const double difference = values[index] - slice.values[index];
      error += difference * difference;
      scale += slice.values[index] * slice.values[index];
    }
    // NaN compares false: make it the worst error, not none.
    const double relative = scale > 0 ? std::sqrt(error / scale) : std::sqrt(error);
    worst = std::isnan(relative) ? relative : std::max(worst, relative);
    if (std::isnan(worst)) break;
  }
  return worst;
}

double error_tolerance(const OocProblem& problem) {
  return problem.dtype == DataType::f32
             ? kToleranceF32 * std::sqrt(std::max(1.0, problem.summed_terms() / kToleranceTerms))
             : kToleranceF64;
}

}  // namespace streaming_bench
