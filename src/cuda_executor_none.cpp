// Host-only builds: there is no CUDA executor (Plan never builds one, as
// the backend resolves to host or refuses 'cuda').
#include "einstream/error.hpp"
#include "src/cuda_executor.hpp"

namespace einstream::detail {

struct CudaExecutor::State {
  SlicePlan plan;
};

bool cuda_backend_available() { return false; }

WorkspaceNeeds cuda_workspace_needs() { return {}; }

CudaExecutor::CudaExecutor(const Options&, const Problem&, const ContractionPath&,
                           std::vector<TensorDesc>, TensorDesc, SliceOptions) {
  throw Error("backend 'cuda': this build of einstream has no CUDA backend");
}
CudaExecutor::~CudaExecutor() = default;
void CudaExecutor::run(const std::vector<const void*>&, void*, Scalar, Scalar, ExecutionReport&,
                       std::optional<std::pair<int, int>>, bool) {}
void CudaExecutor::share_host_threads(int) {}
const SlicePlan& CudaExecutor::host_plan() const { return state_->plan; }
std::uint64_t CudaExecutor::device_bytes() const { return 0; }

}  // namespace einstream::detail
