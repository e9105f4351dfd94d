// Tests for the C API's log callback and .npy functions
// (include/einstream/einstream.h): messages reach a C callback with its
// user data, levels are checked, and random tensors saved and read through
// the C API contract as the C++ API does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "einstream/einstream.h"
#include "einstream/einstream.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

struct Heard {
  std::vector<std::pair<einstream_log_level, std::string>> messages;
};

extern "C" void remember(einstream_log_level level, const char* message, void* user_data) {
  static_cast<Heard*>(user_data)->messages.emplace_back(level, message);
}

int count(const Heard& heard, einstream_log_level level, const std::string& part) {
  int found = 0;
  for (const auto& [at, message] : heard.messages) {
    found += at == level && message.find(part) != std::string::npos;
  }
  return found;
}

TEST(CApiLog, MessagesReachTheCallbackWithItsUserDataAtTheLevelSet) {
  const std::int64_t extents[2] = {8, 8};
  const einstream_tensor_desc inputs[2] = {{EINSTREAM_F64, 2, extents, nullptr},
                                           {EINSTREAM_F64, 2, extents, nullptr}};
  einstream_options options;
  ASSERT_EQ(einstream_options_init(&options), EINSTREAM_OK);
  EXPECT_EQ(options.log, nullptr);
  EXPECT_EQ(options.log_level, EINSTREAM_LOG_INFO);
  options.backend = EINSTREAM_BACKEND_HOST;
  Heard heard;
  ASSERT_EQ(einstream_options_set_log(&options, remember, &heard, EINSTREAM_LOG_DEBUG),
            EINSTREAM_OK);
  einstream_plan* plan = nullptr;
  ASSERT_EQ(einstream_plan_create("ij,jk->ik", 2, inputs, nullptr, &options, &plan), EINSTREAM_OK)
      << einstream_last_error();
  EXPECT_EQ(count(heard, EINSTREAM_LOG_DEBUG, "plan 'ij,jk->ik': path auto found in "), 1);

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::vector<unsigned char> a = testing::random_tensor(DataType::f64, 64, random);
  const std::vector<unsigned char> b = testing::random_tensor(DataType::f64, 64, random);
  std::vector<double> c(64), expected(64);
  const void* pointers[2] = {a.data(), b.data()};
  ASSERT_EQ(einstream_plan_execute(plan, pointers, c.data(), 1, 0, 0, 0, nullptr), EINSTREAM_OK);
  einstream_plan_destroy(plan);
  EXPECT_EQ(count(heard, EINSTREAM_LOG_INFO, "execute on host: 1 block"), 1);
  EXPECT_EQ(count(heard, EINSTREAM_LOG_INFO, "execute on host: done in "), 1);

  Options cpp_options;
  cpp_options.backend = Backend::host;
  einsum("ij,jk->ik",
         {ConstTensorView(a.data(), TensorDesc(DataType::f64, {8, 8})),
          ConstTensorView(b.data(), TensorDesc(DataType::f64, {8, 8}))},
         view(expected.data(), {8, 8}), cpp_options);
  EXPECT_EQ(c, expected);
}

TEST(CApiLog, ALevelOutOfRangeIsAnInvalidArgumentNamingTheLevels) {
  einstream_options options;
  einstream_options_init(&options);
  Heard heard;
  EXPECT_EQ(
      einstream_options_set_log(&options, remember, &heard, static_cast<einstream_log_level>(7)),
      EINSTREAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(einstream_last_error()).find("level is 7; expected EINSTREAM_LOG_ERROR"),
            std::string::npos)
      << einstream_last_error();
  EXPECT_EQ(options.log, nullptr);  // unchanged
  EXPECT_EQ(einstream_options_set_log(nullptr, remember, &heard, EINSTREAM_LOG_INFO),
            EINSTREAM_INVALID_ARGUMENT);
}

class CApiNpy : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("einstream_c_api_npy_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(CApiNpy, WrittenTensorsReadBackAsTheCppApiReadsThem) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::vector<unsigned char> data = testing::random_tensor(DataType::c64, 12, random);
  // A transposed view: a 4x3 tensor with strides (1, 4) over 3x4 storage.
  const std::int64_t extents[2] = {4, 3};
  const std::int64_t strides[2] = {1, 4};
  const einstream_tensor_desc desc = {EINSTREAM_C64, 2, extents, strides};
  ASSERT_EQ(einstream_write_npy(path("t.npy").c_str(), &desc, data.data()), EINSTREAM_OK)
      << einstream_last_error();
  einstream_npy_array array;
  ASSERT_EQ(einstream_read_npy(path("t.npy").c_str(), &array), EINSTREAM_OK)
      << einstream_last_error();
  const NpyArray cpp = read_npy(path("t.npy"));
  EXPECT_EQ(array.dtype, EINSTREAM_C64);
  ASSERT_EQ(array.rank, 2);
  EXPECT_EQ(array.extents[0], 4);
  EXPECT_EQ(array.extents[1], 3);
  EXPECT_EQ(array.strides[0], 3);  // C order
  EXPECT_EQ(array.strides[1], 1);
  ASSERT_EQ(array.bytes, cpp.data.size());
  EXPECT_EQ(std::memcmp(array.data, cpp.data.data(), cpp.data.size()), 0);
  const auto* source = reinterpret_cast<const std::complex<float>*>(data.data());
  const auto* read = static_cast<const std::complex<float>*>(array.data);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(read[i * 3 + j], source[i + 4 * j]);
  }
  EXPECT_EQ(einstream_npy_array_free(&array), EINSTREAM_OK);
  EXPECT_EQ(array.data, nullptr);
  EXPECT_EQ(einstream_npy_array_free(&array), EINSTREAM_OK);  // freeing twice is harmless
}

TEST_F(CApiNpy, MissingFilesAndNullArgumentsAreErrors) {
  einstream_npy_array array;
  EXPECT_EQ(einstream_read_npy(path("missing.npy").c_str(), &array), EINSTREAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(einstream_last_error()).find("missing.npy"), std::string::npos)
      << einstream_last_error();
  EXPECT_EQ(einstream_read_npy(nullptr, &array), EINSTREAM_INVALID_ARGUMENT);
  const std::int64_t extents[1] = {3};
  const einstream_tensor_desc desc = {EINSTREAM_F32, 1, extents, nullptr};
  EXPECT_EQ(einstream_write_npy(path("x.npy").c_str(), &desc, nullptr), EINSTREAM_INVALID_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(path("x.npy")));
}

}  // namespace
}  // namespace einstream
