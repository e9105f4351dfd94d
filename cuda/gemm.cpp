#include "cuda/gemm.hpp"

#include <cuComplex.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>

#include "cuda/cublas_check.hpp"
#include "einstream/error.hpp"

namespace einstream::detail {

BlasMatrix blas_matrix(std::int64_t rows, std::int64_t columns, std::int64_t row_stride,
                       std::int64_t column_stride) {
  BlasMatrix matrix;
  if (rows <= 1) {
    // One row: element (0, j) at j * column_stride, column-major with ld.
    matrix.ld = std::max<std::int64_t>(column_stride, 1);
  } else if (columns <= 1) {
    // One column: its transpose is one row.
    matrix.transposed = true;
    matrix.ld = std::max<std::int64_t>(row_stride, 1);
  } else if (row_stride == 1 && column_stride >= rows) {
    matrix.ld = column_stride;
  } else if (column_stride == 1 && row_stride >= columns) {
    matrix.transposed = true;
    matrix.ld = row_stride;
  } else {
    throw Error("CUDA backend: a " + std::to_string(rows) + " x " + std::to_string(columns) +
                " GEMM operand with strides (" + std::to_string(row_stride) + ", " +
                std::to_string(column_stride) +
                ") is not a BLAS matrix (internal error: the lowering should have permuted it)");
  }
  return matrix;
}

namespace {

// The stored (column-major) row count of a matrix, for cuBLAS's ld >= rows.
std::int64_t stored_rows(const BlasMatrix& matrix, std::int64_t rows, std::int64_t columns) {
  return std::max<std::int64_t>(matrix.transposed ? columns : rows, 1);
}

cublasOperation_t operation(bool transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

// The column-major problem cuBLAS solves: C' (M x N) = op(X) op(Y).
struct BlasCall {
  std::int64_t m = 0, n = 0, k = 0;
  cublasOperation_t op_x = CUBLAS_OP_N, op_y = CUBLAS_OP_N;
  const void* x = nullptr;
  const void* y = nullptr;
  std::int64_t ld_x = 1, ld_y = 1, ld_c = 1;
  std::int64_t stride_x = 0, stride_y = 0, stride_c = 0;
};

template <typename T>
void call(cublasHandle_t handle, const BlasCall& blas, std::int64_t batch, const T& alpha,
          const T& beta, void* c) {
  const T* x = static_cast<const T*>(blas.x);
  const T* y = static_cast<const T*>(blas.y);
  T* result = static_cast<T*>(c);
  if constexpr (std::is_same_v<T, float>) {
    EINSTREAM_CUBLAS_CHECK(cublasSgemmStridedBatched_64(
        handle, blas.op_x, blas.op_y, blas.m, blas.n, blas.k, &alpha, x, blas.ld_x, blas.stride_x,
        y, blas.ld_y, blas.stride_y, &beta, result, blas.ld_c, blas.stride_c, batch));
  } else if constexpr (std::is_same_v<T, double>) {
    EINSTREAM_CUBLAS_CHECK(cublasDgemmStridedBatched_64(
        handle, blas.op_x, blas.op_y, blas.m, blas.n, blas.k, &alpha, x, blas.ld_x, blas.stride_x,
        y, blas.ld_y, blas.stride_y, &beta, result, blas.ld_c, blas.stride_c, batch));
  } else if constexpr (std::is_same_v<T, cuComplex>) {
    EINSTREAM_CUBLAS_CHECK(cublasCgemmStridedBatched_64(
        handle, blas.op_x, blas.op_y, blas.m, blas.n, blas.k, &alpha, x, blas.ld_x, blas.stride_x,
        y, blas.ld_y, blas.stride_y, &beta, result, blas.ld_c, blas.stride_c, batch));
  } else {
    EINSTREAM_CUBLAS_CHECK(cublasZgemmStridedBatched_64(
        handle, blas.op_x, blas.op_y, blas.m, blas.n, blas.k, &alpha, x, blas.ld_x, blas.stride_x,
        y, blas.ld_y, blas.stride_y, &beta, result, blas.ld_c, blas.stride_c, batch));
  }
}

cublasOperation_t flipped(cublasOperation_t op) {
  return op == CUBLAS_OP_N ? CUBLAS_OP_T : CUBLAS_OP_N;
}

// A matrix-vector product for cuBLAS's gemv: y = alpha op(matrix) x + beta y,
// the matrix stored column-major rows x columns with ld.
struct GemvCall {
  cublasOperation_t op = CUBLAS_OP_N;
  std::int64_t rows = 0, columns = 0, ld = 1;
  const void* matrix = nullptr;
  const void* x = nullptr;
  std::int64_t incx = 1, incy = 1;
};

// A single GEMM whose C' is one row or one column is a gemv, which cuBLAS
// runs at memory bandwidth where gemm with n = 1 does not. Returns false
// when the call is not of that shape.
bool as_gemv(const BlasCall& blas, std::int64_t batch, GemvCall& gemv) {
  if (batch != 1) return false;
  if (blas.n == 1) {
    // C' (M x 1) = op(X) (M x K) * op(Y) (K x 1); C' is contiguous.
    gemv.op = blas.op_x;
    gemv.matrix = blas.x;
    gemv.ld = blas.ld_x;
    gemv.rows = blas.op_x == CUBLAS_OP_N ? blas.m : blas.k;
    gemv.columns = blas.op_x == CUBLAS_OP_N ? blas.k : blas.m;
    gemv.x = blas.y;
    gemv.incx = blas.op_y == CUBLAS_OP_N ? 1 : blas.ld_y;
    gemv.incy = 1;
    return true;
  }
  if (blas.m == 1) {
    // C'^T (N x 1) = op(Y)^T (N x K) * op(X)^T (K x 1); C' is a row of stride ld_c.
    gemv.op = flipped(blas.op_y);
    gemv.matrix = blas.y;
    gemv.ld = blas.ld_y;
    gemv.rows = blas.op_y == CUBLAS_OP_N ? blas.k : blas.n;
    gemv.columns = blas.op_y == CUBLAS_OP_N ? blas.n : blas.k;
    gemv.x = blas.x;
    gemv.incx = blas.op_x == CUBLAS_OP_N ? blas.ld_x : 1;
    gemv.incy = blas.ld_c;
    return true;
  }
  return false;
}

template <typename T>
void call_gemv(cublasHandle_t handle, const GemvCall& gemv, const T& alpha, const T& beta,
               void* c) {
  const T* matrix = static_cast<const T*>(gemv.matrix);
  const T* x = static_cast<const T*>(gemv.x);
  T* y = static_cast<T*>(c);
  if constexpr (std::is_same_v<T, float>) {
    EINSTREAM_CUBLAS_CHECK(cublasSgemv_64(handle, gemv.op, gemv.rows, gemv.columns, &alpha, matrix,
                                          gemv.ld, x, gemv.incx, &beta, y, gemv.incy));
  } else if constexpr (std::is_same_v<T, double>) {
    EINSTREAM_CUBLAS_CHECK(cublasDgemv_64(handle, gemv.op, gemv.rows, gemv.columns, &alpha, matrix,
                                          gemv.ld, x, gemv.incx, &beta, y, gemv.incy));
  } else if constexpr (std::is_same_v<T, cuComplex>) {
    EINSTREAM_CUBLAS_CHECK(cublasCgemv_64(handle, gemv.op, gemv.rows, gemv.columns, &alpha, matrix,
                                          gemv.ld, x, gemv.incx, &beta, y, gemv.incy));
  } else {
    EINSTREAM_CUBLAS_CHECK(cublasZgemv_64(handle, gemv.op, gemv.rows, gemv.columns, &alpha, matrix,
                                          gemv.ld, x, gemv.incx, &beta, y, gemv.incy));
  }
}

// Runs the call as a gemv where it is one, else as a strided-batched gemm.
template <typename T>
void dispatch(cublasHandle_t handle, const BlasCall& blas, std::int64_t batch, const T& alpha,
              const T& beta, void* c) {
  GemvCall gemv;
  if (as_gemv(blas, batch, gemv)) {
    call_gemv<T>(handle, gemv, alpha, beta, c);
  } else {
    call<T>(handle, blas, batch, alpha, beta, c);
  }
}

// The handle's math mode for one call, restored after it (the mode is read
// when a call is enqueued, so this orders nothing on the stream).
class ScopedMathMode {
 public:
  ScopedMathMode(cublasHandle_t handle, cublasMath_t mode) : handle_(handle) {
    EINSTREAM_CUBLAS_CHECK(cublasGetMathMode(handle_, &previous_));
    EINSTREAM_CUBLAS_CHECK(cublasSetMathMode(handle_, mode));
  }
  ~ScopedMathMode() { cublasSetMathMode(handle_, previous_); }
  ScopedMathMode(const ScopedMathMode&) = delete;
  ScopedMathMode& operator=(const ScopedMathMode&) = delete;

 private:
  cublasHandle_t handle_;
  cublasMath_t previous_ = CUBLAS_DEFAULT_MATH;
};

// f16 and bf16: A, B and C of the half type, products accumulated in f32
// (CUBLAS_COMPUTE_32F, float alpha and beta) on the tensor cores. The
// handle's mode is the f32 one (TF32 or pedantic, as Options::allow_tf32
// says); for the half types the call runs under the default mode, which
// lets cuBLAS use tensor cores, with reduced-precision reductions
// disallowed, so split-K partial sums are also added in f32 and C is
// rounded once. gemv-shaped calls go to the mixed-precision gemv (half in
// and out, f32 compute: HSH and TST).
void dispatch_half(cublasHandle_t handle, const BlasCall& blas, std::int64_t batch, DataType dtype,
                   float alpha, float beta, void* c) {
  const ScopedMathMode mode(
      handle, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                        CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
  GemvCall gemv;
  if (as_gemv(blas, batch, gemv)) {
    if (dtype == DataType::f16) {
      EINSTREAM_CUBLAS_CHECK(cublasHSHgemvStridedBatched_64(
          handle, gemv.op, gemv.rows, gemv.columns, &alpha, static_cast<const __half*>(gemv.matrix),
          gemv.ld, 0, static_cast<const __half*>(gemv.x), gemv.incx, 0, &beta,
          static_cast<__half*>(c), gemv.incy, 0, 1));
    } else {
      EINSTREAM_CUBLAS_CHECK(
          cublasTSTgemvStridedBatched_64(handle, gemv.op, gemv.rows, gemv.columns, &alpha,
                                         static_cast<const __nv_bfloat16*>(gemv.matrix), gemv.ld, 0,
                                         static_cast<const __nv_bfloat16*>(gemv.x), gemv.incx, 0,
                                         &beta, static_cast<__nv_bfloat16*>(c), gemv.incy, 0, 1));
    }
    return;
  }
  const cudaDataType_t type = dtype == DataType::f16 ? CUDA_R_16F : CUDA_R_16BF;
  EINSTREAM_CUBLAS_CHECK(cublasGemmStridedBatchedEx_64(
      handle, blas.op_x, blas.op_y, blas.m, blas.n, blas.k, &alpha, blas.x, type, blas.ld_x,
      blas.stride_x, blas.y, type, blas.ld_y, blas.stride_y, &beta, c, type, blas.ld_c,
      blas.stride_c, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void gemm(cublasHandle_t handle, const GemmArguments& arguments) {
  const std::int64_t m = arguments.m, n = arguments.n, k = arguments.k;
  if (m == 0 || n == 0 || arguments.batch == 0 || k == 0) return;
  const auto& as = arguments.a_layout->strides;
  const auto& bs = arguments.b_layout->strides;
  const auto& cs = arguments.c_layout->strides;
  const BlasMatrix a = blas_matrix(m, k, as[1], as[2]);
  const BlasMatrix b = blas_matrix(k, n, bs[1], bs[2]);
  const BlasMatrix c = blas_matrix(m, n, cs[1], cs[2]);

  BlasCall blas;
  blas.k = k;
  if (!c.transposed) {
    // C = A B, column-major.
    blas.m = m;
    blas.n = n;
    blas.x = arguments.a;
    blas.y = arguments.b;
    blas.op_x = operation(a.transposed);
    blas.op_y = operation(b.transposed);
    blas.ld_x = std::max(a.ld, stored_rows(a, m, k));
    blas.ld_y = std::max(b.ld, stored_rows(b, k, n));
    blas.stride_x = as[0];
    blas.stride_y = bs[0];
  } else {
    // C^T = B^T A^T: a transposed-stored B is B^T as it lies (no flag).
    blas.m = n;
    blas.n = m;
    blas.x = arguments.b;
    blas.y = arguments.a;
    blas.op_x = operation(!b.transposed);
    blas.op_y = operation(!a.transposed);
    blas.ld_x = std::max(b.ld, stored_rows(b, k, n));
    blas.ld_y = std::max(a.ld, stored_rows(a, m, k));
    blas.stride_x = bs[0];
    blas.stride_y = as[0];
  }
  blas.ld_c = std::max(c.ld, stored_rows(c, m, n));
  blas.stride_c = cs[0];
  if (arguments.batch == 1) {
    blas.stride_x = blas.stride_y = blas.stride_c = 0;
  }

  const Epilogue& epilogue = arguments.epilogue;
  const std::complex<double> alpha = epilogue.apply ? epilogue.alpha : 1.0;
  const std::complex<double> beta = epilogue.apply ? epilogue.beta : 0.0;
  switch (arguments.dtype) {
    case DataType::f32:
      dispatch<float>(handle, blas, arguments.batch, static_cast<float>(alpha.real()),
                      static_cast<float>(beta.real()), arguments.c);
      return;
    case DataType::f64:
      dispatch<double>(handle, blas, arguments.batch, alpha.real(), beta.real(), arguments.c);
      return;
    case DataType::c64:
      dispatch<cuComplex>(
          handle, blas, arguments.batch,
          make_cuComplex(static_cast<float>(alpha.real()), static_cast<float>(alpha.imag())),
          make_cuComplex(static_cast<float>(beta.real()), static_cast<float>(beta.imag())),
          arguments.c);
      return;
    case DataType::c128:
      dispatch<cuDoubleComplex>(handle, blas, arguments.batch,
                                make_cuDoubleComplex(alpha.real(), alpha.imag()),
                                make_cuDoubleComplex(beta.real(), beta.imag()), arguments.c);
      return;
    case DataType::f16:
    case DataType::bf16:
      dispatch_half(handle, blas, arguments.batch, arguments.dtype,
                    static_cast<float>(alpha.real()), static_cast<float>(beta.real()), arguments.c);
      return;
    default:
      throw_unsupported_dtype(arguments.dtype);
  }
}

}  // namespace einstream::detail
