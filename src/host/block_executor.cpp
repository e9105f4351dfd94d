#include "src/host/block_executor.hpp"

#include "src/block_loop.hpp"

namespace einstream::detail {

namespace {

// The block loop's events on the host: streamed operands are views like
// the others, so only compute does work.
class HostBlockBackend final : public BlockBackend {
 public:
  HostBlockBackend(HostExecutor& host, std::size_t element, const std::vector<const void*>& inputs,
                   void* output)
      : host_(host), element_(element), inputs_(inputs), output_(output), views_(inputs.size()) {}

  void upload_residents(bool) override {}
  void load_input(int, std::int64_t, const BlockShape&) override {}
  void start_output(std::int64_t, const BlockShape&, bool) override {}
  void compute(const BlockShape& shape, const BlockOffsets& offsets, Scalar alpha,
               Scalar beta) override {
    const auto bytes = [this](std::int64_t offset) {
      return offset * static_cast<std::int64_t>(element_);
    };
    for (std::size_t operand = 0; operand < inputs_.size(); ++operand) {
      views_[operand] = static_cast<const char*>(inputs_[operand]) + bytes(offsets.inputs[operand]);
    }
    host_.run(shape.program, views_, static_cast<char*>(output_) + bytes(offsets.output), alpha,
              beta);
  }
  void store_output(std::int64_t, const BlockShape&) override {}
  void finish() override {}

 private:
  HostExecutor& host_;
  std::size_t element_;
  const std::vector<const void*>& inputs_;
  void* output_;
  std::vector<const void*> views_;
};

}  // namespace

HostBlockExecutor::HostBlockExecutor(const Problem& problem, DataType dtype,
                                     std::vector<std::vector<std::int64_t>> input_strides,
                                     std::vector<std::int64_t> output_strides, SlicePlan plan,
                                     std::vector<BlockShape> shapes)
    : problem_(problem),
      element_(size_of(dtype)),
      input_strides_(std::move(input_strides)),
      output_strides_(std::move(output_strides)),
      plan_(std::move(plan)),
      shapes_(std::move(shapes)) {}

std::int64_t HostBlockExecutor::run(const std::vector<const void*>& inputs, void* output,
                                    Scalar alpha, Scalar beta) {
  HostBlockBackend backend(host_, element_, inputs, output);
  return run_block_loop(problem_, plan_, shapes_, input_strides_, output_strides_, alpha, beta,
                        backend);
}

std::vector<BlockShape> host_block_shapes(const Problem& problem, const ContractionPath& path,
                                          const SlicePlan& plan,
                                          const std::vector<TensorDesc>& inputs,
                                          const TensorDesc& output) {
  SlicePlan views = plan;
  views.inputs.assign(inputs.size(), Residency::in_place);
  views.output = Residency::in_place;
  return block_shapes(problem, path, views, inputs, output);
}

}  // namespace einstream::detail
