#include "planner/program.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace einstream::detail {

std::string to_string(OpKind kind) {
  switch (kind) {
    case OpKind::permute:
      return "permute";
    case OpKind::reduce:
      return "reduce";
    case OpKind::gemm:
      return "gemm";
    case OpKind::elementwise:
      return "elementwise";
  }
  return "invalid";
}

namespace {

std::string to_string(const View& view) {
  std::string text;
  switch (view.kind) {
    case BufferKind::input:
      text = "in" + std::to_string(view.index);
      break;
    case BufferKind::output:
      text = "out";
      break;
    case BufferKind::arena:
      text = "t" + std::to_string(view.index);
      break;
  }
  if (view.offset != 0) text += "+" + std::to_string(view.offset);
  return text + to_string(view.layout);
}

std::string human_bytes(double bytes) {
  char text[32];
  if (bytes >= 1073741824.0) {
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / 1073741824.0);
  } else if (bytes >= 1048576.0) {
    std::snprintf(text, sizeof text, "%.2f MiB", bytes / 1048576.0);
  } else if (bytes >= 1024.0) {
    std::snprintf(text, sizeof text, "%.2f KiB", bytes / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  }
  return text;
}

}  // namespace

bool has_gemm(const Program& program) {
  return std::any_of(program.ops.begin(), program.ops.end(),
                     [](const Op& op) { return op.kind == OpKind::gemm; });
}

std::uint64_t reduce_workspace_bytes(const Program& program) {
  std::uint64_t largest = 0;
  for (const Op& op : program.ops) {
    if (op.kind == OpKind::reduce) largest = std::max(largest, op.reduce_plan.workspace_bytes);
  }
  return largest;
}

std::string to_string(const Program& program) {
  std::ostringstream os;
  char line[160];
  std::snprintf(
      line, sizeof line,
      "  program: %zu ops, arena peak %s (%zu buffers), permutes inserted %d, avoided %d\n",
      program.ops.size(), human_bytes(static_cast<double>(program.arena_bytes)).c_str(),
      program.buffers.size(), program.permutes_inserted, program.permutes_avoided);
  os << line;
  for (std::size_t index = 0; index < program.ops.size(); ++index) {
    const Op& op = program.ops[index];
    os << "  " << index << ". [step " << op.step << "] " << to_string(op.kind) << ' ';
    if (op.kind == OpKind::gemm) {
      os << "batch " << op.batch << " m " << op.m << " n " << op.n << " k " << op.k << ": ";
    }
    os << to_string(op.result) << (op.writes_output ? " (alpha, beta)" : "") << " <- ";
    for (std::size_t source = 0; source < op.sources.size(); ++source) {
      os << (source ? ", " : "") << to_string(op.sources[source]);
    }
    if (op.flops > 0) {
      std::snprintf(line, sizeof line, "; %.3g FLOPs", op.flops);
      os << line;
    }
    if (!op.note.empty()) os << "; " << op.note;
    os << '\n';
  }
  for (std::size_t index = 0; index < program.buffers.size(); ++index) {
    const ArenaBuffer& buffer = program.buffers[index];
    os << "  t" << index << ": " << buffer.elements << " elements at byte " << buffer.offset_bytes
       << ", live ops " << buffer.first_op << "-" << buffer.last_op << '\n';
  }
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Program& program) {
  return os << to_string(program);
}

}  // namespace einstream::detail
