// Parser: einsum expression + operand shapes -> Problem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "planner/problem.hpp"

namespace einstream::detail {

// Parses `expression` for operands of the given shapes (one extent list per
// operand; empty for a scalar).
//
// Notation (numpy's einsum):
//   - operands separated by ',', optional "->" followed by the output;
//   - the expression is UTF-8; labels are code points (case-sensitive): the
//     ASCII letters a-z and A-Z, the Latin-1 letters U+00AA, U+00B5, U+00BA,
//     and every code point from U+00C0 on. That covers every Unicode letter
//     and every symbol opt_einsum's get_symbol(i) produces (chr(i + 140),
//     chr(i + 2048)), so expressions opt_einsum builds for large networks
//     parse as they are. ASCII whitespace is ignored anywhere;
//   - "..." at most once per operand and in the output stands for the leading
//     or middle axes not named by letters; ellipsis dimensions of different
//     operands align from the right and broadcast as in numpy (extent 1
//     stretches); a label may also broadcast from extent 1;
//   - a label repeated within one operand takes its diagonal;
//   - implicit output (no "->"): the ellipsis dimensions first, then the
//     labels that appear exactly once, in code point order (upper case
//     before lower case, ASCII before the rest, as numpy and opt_einsum
//     sort);
//   - an explicit output without "..." sums over the ellipsis dimensions;
//     an output "..." when no input has one covers no dimensions (numpy
//     accepts 'ij->...ji' as 'ij->ji');
//   - a label in the output must appear in some input, and only once in the
//     output.
//
// Throws ParseError for malformed expressions and invalid UTF-8; its
// position() and the positions in its message are byte offsets into
// `expression` (the start of a label's or a bad sequence's encoding),
// and ShapeError when the shapes do not fit the expression (wrong operand
// count, rank, or conflicting extents), naming the operand, axis and label.
Problem parse(std::string_view expression, const std::vector<std::vector<std::int64_t>>& shapes);

// The UTF-8 encoding of a Unicode scalar value (not a surrogate, at most
// U+10FFFF), for writing labels.
std::string encode_utf8(char32_t code_point);

}  // namespace einstream::detail
