#include "src/host/block_executor.hpp"

#include <chrono>
#include <string>

#include "src/block_loop.hpp"
#include "src/execution_log.hpp"

namespace einstream::detail {

namespace {

// The block loop's events on the host: streamed operands are views like
// the others, so only compute does work; it is timed, and with profiling
// each op becomes a timeline span.
class HostBlockBackend final : public BlockBackend {
 public:
  using Clock = std::chrono::steady_clock;

  HostBlockBackend(HostExecutor& host, std::size_t element, const std::vector<const void*>& inputs,
                   void* output, bool profile, ExecutionReport& report)
      : host_(host),
        element_(element),
        inputs_(inputs),
        output_(output),
        views_(inputs.size()),
        report_(report),
        origin_(Clock::now()) {
    if (profile) {
      observer_ = [this](std::size_t op, Clock::time_point begin, Clock::time_point end) {
        const Op& step = program_->ops[op];
        TraceSpan span;
        span.track = "host compute";
        span.name = "block " + std::to_string(block_) + ": op " + std::to_string(op) + " " +
                    to_string(step.kind);
        span.start = std::chrono::duration<double>(begin - origin_).count();
        span.seconds = std::chrono::duration<double>(end - begin).count();
        report_.timeline.push_back(std::move(span));
      };
    }
  }

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
    program_ = &shape.program;
    const Clock::time_point begin = Clock::now();
    host_.run(shape.program, views_, static_cast<char*>(output_) + bytes(offsets.output), alpha,
              beta, observer_ ? &observer_ : nullptr);
    report_.compute_seconds += std::chrono::duration<double>(Clock::now() - begin).count();
    ++block_;
  }
  void store_output(std::int64_t, const BlockShape&) override {}
  void finish() override {}

 private:
  HostExecutor& host_;
  std::size_t element_;
  const std::vector<const void*>& inputs_;
  void* output_;
  std::vector<const void*> views_;
  ExecutionReport& report_;
  Clock::time_point origin_;
  HostExecutor::OpObserver observer_;
  const Program* program_ = nullptr;
  std::int64_t block_ = 0;
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

void HostBlockExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                            Scalar beta, const Options& options, ExecutionReport& report,
                            std::optional<BlockRange> range) {
  ExecutionLog log(options, "host", range ? range->size() : plan_.block_count);
  log.start();
  HostBlockBackend backend(host_, element_, inputs, output, options.profile, report);
  report.blocks = run_block_loop(problem_, plan_, shapes_, input_strides_, output_strides_, alpha,
                                 beta, backend, log.hook(), range);
  log.finish(report);
}

void HostBlockExecutor::run(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                            Scalar beta, bool profile, ExecutionReport& report) {
  Options options;
  options.profile = profile;
  run(inputs, output, alpha, beta, options, report);
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
