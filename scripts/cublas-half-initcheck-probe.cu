// Does compute-sanitizer's initcheck see cuBLAS's half-precision GEMM output
// as initialized? C is cudaMalloc'd (never written), C = A B (beta 0), then
// a kernel reads C. Any initcheck report in that reader after a GEMM that
// wrote every element is a false report of the sanitizer, which is why
// scripts/gpu-check.sh leaves the half-precision GEMM tests out of initcheck
// and racecheck. Seen on the H200 (CUDA 13.0): f32 and "bf16-memset" clean;
// "bf16" 262144 reports (every element of the 512 x 512 C) and
// "bf16 64 65536" (split-K) 196608, plus one racecheck hazard inside
// cuBLAS's nvjet split-K kernel.
//
//   nvcc -O2 -arch=sm_90 -o probe scripts/cublas-half-initcheck-probe.cu -lcublas
//   compute-sanitizer --tool initcheck ./probe f32|bf16|bf16-memset [M [K]]
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

template <typename T>
__global__ void read_all(const T* c, int n, float* sink) {
  float s = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    s += static_cast<float>(c[i]);
  if (s == 12345.f) *sink = s;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "bf16";
  const int m = argc > 2 ? atoi(argv[2]) : 512, n = m, k = argc > 3 ? atoi(argv[3]) : m;
  cublasHandle_t h;
  cublasCreate(&h);
  float* sink;
  cudaMalloc(&sink, 4);
  const bool f32 = std::strcmp(mode, "f32") == 0;
  const size_t e = f32 ? 4 : 2;
  void *a, *b, *c;
  cudaMalloc(&a, (size_t)m * k * e);
  cudaMalloc(&b, (size_t)k * n * e);
  cudaMalloc(&c, (size_t)m * n * e);
  cudaMemset(a, 0x3c, (size_t)m * k * e);
  cudaMemset(b, 0x3c, (size_t)k * n * e);
  if (std::strcmp(mode, "bf16-memset") == 0) cudaMemset(c, 0, (size_t)m * n * e);
  float alpha = 1, beta = 0;
  cublasStatus_t st;
  if (f32) {
    st = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, (float*)a, m, (float*)b, k,
                     &beta, (float*)c, m);
    read_all<float><<<64, 256>>>((float*)c, m * n, sink);
  } else {
    cublasSetMathMode(
        h, (cublasMath_t)(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
    st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a, CUDA_R_16BF, m, b,
                      CUDA_R_16BF, k, &beta, c, CUDA_R_16BF, m, CUBLAS_COMPUTE_32F,
                      CUBLAS_GEMM_DEFAULT);
    read_all<__nv_bfloat16><<<64, 256>>>((__nv_bfloat16*)c, m * n, sink);
  }
  cudaError_t err = cudaDeviceSynchronize();
  std::printf("probe %s m=n=%d k=%d: cublas %d, cuda %s\n", mode, m, k, (int)st,
              cudaGetErrorString(err));
  return 0;
}
