// Host-only builds: no CUDA streaming.
#include "einstream/error.hpp"
#include "src/streaming_executor.hpp"

namespace einstream::detail {

struct StreamingExecutor::State {};

StreamingExecutor::StreamingExecutor(const Options&, const Problem&, const ContractionPath&,
                                     std::vector<TensorDesc>, TensorDesc, SlicePlan,
                                     std::uint64_t) {
  throw Error("backend 'cuda': this build of einstream has no CUDA backend");
}
StreamingExecutor::~StreamingExecutor() = default;
void StreamingExecutor::run(const std::vector<const void*>&, void*, Scalar, Scalar,
                            ExecutionReport&) {}
std::uint64_t StreamingExecutor::device_bytes() const { return 0; }
bool StreamingExecutor::deepen(int) { return false; }
std::uint64_t streaming_fixed_bytes(const Program&) { return 0; }

}  // namespace einstream::detail
