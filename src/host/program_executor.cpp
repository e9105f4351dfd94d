#include "src/host/program_executor.hpp"

#include <array>
#include <complex>
#include <type_traits>

#include "einstream/error.hpp"

namespace einstream::detail {

namespace {

// Walks every index of `extents`, keeping one offset per stride list, and
// calls body(offsets) for each; the innermost axis is a plain loop.
template <std::size_t N, typename Body>
void for_each_index(const std::vector<std::int64_t>& extents,
                    const std::array<const std::vector<std::int64_t>*, N>& strides, Body body) {
  for (std::int64_t extent : extents) {
    if (extent == 0) return;
  }
  std::array<std::int64_t, N> offsets{};
  const std::size_t rank = extents.size();
  if (rank == 0) {
    body(offsets);
    return;
  }
  std::vector<std::int64_t> index(rank, 0);
  const std::size_t inner = rank - 1;
  while (true) {
    for (std::int64_t i = 0; i < extents[inner]; ++i) {
      body(offsets);
      for (std::size_t s = 0; s < N; ++s) offsets[s] += (*strides[s])[inner];
    }
    for (std::size_t s = 0; s < N; ++s) offsets[s] -= (*strides[s])[inner] * extents[inner];
    std::size_t axis = inner;
    while (true) {
      if (axis == 0) return;
      --axis;
      ++index[axis];
      for (std::size_t s = 0; s < N; ++s) offsets[s] += (*strides[s])[axis];
      if (index[axis] < extents[axis]) break;
      for (std::size_t s = 0; s < N; ++s) offsets[s] -= (*strides[s])[axis] * extents[axis];
      index[axis] = 0;
    }
  }
}

// Real types, half precision included, accumulate in double; intermediates
// are stored in the program's dtype, rounded at every store as the CUDA
// backend stores them.
template <typename T>
struct Accumulator {
  using type = double;
};
template <typename R>
struct Accumulator<std::complex<R>> {
  using type = std::complex<double>;
};

template <typename T>
class Runner {
 public:
  using Acc = typename Accumulator<T>::type;

  Runner(const std::vector<const void*>& inputs, void* output, unsigned char* arena, Scalar alpha,
         Scalar beta)
      : inputs_(inputs),
        output_(static_cast<T*>(output)),
        arena_(arena),
        alpha_(scalar(alpha)),
        beta_(scalar(beta)),
        beta_is_zero_(beta == Scalar(0.0)) {}

  void run(const Program& program, const HostExecutor::OpObserver* observer) {
    for (std::size_t index = 0; index < program.ops.size(); ++index) {
      const Op& op = program.ops[index];
      const auto begin =
          observer ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      switch (op.kind) {
        case OpKind::permute:
          permute(program, op);
          break;
        case OpKind::reduce:
          reduce(program, op);
          break;
        case OpKind::elementwise:
          elementwise(program, op);
          break;
        case OpKind::gemm:
          gemm(program, op);
          break;
      }
      if (observer) (*observer)(index, begin, std::chrono::steady_clock::now());
    }
  }

 private:
  static Acc scalar(Scalar value) {
    if constexpr (std::is_same_v<Acc, double>) {
      return value.real();
    } else {
      return value;
    }
  }

  T* base(const Program& program, const View& view) const {
    T* pointer = nullptr;
    switch (view.kind) {
      case BufferKind::input:
        pointer = const_cast<T*>(static_cast<const T*>(inputs_[view.index]));
        break;
      case BufferKind::output:
        pointer = output_;
        break;
      case BufferKind::arena:
        pointer = reinterpret_cast<T*>(arena_ + program.buffers[view.index].offset_bytes);
        break;
    }
    return pointer + view.offset;
  }

  // The half types round through float, which is the correctly rounded
  // result (float's significand is more than twice theirs plus two bits).
  static T narrow(Acc value) {
    if constexpr (std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>) {
      return T(static_cast<float>(value));
    } else {
      return static_cast<T>(value);
    }
  }

  void store(T* destination, Acc value, bool final) const {
    if (final) {
      value = alpha_ * value;
      if (!beta_is_zero_) value += beta_ * static_cast<Acc>(*destination);
    }
    *destination = narrow(value);
  }

  void permute(const Program& program, const Op& op) {
    const T* source = base(program, op.sources[0]);
    T* result = base(program, op.result);
    for_each_index<2>(op.result.layout.extents,
                      {&op.sources[0].layout.strides, &op.result.layout.strides},
                      [&](const std::array<std::int64_t, 2>& at) {
                        store(result + at[1], static_cast<Acc>(source[at[0]]), op.writes_output);
                      });
  }

  void reduce(const Program& program, const Op& op) {
    const View& source_view = op.sources[0];
    const std::size_t kept = op.result.layout.extents.size();
    const std::vector<std::int64_t> kept_strides(source_view.layout.strides.begin(),
                                                 source_view.layout.strides.begin() + kept);
    const std::vector<std::int64_t> summed_extents(source_view.layout.extents.begin() + kept,
                                                   source_view.layout.extents.end());
    const std::vector<std::int64_t> summed_strides(source_view.layout.strides.begin() + kept,
                                                   source_view.layout.strides.end());
    const T* source = base(program, source_view);
    T* result = base(program, op.result);
    for_each_index<2>(op.result.layout.extents, {&kept_strides, &op.result.layout.strides},
                      [&](const std::array<std::int64_t, 2>& at) {
                        Acc sum = 0;
                        // A summed extent of 0 leaves the source empty and
                        // possibly null: index it only inside the inner walk.
                        for_each_index<1>(summed_extents, {&summed_strides},
                                          [&](const std::array<std::int64_t, 1>& inner) {
                                            sum += static_cast<Acc>(source[at[0] + inner[0]]);
                                          });
                        store(result + at[1], sum, op.writes_output);
                      });
  }

  void elementwise(const Program& program, const Op& op) {
    const T* first = base(program, op.sources[0]);
    const T* second = base(program, op.sources[1]);
    T* result = base(program, op.result);
    for_each_index<3>(
        op.result.layout.extents,
        {&op.sources[0].layout.strides, &op.sources[1].layout.strides, &op.result.layout.strides},
        [&](const std::array<std::int64_t, 3>& at) {
          store(result + at[2], static_cast<Acc>(first[at[0]]) * static_cast<Acc>(second[at[1]]),
                op.writes_output);
        });
  }

  void gemm(const Program& program, const Op& op) {
    const T* a = base(program, op.sources[0]);
    const T* b = base(program, op.sources[1]);
    T* c = base(program, op.result);
    const auto& as = op.sources[0].layout.strides;
    const auto& bs = op.sources[1].layout.strides;
    const auto& cs = op.result.layout.strides;
    for (std::int64_t batch = 0; batch < op.batch; ++batch) {
      for (std::int64_t row = 0; row < op.m; ++row) {
        for (std::int64_t column = 0; column < op.n; ++column) {
          Acc sum = 0;
          // With k == 0 the sources hold no elements and may be null (an
          // empty arena), so no pointer into them is formed.
          for (std::int64_t inner = 0; inner < op.k; ++inner) {
            const T* a_row = a + batch * as[0] + row * as[1];
            const T* b_column = b + batch * bs[0] + column * bs[2];
            sum +=
                static_cast<Acc>(a_row[inner * as[2]]) * static_cast<Acc>(b_column[inner * bs[1]]);
          }
          store(c + batch * cs[0] + row * cs[1] + column * cs[2], sum, op.writes_output);
        }
      }
    }
  }

  const std::vector<const void*>& inputs_;
  T* output_;
  unsigned char* arena_;
  Acc alpha_;
  Acc beta_;
  bool beta_is_zero_;
};

}  // namespace

void HostExecutor::run(const Program& program, const std::vector<const void*>& inputs, void* output,
                       Scalar alpha, Scalar beta, const OpObserver* observer) {
  if (arena_.size() < static_cast<std::size_t>(program.arena_bytes)) {
    arena_.assign(static_cast<std::size_t>(program.arena_bytes), 0);
  }
  switch (program.dtype) {
    case DataType::f32:
      Runner<float>(inputs, output, arena_.data(), alpha, beta).run(program, observer);
      return;
    case DataType::f64:
      Runner<double>(inputs, output, arena_.data(), alpha, beta).run(program, observer);
      return;
    case DataType::c64:
      Runner<std::complex<float>>(inputs, output, arena_.data(), alpha, beta)
          .run(program, observer);
      return;
    case DataType::c128:
      Runner<std::complex<double>>(inputs, output, arena_.data(), alpha, beta)
          .run(program, observer);
      return;
    case DataType::f16:
      Runner<float16>(inputs, output, arena_.data(), alpha, beta).run(program, observer);
      return;
    case DataType::bf16:
      Runner<bfloat16>(inputs, output, arena_.data(), alpha, beta).run(program, observer);
      return;
  }
  throw Error("host backend: data type value " + std::to_string(static_cast<int>(program.dtype)) +
              " is not a DataType");
}

}  // namespace einstream::detail
