// Runs a Program's ops on one stream, every pointer already on the device:
// the part of execution the whole-problem executor and the streaming
// executor share.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "cuda/epilogue.hpp"
#include "planner/program.hpp"
#include "src/device_memory.hpp"

namespace einstream::detail {

// cuBLAS's recommended workspace on Hopper; handed to cuBLAS from our own
// allocation so it allocates nothing behind our back.
constexpr std::uint64_t kCublasWorkspaceBytes = std::uint64_t{32} << 20;

struct DevicePointers {
  // Element (0, ..., 0) of each input and of the output, as the Program's
  // views expect them.
  std::vector<const void*> inputs;
  void* output = nullptr;
  char* arena = nullptr;
  void* reduce_workspace = nullptr;
  std::uint64_t reduce_workspace_bytes = 0;
};

// Enqueues every op of `program` on `stream` (cuBLAS already bound to it);
// ops that write the output apply `output_epilogue`. Permutes and reduces
// launch the plans lowering gave them; `reduce_workspace` holds at least
// reduce_workspace_bytes(program).
void run_program(const Program& program, const DevicePointers& pointers,
                 const Epilogue& output_epilogue, cudaStream_t stream, cublasHandle_t cublas);

}  // namespace einstream::detail
