// The cuBLAS GEMM wrapper: how each strided matrix is read (no GPU needed),
// and batched products in every orientation of A, B and C against a host loop.
#include "cuda/gemm.hpp"

#include <gtest/gtest.h>

#include <complex>
#include <random>

#include "cuda/resources.hpp"
#include "einstream/error.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::detail {
namespace {

TEST(BlasMatrix, ReadsUnitRowStrideAsColumnMajorAndUnitColumnStrideAsTransposed) {
  const BlasMatrix column_major = blas_matrix(4, 5, 1, 6);
  EXPECT_FALSE(column_major.transposed);
  EXPECT_EQ(column_major.ld, 6);
  const BlasMatrix row_major = blas_matrix(4, 5, 7, 1);
  EXPECT_TRUE(row_major.transposed);
  EXPECT_EQ(row_major.ld, 7);
  // Vectors: a single row or column reads with any positive stride.
  EXPECT_EQ(blas_matrix(1, 5, 0, 3).ld, 3);
  EXPECT_FALSE(blas_matrix(1, 5, 0, 3).transposed);
  EXPECT_TRUE(blas_matrix(5, 1, 3, 0).transposed);
  EXPECT_EQ(blas_matrix(5, 1, 3, 0).ld, 3);
  // Neither stride is 1, or rows overlap: not a BLAS matrix.
  EXPECT_THROW(blas_matrix(4, 5, 2, 10), Error);
  EXPECT_THROW(blas_matrix(4, 5, 3, 1), Error);
}

// C[b] = alpha A[b] B[b] + beta C[b], every operand row- or column-major with
// padded leading dimensions, in every dtype.
TEST(Gemm, BatchedProductsInEveryOrientationMatchAHostLoop) {
  EINSTREAM_REQUIRE_GPU();
  Stream stream;
  CublasHandle cublas;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(cublas.get(), CUBLAS_PEDANTIC_MATH));
  for (unsigned seed = 0; seed < 128; ++seed) {
    std::mt19937 random(seed);
    const DataType dtype = std::vector<DataType>{DataType::f32, DataType::f64, DataType::c64,
                                                 DataType::c128}[seed % 4];
    std::int64_t m = 1 + random() % 37, n = 1 + random() % 29;
    const std::int64_t k = 1 + random() % 41;
    // Matrix-vector shapes (run as gemv when the batch is 1) in every orientation.
    if (seed % 8 == 0) n = 1;
    if (seed % 8 == 1) m = 1;
    if (seed % 16 == 2) m = n = 1;
    const std::int64_t batch = seed % 4 == 3 ? 2 : 1 + random() % 3;
    // Strides for [batch, rows, columns], unit along a random side, padded.
    auto layout = [&](std::int64_t rows, std::int64_t columns, bool row_major) {
      TensorLayout result;
      result.extents = {batch, rows, columns};
      const std::int64_t pad = random() % 3;
      if (row_major) {
        result.strides = {0, columns + pad, 1};
        result.strides[0] = rows * (columns + pad);
      } else {
        result.strides = {0, 1, rows + pad};
        result.strides[0] = columns * (rows + pad);
      }
      return result;
    };
    const TensorLayout a = layout(m, k, random() % 2), b = layout(k, n, random() % 2),
                       c = layout(m, n, random() % 2);
    SCOPED_TRACE("seed " + std::to_string(seed) + " " + to_string(dtype) + " m " +
                 std::to_string(m) + " n " + std::to_string(n) + " k " + std::to_string(k));
    const std::size_t element = size_of(dtype);
    auto host_a = testing::random_tensor(dtype, a.strides[0] * batch, random);
    auto host_b = testing::random_tensor(dtype, b.strides[0] * batch, random);
    auto host_c = testing::random_tensor(dtype, c.strides[0] * batch, random);
    testing::DeviceMemory device_a(host_a.size()), device_b(host_b.size()), device_c(host_c.size());
    device_a.upload(host_a);
    device_b.upload(host_b);
    device_c.upload(host_c);
    const bool complex = is_complex(dtype);
    const std::complex<double> alpha = complex ? std::complex<double>(0.5, 1) : 1.5;
    const std::complex<double> beta =
        seed % 2 ? std::complex<double>(0) : std::complex<double>(-0.5);

    GemmArguments arguments;
    arguments.dtype = dtype;
    arguments.m = m;
    arguments.n = n;
    arguments.k = k;
    arguments.batch = batch;
    arguments.a = device_a.get();
    arguments.b = device_b.get();
    arguments.c = device_c.get();
    arguments.a_layout = &a;
    arguments.b_layout = &b;
    arguments.c_layout = &c;
    arguments.epilogue = Epilogue::scaled(alpha, beta);
    gemm(cublas.get(), arguments);
    stream.synchronize();
    const auto actual = device_c.download<unsigned char>(host_c.size());

    double largest_error = 0, largest_value = 0;
    for (std::int64_t p = 0; p < batch; ++p) {
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
          std::complex<double> sum = 0;
          for (std::int64_t l = 0; l < k; ++l) {
            sum += testing::element(dtype, host_a.data(),
                                    p * a.strides[0] + i * a.strides[1] + l * a.strides[2]) *
                   testing::element(dtype, host_b.data(),
                                    p * b.strides[0] + l * b.strides[1] + j * b.strides[2]);
          }
          const std::int64_t at = p * c.strides[0] + i * c.strides[1] + j * c.strides[2];
          std::complex<double> want = alpha * sum;
          if (beta != 0.0) want += beta * testing::element(dtype, host_c.data(), at);
          largest_error =
              std::max(largest_error, std::abs(testing::element(dtype, actual.data(), at) - want));
          largest_value = std::max(largest_value, std::abs(want));
        }
      }
    }
    EXPECT_LE(largest_error / largest_value, testing::tolerance(dtype) * (element == 4 ? 10 : 1));
  }
}

}  // namespace
}  // namespace einstream::detail
