// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
#pragma once

#include <string>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream::detail {

// A tensor held in memory: its descriptor and its bytes.
struct NpyArray {
  // dtype and extents from the header. For a Fortran-order file the data is
  // kept as stored and `desc.strides` holds the column-major strides; for C
  // order `desc.strides` is empty.
  TensorDesc desc;
  // element_count() * size_of(dtype) bytes, as stored in the file.
  std::vector<unsigned char> data;
};

// Reads a .npy file: little-endian ('<' or '|') float32, float64, complex64
// or complex128, C or Fortran order. Throws Error naming the file and what is
// wrong (missing file, bad magic, unsupported version, dtype or byte order,
// malformed header, truncated data).
NpyArray read_npy(const std::string& path);

// Writes `data` (desc.element_count() elements laid out by desc's strides,
// which may be arbitrary) as a C-order .npy file: version 1.0, or 2.0 if the
// header needs it. The file is written to a temporary name next to `path`
// and renamed over it, so on failure `path` is left untouched. Throws Error.
void write_npy(const std::string& path, const TensorDesc& desc, const void* data);

}  // namespace einstream::detail
