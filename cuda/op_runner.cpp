#include "cuda/op_runner.hpp"

#include "cuda/elementwise.hpp"
#include "cuda/gemm.hpp"
#include "cuda/permute.hpp"
#include "cuda/reduce.hpp"

namespace einstream::detail {

namespace {

// Runs the Program's ops; every pointer already on the device.
class OpRunner {
 public:
  OpRunner(const Program& program, const std::vector<const void*>& inputs, void* output,
           char* arena, void* reduce_workspace, std::uint64_t reduce_workspace_bytes,
           const Epilogue& output_epilogue, cudaStream_t stream, cublasHandle_t cublas)
      : program_(program),
        inputs_(inputs),
        output_(output),
        arena_(arena),
        reduce_workspace_(reduce_workspace),
        reduce_workspace_bytes_(reduce_workspace_bytes),
        output_epilogue_(output_epilogue),
        stream_(stream),
        cublas_(cublas),
        element_bytes_(static_cast<std::int64_t>(size_of(program.dtype))) {}

  void run() const {
    for (const Op& op : program_.ops) run(op);
  }

 private:
  char* pointer(const View& view) const {
    char* base = nullptr;
    switch (view.kind) {
      case BufferKind::input:
        base = static_cast<char*>(const_cast<void*>(inputs_[view.index]));
        break;
      case BufferKind::output:
        base = static_cast<char*>(output_);
        break;
      case BufferKind::arena:
        base = arena_ + program_.buffers[view.index].offset_bytes;
        break;
    }
    return base + view.offset * element_bytes_;
  }

  void run(const Op& op) const {
    const Epilogue epilogue = op.writes_output ? output_epilogue_ : Epilogue::plain();
    const DataType dtype = program_.dtype;
    switch (op.kind) {
      case OpKind::permute:
        permute(op.permute_plan, pointer(op.sources[0]), pointer(op.result), epilogue, stream_);
        return;
      case OpKind::reduce:
        reduce(op.reduce_plan, pointer(op.sources[0]), pointer(op.result), epilogue,
               reduce_workspace_, reduce_workspace_bytes_, stream_);
        return;
      case OpKind::elementwise:
        multiply(dtype, pointer(op.sources[0]), op.sources[0].layout, pointer(op.sources[1]),
                 op.sources[1].layout, pointer(op.result), op.result.layout, epilogue, stream_);
        return;
      case OpKind::gemm: {
        if (op.k == 0) {
          fill_zero(dtype, pointer(op.result), op.result.layout, epilogue, stream_);
          return;
        }
        GemmArguments arguments;
        arguments.dtype = dtype;
        arguments.m = op.m;
        arguments.n = op.n;
        arguments.k = op.k;
        arguments.batch = op.batch;
        arguments.a = pointer(op.sources[0]);
        arguments.b = pointer(op.sources[1]);
        arguments.c = pointer(op.result);
        arguments.a_layout = &op.sources[0].layout;
        arguments.b_layout = &op.sources[1].layout;
        arguments.c_layout = &op.result.layout;
        arguments.epilogue = epilogue;
        gemm(cublas_, arguments);
        return;
      }
    }
  }

  const Program& program_;
  const std::vector<const void*>& inputs_;
  void* output_;
  char* arena_;
  void* reduce_workspace_;
  std::uint64_t reduce_workspace_bytes_;
  Epilogue output_epilogue_;
  cudaStream_t stream_;
  cublasHandle_t cublas_;
  std::int64_t element_bytes_;
};

}  // namespace

void run_program(const Program& program, const DevicePointers& pointers,
                 const Epilogue& output_epilogue, cudaStream_t stream, cublasHandle_t cublas) {
  const OpRunner runner(program, pointers.inputs, pointers.output, pointers.arena,
                        pointers.reduce_workspace, pointers.reduce_workspace_bytes, output_epilogue,
                        stream, cublas);
  runner.run();
}

}  // namespace einstream::detail
