// Files written safely: the checks on an output path, and the process-wide
// registry of temporary files that a write renames over its target.
#pragma once

#include <cstdio>
#include <string>

namespace einstream::detail {

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

// strerror's text for `error_number`, or "unknown I/O error" for 0.
std::string system_reason(int error_number);

}  // namespace einstream::detail
