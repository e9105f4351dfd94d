// NCCL's element type for an einstream DataType, shared by the reductions
// between the GPUs of one process (cuda/nccl_reduce.cpp) and between ranks
// (cuda/nccl_ranks.cpp).
#pragma once

#include <nccl.h>

#include <string>

#include "einstream/error.hpp"
#include "einstream/tensor.hpp"

namespace einstream::detail {

// NCCL's type for `dtype` and how many of its elements one element is
// (the complex types sum as their real and imaginary parts).
struct NcclType {
  ncclDataType_t type;
  int per_element;
};

inline NcclType nccl_type(DataType dtype) {
  switch (dtype) {
    case DataType::f32:
      return {ncclFloat32, 1};
    case DataType::f64:
      return {ncclFloat64, 1};
    case DataType::c64:
      return {ncclFloat32, 2};
    case DataType::c128:
      return {ncclFloat64, 2};
    case DataType::f16:
      return {ncclFloat16, 1};
    case DataType::bf16:
      return {ncclBfloat16, 1};
  }
  throw Error("NCCL reduce: data type value " + std::to_string(static_cast<int>(dtype)) +
              " is not a DataType");
}

}  // namespace einstream::detail
