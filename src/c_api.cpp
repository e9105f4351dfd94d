// The C API (include/einstream/einstream.h) over the C++ API.
//
// Every entry point runs its body through `guarded`, which turns each
// exception into a status code and the calling thread's last-error message,
// so nothing is thrown across the C boundary. Arguments the C++ API cannot
// check (NULL pointers, ranks, enum values that C lets hold anything) are
// checked here first and reported as EINSTREAM_INVALID_ARGUMENT.
#include "einstream/einstream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "einstream/einstream.hpp"

struct einstream_plan {
  einstream::Plan plan;
};

namespace {

thread_local std::string last_error_message;

// Thrown by the argument checks below; caught by `guarded` only.
class InvalidArgument : public std::exception {
 public:
  explicit InvalidArgument(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

einstream_status fail(einstream_status status, const char* function, const char* message) {
  try {
    last_error_message = std::string(function) + ": " + message;
  } catch (...) {
    // Out of memory while recording the message: keep the previous one
    // rather than throw; the status code still says what happened.
  }
  return status;
}

template <typename Body>
einstream_status guarded(const char* function, Body&& body) noexcept {
  try {
    body();
    return EINSTREAM_OK;
  } catch (const InvalidArgument& error) {
    return fail(EINSTREAM_INVALID_ARGUMENT, function, error.what());
  } catch (const einstream::ParseError& error) {
    return fail(EINSTREAM_PARSE_ERROR, function, error.what());
  } catch (const einstream::ShapeError& error) {
    return fail(EINSTREAM_SHAPE_ERROR, function, error.what());
  } catch (const einstream::MemoryError& error) {
    return fail(EINSTREAM_MEMORY_ERROR, function, error.what());
  } catch (const einstream::CudaError& error) {
    return fail(EINSTREAM_CUDA_ERROR, function, error.what());
  } catch (const einstream::Error& error) {
    // The C++ API's plain Error is what it throws for a bad option or
    // argument value (an unknown name, a moved-from Plan, a complex alpha
    // for a real dtype).
    return fail(EINSTREAM_INVALID_ARGUMENT, function, error.what());
  } catch (const std::bad_alloc&) {
    return fail(EINSTREAM_MEMORY_ERROR, function, "out of host memory");
  } catch (const std::exception& error) {
    return fail(EINSTREAM_INTERNAL_ERROR, function, error.what());
  } catch (...) {
    return fail(EINSTREAM_INTERNAL_ERROR, function, "unknown exception");
  }
}

// A C caller may store any int in an enum field, but in C++ reading a value
// outside the enumerators' range as the enum type is undefined behaviour, so
// the fields are read as their underlying integer and compared with that.
template <typename Enum>
long long enum_value(const Enum& field) {
  std::underlying_type_t<Enum> value;
  std::memcpy(&value, &field, sizeof value);
  return static_cast<long long>(value);
}

template <typename Pointer>
void require_pointer(Pointer* pointer, const char* name) {
  if (pointer == nullptr) throw InvalidArgument(std::string(name) + " is NULL");
}

einstream::DataType to_data_type(long long dtype, const std::string& what) {
  switch (dtype) {
    case EINSTREAM_F32:
      return einstream::DataType::f32;
    case EINSTREAM_F64:
      return einstream::DataType::f64;
    case EINSTREAM_C64:
      return einstream::DataType::c64;
    case EINSTREAM_C128:
      return einstream::DataType::c128;
    case EINSTREAM_F16:
      return einstream::DataType::f16;
    case EINSTREAM_BF16:
      return einstream::DataType::bf16;
  }
  throw InvalidArgument(what + " has dtype " + std::to_string(dtype) +
                        "; expected EINSTREAM_F32 (0), EINSTREAM_F64 (1), EINSTREAM_C64 (2), "
                        "EINSTREAM_C128 (3), EINSTREAM_F16 (4) or EINSTREAM_BF16 (5)");
}

einstream_dtype to_c_dtype(einstream::DataType dtype) {
  switch (dtype) {
    case einstream::DataType::f32:
      return EINSTREAM_F32;
    case einstream::DataType::f64:
      return EINSTREAM_F64;
    case einstream::DataType::c64:
      return EINSTREAM_C64;
    case einstream::DataType::c128:
      return EINSTREAM_C128;
    case einstream::DataType::f16:
      return EINSTREAM_F16;
    case einstream::DataType::bf16:
      return EINSTREAM_BF16;
  }
  throw einstream::Error(std::string("plan has dtype ") + einstream::to_string(dtype) +
                         ", which the C API has no code for");
}

einstream::TensorDesc to_tensor_desc(const einstream_tensor_desc& desc, const std::string& what) {
  if (desc.rank < 0 || desc.rank > EINSTREAM_MAX_RANK) {
    throw InvalidArgument(what + " has rank " + std::to_string(desc.rank) + "; expected 0 to " +
                          std::to_string(EINSTREAM_MAX_RANK));
  }
  const auto rank = static_cast<std::size_t>(desc.rank);
  einstream::TensorDesc result;
  result.dtype = to_data_type(enum_value(desc.dtype), what);
  if (rank > 0) {
    if (desc.extents == nullptr) {
      throw InvalidArgument(what + " has rank " + std::to_string(desc.rank) +
                            " but its extents are NULL");
    }
    result.extents.assign(desc.extents, desc.extents + rank);
    if (desc.strides != nullptr) result.strides.assign(desc.strides, desc.strides + rank);
  }
  return result;
}

// The C and C++ levels share their order: error 0, warn 1, info 2, debug 3.
einstream::LogLevel to_log_level(long long level, const char* what) {
  if (level < EINSTREAM_LOG_ERROR || level > EINSTREAM_LOG_DEBUG) {
    throw InvalidArgument(std::string(what) + " is " + std::to_string(level) +
                          "; expected EINSTREAM_LOG_ERROR (0), _WARN (1), _INFO (2) or _DEBUG (3)");
  }
  return static_cast<einstream::LogLevel>(level);
}

// The C callback behind einstream::Options::log, with its user data.
void set_log(einstream::Options& result, const einstream_options& options) {
  result.log_level = to_log_level(enum_value(options.log_level), "options->log_level");
  if (options.log == nullptr) return;
  const einstream_log_callback callback = options.log;
  void* const user_data = options.log_user_data;
  result.log = [callback, user_data](einstream::LogLevel level, const std::string& message) {
    callback(static_cast<einstream_log_level>(level), message.c_str(), user_data);
  };
}

// options->given_path's pairs as einstream::Options::given_path; the
// positions themselves are checked when planning.
std::vector<std::vector<int>> given_path_of(const einstream_options& options) {
  if (options.n_given_path_steps < 0 ||
      (options.n_given_path_steps > 0 && options.given_path == nullptr)) {
    throw InvalidArgument(
        "options->n_given_path_steps is " + std::to_string(options.n_given_path_steps) +
        (options.n_given_path_steps > 0 ? " but options->given_path is NULL" : "") +
        "; expected 0, or the count of the pairs at options->given_path");
  }
  std::vector<std::vector<int>> path;
  for (std::int32_t step = 0; step < options.n_given_path_steps; ++step) {
    const std::int32_t first = options.given_path[2 * step];
    const std::int32_t second = options.given_path[2 * step + 1];
    if (second == -1) {
      path.push_back({first});
    } else {
      path.push_back({first, second});
    }
  }
  return path;
}

einstream::Options to_options(const einstream_options& options) {
  einstream::Options result;
  result.device = options.device;
  switch (enum_value(options.memory_limit_kind)) {
    case EINSTREAM_MEMORY_LIMIT_FRACTION:
      if (!(options.memory_limit_fraction > 0.0 && options.memory_limit_fraction <= 1.0)) {
        throw InvalidArgument("options->memory_limit_fraction is " +
                              std::to_string(options.memory_limit_fraction) +
                              "; expected a fraction in (0, 1]");
      }
      result.memory_limit = einstream::MemoryLimit::from_fraction(options.memory_limit_fraction);
      break;
    case EINSTREAM_MEMORY_LIMIT_BYTES:
      if (options.memory_limit_bytes == 0) {
        throw InvalidArgument("options->memory_limit_bytes is 0; expected at least 1 byte");
      }
      result.memory_limit = einstream::MemoryLimit::from_bytes(options.memory_limit_bytes);
      break;
    default:
      throw InvalidArgument("options->memory_limit_kind is " +
                            std::to_string(enum_value(options.memory_limit_kind)) +
                            "; expected EINSTREAM_MEMORY_LIMIT_FRACTION (0) or "
                            "EINSTREAM_MEMORY_LIMIT_BYTES (1)");
  }
  switch (enum_value(options.path)) {
    case EINSTREAM_PATH_AUTO:
      result.path = einstream::PathAlgorithm::automatic;
      break;
    case EINSTREAM_PATH_NAIVE:
      result.path = einstream::PathAlgorithm::naive;
      break;
    case EINSTREAM_PATH_GREEDY:
      result.path = einstream::PathAlgorithm::greedy;
      break;
    case EINSTREAM_PATH_OPTIMAL:
      result.path = einstream::PathAlgorithm::optimal;
      break;
    case EINSTREAM_PATH_DP:
      result.path = einstream::PathAlgorithm::dp;
      break;
    case EINSTREAM_PATH_RANDOM_GREEDY:
      result.path = einstream::PathAlgorithm::random_greedy;
      break;
    case EINSTREAM_PATH_HYPER:
      result.path = einstream::PathAlgorithm::hyper;
      break;
    default:
      throw InvalidArgument("options->path is " + std::to_string(enum_value(options.path)) +
                            "; expected an EINSTREAM_PATH_* value (0 to 6)");
  }
  switch (enum_value(options.backend)) {
    case EINSTREAM_BACKEND_AUTO:
      result.backend = einstream::Backend::automatic;
      break;
    case EINSTREAM_BACKEND_HOST:
      result.backend = einstream::Backend::host;
      break;
    case EINSTREAM_BACKEND_CUDA:
      result.backend = einstream::Backend::cuda;
      break;
    default:
      throw InvalidArgument("options->backend is " + std::to_string(enum_value(options.backend)) +
                            "; expected EINSTREAM_BACKEND_AUTO (0), _HOST (1) or _CUDA (2)");
  }
  if (!(options.path_seconds >= 0.0) || std::isinf(options.path_seconds)) {
    throw InvalidArgument("options->path_seconds is " + std::to_string(options.path_seconds) +
                          "; expected a finite number of seconds, 0 for no limit");
  }
  if (options.path_trials < 1) {
    throw InvalidArgument("options->path_trials is " + std::to_string(options.path_trials) +
                          "; expected at least 1");
  }
  result.register_host_memory = options.register_host_memory != 0;
  result.allow_tf32 = options.allow_tf32 != 0;
  result.path_seconds = options.path_seconds;
  result.path_trials = options.path_trials;
  result.path_seed = options.path_seed;
  result.max_intermediate_bytes = options.max_intermediate_bytes;
  if (options.n_devices < 0 || (options.n_devices > 0 && options.devices == nullptr)) {
    throw InvalidArgument("options->n_devices is " + std::to_string(options.n_devices) +
                          (options.n_devices > 0 ? " but options->devices is NULL" : "") +
                          "; expected 0, or the count of the ordinals at options->devices");
  }
  result.devices.assign(options.devices, options.devices + options.n_devices);
  for (const int device : result.devices) {
    if (device < 0) {
      throw InvalidArgument("options->devices holds " + std::to_string(device) +
                            "; expected device ordinals (0 or more)");
    }
  }
  result.given_path = given_path_of(options);
  set_log(result, options);
  return result;
}

void fill_defaults(einstream_options& options) {
  const einstream::Options defaults;
  options = einstream_options{};
  options.device = defaults.device;
  if (defaults.memory_limit.kind == einstream::MemoryLimit::Kind::fraction) {
    options.memory_limit_kind = EINSTREAM_MEMORY_LIMIT_FRACTION;
    options.memory_limit_fraction = defaults.memory_limit.value;
  } else {
    options.memory_limit_kind = EINSTREAM_MEMORY_LIMIT_BYTES;
    options.memory_limit_bytes = static_cast<std::uint64_t>(defaults.memory_limit.value);
    options.memory_limit_fraction = 0.9;
  }
  // The C++ defaults are automatic path and backend, asserted by the tests.
  options.path = EINSTREAM_PATH_AUTO;
  options.backend = EINSTREAM_BACKEND_AUTO;
  options.register_host_memory = defaults.register_host_memory ? 1 : 0;
  options.allow_tf32 = defaults.allow_tf32 ? 1 : 0;
  options.path_seconds = defaults.path_seconds;
  options.path_trials = defaults.path_trials;
  options.path_seed = defaults.path_seed;
  options.max_intermediate_bytes = defaults.max_intermediate_bytes;
  options.log = nullptr;
  options.log_user_data = nullptr;
  options.log_level = static_cast<einstream_log_level>(defaults.log_level);
  options.devices = nullptr;
  options.n_devices = 0;
  options.given_path = nullptr;
  options.n_given_path_steps = 0;
}

// *array for `owned`'s tensor; `owned` passes to array->owner.
void fill_npy_array(std::unique_ptr<einstream::NpyArray> owned, einstream_npy_array& array) {
  const einstream::TensorDesc& desc = owned->desc;
  if (desc.rank() > EINSTREAM_MAX_RANK) {
    throw InvalidArgument("the file holds a rank-" + std::to_string(desc.rank()) +
                          " array; the C API takes ranks up to " +
                          std::to_string(EINSTREAM_MAX_RANK));
  }
  einstream_npy_array result{};
  result.dtype = to_c_dtype(desc.dtype);
  result.rank = static_cast<int32_t>(desc.rank());
  const std::vector<std::int64_t> strides = desc.effective_strides();
  std::copy(desc.extents.begin(), desc.extents.end(), result.extents);
  std::copy(strides.begin(), strides.end(), result.strides);
  result.data = owned->data.data();
  result.bytes = owned->data.size();
  result.owner = owned.release();
  array = result;
}

}  // namespace

extern "C" {

const char* einstream_last_error(void) { return last_error_message.c_str(); }

const char* einstream_version(void) { return einstream::version(); }

einstream_status einstream_options_init(einstream_options* options) {
  return guarded(__func__, [&] {
    require_pointer(options, "options");
    fill_defaults(*options);
  });
}

einstream_status einstream_options_set_log(einstream_options* options,
                                           einstream_log_callback callback, void* user_data,
                                           einstream_log_level level) {
  return guarded(__func__, [&] {
    require_pointer(options, "options");
    to_log_level(enum_value(level), "level");
    options->log = callback;
    options->log_user_data = user_data;
    options->log_level = level;
  });
}

einstream_status einstream_plan_create(const char* expression, int32_t n_inputs,
                                       const einstream_tensor_desc* inputs,
                                       const einstream_tensor_desc* output,
                                       const einstream_options* options, einstream_plan** plan) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan (the address to store the new plan at)");
    *plan = nullptr;
    require_pointer(expression, "expression");
    if (n_inputs < 0) {
      throw InvalidArgument("n_inputs is " + std::to_string(n_inputs) + "; expected 0 or more");
    }
    if (n_inputs > 0) require_pointer(inputs, "inputs (with n_inputs > 0)");
    std::vector<einstream::TensorDesc> input_descs;
    input_descs.reserve(static_cast<std::size_t>(n_inputs));
    for (int32_t i = 0; i < n_inputs; ++i) {
      input_descs.push_back(to_tensor_desc(inputs[i], "inputs[" + std::to_string(i) + "]"));
    }
    einstream_options c_options;
    if (options == nullptr) {
      fill_defaults(c_options);
      options = &c_options;
    }
    const einstream::Options cpp_options = to_options(*options);
    auto handle =
        output == nullptr
            ? new einstream_plan{einstream::Plan(expression, std::move(input_descs), cpp_options)}
            : new einstream_plan{einstream::Plan(expression, std::move(input_descs),
                                                 to_tensor_desc(*output, "output"), cpp_options)};
    *plan = handle;
  });
}

einstream_status einstream_plan_execute(einstream_plan* plan, const void* const* inputs,
                                        void* output, double alpha_real, double alpha_imag,
                                        double beta_real, double beta_imag, void* stream) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    if (stream != nullptr) {
      throw InvalidArgument(
          "stream is not NULL; streams are not supported yet (einstream runs on its own CUDA "
          "streams and execute returns when the output is written): synchronize your stream "
          "and pass NULL");
    }
    const auto n_inputs = plan->plan.inputs().size();
    if (n_inputs > 0) require_pointer(inputs, "inputs (the plan has inputs)");
    // A tensor with no elements is never read or written, so its pointer may
    // be NULL (as an empty std::vector's data() is).
    if (plan->plan.output().element_count() > 0) require_pointer(output, "output");
    std::vector<const void*> input_pointers(inputs, inputs + n_inputs);
    for (std::size_t i = 0; i < n_inputs; ++i) {
      if (input_pointers[i] == nullptr && plan->plan.inputs()[i].element_count() > 0) {
        throw InvalidArgument("inputs[" + std::to_string(i) + "] is NULL");
      }
    }
    plan->plan.execute(input_pointers, output, einstream::Scalar(alpha_real, alpha_imag),
                       einstream::Scalar(beta_real, beta_imag));
  });
}

einstream_status einstream_plan_explain(const einstream_plan* plan, char* buffer, size_t size,
                                        size_t* needed) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    if (size > 0) require_pointer(buffer, "buffer (with size > 0)");
    const std::string text = plan->plan.explain();
    if (needed != nullptr) *needed = text.size() + 1;
    if (size > 0) {
      const std::size_t length = std::min(text.size(), size - 1);
      std::memcpy(buffer, text.data(), length);
      buffer[length] = '\0';
    }
  });
}

einstream_status einstream_plan_output_rank(const einstream_plan* plan, int32_t* rank) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    require_pointer(rank, "rank");
    *rank = static_cast<int32_t>(plan->plan.output().rank());
  });
}

einstream_status einstream_plan_output_extents(const einstream_plan* plan, int64_t* extents,
                                               int32_t capacity) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    const auto& output_extents = plan->plan.output().extents;
    if (capacity < static_cast<int32_t>(output_extents.size())) {
      throw InvalidArgument("capacity is " + std::to_string(capacity) +
                            " but the output has rank " + std::to_string(output_extents.size()));
    }
    if (!output_extents.empty()) require_pointer(extents, "extents");
    std::copy(output_extents.begin(), output_extents.end(), extents);
  });
}

einstream_status einstream_plan_output_dtype(const einstream_plan* plan, einstream_dtype* dtype) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    require_pointer(dtype, "dtype");
    *dtype = to_c_dtype(plan->plan.output().dtype);
  });
}

einstream_status einstream_plan_path(const einstream_plan* plan, int32_t* pairs, int32_t capacity,
                                     int32_t* n_steps) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    require_pointer(n_steps, "n_steps");
    if (capacity < 0) {
      throw InvalidArgument("capacity is " + std::to_string(capacity) + "; expected 0 or more");
    }
    if (capacity > 0) require_pointer(pairs, "pairs (with capacity > 0)");
    const std::vector<std::vector<int>>& path = plan->plan.path().path;
    *n_steps = static_cast<int32_t>(path.size());
    const std::size_t written = std::min(path.size(), static_cast<std::size_t>(capacity));
    for (std::size_t step = 0; step < written; ++step) {
      pairs[2 * step] = path[step][0];
      pairs[2 * step + 1] = path[step].size() > 1 ? path[step][1] : -1;
    }
  });
}

einstream_status einstream_plan_workspace_bytes(const einstream_plan* plan, uint64_t* bytes) {
  return guarded(__func__, [&] {
    require_pointer(plan, "plan");
    require_pointer(bytes, "bytes");
    *bytes = plan->plan.workspace_bytes();
  });
}

einstream_status einstream_plan_destroy(einstream_plan* plan) {
  return guarded(__func__, [&] { delete plan; });
}

einstream_status einstream_read_npy(const char* path, einstream_npy_array* array) {
  return guarded(__func__, [&] {
    require_pointer(path, "path");
    require_pointer(array, "array");
    fill_npy_array(std::make_unique<einstream::NpyArray>(einstream::read_npy(path)), *array);
  });
}

einstream_status einstream_npy_array_free(einstream_npy_array* array) {
  return guarded(__func__, [&] {
    if (array == nullptr) return;
    delete static_cast<einstream::NpyArray*>(array->owner);
    *array = einstream_npy_array{};
  });
}

einstream_status einstream_write_npy(const char* path, const einstream_tensor_desc* desc,
                                     const void* data) {
  return guarded(__func__, [&] {
    require_pointer(path, "path");
    require_pointer(desc, "desc");
    const einstream::TensorDesc tensor = to_tensor_desc(*desc, "desc");
    if (data == nullptr && tensor.element_count() > 0) throw InvalidArgument("data is NULL");
    einstream::write_npy(path, tensor, data);
  });
}

}  // extern "C"
