// Lowering: the Program's structure (which ops, which permutes were avoided),
// its arena (no two live buffers share bytes), and its results on random
// strided layouts executed by the host backend against the reference.
#include "planner/lower.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::detail {
namespace {

Program lower_contiguous(const std::string& expression,
                         const std::vector<std::vector<std::int64_t>>& shapes,
                         PathAlgorithm algorithm = PathAlgorithm::greedy) {
  const Problem problem = parse(expression, shapes);
  std::vector<std::vector<std::int64_t>> strides;
  for (const auto& shape : shapes) strides.push_back(c_order_strides(shape));
  return lower(problem, find_path(problem, algorithm), DataType::f32, strides,
               c_order_strides(problem.output_extents()));
}

int count(const Program& program, OpKind kind) {
  return static_cast<int>(std::count_if(program.ops.begin(), program.ops.end(),
                                        [&](const Op& op) { return op.kind == kind; }));
}

TEST(Lower, MatrixProductIsOneGemmWritingTheOutput) {
  const Program program = lower_contiguous("ij,jk->ik", {{3, 4}, {4, 5}});
  ASSERT_EQ(program.ops.size(), 1u);
  const Op& gemm = program.ops[0];
  EXPECT_EQ(gemm.kind, OpKind::gemm);
  EXPECT_TRUE(gemm.writes_output);
  EXPECT_EQ(gemm.m, 3);
  EXPECT_EQ(gemm.n, 5);
  EXPECT_EQ(gemm.k, 4);
  EXPECT_EQ(gemm.batch, 1);
  EXPECT_EQ(program.arena_bytes, 0);
  EXPECT_EQ(program.permutes_inserted, 0);
}

TEST(Lower, TransposedOperandsAndOutputUseStridesNotPermutes) {
  // A stored as (j, i), output as (k, i): both read/written transposed.
  const Program program = lower_contiguous("ji,jk->ki", {{4, 3}, {4, 5}});
  ASSERT_EQ(program.ops.size(), 1u);
  EXPECT_EQ(program.ops[0].kind, OpKind::gemm);
  EXPECT_EQ(program.permutes_inserted, 0);
  EXPECT_GE(program.permutes_avoided, 1);
}

TEST(Lower, BatchModesBecomeTheGemmBatch) {
  const Program program = lower_contiguous("bij,bjk->bik", {{6, 3, 4}, {6, 4, 5}});
  ASSERT_EQ(program.ops.size(), 1u);
  EXPECT_EQ(program.ops[0].batch, 6);
  EXPECT_EQ(program.permutes_inserted, 0);
}

TEST(Lower, SeveralContractedModesMergeIntoOneK) {
  const Program program = lower_contiguous("abc,bcd->ad", {{2, 3, 4}, {3, 4, 5}});
  ASSERT_EQ(program.ops.size(), 1u);
  EXPECT_EQ(program.ops[0].k, 12);
  EXPECT_EQ(program.permutes_inserted, 0);
}

TEST(Lower, InterleavedModesArePackedFirst) {
  // b and d are contracted but not adjacent in the first operand.
  const Program program = lower_contiguous("abcd,dbef->aecf", {{2, 3, 4, 5}, {5, 3, 6, 7}});
  EXPECT_EQ(count(program, OpKind::gemm), 1);
  EXPECT_GE(program.permutes_inserted, 1);
  EXPECT_GT(program.arena_bytes, 0);
}

TEST(Lower, IntermediatesAreLaidOutForTheStepThatReadsThem) {
  // The Hadamard product xyz*xyz is stored as [x, z, y] so that the next
  // step reads it as a matrix with rows (x, z) and columns y: no permute.
  const Program program =
      lower_contiguous("xyz,xyz,yw->xzw", {{3, 4, 5}, {3, 4, 5}, {4, 6}}, PathAlgorithm::naive);
  ASSERT_EQ(program.ops.size(), 2u);
  EXPECT_EQ(program.ops[0].kind, OpKind::elementwise);
  EXPECT_EQ(program.ops[1].kind, OpKind::gemm);
  EXPECT_EQ(program.permutes_inserted, 0);
}

TEST(Lower, StepsWithoutSummedModesAreElementwise) {
  EXPECT_EQ(lower_contiguous("ij,ij->ij", {{3, 4}, {3, 4}}).ops[0].kind, OpKind::elementwise);
  EXPECT_EQ(lower_contiguous("i,j->ij", {{3}, {4}}).ops[0].kind, OpKind::elementwise);
}

TEST(Lower, ModesOfOneOperandAreReducedBeforeTheProduct) {
  const Program program = lower_contiguous("ij,k->k", {{3, 4}, {5}});
  ASSERT_GE(program.ops.size(), 2u);
  EXPECT_EQ(program.ops[0].kind, OpKind::reduce);
}

TEST(Lower, SingleOperandIsAReduceOrPermute) {
  EXPECT_EQ(lower_contiguous("ii->", {{3, 3}}).ops[0].kind, OpKind::reduce);
  EXPECT_EQ(lower_contiguous("ij->ji", {{3, 4}}).ops[0].kind, OpKind::permute);
  EXPECT_EQ(lower_contiguous("ijk->j", {{2, 3, 4}}).ops[0].kind, OpKind::reduce);
}

// No two buffers that are live at the same op share a byte, and the arena
// covers every buffer.
void expect_arena_is_sound(const Program& program) {
  const std::int64_t element = static_cast<std::int64_t>(size_of(program.dtype));
  for (std::size_t x = 0; x < program.buffers.size(); ++x) {
    const ArenaBuffer& first = program.buffers[x];
    EXPECT_LE(first.offset_bytes + first.elements * element, program.arena_bytes);
    EXPECT_EQ(first.offset_bytes % 256, 0);
    for (std::size_t y = x + 1; y < program.buffers.size(); ++y) {
      const ArenaBuffer& second = program.buffers[y];
      const bool live_together =
          first.first_op <= second.last_op && second.first_op <= first.last_op;
      const bool share_bytes =
          first.offset_bytes < second.offset_bytes + second.elements * element &&
          second.offset_bytes < first.offset_bytes + first.elements * element;
      EXPECT_FALSE(live_together && share_bytes && first.elements > 0 && second.elements > 0)
          << "t" << x << " and t" << y;
    }
  }
}

TEST(Lower, ArenaNeverOverlapsLiveBuffers) {
  for (unsigned seed = 0; seed < 300; ++seed) {
    std::mt19937 random(seed);
    const testing::RandomProblem problem = testing::random_problem(random);
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    expect_arena_is_sound(lower_contiguous(problem.expression, problem.shapes));
  }
  expect_arena_is_sound(lower_contiguous(
      "ab,acd,ce,bfg,dfhi,ehj,gk,ikl,jl->",
      {{4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4, 4, 4}, {4, 4, 4}, {4, 4}, {4, 4, 4}, {4, 4}}));
}

// A random strided layout over `extents`: storage order shuffled, rows padded,
// some axes reversed. Returns strides and the element offset of index 0 in a
// buffer of `span` elements.
struct StridedLayout {
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;
  std::int64_t span = 1;
};

StridedLayout random_layout(const std::vector<std::int64_t>& extents, std::mt19937& random) {
  std::vector<std::size_t> order(extents.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), random);
  StridedLayout layout;
  layout.strides.assign(extents.size(), 0);
  std::int64_t stride = 1 + static_cast<std::int64_t>(random() % 2);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    layout.strides[*it] = stride;
    stride *= std::max<std::int64_t>(extents[*it], 1) + static_cast<std::int64_t>(random() % 2);
  }
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    if (random() % 5 == 0) layout.strides[axis] = -layout.strides[axis];
    if (extents[axis] > 0) {
      const std::int64_t reach = (extents[axis] - 1) * std::llabs(layout.strides[axis]);
      layout.span += reach;
      if (layout.strides[axis] < 0) layout.offset += reach;
    }
  }
  return layout;
}

TEST(Lower, RandomStridedLayoutsMatchTheReference) {
  for (unsigned seed = 0; seed < 400; ++seed) {
    std::mt19937 random(seed);
    const testing::RandomProblem problem = testing::random_problem(random);
    const DataType dtype = seed % 2 ? DataType::f64 : DataType::c128;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + problem.expression);
    std::vector<TensorDesc> descs;
    std::vector<std::vector<unsigned char>> buffers;
    std::vector<const void*> pointers;
    std::vector<ReferenceInput> reference_inputs;
    for (const auto& shape : problem.shapes) {
      const StridedLayout layout = random_layout(shape, random);
      descs.emplace_back(dtype, shape, layout.strides);
      buffers.push_back(testing::random_tensor(dtype, layout.span, random));
    }
    for (std::size_t index = 0; index < buffers.size(); ++index) {
      std::int64_t offset = 0;
      for (std::size_t axis = 0; axis < descs[index].extents.size(); ++axis) {
        if (descs[index].strides[axis] < 0 && descs[index].extents[axis] > 0) {
          offset += (descs[index].extents[axis] - 1) * -descs[index].strides[axis];
        }
      }
      const void* pointer = buffers[index].data() + offset * size_of(dtype);
      pointers.push_back(pointer);
      reference_inputs.push_back({pointer, dtype, descs[index].strides});
    }
    Options options;
    options.backend = Backend::host;
    const std::vector<std::int64_t> output_extents =
        Plan(problem.expression, descs, options).output().extents;
    const StridedLayout output_layout = random_layout(output_extents, random);
    Plan plan(problem.expression, descs, TensorDesc(dtype, output_extents, output_layout.strides),
              options);
    std::vector<unsigned char> actual = testing::random_tensor(dtype, output_layout.span, random);
    std::vector<unsigned char> expected = actual;
    const Scalar beta = seed % 3 == 0 ? Scalar(0.0) : Scalar(0.5);
    plan.execute(pointers, actual.data() + output_layout.offset * size_of(dtype), 2.0, beta);
    const Problem parsed = parse(problem.expression, problem.shapes);
    reference_einsum(
        parsed, reference_inputs,
        {expected.data() + output_layout.offset * size_of(dtype), dtype, output_layout.strides},
        2.0, beta);
    // Padding between elements must be untouched too: compare whole buffers.
    EXPECT_LE(testing::relative_error(dtype, actual.data(), expected.data(), output_layout.span),
              testing::tolerance(dtype))
        << plan.explain();
  }
}

}  // namespace
}  // namespace einstream::detail
