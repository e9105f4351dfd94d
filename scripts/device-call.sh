#!/usr/bin/env bash
# One device call's worth of checking, for the first call of a session on a
# GPU machine (the device tool runs each command for at most 600 s, and
# device time is scarce): builds every GPU target once with all cores, runs
# scripts/gpu-check.sh (the CUDA suite, the MPI test on 1 and 2+ ranks,
# memcheck over the whole suite, sharded) with what time is left, the host
# suite's NCCL-rank tests, and the elementwise and GEMM-orientation
# benchmarks. The peers table (bench/peers.py, several minutes) needs a call of its own, on the
# machine kept warm. Everything it writes goes to $OUT (default
# build/device-call): device.txt, the build log, gpucheck.log with its logs
# as gpucheck-logs.tgz, and bench-kernels.txt.
#
#   scripts/device-call.sh [--seconds S]    (default 570: the call's budget)
set -u
cd "$(dirname "$0")/.."
budget=570
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) budget=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "device-call: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
out=${OUT:-build/device-call}
mkdir -p "$out"
start=$SECONDS
left() { echo $((budget - (SECONDS - start))); }

nvidia-smi -L | tee "$out/device.txt"
if ! cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEINSTREAM_ENABLE_MPI=ON \
       -DCMAKE_CUDA_ARCHITECTURES=90 >"$out/configure.log" 2>&1 ||
   ! cmake --build build -j"$(nproc)" --target einstream_cuda_tests einstream_mpi_tests \
       einstream_tests einstream_cuda_bench einstream >"$out/build.log" 2>&1; then
  grep -m5 -B2 -A10 "error" "$out/build.log" "$out/configure.log"
  echo "device-call: BUILD FAILED at $((SECONDS - start)) s"
  exit 1
fi
grep -h "NCCL" "$out/configure.log" | head -2
echo "device-call: built at $((SECONDS - start)) s"

build/tests/einstream_tests --gtest_filter='NcclRanks.*' 2>&1 | grep -E 'OK \]|FAILED|PASSED|SKIP'
build/bench/einstream_cuda_bench --benchmark_filter='Multiply|WriteCeiling|GemmOrientation' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true >"$out/bench-kernels.txt" 2>&1
grep -E 'median' "$out/bench-kernels.txt" | sed 's/  */ /g'
echo "device-call: benchmarked at $((SECONDS - start)) s"

# gpu-check: its suite and MPI runs take about 150 s on 16 cores; memcheck
# gets the rest.
tool_timeout=$(($(left) - 150))
[ $tool_timeout -lt 60 ] && tool_timeout=60
bash scripts/gpu-check.sh --build-dir build --tools memcheck --shards 12 \
  --tool-timeout "$tool_timeout" >"$out/gpucheck.log" 2>&1
echo "device-call: gpu-check rc $? at $((SECONDS - start)) s"
tail -4 "$out/gpucheck.log"
tar czf "$out/gpucheck-logs.tgz" -C build/gpu-check .

echo "device-call: next, on the warm machine: python3 bench/peers.py ./build/einstream --out-dir \$OUT/results"
