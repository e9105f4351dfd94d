// Host-only builds: no CUDA streaming.
#include "einstream/error.hpp"
#include "src/streaming_executor.hpp"

namespace einstream::detail {

struct StreamingExecutor::State {};

StreamingExecutor::StreamingExecutor(const Options&, const Problem&, std::vector<TensorDesc>,
                                     TensorDesc, DevicePlan, std::uint64_t) {
  throw Error("backend 'cuda': this build of einstream has no CUDA backend");
}
StreamingExecutor::~StreamingExecutor() = default;
void StreamingExecutor::run(const std::vector<const void*>&, void*, Scalar, Scalar,
                            ExecutionReport&) {}
std::uint64_t StreamingExecutor::device_bytes() const { return 0; }
WorkspaceNeeds cuda_workspace_needs() { return {}; }

}  // namespace einstream::detail
