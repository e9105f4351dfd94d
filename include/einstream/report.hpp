// ExecutionReport: what one Plan::execute did — where it ran, in how many
// blocks, how many bytes crossed the host-device link, how long it took.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace einstream {

enum class Backend;

// One interval on one track of an execution's timeline.
struct TraceSpan {
  // Where it ran: "H2D stream", "compute stream", "D2H stream" (the CUDA
  // backend's streams, timed with CUDA events), "host staging" (the calling
  // thread's gathers and scatters), "host thread N" (the staging pool's
  // threads), "host compute" (the host backend's ops).
  std::string track;
  // What ran, e.g. "block 3: in1", "gather block 3: in1".
  std::string name;
  // Seconds since the execution began, and the duration.
  double start = 0;
  double seconds = 0;
};

struct ExecutionReport {
  Backend backend{};
  // Blocks the problem was cut into (1 when it ran whole).
  std::int64_t blocks = 1;
  // Bytes copied host -> device and device -> host (0 for device operands
  // and on the host backend).
  std::uint64_t bytes_to_device = 0;
  std::uint64_t bytes_to_host = 0;
  // Device memory the execution allocated (0 on the host backend).
  std::uint64_t device_bytes = 0;
  // Wall time of execute(), and the part host threads spent gathering and
  // scattering blocks between the caller's memory and pinned staging.
  double seconds = 0;
  double staging_seconds = 0;
  // FLOPs executed (counted as opt_einsum counts them; slicing's
  // recomputation included).
  double flops = 0;
  // Busy time of the CUDA backend's three streams, from CUDA events:
  // host-to-device copies, compute (kernels and GEMMs), device-to-host
  // copies; every CUDA execution measures them. On the host backend
  // compute_seconds is the calling thread's time in block Programs and the
  // copy times are 0.
  double h2d_seconds = 0;
  double compute_seconds = 0;
  double d2h_seconds = 0;
  // How much of the streams' work ran at the same time: (sum of the three
  // busy times - time at least one stream was busy) / (sum - largest busy
  // time). 1 when the shorter streams' work hid entirely under the longest
  // one's, 0 when they ran one after another (and 0 when fewer than two
  // streams did anything).
  double overlap = 0;
  // Of the bytes crossing the link, those DMA'd straight from or to
  // page-locked caller memory (pinned or registered), and those that went
  // through einstream's pinned staging buffers (pageable caller memory).
  std::uint64_t bytes_direct = 0;
  std::uint64_t bytes_staged = 0;
  // CUDA backend: the compute was one launch of a CUDA graph captured by an
  // earlier execution (Options::graph_replay).
  bool graph_replayed = false;
  // Every span of the execution's timeline, when Options::profile is set
  // (empty otherwise). CUDA executions list each block's copies and compute
  // and each gather and scatter; host executions each op of each block
  // (track "host compute").
  std::vector<TraceSpan> timeline;
  // With several devices (Options::devices): each device's own report, in
  // the order listed (its blocks, bytes, stream times and overlap); empty
  // for one device. The fields above then sum the blocks, bytes and FLOPs
  // and take the longest stream times and the largest device memory.
  std::vector<ExecutionReport> devices;
  // With several devices: the wall time of combining their partial outputs
  // and adding them to the output (each device's `seconds` is its share's
  // wall time), and how they were combined: "nccl" (summed device to device
  // into the first device's with NCCL, then added to the output through
  // the host), "host" (each device's partial in host memory, summed there),
  // or "" where there was nothing to combine (one device, or devices that
  // each wrote their own output blocks).
  double combine_seconds = 0;
  std::string combined_with;

  double flops_per_second() const { return seconds > 0 ? flops / seconds : 0; }
  double link_bytes_per_second() const {
    return seconds > 0 ? static_cast<double>(bytes_to_device + bytes_to_host) / seconds : 0;
  }
};

// A few readable lines.
std::string to_string(const ExecutionReport& report);

// The timeline as a Chrome trace event file (JSON; opens in Perfetto and
// chrome://tracing): one track per stream and host thread, one complete
// event per span, times in microseconds.
std::string to_chrome_trace(const ExecutionReport& report);

}  // namespace einstream
