// Program: the linear IR a backend executes.
//
// Lowering turns each pairwise step of a contraction path into a few ops over
// strided views: Permute (a strided copy, which also gathers diagonals),
// Reduce (sum over modes), Gemm (batched matrix product over merged mode
// groups) and Elementwise (product without a summed mode). Every
// intermediate lives at a fixed offset of one arena, so the peak working
// memory is known before anything runs.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"
#include "planner/permute_plan.hpp"
#include "planner/problem.hpp"
#include "planner/reduce_plan.hpp"
#include "planner/tensor_layout.hpp"

namespace einstream::detail {

// Where a view's data lives.
enum class BufferKind {
  input,   // the caller's input number `index`
  output,  // the caller's output
  arena,   // intermediate `index` of Program::buffers, at its arena offset
};

struct View {
  BufferKind kind = BufferKind::arena;
  int index = 0;
  // Element offset from the buffer's base (non-zero for inputs read through
  // negative strides, say).
  std::int64_t offset = 0;
  TensorLayout layout;
};

enum class OpKind {
  permute,      // result[i] = source[i] over result's extents
  reduce,       // result[i] = sum over the trailing source axes of source[i, r]
  gemm,         // C[b, m, n] = sum_k A[b, m, k] B[b, k, n]
  elementwise,  // result[i] = first[i] * second[i] (zero strides broadcast)
};

struct Op {
  OpKind kind = OpKind::permute;
  // permute, reduce: {source}; gemm: {A, B}; elementwise: {first, second}.
  std::vector<View> sources;
  View result;
  // The op writes the caller's output: it applies alpha and beta there
  // (result = alpha * value + beta * result); every other op overwrites.
  bool writes_output = false;
  // gemm only: C is m x n, A is m x k, B is k x n, `batch` of each. The
  // views' layouts are 3-D, [batch, rows, columns], with the strides of the
  // merged mode groups; one of rows and columns has stride 1 (or extent 1).
  std::int64_t m = 0, n = 0, k = 0, batch = 1;
  // The CUDA kernels' launch plan of a permute or reduce op, planned from
  // its views' layouts when lowering (the host backend needs none). The
  // Program's own record, so every backend and the device layout read one
  // plan: there is no second one to drift from it.
  PermutePlan permute_plan;  // permute only
  ReducePlan reduce_plan;    // reduce only
  // Which contraction step this op belongs to, and a note for explain().
  int step = 0;
  std::string note;
  double flops = 0;
  // Bytes read and written, at the element size of the Program.
  double bytes = 0;
};

struct ArenaBuffer {
  std::int64_t elements = 0;
  std::int64_t offset_bytes = 0;  // from the arena's base, aligned
  int first_op = 0;               // written by this op
  int last_op = 0;                // last read by this op
};

struct Program {
  DataType dtype = DataType::f32;
  std::vector<Op> ops;
  std::vector<ArenaBuffer> buffers;
  // Exact peak of the arena: max over ops of the bytes live during it.
  std::int64_t arena_bytes = 0;
  // Permutes the lowering avoided by using strides, transposes and the
  // choice of intermediate mode orders, and permutes it had to insert.
  int permutes_avoided = 0;
  int permutes_inserted = 0;
};

std::string to_string(OpKind kind);
std::string to_string(const Program& program);
std::ostream& operator<<(std::ostream& os, const Program& program);

// Whether any op of `program` is a GEMM (the backend then needs its GEMM
// library's workspace).
bool has_gemm(const Program& program);

// The largest workspace the launch plan of any reduce op of `program` needs
// (0 when none splits its sums): the reduce workspace a CUDA execution of
// it allocates.
std::uint64_t reduce_workspace_bytes(const Program& program);

}  // namespace einstream::detail
