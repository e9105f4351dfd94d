// Tests for the public .npy functions (include/einstream/npy.hpp) as a user
// calls them through the umbrella header: random tensors saved, read back
// and contracted, checked against the reference executor. The format's
// details (NumPy's bytes, malformed files) are tested in npy_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "einstream/einstream.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

namespace fs = std::filesystem;

class NpyPublic : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("einstream_npy_public_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(NpyPublic, SavedTensorsReadBackAndContractAsTheReferenceDoes) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128}) {
    SCOPED_TRACE(to_string(dtype));
    const std::vector<std::vector<std::int64_t>> shapes = {{3, 4}, {4, 5}};
    std::vector<std::vector<unsigned char>> originals;
    std::vector<NpyArray> arrays;
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const TensorDesc desc(dtype, shapes[k]);
      originals.push_back(testing::random_tensor(dtype, desc.element_count(), random));
      const std::string file = path("input" + std::to_string(k) + ".npy");
      write_npy(file, ConstTensorView(originals.back().data(), desc));
      arrays.push_back(read_npy(file));
      EXPECT_EQ(arrays.back().data, originals.back());
      EXPECT_EQ(arrays.back().desc.extents, shapes[k]);
      EXPECT_EQ(arrays.back().desc.dtype, dtype);
    }
    Options options;
    options.backend = Backend::host;
    Plan plan("ij,jk->ik", {arrays[0].desc, arrays[1].desc}, options);
    std::vector<unsigned char> actual(plan.output().element_count() * size_of(dtype));
    plan.execute({arrays[0].view().data, arrays[1].view().data}, actual.data());
    write_npy(path("output.npy"), plan.output(), actual.data());
    const NpyArray saved = read_npy(path("output.npy"));
    EXPECT_EQ(saved.data, actual);

    std::vector<unsigned char> expected(actual.size());
    const detail::Problem problem = detail::parse("ij,jk->ik", shapes);
    detail::reference_einsum(problem,
                             {{originals[0].data(), dtype, c_order_strides(shapes[0])},
                              {originals[1].data(), dtype, c_order_strides(shapes[1])}},
                             {expected.data(), dtype, c_order_strides({3, 5})});
    EXPECT_LE(testing::relative_error(dtype, actual.data(), expected.data(), 15),
              testing::tolerance(dtype));
  }
}

TEST_F(NpyPublic, StridedViewIsSavedInCOrder) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::vector<unsigned char> bytes = testing::random_tensor(DataType::f64, 6, random);
  const auto* values = reinterpret_cast<const double*>(bytes.data());
  // The transpose of a 2x3 C-order matrix: a 3x2 view with strides (1, 3).
  write_npy(path("t.npy"), view(values, {3, 2}, {1, 3}));
  const NpyArray array = read_npy(path("t.npy"));
  ASSERT_EQ(array.desc.extents, (std::vector<std::int64_t>{3, 2}));
  EXPECT_TRUE(array.desc.strides.empty());
  const auto* read = reinterpret_cast<const double*>(array.data.data());
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 2; ++j) EXPECT_EQ(read[i * 2 + j], values[j * 3 + i]);
  }
}

TEST_F(NpyPublic, MissingFileAndOverflowingShapeAreErrorsNamingTheFile) {
  const std::string missing = path("missing.npy");
  try {
    read_npy(missing);
    ADD_FAILURE() << "expected Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(missing), std::string::npos) << error.what();
  }
  // 2^62 elements of 8 bytes: the byte count overflows 64 bits.
  const TensorDesc huge(DataType::f64, {std::int64_t{1} << 31, std::int64_t{1} << 31});
  const double value = 0;
  EXPECT_THROW(write_npy(path("huge.npy"), huge, &value), Error);
  EXPECT_FALSE(fs::exists(path("huge.npy")));
}

}  // namespace
}  // namespace einstream
