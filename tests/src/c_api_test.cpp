// The C API against the C++ API it wraps: on random problems (every dtype,
// ellipses, diagonals, zero extents, Fortran-order outputs) a C plan gives
// the C++ Plan's output and, where the C++ Plan throws, the status code of
// that exception's type.
#include "einstream/einstream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "einstream/einstream.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/random_problems.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::random_problem;
using testing::random_tensor;
using testing::tolerance;

einstream_dtype c_dtype(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
      return EINSTREAM_F32;
    case DataType::f64:
      return EINSTREAM_F64;
    case DataType::c64:
      return EINSTREAM_C64;
    case DataType::c128:
      return EINSTREAM_C128;
    case DataType::f16:
      return EINSTREAM_F16;
    case DataType::bf16:
      return EINSTREAM_BF16;
  }
  ADD_FAILURE() << "no C dtype for DataType value " << static_cast<int>(dtype);
  return EINSTREAM_F32;
}

einstream_tensor_desc c_desc(const TensorDesc& desc) {
  return {c_dtype(desc.dtype), desc.rank(), desc.extents.data(),
          desc.strides.empty() ? nullptr : desc.strides.data()};
}

// The status the C API promises for each exception type of the C++ API.
einstream_status status_of(const std::exception_ptr& thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const ParseError&) {
    return EINSTREAM_PARSE_ERROR;
  } catch (const ShapeError&) {
    return EINSTREAM_SHAPE_ERROR;
  } catch (const MemoryError&) {
    return EINSTREAM_MEMORY_ERROR;
  } catch (const CudaError&) {
    return EINSTREAM_CUDA_ERROR;
  } catch (const Error&) {
    return EINSTREAM_INVALID_ARGUMENT;
  } catch (...) {
    return EINSTREAM_INTERNAL_ERROR;
  }
}

// explain() without the path search's wall time, which differs between two
// plans of one problem.
std::string without_timing(const std::string& text) {
  std::string result;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(begin, end - begin);
    if (line.find("found in") == std::string::npos) result += line;
    begin = end;
  }
  return result;
}

std::vector<std::int64_t> fortran_strides(const std::vector<std::int64_t>& extents) {
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    strides[axis] = stride;
    stride *= std::max<std::int64_t>(extents[axis], 1);
  }
  return strides;
}

TEST(CApi, RandomProblemsMatchTheCppApi) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("CApi.RandomProblemsMatchTheCppApi seed %u\n", seed);
  std::mt19937 random(seed);
  int executed = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto problem = random_problem(random);
    const DataType dtype = testing::kDataTypes[random() % testing::kDataTypeCount];
    SCOPED_TRACE(problem.expression + " " + to_string(dtype));
    Options options;
    options.backend = Backend::host;
    std::vector<TensorDesc> inputs;
    for (const auto& shape : problem.shapes) inputs.emplace_back(dtype, shape);
    std::vector<einstream_tensor_desc> c_inputs;
    for (const auto& desc : inputs) c_inputs.push_back(c_desc(desc));
    einstream_options c_options;
    ASSERT_EQ(einstream_options_init(&c_options), EINSTREAM_OK);
    c_options.backend = EINSTREAM_BACKEND_HOST;

    std::unique_ptr<Plan> plan;
    std::exception_ptr thrown;
    try {
      plan = std::make_unique<Plan>(problem.expression, inputs, options);
    } catch (...) {
      thrown = std::current_exception();
    }
    einstream_plan* c_plan = nullptr;
    const einstream_status status =
        einstream_plan_create(problem.expression.c_str(), static_cast<int32_t>(c_inputs.size()),
                              c_inputs.data(), nullptr, &c_options, &c_plan);
    if (thrown) {
      EXPECT_EQ(status, status_of(thrown)) << einstream_last_error();
      EXPECT_EQ(c_plan, nullptr);
      continue;
    }
    ASSERT_EQ(status, EINSTREAM_OK) << einstream_last_error();

    // Write the C result in Fortran order half the time: the output
    // descriptor's strides must be honoured.
    const TensorDesc& output = plan->output();
    const bool fortran_output = random() % 2 == 0 && output.rank() > 1;
    if (fortran_output) {
      einstream_plan_destroy(c_plan);
      c_plan = nullptr;
      const auto strides = fortran_strides(output.extents);
      const einstream_tensor_desc c_output{c_dtype(dtype), output.rank(), output.extents.data(),
                                           strides.data()};
      ASSERT_EQ(
          einstream_plan_create(problem.expression.c_str(), static_cast<int32_t>(c_inputs.size()),
                                c_inputs.data(), &c_output, &c_options, &c_plan),
          EINSTREAM_OK)
          << einstream_last_error();
    }
    int32_t rank = -1;
    ASSERT_EQ(einstream_plan_output_rank(c_plan, &rank), EINSTREAM_OK);
    EXPECT_EQ(rank, output.rank());
    std::vector<std::int64_t> extents(static_cast<std::size_t>(rank));
    ASSERT_EQ(einstream_plan_output_extents(c_plan, extents.data(), rank), EINSTREAM_OK);
    EXPECT_EQ(extents, output.extents);
    std::uint64_t workspace = 0;
    ASSERT_EQ(einstream_plan_workspace_bytes(c_plan, &workspace), EINSTREAM_OK);
    // A Fortran-order output is another program, with other intermediates.
    if (!fortran_output) {
      EXPECT_EQ(workspace, plan->workspace_bytes());
    }

    std::vector<std::vector<unsigned char>> data;
    std::vector<const void*> pointers;
    for (const auto& desc : inputs) {
      data.push_back(random_tensor(dtype, desc.element_count(), random));
      pointers.push_back(data.back().data());
    }
    const std::int64_t count = output.element_count();
    const auto initial = random_tensor(dtype, count, random);
    auto expected = initial;
    auto actual = initial;
    const bool complex = is_complex(dtype);
    const Scalar alpha(0.5, complex ? 0.25 : 0.0);
    const Scalar beta(-1.5, complex ? 2.0 : 0.0);
    plan->execute(pointers, expected.data(), alpha, beta);
    if (fortran_output) {
      // Read the C output in Fortran order back into C order to compare.
      auto fortran = initial;
      const auto strides = fortran_strides(output.extents);
      const std::size_t element = size_of(dtype);
      for (std::int64_t index = 0; index < count; ++index) {
        std::int64_t rest = index, offset = 0;
        for (int axis = rank - 1; axis >= 0; --axis) {
          const auto extent = output.extents[static_cast<std::size_t>(axis)];
          offset += (rest % extent) * strides[static_cast<std::size_t>(axis)];
          rest /= extent;
        }
        std::memcpy(fortran.data() + offset * element, initial.data() + index * element, element);
      }
      ASSERT_EQ(einstream_plan_execute(c_plan, pointers.data(), fortran.data(), alpha.real(),
                                       alpha.imag(), beta.real(), beta.imag(), nullptr),
                EINSTREAM_OK)
          << einstream_last_error();
      for (std::int64_t index = 0; index < count; ++index) {
        std::int64_t rest = index, offset = 0;
        for (int axis = rank - 1; axis >= 0; --axis) {
          const auto extent = output.extents[static_cast<std::size_t>(axis)];
          offset += (rest % extent) * strides[static_cast<std::size_t>(axis)];
          rest /= extent;
        }
        std::memcpy(actual.data() + index * element, fortran.data() + offset * element, element);
      }
    } else {
      ASSERT_EQ(einstream_plan_execute(c_plan, pointers.data(), actual.data(), alpha.real(),
                                       alpha.imag(), beta.real(), beta.imag(), nullptr),
                EINSTREAM_OK)
          << einstream_last_error();
    }
    const double bound = testing::terms_bound(problem.expression, inputs, pointers, output,
                                              initial.data(), alpha, beta);
    EXPECT_LE(testing::error_against_reference(dtype, actual.data(), expected.data(), count, bound),
              tolerance(dtype));

    std::size_t needed = 0;
    ASSERT_EQ(einstream_plan_explain(c_plan, nullptr, 0, &needed), EINSTREAM_OK);
    std::string text(needed, '\0');
    ASSERT_EQ(einstream_plan_explain(c_plan, text.data(), text.size(), nullptr), EINSTREAM_OK);
    text.pop_back();
    if (!fortran_output) {
      EXPECT_EQ(without_timing(text), without_timing(plan->explain()));
    }
    EXPECT_EQ(einstream_plan_destroy(c_plan), EINSTREAM_OK);
    ++executed;
  }
  EXPECT_GT(executed, 100);
}

TEST(CApi, LastErrorIsPerThread) {
  const std::int64_t extent = 3;
  const einstream_tensor_desc input{EINSTREAM_F32, 1, &extent, nullptr};
  einstream_plan* plan = nullptr;
  ASSERT_EQ(einstream_plan_create("i!", 1, &input, nullptr, nullptr, &plan), EINSTREAM_PARSE_ERROR);
  const std::string here = einstream_last_error();
  std::string there = "unset";
  std::thread other([&] {
    there = einstream_last_error();
    einstream_options_init(nullptr);
  });
  other.join();
  EXPECT_EQ(there, "");
  EXPECT_EQ(einstream_last_error(), here);
}

TEST(CApi, DefaultsMatchTheCppOptions) {
  einstream_options options;
  std::memset(&options, 0xff, sizeof options);
  ASSERT_EQ(einstream_options_init(&options), EINSTREAM_OK);
  const Options defaults;
  EXPECT_EQ(options.device, defaults.device);
  EXPECT_EQ(options.memory_limit_kind, EINSTREAM_MEMORY_LIMIT_FRACTION);
  EXPECT_EQ(options.memory_limit_fraction, defaults.memory_limit.value);
  EXPECT_EQ(options.path, EINSTREAM_PATH_AUTO);
  EXPECT_EQ(defaults.path, PathAlgorithm::automatic);
  EXPECT_EQ(options.backend, EINSTREAM_BACKEND_AUTO);
  EXPECT_EQ(defaults.backend, Backend::automatic);
  EXPECT_EQ(options.path_seconds, defaults.path_seconds);
  EXPECT_EQ(options.path_trials, defaults.path_trials);
  EXPECT_EQ(options.path_seed, defaults.path_seed);
  EXPECT_EQ(options.max_intermediate_bytes, defaults.max_intermediate_bytes);
  EXPECT_EQ(options.allow_tf32, 0);
  EXPECT_EQ(options.register_host_memory, 0);
  EXPECT_EQ(options.devices, nullptr);
  EXPECT_EQ(options.n_devices, 0);
  EXPECT_TRUE(defaults.devices.empty());
}

// options->devices: a list is copied at plan creation (the host backend
// ignores it); a negative count, a count without a list and a negative
// ordinal are invalid arguments naming the field.
TEST(CApi, DeviceListsAreCheckedAndCopied) {
  const std::int64_t extents[2] = {4, 4};
  const einstream_tensor_desc inputs[2] = {{EINSTREAM_F64, 2, extents, nullptr},
                                           {EINSTREAM_F64, 2, extents, nullptr}};
  einstream_options options;
  einstream_options_init(&options);
  options.backend = EINSTREAM_BACKEND_HOST;
  std::int32_t devices[2] = {0, 0};
  options.devices = devices;
  options.n_devices = 2;
  einstream_plan* plan = nullptr;
  ASSERT_EQ(einstream_plan_create("ij,jk->ik", 2, inputs, nullptr, &options, &plan), EINSTREAM_OK)
      << einstream_last_error();
  einstream_plan_destroy(plan);
  const auto fails_with = [&](const char* part) {
    einstream_plan* refused = nullptr;
    EXPECT_EQ(einstream_plan_create("ij,jk->ik", 2, inputs, nullptr, &options, &refused),
              EINSTREAM_INVALID_ARGUMENT);
    EXPECT_EQ(refused, nullptr);
    EXPECT_NE(std::string(einstream_last_error()).find(part), std::string::npos)
        << einstream_last_error();
  };
  options.n_devices = -1;
  fails_with("options->n_devices is -1");
  options.n_devices = 2;
  options.devices = nullptr;
  fails_with("options->devices is NULL");
  devices[1] = -3;
  options.devices = devices;
  fails_with("options->devices holds -3");
}

// A plan's path read back in pairs, given back as options.given_path, and
// bad pairs refused with the field or step named.
TEST(CApi, GivenPathsAreCheckedAndReadBack) {
  const std::int64_t square[2] = {100, 100};
  const std::int64_t vector[1] = {100};
  const einstream_tensor_desc inputs[3] = {{EINSTREAM_F64, 2, square, nullptr},
                                           {EINSTREAM_F64, 2, square, nullptr},
                                           {EINSTREAM_F64, 1, vector, nullptr}};
  einstream_options options;
  einstream_options_init(&options);
  EXPECT_EQ(options.given_path, nullptr);
  EXPECT_EQ(options.n_given_path_steps, 0);
  options.backend = EINSTREAM_BACKEND_HOST;
  const auto path_of = [&](const einstream_options& with) {
    einstream_plan* plan = nullptr;
    EXPECT_EQ(einstream_plan_create("ij,jk,k->i", 3, inputs, nullptr, &with, &plan), EINSTREAM_OK)
        << einstream_last_error();
    std::int32_t steps = -1;
    EXPECT_EQ(einstream_plan_path(plan, nullptr, 0, &steps), EINSTREAM_OK);
    std::vector<std::int32_t> pairs(2 * static_cast<std::size_t>(std::max(steps, 0)), 7);
    EXPECT_EQ(einstream_plan_path(plan, pairs.data(), steps, &steps), EINSTREAM_OK);
    einstream_plan_destroy(plan);
    return pairs;
  };
  // The search: jk,k first.
  EXPECT_EQ(path_of(options), (std::vector<std::int32_t>{1, 2, 0, 1}));
  // Left to right, with a one-operand step first (a no-op reduction).
  const std::int32_t given[6] = {0, -1, 0, 1, 0, 1};
  options.given_path = given;
  options.n_given_path_steps = 3;
  EXPECT_EQ(path_of(options), (std::vector<std::int32_t>{0, -1, 0, 1, 0, 1}));

  einstream_plan* plan = nullptr;
  ASSERT_EQ(einstream_plan_create("ij,jk,k->i", 3, inputs, nullptr, &options, &plan), EINSTREAM_OK);
  std::int32_t first[2] = {9, 9};
  std::int32_t steps = 0;
  EXPECT_EQ(einstream_plan_path(plan, first, 1, &steps), EINSTREAM_OK);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(first[0], 0);
  EXPECT_EQ(first[1], -1);
  EXPECT_EQ(einstream_plan_path(plan, first, 1, nullptr), EINSTREAM_INVALID_ARGUMENT);
  EXPECT_EQ(einstream_plan_path(plan, nullptr, 1, &steps), EINSTREAM_INVALID_ARGUMENT);
  EXPECT_EQ(einstream_plan_path(plan, first, -1, &steps), EINSTREAM_INVALID_ARGUMENT);
  einstream_plan_destroy(plan);

  const auto fails_with = [&](const char* part) {
    einstream_plan* refused = nullptr;
    EXPECT_EQ(einstream_plan_create("ij,jk,k->i", 3, inputs, nullptr, &options, &refused),
              EINSTREAM_INVALID_ARGUMENT);
    EXPECT_EQ(refused, nullptr);
    EXPECT_NE(std::string(einstream_last_error()).find(part), std::string::npos)
        << einstream_last_error();
  };
  options.n_given_path_steps = -1;
  fails_with("options->n_given_path_steps is -1");
  options.n_given_path_steps = 2;
  options.given_path = nullptr;
  fails_with("options->given_path is NULL");
  const std::int32_t out_of_range[4] = {0, 1, 0, 2};
  options.given_path = out_of_range;
  fails_with("given_path step 1 names operand 2");
  options.n_given_path_steps = 1;
  fails_with("given_path leaves 2 operands uncontracted");
}

TEST(CApi, MemoryLimitInBytesReachesThePlan) {
  const std::int64_t extents[2] = {64, 64};
  const einstream_tensor_desc inputs[2] = {{EINSTREAM_F64, 2, extents, nullptr},
                                           {EINSTREAM_F64, 2, extents, nullptr}};
  einstream_options options;
  einstream_options_init(&options);
  options.backend = EINSTREAM_BACKEND_HOST;
  options.memory_limit_kind = EINSTREAM_MEMORY_LIMIT_BYTES;
  options.memory_limit_bytes = 12345;
  einstream_plan* plan = nullptr;
  ASSERT_EQ(einstream_plan_create("ij,jk->ik", 2, inputs, nullptr, &options, &plan), EINSTREAM_OK)
      << einstream_last_error();
  Options cpp_options;
  cpp_options.backend = Backend::host;
  cpp_options.memory_limit = MemoryLimit::from_bytes(12345);
  Plan cpp_plan("ij,jk->ik",
                {TensorDesc(DataType::f64, {64, 64}), TensorDesc(DataType::f64, {64, 64})},
                cpp_options);
  std::size_t needed = 0;
  ASSERT_EQ(einstream_plan_explain(plan, nullptr, 0, &needed), EINSTREAM_OK);
  std::string text(needed, '\0');
  ASSERT_EQ(einstream_plan_explain(plan, text.data(), needed, nullptr), EINSTREAM_OK);
  text.pop_back();
  EXPECT_EQ(without_timing(text), without_timing(cpp_plan.explain()));
  einstream_plan_destroy(plan);
}

}  // namespace
}  // namespace einstream
