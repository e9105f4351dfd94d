#include "cuda/program_graph.hpp"

#include "cuda/check.hpp"

namespace einstream::detail {

ProgramGraph::~ProgramGraph() { reset(); }

void ProgramGraph::reset() noexcept {
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
  captured_ = false;
}

bool ProgramGraph::Key::operator==(const Key& other) const {
  return program == other.program && inputs == other.inputs && output == other.output &&
         arena == other.arena && reduce_workspace == other.reduce_workspace &&
         apply == other.apply && alpha == other.alpha && beta == other.beta;
}

ProgramGraph::Key ProgramGraph::key_of(const Program& program, const DevicePointers& pointers,
                                       const Epilogue& epilogue) {
  Key key;
  key.program = &program;
  key.inputs = pointers.inputs;
  key.output = pointers.output;
  key.arena = pointers.arena;
  key.reduce_workspace = pointers.reduce_workspace;
  key.apply = epilogue.apply;
  key.alpha = epilogue.alpha;
  key.beta = epilogue.beta;
  return key;
}

bool ProgramGraph::run(const Program& program, const DevicePointers& pointers,
                       const Epilogue& epilogue, cudaStream_t stream, cublasHandle_t cublas) {
  Key key = key_of(program, pointers, epilogue);
  const bool repeated = seen_ && key == last_;
  if (!repeated) captured_ = false;  // exec_ may still be updated in place
  last_ = std::move(key);
  seen_ = true;
  if (refused_ || !repeated) {
    run_program(program, pointers, epilogue, stream, cublas);
    return false;
  }
  if (!captured_ && !capture(program, pointers, epilogue, stream, cublas)) {
    refused_ = true;
    reset();
    run_program(program, pointers, epilogue, stream, cublas);
    return false;
  }
  EINSTREAM_CUDA_CHECK(cudaGraphLaunch(exec_, stream));
  return true;
}

namespace {

// Owns a captured graph until it is instantiated or dropped.
struct CapturedGraph {
  cudaGraph_t graph = nullptr;
  ~CapturedGraph() {
    if (graph != nullptr) cudaGraphDestroy(graph);
  }
};

}  // namespace

bool ProgramGraph::capture(const Program& program, const DevicePointers& pointers,
                           const Epilogue& epilogue, cudaStream_t stream, cublasHandle_t cublas) {
  CapturedGraph captured;
  // Thread-local mode: other threads' CUDA calls (another Plan's, the
  // staging pool's) neither join nor break this capture.
  EINSTREAM_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    run_program(program, pointers, epilogue, stream, cublas);
  } catch (...) {
    // Leave the stream usable: end the capture (its graph, if any, is dropped).
    cudaStreamEndCapture(stream, &captured.graph);
    cudaGetLastError();
    throw;
  }
  const cudaError_t ended = cudaStreamEndCapture(stream, &captured.graph);
  if (ended == cudaErrorStreamCaptureInvalidated || ended == cudaErrorStreamCaptureUnsupported) {
    cudaGetLastError();  // a refusal, not a failure: the caller launches directly
    return false;
  }
  EINSTREAM_CUDA_CHECK(ended);
  if (exec_ != nullptr) {
    cudaGraphExecUpdateResultInfo info{};
    if (cudaGraphExecUpdate(exec_, captured.graph, &info) == cudaSuccess) {
      captured_ = true;
      return true;
    }
    cudaGetLastError();  // the topology changed: instantiate afresh
    reset();
  }
  EINSTREAM_CUDA_CHECK(cudaGraphInstantiate(&exec_, captured.graph, 0));
  captured_ = true;
  return true;
}

}  // namespace einstream::detail
