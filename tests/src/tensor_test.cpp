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
  for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128, DataType::f16,
                         DataType::bf16}) {
    EXPECT_TRUE(is_supported(dtype)) << to_string(dtype);
    EXPECT_EQ(is_half_precision(dtype), dtype == DataType::f16 || dtype == DataType::bf16)
        << to_string(dtype);
  }
  EXPECT_FALSE(is_supported(static_cast<DataType>(6)));
}

TEST(Tensor, UnknownDataTypeNameIsAnErrorListingTheChoices) {
  try {
    data_type_from_string("int32");
    FAIL() << "no exception";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("int32"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("f32, f64, c64, c128, f16, bf16"), std::string::npos);
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

// span(): the smallest buffer holding every element, and where element
// (0, ..., 0) sits in it, checked element by element against every offset.
TEST(TensorDesc, SpanCoversEveryElementFromItsOrigin) {
  const std::vector<TensorDesc> descs = {
      TensorDesc(DataType::f32, {3, 4}),                   // C order: 12, origin 0
      TensorDesc(DataType::f64, {3, 4}, {1, 3}),           // Fortran order
      TensorDesc(DataType::f32, {3, 4}, {-4, 1}),          // a reversed axis
      TensorDesc(DataType::c64, {2, 3, 2}, {-1, 10, -3}),  // gaps and two reversals
      TensorDesc(DataType::f32, {5, 1}, {0, 7}),           // broadcast; extent 1 never moves
      TensorDesc(DataType::f32, {})};                      // a scalar
  const std::vector<TensorSpan> expected = {{12, 0}, {12, 0}, {12, 8}, {25, 4}, {1, 0}, {1, 0}};
  for (std::size_t index = 0; index < descs.size(); ++index) {
    const TensorDesc& desc = descs[index];
    SCOPED_TRACE(to_string(desc));
    const TensorSpan span = desc.span();
    EXPECT_EQ(span.elements, expected[index].elements);
    EXPECT_EQ(span.origin, expected[index].origin);
    // Every element's offset from the origin lies in [0, elements), and the
    // lowest and highest are reached.
    const std::vector<std::int64_t> strides = desc.effective_strides();
    std::int64_t low = 0, high = 0;
    std::vector<std::int64_t> index_of(desc.extents.size(), 0);
    for (std::int64_t element = 0; element < desc.element_count(); ++element) {
      std::int64_t offset = span.origin;
      for (std::size_t axis = 0; axis < index_of.size(); ++axis)
        offset += index_of[axis] * strides[axis];
      EXPECT_GE(offset, 0);
      EXPECT_LT(offset, span.elements);
      low = element == 0 ? offset : std::min(low, offset);
      high = element == 0 ? offset : std::max(high, offset);
      for (std::size_t axis = index_of.size(); axis-- > 0;) {
        if (++index_of[axis] < desc.extents[axis]) break;
        index_of[axis] = 0;
      }
    }
    EXPECT_EQ(low, 0);
    EXPECT_EQ(high, span.elements - 1);
  }
  EXPECT_EQ(TensorDesc(DataType::f32, {0, 4}).span().elements, 0);
  const std::int64_t huge = std::int64_t{1} << 62;
  EXPECT_THROW(TensorDesc(DataType::f32, {3, 2}, {huge, -huge}).span(), ShapeError);
}

}  // namespace
}  // namespace einstream
