// Plan: an einsum expression planned once for given input descriptors and
// executed many times on different data of the same shapes.
//
//   einstream::Plan plan("ij,jk->ik", {a_desc, b_desc});
//   std::vector<float> c(plan.output().element_count());
//   plan.execute({a.data(), b.data()}, c.data());          // c = A B
//   plan.execute({a.data(), b.data()}, c.data(), 2.0, 1.0); // c = 2 A B + c
#pragma once

#include <complex>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "einstream/log.hpp"
#include "einstream/report.hpp"
#include "einstream/tensor.hpp"

namespace einstream {

// alpha and beta of `out = alpha * einsum(...) + beta * out`. Real dtypes
// accept only scalars with a zero imaginary part.
using Scalar = std::complex<double>;

enum class Backend {
  automatic,  // the CUDA backend when it is built and a GPU is present, else host
  host,       // plain C++ on the calling thread; runs everywhere
  cuda,       // NVIDIA GPU
};

enum class PathAlgorithm {
  automatic,      // exact searches while they are cheap, hyper beyond
  naive,          // contract operands left to right, as written
  greedy,         // repeatedly contract the pair whose result shrinks memory most
  optimal,        // exhaustive branch and bound: minimum FLOPs (up to ~12 operands)
  dp,             // dynamic programming over connected subgraphs (up to ~30-40 operands)
  random_greedy,  // many randomized greedy runs, keeping the cheapest
  hyper,          // hyper-optimizer: randomized greedy and graph-partitioning trials
                  // (path_trials of them, over host threads), then exact re-optimization
                  // of small subtrees; for large networks (30-1000 operands)
};

// "host"/"cuda"/"auto" and "auto"/"naive"/"greedy"/"optimal"/"dp"/
// "random-greedy"/"hyper"; the parsers throw Error
// naming the accepted values.
const char* to_string(Backend backend);
Backend backend_from_string(const std::string& name);
const char* to_string(PathAlgorithm path);
PathAlgorithm path_algorithm_from_string(const std::string& name);

// Device memory einstream may use: absolute bytes or a fraction of the
// device's total memory.
struct MemoryLimit {
  enum class Kind { bytes, fraction };
  Kind kind = Kind::fraction;
  double value = 0.9;

  static MemoryLimit from_bytes(std::uint64_t bytes);
  // fraction must lie in (0, 1].
  static MemoryLimit from_fraction(double fraction);
  // "4GiB", "512 MiB", "4G", "1e9", "1500000KB" (bytes), "0.5", "1.0" or
  // "90%" (a fraction of the device). Suffixes: B, KB, MB, GB, TB (powers of
  // 1000), KiB, MiB, GiB, TiB and K, M, G, T (powers of 1024);
  // case-insensitive. A plain number below 1 or written with a point is a
  // fraction, a whole number of at least 2 is bytes, a bare "1" is refused
  // as ambiguous. Empty, hex, signed, non-finite and out-of-range (2^64
  // bytes or more) values throw Error.
  static MemoryLimit parse(const std::string& text);

  // Bytes allowed on a device with `device_bytes` of memory.
  std::uint64_t resolve(std::uint64_t device_bytes) const;
};

std::string to_string(const MemoryLimit& limit);

struct Options {
  int device = 0;
  // CUDA backend: the devices of this host one execution runs on, as
  // ordinals (an ordinal may repeat: two pipelines on one GPU); empty or
  // one entry means `device` alone (one entry overrides it). With several,
  // the plan's blocks are shared among them in contiguous ranges of the
  // loop order and each device runs its own pipeline under the memory limit
  // (per device). Devices that own whole output blocks write them in place;
  // otherwise each sums its share into a partial output, and the partials
  // are combined with NCCL where the devices are distinct GPUs, the build
  // has NCCL and the output is resident on them, else on the host (an
  // output in device memory is copied to the host and back around that);
  // ExecutionReport::combined_with says which. Device inputs are refused
  // (each device reads the host inputs), and the plan must have at least as
  // many blocks as devices for all to work (a memory limit makes more).
  // einstream::devices() lists the visible ones.
  std::vector<int> devices;
  MemoryLimit memory_limit;
  PathAlgorithm path = PathAlgorithm::automatic;
  // A contraction path to run instead of searching one (then `path`,
  // max_intermediate_bytes and the path_* knobs are not used), in
  // opt_einsum's format: each step lists positions among the operands not
  // yet contracted, 0-based, and its result goes last. PathInfo::path of an
  // earlier plan, opt_einsum's contract_path or cotengra's get_path() give
  // one. A step of three or more operands is contracted in pairs, in their
  // cheapest order (an exact search up to 10 operands, greedy beyond). Checked when planning (Error names the step at fault). Over the
  // memory limit the blocks are sliced along this path as it is: the
  // slicing never changes it. Empty (the default): `path` searches.
  std::vector<std::vector<int>> given_path;
  Backend backend = Backend::automatic;
  // Largest intermediate the contraction path may create, in bytes (the
  // output is exempt); 0 means no cap. Paths over it are rejected where a
  // path under it exists.
  std::uint64_t max_intermediate_bytes = 0;
  // random-greedy's number of trials and seed, and the whole path search's
  // time budget in seconds (0: no limit): optimal, dp and random-greedy stop
  // at it with the best path found (greedy's at worst), and explain() says
  // which stopped. Equal seeds give equal paths when the trial count, not
  // the time, ends the search. Over the memory limit, choosing the slices
  // with the path takes up to half as long again, and each search for block
  // sizes stops improving its first fitting plan after a quarter of it.
  int path_trials = 128;
  double path_seconds = 1.0;
  std::uint64_t path_seed = 0;
  // CUDA backend: let f32 GEMMs use TF32 tensor cores (about 8x the FP32
  // rate on an H100, with a 10-bit mantissa in the products).
  bool allow_tf32 = false;
  // CUDA backend: a plan that runs in one block and is executed again on
  // the same pointers with the same alpha and beta replays its kernels and
  // GEMMs from a CUDA graph captured at the second such execution (one
  // launch instead of one per op; ExecutionReport::graph_replayed says so).
  // New pointers or scalars re-capture. Off: every op is launched each time.
  bool graph_replay = true;
  // Record each execution's timeline (every block's copies and compute per
  // CUDA stream, every gather and scatter per host thread) in
  // Plan::last_report().timeline, for to_chrome_trace() and `--trace`, and
  // time the streams of whole-problem executions too. Costs a few CUDA events
  // per block. NVTX ranges mark the phases for Nsight Systems either way.
  bool profile = false;
  // CUDA backend, streaming plans: page-lock the caller's host input and
  // output buffers (cudaHostRegister) on the first execute(), so blocks are
  // DMA'd straight between them and the device instead of through staging
  // copies. Registering costs about as much as one pass over the buffers, so
  // it pays off when a Plan is executed more than once. The buffers stay
  // registered until the Plan is destroyed or executed with other pointers:
  // do not free them before. Memory that is already page-locked
  // (cudaMallocHost, or registered by the caller) is detected and DMA'd
  // directly without this option.
  bool register_host_memory = false;
  // Messages about planning and execution (include/einstream/log.hpp) go to
  // `log`, when set, if their level is `log_level` or below it; progress
  // reports of each execution go to `progress`, when set, at most every
  // `progress_interval_seconds` (0: after every block) and at the end. The
  // info-level progress messages keep the same pace. Both are called on the
  // thread that builds or executes the Plan.
  LogCallback log;
  LogLevel log_level = LogLevel::info;
  ProgressCallback progress;
  double progress_interval_seconds = 1.0;
};

// How much Plan::explain() prints: the summary (costs, slicing, and one
// table row per contraction step), or that plus the lowered Program (every
// op and arena buffer). "summary"/"program"; the parser throws Error naming
// the accepted values.
enum class ExplainDetail { summary, program };
const char* to_string(ExplainDetail detail);
ExplainDetail explain_detail_from_string(const std::string& name);

// A contraction path in opt_einsum's format and its cost, counted as
// opt_einsum counts it.
struct PathInfo {
  // Linear format: each step names the positions (in the current operand
  // list) of the operands it contracts; they are removed and the result is
  // appended at the end.
  std::vector<std::vector<int>> path;
  // Sum over steps of (product of the extents of every mode in the step) x
  // (2 if the step sums a mode, else 1).
  double flops = 0;
  // Elements of the largest tensor any step produces (the output included).
  double largest_intermediate = 0;
  // Wall time spent finding the path.
  double seconds = 0;
};

namespace detail {
struct PlanState;
}

// Thread safety: distinct Plans are independent and may be built and
// executed on different threads at once. One Plan's const methods may run
// concurrently with each other; execute() may not run concurrently with
// another execute() or with any other method of the same Plan (it reuses
// the Plan's buffers and writes last_report()).
class Plan {
 public:
  // Parses and plans `expression` for inputs described by `inputs`; the
  // output is C-contiguous. Throws ParseError, ShapeError or Error.
  Plan(std::string_view expression, std::vector<TensorDesc> inputs, const Options& options = {});
  // As above with a caller-chosen output layout (strides), whose dtype and
  // extents must match the expression's result.
  Plan(std::string_view expression, std::vector<TensorDesc> inputs, TensorDesc output,
       const Options& options = {});
  // The integer form, as numpy's einsum(op0, sublist0, ..., sublist_out) and
  // cuTENSOR's mode arrays: input_modes[k] names the modes of inputs[k], one
  // per axis; a mode is any int64 value (only equality matters), a mode
  // repeated within one operand takes its diagonal, and every output mode
  // must appear in some input, once. kEllipsis in a mode list stands for
  // numpy's Ellipsis (`...`: the broadcast axes, at most once per list; in
  // the output only when some input has it). The modes become labels
  // (a-z, A-Z, then code points from U+00C0) in order of first appearance,
  // which is how explain() and expression() show them. Throws as the
  // expression form does.
  static constexpr std::int64_t kEllipsis = std::numeric_limits<std::int64_t>::min();
  Plan(const std::vector<std::vector<std::int64_t>>& input_modes,
       const std::vector<std::int64_t>& output_modes, std::vector<TensorDesc> inputs,
       const Options& options = {});
  ~Plan();
  // A moved-from Plan holds nothing: every method but assignment and the
  // destructor throws Error saying so.
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  const std::string& expression() const;
  const std::vector<TensorDesc>& inputs() const;
  const TensorDesc& output() const;
  const Options& options() const;
  // The backend execute() runs on (never Backend::automatic).
  Backend backend() const;
  const PathInfo& path() const;
  // Exact memory one execution allocates, in bytes, known before anything
  // runs. Host backend: the arena of intermediates. CUDA backend with the
  // operands in host memory (the usual case): every device byte of the
  // execution, i.e. the arena, kernel and cuBLAS workspaces, resident
  // operands' spans and the block buffers of streamed ones (equal to
  // last_report().device_bytes). With operands in device memory the whole
  // problem runs in place and allocates the arena and workspaces only.
  std::uint64_t workspace_bytes() const;

  // Bytes one execution reads and writes in its ops (intermediates
  // included), at the plan's element size: the memory traffic a benchmark
  // divides by time. Host-device copies of operands are not counted.
  double bytes_moved() const;

  // A readable account of the plan, as opt_einsum's PathInfo: naive and
  // optimized FLOPs, speedup, largest intermediate, slicing and its
  // overhead, backend and memory limit, then per step the contraction, its
  // scaling, its kind as lowered (GEMM, batched GEMM, reduce, ...), FLOPs and
  // the operands remaining. ExplainDetail::program appends the Program.
  std::string explain(ExplainDetail detail = ExplainDetail::summary) const;

  // out = alpha * einsum(inputs) + beta * out. With beta == 0 the output is
  // not read (it may hold garbage, NaN included). Inputs are never written.
  void execute(const std::vector<const void*>& inputs, void* output, Scalar alpha = 1.0,
               Scalar beta = 0.0);

  // One worker's share of execute(), to spread one execution over
  // processes (einstream/mpi.hpp does it over MPI ranks) or anything else
  // that runs copies of a Plan side by side. The plan's blocks are split
  // into `workers` contiguous shares of its loop order, balanced by their
  // work (the same split for every caller; a plan of one block gives it all
  // to worker 0), and this runs share `worker`: `partial`, a buffer in the
  // layout of output() (every byte of its span is overwritten; allocate
  // output().span().elements and pass the buffer plus span().origin), receives
  // alpha times the share's terms of the einsum. The sum of every worker's
  // partial is alpha * einsum(inputs); accumulate() adds it to beta * out.
  // Both backends; `partial` may be host or device memory on the CUDA one.
  // A CUDA plan of several devices (Options::devices) is pipelines()
  // workers: it runs shares worker to worker + pipelines() - 1, one per
  // device, into `partial` (then host memory), so `workers` counts every
  // device of every caller.
  void execute_share(const std::vector<const void*>& inputs, void* partial, int worker, int workers,
                     Scalar alpha = 1.0);

  // How many shares execute_share() runs: the devices of Options::devices
  // on the CUDA backend, else 1.
  int pipelines() const;

  // What the last successful execute() or execute_share() did (a default
  // report before any).
  const ExecutionReport& last_report() const;

 private:
  // share: (worker, workers) for execute_share, which zeroes `output` and
  // passes beta = 1.
  void execute_on_backend(const std::vector<const void*>& inputs, void* output, Scalar alpha,
                          Scalar beta, ExecutionReport& report,
                          const std::pair<int, int>* share = nullptr);
  // The plan's state; throws Error on a moved-from Plan.
  detail::PlanState& state() const;

  std::unique_ptr<detail::PlanState> state_;
};

// out = sum + beta * out over the elements of `desc`, both buffers in its
// layout: the last step of combining execute_share() partials once they
// are summed (beta = 0 overwrites out; gaps between elements keep their
// values). Either buffer may be host or device memory; a device buffer's
// span is copied through the host, synchronously.
void accumulate(const TensorDesc& desc, const void* sum, void* out, Scalar beta = 1.0);

// The contraction path einstream would use, without building a full Plan.
// `dtype` sizes the elements for Options::max_intermediate_bytes.
PathInfo contraction_path(std::string_view expression,
                          const std::vector<std::vector<std::int64_t>>& shapes,
                          const Options& options = {}, DataType dtype = DataType::f32);

// One-shot evaluation: plans, executes and discards the plan.
void einsum(std::string_view expression, const std::vector<ConstTensorView>& inputs,
            const TensorView& output, const Options& options = {});
void einsum(std::string_view expression, const std::vector<ConstTensorView>& inputs,
            const TensorView& output, Scalar alpha, Scalar beta, const Options& options = {});
// The same with integer modes (see Plan's integer-mode constructor).
void einsum(const std::vector<std::vector<std::int64_t>>& input_modes,
            const std::vector<std::int64_t>& output_modes,
            const std::vector<ConstTensorView>& inputs, const TensorView& output,
            const Options& options = {});
void einsum(const std::vector<std::vector<std::int64_t>>& input_modes,
            const std::vector<std::int64_t>& output_modes,
            const std::vector<ConstTensorView>& inputs, const TensorView& output, Scalar alpha,
            Scalar beta, const Options& options = {});

}  // namespace einstream
