// gemm: a Program's batched matrix product on cuBLAS.
//
// The Program describes C[b, m, n] = sum_k A[b, m, k] B[b, k, n] over
// row-major-indexed strided views ([batch, rows, columns] strides). cuBLAS is
// column-major, so each matrix is read as column-major (unit row stride) or
// as the transpose of one (unit column stride), which sets its transpose flag
// and leading dimension; a row-major C is computed as C^T = B^T A^T. No
// operand is ever copied: the lowering only emits GEMMs whose views cuBLAS
// can read this way (planner/lower.cpp, is_gemm_operand). f16 and bf16 run
// cublasGemmStridedBatchedEx with f32 accumulation and float alpha/beta;
// cuBLAS takes them with the same transposes, leading dimensions (ld >=
// the stored rows) and batch strides as f32, and any 2-byte aligned
// pointer (alignment to 16 bytes and ld a multiple of 8 only pick faster
// kernels).
#pragma once

#include <cublas_v2.h>

#include <cstdint>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

struct GemmArguments {
  DataType dtype = DataType::f32;
  std::int64_t m = 0, n = 0, k = 0, batch = 1;
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  // The Program's 3-D views: [batch, rows, columns] strides, in elements.
  const TensorLayout* a_layout = nullptr;
  const TensorLayout* b_layout = nullptr;
  const TensorLayout* c_layout = nullptr;
  Epilogue epilogue;
};

// One matrix's cuBLAS reading: stored column-major with leading dimension
// `ld`, either as itself or as its transpose.
struct BlasMatrix {
  bool transposed = false;  // stored column-major as the transpose (unit column stride)
  std::int64_t ld = 1;
};

// How cuBLAS reads a rows x columns view with these strides; throws Error
// when neither reading works (neither stride is 1 with the other spanning).
BlasMatrix blas_matrix(std::int64_t rows, std::int64_t columns, std::int64_t row_stride,
                       std::int64_t column_stride);

// Enqueues the product on the handle's stream. m, n or batch of 0 do
// nothing; k of 0 leaves C = epilogue(0), which the caller must handle
// (cuBLAS is not called).
void gemm(cublasHandle_t handle, const GemmArguments& arguments);

}  // namespace einstream::detail
