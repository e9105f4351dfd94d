// The .npy reader and writer inside the library: the public functions of
// include/einstream/npy.hpp, named in detail too for the code that calls
// them from there, and the safe-write helpers they share with the CLI.
#pragma once

#include "einstream/npy.hpp"
#include "src/temporary_file.hpp"

namespace einstream::detail {

using einstream::NpyArray;
using einstream::read_npy;
using einstream::write_npy;

}  // namespace einstream::detail
