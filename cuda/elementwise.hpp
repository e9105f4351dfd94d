// elementwise: result[i] = first[i] * second[i] over the result's index
// space, all three strided; zero strides broadcast (outer products, Hadamard
// products with batch modes). Also fill_zero(): result = epilogue(0), for
// empty sums (a contracted extent of 0) and zeroing accumulators.
// See cuda/elementwise.cu for the strategy.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/epilogue.hpp"
#include "einstream/tensor.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

void multiply(DataType dtype, const void* first, const TensorLayout& first_layout,
              const void* second, const TensorLayout& second_layout, void* result,
              const TensorLayout& result_layout, const Epilogue& epilogue, cudaStream_t stream);

// result[i] = epilogue(0): fills a strided view with beta * result (or 0
// when beta is 0 or the epilogue is plain), for outputs of empty sums.
void fill_zero(DataType dtype, void* result, const TensorLayout& result_layout,
               const Epilogue& epilogue, cudaStream_t stream);

}  // namespace einstream::detail
