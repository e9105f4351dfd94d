// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
#pragma once

#include <cstdio>
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
// and renamed over it, so on failure `path` is left untouched. `path` must
// pass check_output_path (checked before the temporary file is created and
// again before the rename). Throws Error.
void write_npy(const std::string& path, const TensorDesc& desc, const void* data);

// Throws Error (naming `path` and what it is) unless `path` is an existing
// regular file or a new name in an existing, writable directory. A write
// renames a temporary file over its target, so a symbolic link, device,
// FIFO or directory there would be replaced by a regular file rather than
// written through: those are refused, never followed. `what` names the
// file in the message, e.g. "output file".
void check_output_path(const std::string& path, const std::string& what = "output file");

// Temporary files of writes in progress (write_npy's, the CLI's trace
// file), kept in one process-wide registry so that a process ending on a
// signal leaves none behind. Creating, renaming and removing happen under
// the registry's lock, so abandon_temporary_files() finds each file either
// still temporary (and removes it) or already renamed into place.
//
// Creates `path` exclusively (fopen "wbx") and registers it; nullptr with
// errno set on failure.
std::FILE* create_temporary_file(const std::string& path);
// Renames `temporary` over `target` and forgets it; 0, or the errno.
int commit_temporary_file(const std::string& temporary, const std::string& target);
// Removes `temporary` (if it exists) and forgets it.
void remove_temporary_file(const std::string& temporary);
// For a thread about to end the process. If `finished_target` is not empty
// and a temporary was already renamed over it, the work is done: returns
// false and changes nothing. Otherwise removes every registered temporary
// file and returns true with the registry locked for good, so no rename can
// follow before the process ends.
bool abandon_temporary_files(const std::string& finished_target);

}  // namespace einstream::detail
