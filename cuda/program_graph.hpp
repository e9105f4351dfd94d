// Graph replay: a Program run again on the same device pointers with the
// same alpha and beta is replayed from a CUDA graph captured from an earlier
// run, so a launch-bound network (a dozen small kernels and GEMMs) costs one
// cudaGraphLaunch instead of a launch per op.
//
// Capturing costs more than launching once, so a run is captured only when
// it repeats the previous run's key (pointers, alpha, beta): the first run
// of a key launches directly, the second captures and launches the graph,
// later ones replay it. A new key re-captures; the executable graph is
// updated in place (cudaGraphExecUpdate) where CUDA allows, re-instantiated
// otherwise. A capture that CUDA refuses (an op that cannot be captured)
// turns replay off for this Program and the run launches directly.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <complex>
#include <vector>

#include "cuda/epilogue.hpp"
#include "cuda/op_runner.hpp"
#include "planner/program.hpp"

namespace einstream::detail {

class ProgramGraph {
 public:
  ProgramGraph() = default;
  ProgramGraph(const ProgramGraph&) = delete;
  ProgramGraph& operator=(const ProgramGraph&) = delete;
  ~ProgramGraph();

  // Enqueues `program` on `stream` as run_program does, replaying or
  // capturing as above. Returns true when the ops ran as a graph launch.
  // cuBLAS must already be bound to `stream` and to its workspace.
  bool run(const Program& program, const DevicePointers& pointers, const Epilogue& epilogue,
           cudaStream_t stream, cublasHandle_t cublas);

 private:
  struct Key {
    const Program* program = nullptr;
    std::vector<const void*> inputs;
    void* output = nullptr;
    char* arena = nullptr;
    void* reduce_workspace = nullptr;
    bool apply = false;
    std::complex<double> alpha, beta;
    bool operator==(const Key& other) const;
  };
  static Key key_of(const Program& program, const DevicePointers& pointers,
                    const Epilogue& epilogue);
  // Captures the ops into a graph and makes exec_ run it; false when CUDA
  // refused the capture (nothing was enqueued then).
  bool capture(const Program& program, const DevicePointers& pointers, const Epilogue& epilogue,
               cudaStream_t stream, cublasHandle_t cublas);
  void reset() noexcept;

  Key last_;               // the previous run's key
  bool seen_ = false;      // last_ holds a run's key
  bool captured_ = false;  // exec_ runs the ops of last_
  bool refused_ = false;   // a capture failed: launch directly from now on
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace einstream::detail
