// The .npy header: the binary prefix (magic, version, header length) and the
// Python dict literal that follows it, parsed and checked on reading and
// written byte for byte as np.save writes it.
//
// Layout (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
// version byte, the header length as a little-endian integer (2 bytes in
// version 1.0, 4 bytes in 2.0 and 3.0), then the header: a Python dict literal
// such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
// with spaces and ended by '\n'. The raw element data follows the header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream::detail {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr std::size_t kNpyMagicLength = 6;

// Throw Error("cannot read/write .npy file '<path>': <what>").
[[noreturn]] void fail_npy_read(const std::string& path, const std::string& what);
[[noreturn]] void fail_npy_write(const std::string& path, const std::string& what);

// What the header dict says, checked, plus its text for later messages.
struct NpyHeaderFields {
  // dtype and extents; Fortran order gives column-major strides, C order
  // none.
  TensorDesc desc;
  std::string descr;  // as written, e.g. <f4
  std::string shape;  // as written, e.g. (2, 3)
};

// Parses the dict text of a header (after the length field). Accepts what
// any NumPy version writes plus hand-made variations (key order, quotes,
// spacing, padding); throws Error naming `path` and what is malformed.
NpyHeaderFields interpret_npy_header(const std::string& header, const std::string& path);

// element_count * itemsize into `bytes`, or false if it does not fit in 64
// bits.
bool npy_data_byte_count(const std::vector<std::int64_t>& extents, DataType dtype,
                         std::uint64_t* bytes);

// Magic, version (1.0, or 2.0 when the dict needs it), length and padded
// dict of a C-order file of `desc`, exactly as np.save writes them.
std::string make_npy_header(const TensorDesc& desc, const std::string& path);

}  // namespace einstream::detail
