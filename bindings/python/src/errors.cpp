#include "errors.hpp"

#include <exception>

#include <nanobind/stl/string.h>

#include "einstream/error.hpp"

namespace nb = nanobind;

namespace einstream::python {

namespace {

// The exception types, created once at import and alive for the process
// (the module holds a reference too).
struct ErrorTypes {
  PyObject* error = nullptr;
  PyObject* parse = nullptr;
  PyObject* shape = nullptr;
  PyObject* memory = nullptr;
  PyObject* cuda = nullptr;
};
ErrorTypes types;

PyObject* new_type(nb::module_& module, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("einstream.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw nb::python_error();
  module.attr(name) = nb::borrow(type);
  return type;
}

// Raises `type(message)` with the attributes set by `fill` on the instance.
template <typename Fill>
void raise(PyObject* type, const char* message, Fill fill) {
  nb::object exception = nb::steal(PyObject_CallFunction(type, "s", message));
  if (!exception.is_valid()) return;  // the call set its own error
  fill(exception);
  PyErr_SetObject(type, exception.ptr());
}

}  // namespace

void register_errors(nb::module_& module) {
  types.error = new_type(module, "Error", PyExc_RuntimeError,
                         "Base of every error einstream raises (a RuntimeError).");
  nb::object value_bases = nb::make_tuple(nb::handle(types.error), nb::handle(PyExc_ValueError));
  nb::object memory_bases = nb::make_tuple(nb::handle(types.error), nb::handle(PyExc_MemoryError));
  types.parse = new_type(module, "ParseError", value_bases.ptr(),
                         "A malformed einsum formula; .expression and .position (0-based) "
                         "say where.");
  types.shape = new_type(module, "ShapeError", value_bases.ptr(),
                         "Operand shapes, strides or dtypes that do not fit the formula.");
  types.memory = new_type(module, "MemoryError", memory_bases.ptr(),
                          "The work does not fit the memory available to it; .bytes_needed "
                          "and .bytes_available give the sizes.");
  types.cuda = new_type(module, "CudaError", types.error,
                        "A CUDA runtime or cuBLAS call failed; .call names it.");

  nb::register_exception_translator([](const std::exception_ptr& pointer, void*) {
    try {
      std::rethrow_exception(pointer);
    } catch (const ParseError& error) {
      raise(types.parse, error.what(), [&](nb::object& exception) {
        exception.attr("expression") = error.expression();
        exception.attr("position") = error.position();
      });
    } catch (const ShapeError& error) {
      PyErr_SetString(types.shape, error.what());
    } catch (const MemoryError& error) {
      raise(types.memory, error.what(), [&](nb::object& exception) {
        exception.attr("bytes_needed") = error.bytes_needed();
        exception.attr("bytes_available") = error.bytes_available();
      });
    } catch (const CudaError& error) {
      raise(types.cuda, error.what(),
            [&](nb::object& exception) { exception.attr("call") = error.call(); });
    } catch (const Error& error) {
      PyErr_SetString(types.error, error.what());
    }
  });
}

}  // namespace einstream::python
