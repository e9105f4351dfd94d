#include "einstream/tensor.hpp"

#include <gtest/gtest.h>

#include "einstream/error.hpp"

namespace einstream {
namespace {

TEST(Tensor, DataTypesHaveTheirElementSizesAndNames) {
  EXPECT_EQ(size_of(DataType::f32), 4u);
  EXPECT_EQ(size_of(DataType::f64), 8u);
  EXPECT_EQ(size_of(DataType::c64), 8u);
  EXPECT_EQ(size_of(DataType::c128), 16u);
  EXPECT_EQ(size_of(DataType::f16), 2u);
  EXPECT_EQ(size_of(DataType::bf16), 2u);
  for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128, DataType::f16,
                         DataType::bf16}) {
    EXPECT_EQ(data_type_from_string(to_string(dtype)), dtype);
  }
  EXPECT_TRUE(is_complex(DataType::c64));
  EXPECT_FALSE(is_complex(DataType::f64));
  EXPECT_FALSE(is_supported(DataType::f16));
  EXPECT_FALSE(is_supported(DataType::bf16));
  EXPECT_TRUE(is_supported(DataType::c128));
}

TEST(Tensor, UnknownDataTypeNameIsAnErrorListingTheChoices) {
  try {
    data_type_from_string("int32");
    FAIL() << "no exception";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("int32"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("f32, f64, c64, c128"), std::string::npos);
  }
}

TEST(Tensor, DataTypeOfMapsCppTypes) {
  static_assert(data_type_of<float>() == DataType::f32);
  static_assert(data_type_of<double>() == DataType::f64);
  static_assert(data_type_of<std::complex<float>>() == DataType::c64);
  static_assert(data_type_of<std::complex<double>>() == DataType::c128);
  float value = 0;
  const TensorView view_of_value = view(&value, {});
  EXPECT_EQ(view_of_value.desc.dtype, DataType::f32);
  EXPECT_EQ(view_of_value.desc.rank(), 0);
}

TEST(Tensor, ElementCountMultipliesExtentsAndTreatsScalarsAsOne) {
  EXPECT_EQ(TensorDesc(DataType::f32, {2, 3, 4}).element_count(), 24);
  EXPECT_EQ(TensorDesc(DataType::f32, {}).element_count(), 1);
  EXPECT_EQ(TensorDesc(DataType::f32, {5, 0, 7}).element_count(), 0);
}

TEST(Tensor, ElementCountOverflowIsAShapeError) {
  const TensorDesc huge(DataType::f32, {1 << 30, 1 << 30, 1 << 30});
  EXPECT_THROW(huge.element_count(), ShapeError);
  EXPECT_THROW(TensorDesc(DataType::f32, {-1}).element_count(), ShapeError);
}

TEST(Tensor, COrderStridesAreRowMajor) {
  EXPECT_EQ(c_order_strides({2, 3, 4}), (std::vector<std::int64_t>{12, 4, 1}));
  EXPECT_EQ(c_order_strides({}), (std::vector<std::int64_t>{}));
  EXPECT_EQ(TensorDesc(DataType::f64, {2, 3}).effective_strides(),
            (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(TensorDesc(DataType::f64, {2, 3}, {1, 2}).effective_strides(),
            (std::vector<std::int64_t>{1, 2}));
}

TEST(Tensor, ContiguityIgnoresStridesOfUnitAxes) {
  EXPECT_TRUE(TensorDesc(DataType::f32, {2, 3}).is_c_contiguous());
  EXPECT_TRUE(TensorDesc(DataType::f32, {2, 1, 3}, {3, 99, 1}).is_c_contiguous());
  EXPECT_FALSE(TensorDesc(DataType::f32, {2, 3}, {1, 2}).is_c_contiguous());
}

TEST(Tensor, ToStringShowsTypeExtentsAndStrides) {
  EXPECT_EQ(to_string(TensorDesc(DataType::c64, {2, 3})), "c64[2,3]");
  EXPECT_EQ(to_string(TensorDesc(DataType::f64, {2, 3}, {1, 2})), "f64[2,3] strides [1,2]");
  EXPECT_EQ(to_string(TensorDesc(DataType::f32, {})), "f32[]");
}

}  // namespace
}  // namespace einstream
