// einstream's C++ exceptions as Python exceptions of the module.
#pragma once

#include <nanobind/nanobind.h>

namespace einstream::python {

// Adds einstream.Error (a RuntimeError) and its subclasses ParseError and
// ShapeError (also ValueErrors), MemoryError (also the built-in MemoryError)
// and CudaError to `module`, and translates the C++ types to them with the
// library's message and typed fields.
void register_errors(nanobind::module_& module);

}  // namespace einstream::python
