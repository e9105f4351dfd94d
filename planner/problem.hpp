// Problem: an einsum expression after parsing, with modes as dense integers.
//
// Everything after the parser works on this struct. Broadcasting is already
// resolved: an operand axis of extent 1 whose mode has a larger extent
// elsewhere is dropped from that operand (its value is the same for every
// index of the mode), so later stages never see broadcasting. Repeated modes
// within one operand (a diagonal) are kept as repeated entries.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace einstream::detail {

// A mode (an index label) as a dense id in [0, Problem::mode_count()).
using Mode = int;

struct ProblemOperand {
  // One mode per kept axis, in axis order. Repeats mean a diagonal.
  std::vector<Mode> modes;
  // For each entry of `modes`, the axis of the caller's tensor it came from
  // (axes dropped by broadcasting are absent).
  std::vector<int> axes;
  // The rank of the caller's tensor (kept and dropped axes).
  int rank = 0;
};

struct Problem {
  std::vector<ProblemOperand> inputs;
  // Output modes in output axis order; never repeated.
  std::vector<Mode> output;
  // Extent of each mode (after broadcasting), indexed by Mode.
  std::vector<std::int64_t> extents;
  // Printable label of each mode, UTF-8: "i", "K", "À", or "...0", "...1"
  // for the dimensions covered by an ellipsis (numbered left to right).
  std::vector<std::string> labels;

  int mode_count() const { return static_cast<int>(extents.size()); }
  // Extents of the output, in output axis order.
  std::vector<std::int64_t> output_extents() const;
};

// A mode's label as it appears in a rendered expression: bare for a letter
// label (one code point, possibly several UTF-8 bytes), bracketed for an
// ellipsis dimension ("[...0]") so neighbouring dimensions stay readable.
std::string label_text(const std::string& label);

// "ij,jk->ik"-style rendering with each mode's label (ellipsis modes render
// as their labels in brackets), e.g. "ij,jk->ik" or "[...0]i,[...0]i->[...0]".
std::string to_string(const Problem& problem);
std::ostream& operator<<(std::ostream& os, const Problem& problem);

}  // namespace einstream::detail
