// NVTX ranges: named phases of an execution ("einstream: block 12",
// "einstream: upload resident operands") that Nsight Systems shows above
// the CUDA API and kernel rows. NVTX 3 is header-only and does nothing
// unless a tool is attached, so the ranges stay on in release builds.
#pragma once

#include <nvtx3/nvToolsExt.h>

#include <string>

namespace einstream::detail {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  explicit NvtxRange(const std::string& name) { nvtxRangePushA(name.c_str()); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace einstream::detail
