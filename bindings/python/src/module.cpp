// einstream._einstream: the C++ library's Plan and value types over
// nanobind. The package around it (einstream/__init__.py) turns arrays of any
// framework into descriptors and pointers, allocates results and logs; this
// layer only converts types and releases the GIL while the library works.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/complex.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "einstream/einstream.hpp"
#include "errors.hpp"
#include "src/devices.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace einstream::python {

namespace {

// numpy's names for the dtypes einstream computes in, as DLPack codes them.
std::optional<DataType> data_type_of(nb::dlpack::dtype dtype) {
  if (dtype.lanes != 1) return std::nullopt;
  if (dtype.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float)) {
    if (dtype.bits == 16) return DataType::f16;
    if (dtype.bits == 32) return DataType::f32;
    if (dtype.bits == 64) return DataType::f64;
  }
  if (dtype.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bfloat) && dtype.bits == 16) {
    return DataType::bf16;  // torch.bfloat16
  }
  if (dtype.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Complex)) {
    if (dtype.bits == 64) return DataType::c64;
    if (dtype.bits == 128) return DataType::c128;
  }
  return std::nullopt;
}

// What the package needs of an array it was given, read through DLPack or
// the buffer protocol without copying: (dtype, shape, strides in elements,
// DLPack device type, device id, address of the first element). The dtype
// is None where einstream does not compute in it (the package names it).
nb::tuple describe(const nb::ndarray<nb::ro>& array) {
  const std::optional<DataType> dtype = data_type_of(array.dtype());
  nb::list shape;
  nb::list strides;
  for (std::size_t axis = 0; axis < array.ndim(); ++axis) {
    shape.append(array.shape(axis));
    strides.append(array.stride(axis));
  }
  nb::object dtype_name = dtype ? nb::object(nb::str(to_string(*dtype))) : nb::none();
  return nb::make_tuple(dtype_name, nb::tuple(shape), nb::tuple(strides), array.device_type(),
                        array.device_id(), reinterpret_cast<std::uintptr_t>(array.data()));
}

// Option strings are arguments: a bad one is a ValueError, not a library
// failure.
template <typename Parse>
auto parse_argument(Parse parse) {
  try {
    return parse();
  } catch (const Error& error) {
    throw nb::value_error(error.what());
  }
}

// Sends the library's messages at `level` and below ("debug", "info",
// "warn", "error"; "" for none) to Python's logger "einstream": errors and
// warnings at ERROR and WARNING, the rest at DEBUG, as the old tool logged
// its plans and transfers. Options are copied with the GIL released, so the
// callback holds no Python object: it takes the GIL and finds the logger on
// each message (a few per plan and execution).
void log_to_python(Options& options, const std::string& level) {
  if (level.empty()) {
    options.log = {};
    return;
  }
  options.log_level = parse_argument([&] { return log_level_from_string(level); });
  options.log = [](LogLevel at, const std::string& message) {
    constexpr int kPythonLevels[] = {40, 30, 10, 10};  // ERROR, WARNING, DEBUG, DEBUG
    nb::gil_scoped_acquire acquire;
    nb::module_::import_("logging")
        .attr("getLogger")("einstream")
        .attr("log")(kPythonLevels[static_cast<int>(at)], "%s", message);
  };
}

void bind_values(nb::module_& m) {
  nb::class_<TensorDesc>(m, "TensorDesc", "An operand's dtype, extents and strides (in elements).")
      .def(
          "__init__",
          [](TensorDesc* self, const std::string& dtype, std::vector<std::int64_t> extents,
             std::vector<std::int64_t> strides) {
            const DataType type = parse_argument([&] { return data_type_from_string(dtype); });
            new (self) TensorDesc(type, std::move(extents), std::move(strides));
          },
          "dtype"_a, "extents"_a, "strides"_a = std::vector<std::int64_t>{})
      .def_prop_ro("dtype", [](const TensorDesc& desc) { return to_string(desc.dtype); })
      .def_ro("extents", &TensorDesc::extents)
      .def_prop_ro("strides", &TensorDesc::effective_strides)
      .def("__repr__", [](const TensorDesc& desc) { return to_string(desc); });

  nb::class_<MemoryLimit>(m, "MemoryLimit",
                          "Device memory einstream may use: bytes or a fraction of the device.")
      .def_static(
          "from_bytes",
          [](std::uint64_t bytes) {
            return parse_argument([&] { return MemoryLimit::from_bytes(bytes); });
          },
          "bytes"_a)
      .def_static(
          "from_fraction",
          [](double fraction) {
            return parse_argument([&] { return MemoryLimit::from_fraction(fraction); });
          },
          "fraction"_a)
      .def_static(
          "parse",
          [](const std::string& text) {
            return parse_argument([&] { return MemoryLimit::parse(text); });
          },
          "text"_a, "'4GiB', '512 MiB', '4G', '1e9' (bytes), '0.5' or '90%' (of the device).")
      .def_prop_ro("kind",
                   [](const MemoryLimit& limit) {
                     return limit.kind == MemoryLimit::Kind::bytes ? "bytes" : "fraction";
                   })
      .def_ro("value", &MemoryLimit::value)
      .def("resolve", &MemoryLimit::resolve, "device_bytes"_a)
      .def("__str__", [](const MemoryLimit& limit) { return to_string(limit); })
      .def("__repr__",
           [](const MemoryLimit& limit) { return "MemoryLimit(" + to_string(limit) + ")"; });

  nb::class_<Options>(m, "Options", "Planning and execution options (einstream::Options).")
      .def(nb::init<>())
      .def_rw("device", &Options::device)
      .def_rw("devices", &Options::devices)
      .def_rw("memory_limit", &Options::memory_limit)
      .def_prop_rw(
          "backend", [](const Options& options) { return to_string(options.backend); },
          [](Options& options, const std::string& name) {
            options.backend = parse_argument([&] { return backend_from_string(name); });
          })
      .def_prop_rw(
          "path", [](const Options& options) { return to_string(options.path); },
          [](Options& options, const std::string& name) {
            options.path = parse_argument([&] { return path_algorithm_from_string(name); });
          })
      .def_rw("given_path", &Options::given_path)
      .def_rw("max_intermediate_bytes", &Options::max_intermediate_bytes)
      .def_rw("path_trials", &Options::path_trials)
      .def_rw("path_seconds", &Options::path_seconds)
      .def_rw("path_seed", &Options::path_seed)
      .def_rw("allow_tf32", &Options::allow_tf32)
      .def_rw("graph_replay", &Options::graph_replay)
      .def_rw("profile", &Options::profile)
      .def_rw("register_host_memory", &Options::register_host_memory)
      .def("log_to_python", &log_to_python, "level"_a,
           "Log at `level` ('debug', 'info', 'warn', 'error'; '' for none) to the Python "
           "logger 'einstream'.");

  nb::class_<PathInfo>(m, "PathInfo", "A contraction path (opt_einsum's format) and its cost.")
      .def_prop_ro("path",
                   [](const PathInfo& info) {
                     nb::list steps;
                     for (const std::vector<int>& step : info.path) {
                       nb::list positions;
                       for (int position : step) positions.append(position);
                       steps.append(nb::tuple(positions));
                     }
                     return steps;
                   })
      .def_ro("flops", &PathInfo::flops)
      .def_ro("largest_intermediate", &PathInfo::largest_intermediate)
      .def_ro("seconds", &PathInfo::seconds);

  nb::class_<ExecutionReport>(m, "ExecutionReport", "What one execution did (transfers, timings).")
      .def_prop_ro("backend",
                   [](const ExecutionReport& report) { return to_string(report.backend); })
      .def_ro("blocks", &ExecutionReport::blocks)
      .def_ro("bytes_to_device", &ExecutionReport::bytes_to_device)
      .def_ro("bytes_to_host", &ExecutionReport::bytes_to_host)
      .def_ro("device_bytes", &ExecutionReport::device_bytes)
      .def_ro("seconds", &ExecutionReport::seconds)
      .def_ro("staging_seconds", &ExecutionReport::staging_seconds)
      .def_ro("flops", &ExecutionReport::flops)
      .def_ro("h2d_seconds", &ExecutionReport::h2d_seconds)
      .def_ro("compute_seconds", &ExecutionReport::compute_seconds)
      .def_ro("d2h_seconds", &ExecutionReport::d2h_seconds)
      .def_ro("overlap", &ExecutionReport::overlap)
      .def_ro("bytes_direct", &ExecutionReport::bytes_direct)
      .def_ro("bytes_staged", &ExecutionReport::bytes_staged)
      .def_ro("graph_replayed", &ExecutionReport::graph_replayed)
      .def_ro("devices", &ExecutionReport::devices)
      .def_ro("combine_seconds", &ExecutionReport::combine_seconds)
      .def_ro("combined_with", &ExecutionReport::combined_with)
      .def("__str__", [](const ExecutionReport& report) { return to_string(report); });

  nb::class_<detail::DeviceInfo>(m, "Device", "A GPU this build of einstream can see.")
      .def_ro("index", &detail::DeviceInfo::index)
      .def_ro("name", &detail::DeviceInfo::name)
      .def_ro("total_memory", &detail::DeviceInfo::total_memory)
      .def_ro("free_memory", &detail::DeviceInfo::free_memory)
      .def_prop_ro("compute_capability",
                   [](const detail::DeviceInfo& info) {
                     return nb::make_tuple(info.compute_capability_major,
                                           info.compute_capability_minor);
                   })
      .def("__repr__", [](const detail::DeviceInfo& info) {
        return "Device(" + std::to_string(info.index) + ", '" + info.name + "', " +
               std::to_string(info.total_memory) + " bytes)";
      });
}

void bind_plan(nb::module_& m) {
  nb::class_<Plan>(m, "Plan", "einstream::Plan: an expression planned for fixed descriptors.")
      .def(
          "__init__",
          [](Plan* self, const std::string& expression, std::vector<TensorDesc> inputs,
             std::optional<TensorDesc> output, const Options& options) {
            // Planning may search paths for a second or more; other Python
            // threads run meanwhile.
            nb::gil_scoped_release release;
            if (output) {
              new (self) Plan(expression, std::move(inputs), *output, options);
            } else {
              new (self) Plan(expression, std::move(inputs), options);
            }
          },
          "expression"_a, "inputs"_a, "output"_a.none(), "options"_a)
      .def_prop_ro("expression", &Plan::expression)
      .def_prop_ro("inputs", &Plan::inputs)
      .def_prop_ro("output", &Plan::output)
      .def_prop_ro("backend", [](const Plan& plan) { return to_string(plan.backend()); })
      .def_prop_ro("path_info", &Plan::path)
      .def_prop_ro("workspace_bytes", &Plan::workspace_bytes)
      .def_prop_ro("bytes_moved", &Plan::bytes_moved)
      .def(
          "explain",
          [](const Plan& plan, const std::string& detail) {
            return plan.explain(explain_detail_from_string(detail));
          },
          "detail"_a = "summary")
      .def_prop_ro("last_report", &Plan::last_report)
      .def(
          "execute",
          [](Plan& plan, const std::vector<std::uintptr_t>& inputs, std::uintptr_t output,
             Scalar alpha, Scalar beta) {
            // The package holds the arrays these addresses point into for
            // the whole call, and has checked them against the plan.
            std::vector<const void*> pointers;
            pointers.reserve(inputs.size());
            for (std::uintptr_t address : inputs) {
              pointers.push_back(reinterpret_cast<const void*>(address));
            }
            if (pointers.size() != plan.inputs().size()) {
              throw nb::value_error(("the plan takes " + std::to_string(plan.inputs().size()) +
                                     " operands, got " + std::to_string(pointers.size()))
                                        .c_str());
            }
            nb::gil_scoped_release release;
            plan.execute(pointers, reinterpret_cast<void*>(output), alpha, beta);
          },
          "inputs"_a, "output"_a, "alpha"_a, "beta"_a);

  m.def(
      "contraction_path",
      [](const std::string& expression, const std::vector<std::vector<std::int64_t>>& shapes,
         const Options& options, const std::string& dtype) {
        const DataType type = parse_argument([&] { return data_type_from_string(dtype); });
        nb::gil_scoped_release release;
        return contraction_path(expression, shapes, options, type);
      },
      "expression"_a, "shapes"_a, "options"_a, "dtype"_a);
}

}  // namespace

}  // namespace einstream::python

NB_MODULE(_einstream, m) {
  using namespace einstream;
  m.doc() = "einstream's C++ library; use the einstream package, not this module.";
  python::register_errors(m);
  python::bind_values(m);
  python::bind_plan(m);
  m.def("describe", &python::describe, "array"_a);
  m.def("version", &version);
  m.def("cuda_enabled", &detail::cuda_enabled);
  m.def("devices", [] {
    nb::gil_scoped_release release;
    return detail::list_devices();
  });
}
