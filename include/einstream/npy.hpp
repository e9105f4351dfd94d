// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0),
// so a program can hand einstream the arrays NumPy saved and save its
// results for NumPy:
//
//   einstream::NpyArray a = einstream::read_npy("a.npy");
//   einstream::NpyArray b = einstream::read_npy("b.npy");
//   einstream::Plan plan("ij,jk->ik", {a.desc, b.desc});
//   std::vector<float> c(plan.output().element_count());
//   plan.execute({a.data.data(), b.data.data()}, c.data());
//   einstream::write_npy("c.npy", plan.output(), c.data());
#pragma once

#include <string>
#include <vector>

#include "einstream/tensor.hpp"

namespace einstream {

// A tensor in host memory that owns its bytes: what read_npy returns.
struct NpyArray {
  // dtype and extents from the file's header. For a Fortran-order file the
  // data is kept as stored and `desc.strides` holds the column-major
  // strides; for C order `desc.strides` is empty. Either way `desc` with
  // `data.data()` is what a Plan takes.
  TensorDesc desc;
  // desc.element_count() * size_of(desc.dtype) bytes, as stored in the file
  // (little-endian), aligned for every supported element type.
  std::vector<unsigned char> data;

  ConstTensorView view() const { return {data.data(), desc}; }
  TensorView view() { return {data.data(), desc}; }
};

// Reads a .npy file: little-endian ('<' or '|') float32, float64, complex64,
// complex128 or float16, C or Fortran order. bfloat16 has no .npy descr
// ('|V2', as ml_dtypes writes it, is refused with a hint). Every length in the file is checked
// against the file's size (and 64-bit overflow) before anything is
// allocated. Throws Error naming the file and what is wrong (missing file,
// bad magic, unsupported version, dtype or byte order, malformed header,
// truncated or trailing data).
NpyArray read_npy(const std::string& path);

// Writes `data` (desc.element_count() elements laid out by desc's strides,
// which may be arbitrary: zero, negative, transposed) as a C-order .npy
// file, byte for byte what np.save writes: version 1.0, or 2.0 if the
// header needs it. The file is written to a temporary name next to `path`
// and renamed over it, so on failure `path` is left untouched. `path` must
// be a regular file or a new name in an existing writable directory
// (symbolic links, devices, FIFOs and directories are refused, never
// followed). Throws Error.
void write_npy(const std::string& path, const TensorDesc& desc, const void* data);
void write_npy(const std::string& path, const ConstTensorView& tensor);

}  // namespace einstream
