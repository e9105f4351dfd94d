// The cuBLAS GEMM wrapper: how each strided matrix is read (no GPU needed),
// and batched products in every orientation of A, B and C against a host
// loop, in every dtype (f16 and bf16 through cuBLAS's mixed-precision
// routines, accumulated in f32).
#include "cuda/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <vector>

#include "cuda/resources.hpp"
#include "einstream/error.hpp"
#include "einstream/half.hpp"
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

// C[b] = alpha A[b] B[b] + beta C[b] in f16 and bf16: every orientation,
// padded leading dimensions (not multiples of 8), batches, gemv shapes, and
// operands that start one element (2 bytes) past a 16-byte boundary, as a
// Program's views inside a buffer may. Each element of C is held to one
// rounding into the type (u of its value) plus f32 accumulation: 2^-14 of
// the sum of its terms' magnitudes, the worst case of k <= 300 terms at
// 2^-24 each (the products of two half values are exact in f32).
template <typename T>
void expect_half_gemm(DataType dtype, unsigned seed, cublasHandle_t cublas, Stream& stream) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::int64_t m = 1 + random() % 70, n = 1 + random() % 50;
  const std::int64_t k = 1 + random() % 300;
  if (seed % 8 == 0) n = 1;
  if (seed % 8 == 1) m = 1;
  if (seed % 16 == 2) m = n = 1;
  const std::int64_t batch = seed % 4 == 3 ? 2 : 1 + random() % 3;
  const std::int64_t shift = seed % 3 == 2 ? 1 : 0;  // elements past an aligned start
  auto layout = [&](std::int64_t rows, std::int64_t columns, bool row_major) {
    TensorLayout result;
    result.extents = {batch, rows, columns};
    const std::int64_t pad = random() % 3;
    if (row_major) {
      result.strides = {rows * (columns + pad), columns + pad, 1};
    } else {
      result.strides = {columns * (rows + pad), 1, rows + pad};
    }
    return result;
  };
  const TensorLayout a = layout(m, k, random() % 2), b = layout(k, n, random() % 2),
                     c = layout(m, n, random() % 2);
  SCOPED_TRACE("seed " + std::to_string(seed) + " " + to_string(dtype) + " m " + std::to_string(m) +
               " n " + std::to_string(n) + " k " + std::to_string(k) + " batch " +
               std::to_string(batch) + " shift " + std::to_string(shift));
  auto filled = [&](std::int64_t count) {
    std::vector<T> values(static_cast<std::size_t>(count + shift));
    for (T& value : values) value = T(uniform(random));
    return values;
  };
  const std::vector<T> host_a = filled(a.strides[0] * batch), host_b = filled(b.strides[0] * batch);
  const std::vector<T> host_c = filled(c.strides[0] * batch);
  testing::DeviceMemory device_a(host_a.size() * sizeof(T)), device_b(host_b.size() * sizeof(T)),
      device_c(host_c.size() * sizeof(T));
  device_a.upload(host_a);
  device_b.upload(host_b);
  device_c.upload(host_c);
  const double alpha = 1.5;
  const double beta = seed % 2 ? 0.0 : -0.5;

  GemmArguments arguments;
  arguments.dtype = dtype;
  arguments.m = m;
  arguments.n = n;
  arguments.k = k;
  arguments.batch = batch;
  arguments.a = static_cast<const T*>(device_a.get()) + shift;
  arguments.b = static_cast<const T*>(device_b.get()) + shift;
  arguments.c = static_cast<T*>(device_c.get()) + shift;
  arguments.a_layout = &a;
  arguments.b_layout = &b;
  arguments.c_layout = &c;
  arguments.epilogue = Epilogue::scaled(alpha, beta);
  gemm(cublas, arguments);
  stream.synchronize();
  const std::vector<T> actual = device_c.download<T>(host_c.size());

  const double unit = dtype == DataType::f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  int failures = 0;
  for (std::int64_t p = 0; p < batch; ++p) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0, magnitude = 0;
        for (std::int64_t l = 0; l < k; ++l) {
          const double term =
              static_cast<double>(
                  host_a[shift + p * a.strides[0] + i * a.strides[1] + l * a.strides[2]]) *
              static_cast<double>(
                  host_b[shift + p * b.strides[0] + l * b.strides[1] + j * b.strides[2]]);
          sum += term;
          magnitude += std::abs(term);
        }
        const std::int64_t at = shift + p * c.strides[0] + i * c.strides[1] + j * c.strides[2];
        double want = alpha * sum;
        double scale = alpha * magnitude;
        if (beta != 0.0) {
          want += beta * static_cast<double>(host_c[at]);
          scale += std::abs(beta * static_cast<double>(host_c[at]));
        }
        const double error = std::abs(static_cast<double>(actual[at]) - want);
        const double allowed =
            unit * std::abs(want) + std::ldexp(scale, -14) + std::ldexp(1.0, -24);
        if (!(error <= allowed) && ++failures <= 5) {
          ADD_FAILURE() << "C[" << p << "][" << i << "][" << j << "]: got "
                        << static_cast<double>(actual[at]) << ", expected " << want
                        << " (allowed error " << allowed << ")";
        }
      }
    }
  }
  // Elements of C's buffer outside the view are untouched.
  std::vector<bool> in_view(host_c.size(), false);
  for (std::int64_t p = 0; p < batch; ++p) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        in_view[shift + p * c.strides[0] + i * c.strides[1] + j * c.strides[2]] = true;
      }
    }
  }
  for (std::size_t index = 0; index < host_c.size(); ++index) {
    if (!in_view[index] && actual[index].bits != host_c[index].bits && ++failures <= 5) {
      ADD_FAILURE() << "element " << index << " of C's buffer outside the view was written";
    }
  }
}

TEST(Gemm, HalfPrecisionProductsInEveryOrientationAccumulateInF32) {
  EINSTREAM_REQUIRE_GPU();
  Stream stream;
  CublasHandle cublas;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));
  // The executor's mode without TF32; the half-precision calls run under
  // their own and give this one back.
  EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(cublas.get(), CUBLAS_PEDANTIC_MATH));
  for (unsigned seed = 0; seed < 96; ++seed) {
    if (seed % 2 == 0) {
      expect_half_gemm<float16>(DataType::f16, seed, cublas.get(), stream);
    } else {
      expect_half_gemm<bfloat16>(DataType::bf16, seed, cublas.get(), stream);
    }
    cublasMath_t mode = CUBLAS_DEFAULT_MATH;
    EINSTREAM_CUBLAS_CHECK(cublasGetMathMode(cublas.get(), &mode));
    EXPECT_EQ(mode, CUBLAS_PEDANTIC_MATH) << "seed " << seed;
  }
}

// Sums of ones past where a half-precision running sum stops growing
// (2048 in f16, 256 in bf16): k = 4096 gives 4096 exactly only with f32
// accumulation (split-K partial sums included), as a GEMM and as a gemv.
TEST(Gemm, HalfPrecisionSumsPastTheTypesIntegerRangeAreExact) {
  EINSTREAM_REQUIRE_GPU();
  Stream stream;
  CublasHandle cublas;
  EINSTREAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));
  const std::int64_t k = 4096;
  const auto check = [&](auto zero, DataType dtype, std::int64_t m, std::int64_t n) {
    using T = decltype(zero);
    SCOPED_TRACE(std::string(to_string(dtype)) + " m " + std::to_string(m) + " n " +
                 std::to_string(n));
    const std::vector<T> ones(static_cast<std::size_t>(std::max(m, n) * k), T(1.0f));
    testing::DeviceMemory device_a(ones.size() * sizeof(T)), device_b(ones.size() * sizeof(T)),
        device_c(static_cast<std::size_t>(m * n) * sizeof(T));
    device_a.upload(ones);
    device_b.upload(ones);
    const TensorLayout a{{1, m, k}, {m * k, k, 1}}, b{{1, k, n}, {k * n, n, 1}},
        c{{1, m, n}, {m * n, n, 1}};
    GemmArguments arguments;
    arguments.dtype = dtype;
    arguments.m = m;
    arguments.n = n;
    arguments.k = k;
    arguments.a = device_a.get();
    arguments.b = device_b.get();
    arguments.c = device_c.get();
    arguments.a_layout = &a;
    arguments.b_layout = &b;
    arguments.c_layout = &c;
    gemm(cublas.get(), arguments);
    stream.synchronize();
    const std::vector<T> got = device_c.download<T>(static_cast<std::size_t>(m * n));
    for (std::size_t index = 0; index < got.size(); ++index) {
      ASSERT_EQ(static_cast<float>(got[index]), static_cast<float>(k)) << "element " << index;
    }
  };
  for (const auto& [m, n] :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{64, 64}, {2, 3}, {128, 1}, {1, 128}}) {
    check(float16{}, DataType::f16, m, n);
    check(bfloat16{}, DataType::bf16, m, n);
  }
}

}  // namespace
}  // namespace einstream::detail
