// Lowering each contraction step to TTGT ops.
//
// A pairwise step A x B -> R classifies its modes as batch (A, B and R),
// contracted (A and B only), free-A and free-B. Modes that only one operand
// carries and R drops are summed first (Reduce). Without contracted modes
// the step is an elementwise product. Otherwise it is one strided batched
// GEMM, C[b, m, n] = A[b, m, k] B[b, k, n], over the merged mode groups; an
// operand is permuted into a packed buffer only when its layout cannot be
// read as such a matrix (a group's modes not adjacent in memory, no unit
// stride, orders of shared groups that disagree). The group orders are taken
// from whichever operand (or, for the last step, the output) makes the fewest
// bytes move. Diagonals need no op of their own: a repeated mode is one axis
// whose stride is the sum of its axes' strides. Intermediates then get arena
// offsets (planner/arena) and permute and reduce ops their kernels' launch
// plans.
#include "planner/lower.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "einstream/error.hpp"
#include "planner/arena.hpp"

namespace einstream::detail {

namespace {

// A tensor during lowering: a view and the mode of each of its axes.
struct ModeTensor {
  View view;
  std::vector<Mode> modes;  // unique; one per axis of view.layout

  int axis_of(Mode mode) const {
    const auto it = std::find(modes.begin(), modes.end(), mode);
    return it == modes.end() ? -1 : static_cast<int>(it - modes.begin());
  }
  bool has(Mode mode) const { return axis_of(mode) >= 0; }
  std::int64_t extent(Mode mode) const { return view.layout.extents[axis_of(mode)]; }
  std::int64_t stride(Mode mode) const { return view.layout.strides[axis_of(mode)]; }
  std::int64_t element_count() const { return view.layout.element_count(); }
};

// Bytes an op reads and writes over `tensors`, in double: an estimate for
// the cost model, which must not overflow where the counts are large.
double traffic_bytes(std::initializer_list<const ModeTensor*> tensors, std::int64_t element_bytes) {
  double elements = 0;
  for (const ModeTensor* tensor : tensors) elements += static_cast<double>(tensor->element_count());
  return elements * static_cast<double>(element_bytes);
}

// A group of modes merged into one matrix dimension.
struct Group {
  std::int64_t extent = 1;
  std::int64_t stride = 0;
  bool mergeable = true;
};

// Merges `order` (outermost first) into one dimension of `tensor`: every
// mode must sit exactly one extent of the next inside it.
Group merge(const ModeTensor& tensor, const std::vector<Mode>& order) {
  Group group;
  std::int64_t inner_stride = 0;
  bool first = true;
  for (Mode mode : order) {
    const std::int64_t extent = tensor.extent(mode);
    const std::int64_t stride = tensor.stride(mode);
    group.extent *= extent;
    if (extent == 0) return {0, 1, true};
    if (extent == 1) continue;
    if (stride <= 0) group.mergeable = false;
    if (!first && inner_stride != stride * extent) group.mergeable = false;
    inner_stride = stride;
    first = false;
  }
  group.stride = first ? 0 : inner_stride;
  return group;
}

// Whether [batch, rows, columns] of `tensor` is a matrix BLAS can read: each
// group merges, and one dimension is unit-stride with the other at least a
// row (or column) apart.
bool is_gemm_operand(const ModeTensor& tensor, const std::vector<Mode>& batch,
                     const std::vector<Mode>& rows, const std::vector<Mode>& columns) {
  const Group b = merge(tensor, batch);
  const Group r = merge(tensor, rows);
  const Group c = merge(tensor, columns);
  if (!b.mergeable || !r.mergeable || !c.mergeable) return false;
  if (r.extent <= 1 || c.extent <= 1) return true;
  if (c.stride == 1) return r.stride >= c.extent;
  if (r.stride == 1) return c.stride >= r.extent;
  return false;
}

// Whether [batch, rows, columns] is the packed row-major layout a textbook
// TTGT would have permuted the operand into.
bool is_canonical(const ModeTensor& tensor, const std::vector<Mode>& batch,
                  const std::vector<Mode>& rows, const std::vector<Mode>& columns) {
  std::vector<Mode> order = batch;
  order.insert(order.end(), rows.begin(), rows.end());
  order.insert(order.end(), columns.begin(), columns.end());
  const Group all = merge(tensor, order);
  return all.mergeable && (all.extent <= 1 || all.stride == 1);
}

// `subset` ordered as it lies in `tensor`'s memory, outermost first.
std::vector<Mode> natural_order(const ModeTensor& tensor, const std::vector<Mode>& subset) {
  std::vector<Mode> order = subset;
  std::stable_sort(order.begin(), order.end(), [&](Mode a, Mode b) {
    return std::llabs(tensor.stride(a)) > std::llabs(tensor.stride(b));
  });
  return order;
}

std::vector<Mode> concat(std::initializer_list<const std::vector<Mode>*> parts) {
  std::vector<Mode> all;
  for (const auto* part : parts) all.insert(all.end(), part->begin(), part->end());
  return all;
}

class Lowering {
 public:
  Lowering(const Problem& problem, DataType dtype) : problem_(problem) {
    program_.dtype = dtype;
    element_bytes_ = static_cast<std::int64_t>(size_of(dtype));
  }

  Program run(const ContractionPath& path,
              const std::vector<std::vector<std::int64_t>>& input_strides,
              const std::vector<std::int64_t>& output_strides) {
    std::vector<ModeTensor> operands;
    for (std::size_t index = 0; index < problem_.inputs.size(); ++index) {
      operands.push_back(input_tensor(static_cast<int>(index), input_strides[index]));
    }
    ModeTensor output;
    output.view.kind = BufferKind::output;
    output.view.layout = {problem_.output_extents(), output_strides};
    output.modes = problem_.output;

    output_ = &output;
    find_consumers(path);
    decided_.assign(problem_.inputs.size() + path.steps.size(), nullptr);
    std::vector<ModeTensor> results(path.steps.size());
    for (std::size_t index = 0; index < operands.size(); ++index)
      decided_[index] = &operands[index];
    std::vector<int> live(operands.size());  // operand ids in linear-format order
    std::iota(live.begin(), live.end(), 0);

    for (std::size_t step_index = 0; step_index < path.steps.size(); ++step_index) {
      step_ = static_cast<int>(step_index);
      const PathStep& step = path.steps[step_index];
      std::vector<ModeTensor> sources;
      for (int position : step.operands) sources.push_back(*decided_[live[position]]);
      for (auto it = step.operands.rbegin(); it != step.operands.rend(); ++it) {
        live.erase(live.begin() + *it);
      }
      const bool last = step_index + 1 == path.steps.size();
      const ModeTensor* target = last ? &output : nullptr;
      results[step_index] = sources.size() == 1
                                ? lower_single(sources[0], step.result, target)
                                : lower_pair(sources[0], sources[1], step.result, target);
      const int id = static_cast<int>(problem_.inputs.size() + step_index);
      decided_[id] = &results[step_index];
      live.push_back(id);
    }
    assign_arena(program_);
    return std::move(program_);
  }

 private:
  ModeTensor input_tensor(int index, const std::vector<std::int64_t>& strides) {
    const ProblemOperand& operand = problem_.inputs[index];
    ModeTensor tensor;
    tensor.view.kind = BufferKind::input;
    tensor.view.index = index;
    for (std::size_t entry = 0; entry < operand.modes.size(); ++entry) {
      const Mode mode = operand.modes[entry];
      const std::int64_t stride = strides[operand.axes[entry]];
      const int axis = tensor.axis_of(mode);
      if (axis >= 0) {
        tensor.view.layout.strides[axis] += stride;  // a diagonal
      } else {
        tensor.modes.push_back(mode);
        tensor.view.layout.extents.push_back(problem_.extents[mode]);
        tensor.view.layout.strides.push_back(stride);
      }
    }
    return tensor;
  }

  // A packed intermediate holding `order` (outermost first), written by the
  // next op.
  ModeTensor new_intermediate(const std::vector<Mode>& order) {
    ModeTensor tensor;
    tensor.modes = order;
    for (Mode mode : order) tensor.view.layout.extents.push_back(problem_.extents[mode]);
    tensor.view.layout.strides = c_order_strides(tensor.view.layout.extents);
    tensor.view.kind = BufferKind::arena;
    tensor.view.index = static_cast<int>(program_.buffers.size());
    ArenaBuffer buffer;
    buffer.elements = tensor.view.layout.element_count();
    buffer.first_op = static_cast<int>(program_.ops.size());
    buffer.last_op = buffer.first_op;
    program_.buffers.push_back(buffer);
    return tensor;
  }

  // `tensor`'s view with its axes in `order`.
  static View reordered(const ModeTensor& tensor, const std::vector<Mode>& order) {
    View view = tensor.view;
    view.layout = {};
    for (Mode mode : order) {
      view.layout.extents.push_back(tensor.extent(mode));
      view.layout.strides.push_back(tensor.stride(mode));
    }
    return view;
  }

  void emit(Op op) {
    op.step = step_;
    const int index = static_cast<int>(program_.ops.size());
    for (const View& source : op.sources) {
      if (source.kind == BufferKind::arena) program_.buffers[source.index].last_op = index;
    }
    program_.ops.push_back(std::move(op));
  }

  // Copies `tensor` into a packed buffer ordered `order`.
  ModeTensor permute(const ModeTensor& tensor, const std::vector<Mode>& order,
                     const std::string& note) {
    ModeTensor packed = new_intermediate(order);
    Op op;
    op.kind = OpKind::permute;
    op.sources = {reordered(tensor, order)};
    op.result = packed.view;
    op.note = note;
    op.bytes = 2.0 * traffic_bytes({&packed}, element_bytes_);
    emit(std::move(op));
    ++program_.permutes_inserted;
    return packed;
  }

  // Sums `tensor` over the modes not in `keep` (in that order) into `target`
  // (a new intermediate when null).
  ModeTensor reduce(const ModeTensor& tensor, const std::vector<Mode>& keep,
                    const ModeTensor* target, bool writes_output) {
    ModeTensor result = target ? *target : new_intermediate(keep);
    std::vector<Mode> order = result.modes;
    for (Mode mode : tensor.modes) {
      if (std::find(keep.begin(), keep.end(), mode) == keep.end()) order.push_back(mode);
    }
    Op op;
    op.kind = order.size() > result.modes.size() ? OpKind::reduce : OpKind::permute;
    op.sources = {reordered(tensor, order)};
    op.result = result.view;
    op.writes_output = writes_output;
    op.flops = static_cast<double>(tensor.element_count());
    op.bytes = traffic_bytes({&tensor, &result}, element_bytes_);
    if (op.kind == OpKind::permute) ++program_.permutes_inserted;
    emit(std::move(op));
    return result;
  }

  ModeTensor lower_single(const ModeTensor& source, const std::vector<Mode>& result_modes,
                          const ModeTensor* target) {
    std::vector<Mode> keep = target ? target->modes : desired_order(result_modes);
    if (keep.empty()) keep = natural_order(source, result_modes);
    return reduce(source, keep, target, target != nullptr);
  }

  // Modes of `tensor` that neither `other` nor the result needs are summed
  // before the product.
  ModeTensor reduce_alone(const ModeTensor& tensor, const ModeTensor& other,
                          const std::vector<Mode>& result_modes) {
    std::vector<Mode> keep;
    for (Mode mode : tensor.modes) {
      const bool in_result =
          std::find(result_modes.begin(), result_modes.end(), mode) != result_modes.end();
      if (other.has(mode) || in_result) keep.push_back(mode);
    }
    if (keep.size() == tensor.modes.size()) return tensor;
    return reduce(tensor, natural_order(tensor, keep), nullptr, false);
  }

  ModeTensor lower_pair(ModeTensor a, ModeTensor b, const std::vector<Mode>& result_modes,
                        const ModeTensor* target) {
    a = reduce_alone(a, b, result_modes);
    b = reduce_alone(b, a, result_modes);
    std::vector<Mode> batch, contracted, free_a, free_b;
    for (Mode mode : a.modes) {
      const bool in_result =
          std::find(result_modes.begin(), result_modes.end(), mode) != result_modes.end();
      if (b.has(mode)) {
        (in_result ? batch : contracted).push_back(mode);
      } else {
        free_a.push_back(mode);
      }
    }
    for (Mode mode : b.modes) {
      if (!a.has(mode)) free_b.push_back(mode);
    }
    if (contracted.empty()) return elementwise(a, b, batch, free_a, free_b, target);
    return gemm(a, b, batch, contracted, free_a, free_b, target);
  }

  ModeTensor elementwise(const ModeTensor& a, const ModeTensor& b, const std::vector<Mode>& batch,
                         const std::vector<Mode>& free_a, const std::vector<Mode>& free_b,
                         const ModeTensor* target) {
    const std::vector<Mode> batch_order = natural_order(a, batch);
    const std::vector<Mode> free_a_order = natural_order(a, free_a);
    const std::vector<Mode> free_b_order = natural_order(b, free_b);
    std::vector<Mode> order = concat({&batch_order, &free_a_order, &free_b_order});
    if (!target) {
      const std::vector<Mode> desired = desired_order(order);
      if (!desired.empty()) order = desired;
    }
    ModeTensor result = target ? *target : new_intermediate(order);
    auto broadcast_view = [&](const ModeTensor& tensor) {
      View view = tensor.view;
      view.layout = {};
      for (Mode mode : result.modes) {
        view.layout.extents.push_back(problem_.extents[mode]);
        view.layout.strides.push_back(tensor.has(mode) ? tensor.stride(mode) : 0);
      }
      return view;
    };
    Op op;
    op.kind = OpKind::elementwise;
    op.sources = {broadcast_view(a), broadcast_view(b)};
    op.result = result.view;
    op.writes_output = target != nullptr;
    op.flops = static_cast<double>(result.element_count());
    op.bytes = traffic_bytes({&a, &b, &result}, element_bytes_);
    emit(std::move(op));
    return result;
  }

  struct GemmOrders {
    std::vector<Mode> batch, m, k, n;
  };

  ModeTensor gemm(ModeTensor a, ModeTensor b, const std::vector<Mode>& batch,
                  const std::vector<Mode>& contracted, const std::vector<Mode>& free_a,
                  const std::vector<Mode>& free_b, const ModeTensor* target) {
    // Candidate group orders: from A, from B, and for the last step from the
    // output; keep the one that moves the fewest bytes.
    std::vector<GemmOrders> candidates = {
        {natural_order(a, batch), natural_order(a, free_a), natural_order(a, contracted),
         natural_order(b, free_b)},
        {natural_order(b, batch), natural_order(a, free_a), natural_order(b, contracted),
         natural_order(b, free_b)},
    };
    if (target) {
      candidates.push_back({natural_order(*target, batch), natural_order(*target, free_a),
                            natural_order(a, contracted), natural_order(*target, free_b)});
      candidates.push_back({natural_order(*target, batch), natural_order(*target, free_a),
                            natural_order(b, contracted), natural_order(*target, free_b)});
    }
    const double result_elements = static_cast<double>(
        TensorDesc(DataType::f32, extents_of(concat({&batch, &free_a, &free_b}))).element_count());
    double best_cost = std::numeric_limits<double>::infinity();
    GemmOrders orders;
    for (const GemmOrders& candidate : candidates) {
      double cost = 0;
      if (!is_gemm_operand(a, candidate.batch, candidate.m, candidate.k))
        cost += static_cast<double>(a.element_count());
      if (!is_gemm_operand(b, candidate.batch, candidate.k, candidate.n))
        cost += static_cast<double>(b.element_count());
      if (target && !is_gemm_operand(*target, candidate.batch, candidate.m, candidate.n))
        cost += 2 * result_elements;
      if (cost < best_cost) {
        best_cost = cost;
        orders = candidate;
      }
    }

    auto prepare = [&](ModeTensor& tensor, const std::vector<Mode>& rows,
                       const std::vector<Mode>& columns, const char* name) {
      if (is_gemm_operand(tensor, orders.batch, rows, columns)) {
        if (!is_canonical(tensor, orders.batch, rows, columns)) ++program_.permutes_avoided;
        return;
      }
      tensor = permute(tensor, concat({&orders.batch, &rows, &columns}),
                       std::string("pack ") + name + " for the GEMM");
    };
    prepare(a, orders.m, orders.k, "A");
    prepare(b, orders.k, orders.n, "B");

    ModeTensor result;
    bool direct = false;
    if (target && is_gemm_operand(*target, orders.batch, orders.m, orders.n)) {
      result = *target;
      direct = true;
      if (!is_canonical(*target, orders.batch, orders.m, orders.n)) ++program_.permutes_avoided;
    } else {
      // Any block order with M or N innermost is a valid C; prefer one the
      // next step reads without a permute.
      const std::vector<std::vector<Mode>> blocks = {concat({&orders.batch, &orders.m, &orders.n}),
                                                     concat({&orders.batch, &orders.n, &orders.m}),
                                                     concat({&orders.m, &orders.batch, &orders.n}),
                                                     concat({&orders.n, &orders.batch, &orders.m})};
      std::vector<Mode> order = blocks[0];
      for (const auto& candidate : blocks) {
        if (target == nullptr && consumer_accepts(candidate)) {
          order = candidate;
          break;
        }
      }
      result = new_intermediate(order);
    }

    auto matrix = [&](const ModeTensor& tensor, const std::vector<Mode>& rows,
                      const std::vector<Mode>& columns) {
      const Group b_group = merge(tensor, orders.batch);
      const Group r = merge(tensor, rows);
      const Group c = merge(tensor, columns);
      View view = tensor.view;
      view.layout = {{b_group.extent, r.extent, c.extent}, {b_group.stride, r.stride, c.stride}};
      return view;
    };
    Op op;
    op.kind = OpKind::gemm;
    op.sources = {matrix(a, orders.m, orders.k), matrix(b, orders.k, orders.n)};
    op.result = matrix(result, orders.m, orders.n);
    op.batch = op.result.layout.extents[0];
    op.m = op.result.layout.extents[1];
    op.n = op.result.layout.extents[2];
    op.k = op.sources[0].layout.extents[2];
    op.writes_output = direct;
    op.flops = 2.0 * static_cast<double>(op.batch) * static_cast<double>(op.m) *
               static_cast<double>(op.n) * static_cast<double>(op.k);
    op.bytes = traffic_bytes({&a, &b, &result}, element_bytes_);
    emit(std::move(op));

    if (target && !direct) {
      Op copy;
      copy.kind = OpKind::permute;
      copy.sources = {reordered(result, target->modes)};
      copy.result = target->view;
      copy.writes_output = true;
      copy.note = "write the output layout";
      copy.bytes = 2.0 * result_elements * static_cast<double>(element_bytes_);
      emit(std::move(copy));
      ++program_.permutes_inserted;
      return *target;
    }
    return result;
  }

  std::vector<std::int64_t> extents_of(const std::vector<Mode>& modes) const {
    std::vector<std::int64_t> extents;
    for (Mode mode : modes) extents.push_back(problem_.extents[mode]);
    return extents;
  }

  // Where each step's result is used next: the consuming step, the other
  // operand there (-1 for a single-operand step) and that step's result.
  struct Consumer {
    int step = -1;
    int partner = -1;
    std::vector<Mode> partner_modes;
    std::vector<Mode> result_modes;
    bool last = false;
  };

  void find_consumers(const ContractionPath& path) {
    const int inputs = static_cast<int>(problem_.inputs.size());
    consumers_.assign(path.steps.size(), {});
    std::vector<int> live(problem_.inputs.size());
    std::iota(live.begin(), live.end(), 0);
    for (std::size_t step_index = 0; step_index < path.steps.size(); ++step_index) {
      const PathStep& step = path.steps[step_index];
      for (std::size_t k = 0; k < step.operands.size(); ++k) {
        const int id = live[step.operands[k]];
        if (id < inputs) continue;
        Consumer& consumer = consumers_[id - inputs];
        consumer.step = static_cast<int>(step_index);
        consumer.result_modes = step.result;
        consumer.last = step_index + 1 == path.steps.size();
        if (step.operands.size() == 2) {
          consumer.partner = live[step.operands[1 - k]];
          consumer.partner_modes = step.operand_modes[1 - k];
        }
      }
      for (auto it = step.operands.rbegin(); it != step.operands.rend(); ++it) {
        live.erase(live.begin() + *it);
      }
      live.push_back(inputs + static_cast<int>(step_index));
    }
  }

  // How the next step reads the current step's result: modes it sums alone,
  // batch, free and contracted modes; batch and contracted in the partner's
  // memory order when the partner is already laid out (else by mode id, which
  // the partner then follows), free in the output's order when the next step
  // writes the output. False when the next step has no GEMM (any order serves).
  struct ConsumerGroups {
    std::vector<Mode> alone, batch, free, contracted;
  };

  bool consumer_groups(const std::vector<Mode>& modes, ConsumerGroups& groups) const {
    const Consumer& consumer = consumers_[step_];
    if (consumer.step < 0 || consumer.partner < 0) return false;
    auto in = [](const std::vector<Mode>& set, Mode mode) {
      return std::find(set.begin(), set.end(), mode) != set.end();
    };
    for (Mode mode : modes) {
      const bool shared = in(consumer.partner_modes, mode);
      const bool kept = in(consumer.result_modes, mode);
      if (shared) {
        (kept ? groups.batch : groups.contracted).push_back(mode);
      } else {
        (kept ? groups.free : groups.alone).push_back(mode);
      }
    }
    if (groups.contracted.empty()) return false;
    std::sort(groups.batch.begin(), groups.batch.end());
    std::sort(groups.contracted.begin(), groups.contracted.end());
    std::sort(groups.free.begin(), groups.free.end());
    if (const ModeTensor* partner = decided_[consumer.partner]) {
      groups.batch = natural_order(*partner, groups.batch);
      groups.contracted = natural_order(*partner, groups.contracted);
    }
    if (consumer.last) groups.free = natural_order(*output_, groups.free);
    return true;
  }

  // The order of the current step's result that the next step reads as a
  // GEMM operand without a permute: [alone][batch][free][contracted]; empty
  // when any order serves.
  std::vector<Mode> desired_order(const std::vector<Mode>& modes) const {
    ConsumerGroups groups;
    if (!consumer_groups(modes, groups)) return {};
    return concat({&groups.alone, &groups.batch, &groups.free, &groups.contracted});
  }

  // Whether a packed result in `order` reads as a GEMM operand next step.
  bool consumer_accepts(const std::vector<Mode>& order) const {
    ConsumerGroups groups;
    if (!consumer_groups(order, groups)) return true;
    if (!groups.alone.empty()) return true;  // reduced into a fresh layout first anyway
    ModeTensor packed;
    packed.modes = order;
    for (Mode mode : order) packed.view.layout.extents.push_back(problem_.extents[mode]);
    packed.view.layout.strides = c_order_strides(packed.view.layout.extents);
    return is_gemm_operand(packed, groups.batch, groups.free, groups.contracted);
  }

  const Problem& problem_;
  Program program_;
  std::vector<Consumer> consumers_;
  std::vector<const ModeTensor*> decided_;  // by operand id: inputs, then step results
  const ModeTensor* output_ = nullptr;
  std::int64_t element_bytes_ = 4;
  int step_ = 0;
};

// Each permute and reduce op's launch plan, from its layouts.
void plan_launches(Program& program, const DeviceTraits& device) {
  for (Op& op : program.ops) {
    if (op.kind == OpKind::permute) {
      op.permute_plan = plan_permute(program.dtype, op.sources[0].layout, op.result.layout);
    } else if (op.kind == OpKind::reduce) {
      op.reduce_plan = plan_reduce(program.dtype, op.sources[0].layout, op.result.layout, device);
    }
  }
}

}  // namespace

Program lower(const Problem& problem, const ContractionPath& path, DataType dtype,
              const std::vector<std::vector<std::int64_t>>& input_strides,
              const std::vector<std::int64_t>& output_strides, const DeviceTraits& device) {
  if (input_strides.size() != problem.inputs.size()) {
    throw Error("lower: " + std::to_string(input_strides.size()) + " stride lists for " +
                std::to_string(problem.inputs.size()) + " inputs");
  }
  if (output_strides.size() != problem.output.size()) {
    throw Error("lower: " + std::to_string(output_strides.size()) + " output strides for " +
                std::to_string(problem.output.size()) + " output modes");
  }
  Program program = Lowering(problem, dtype).run(path, input_strides, output_strides);
  plan_launches(program, device);
  return program;
}

}  // namespace einstream::detail
