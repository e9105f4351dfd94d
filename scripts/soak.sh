#!/usr/bin/env bash
# Soak: builds einstream_soak (bench/soak.cpp) and runs it for the given time:
# random Plans (all dtypes, every stride layout, operands in host or device
# memory, memory limits that make host operands stream) created, executed
# and destroyed in one process, each result checked against the reference,
# while the program samples device memory in use (cudaMemGetInfo) and host
# RSS and locked memory, and this script samples nvidia-smi's memory.used
# every 5 s. Prints the program's summary lines and one nvidia-smi line, for
# bench/results/soak-<gpu>.md; exits non-zero on a wrong result or memory
# growth past the program's limits (--device-growth-mib, --rss-growth-mib).
#
#   scripts/soak.sh [MINUTES] [--seconds S] [--backend auto|host|cuda] [--seed N]
#                   [--build-dir DIR] [-- more einstream_soak arguments]
#   scripts/soak.sh 30                               # the GPU soak (default 10 minutes)
#   scripts/soak.sh --seconds 5 --backend host       # a quick run on any machine
#
# The build directory (default build-soak) is configured Release, with the
# CUDA backend wherever CMake finds the toolkit (CUDA_ARCHITECTURES, default
# 90, sets the architectures); EINSTREAM_JOBS overrides the build's -j.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
backend=auto
seed=1
build=build-soak
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
    [0-9]*) seconds=$(awk -v minutes="$1" 'BEGIN { print minutes * 60 }'); shift ;;
    *) echo "soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
jobs=${EINSTREAM_JOBS:-$(nproc)}
mkdir -p "$build"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEINSTREAM_BUILD_BENCH=ON \
  -DEINSTREAM_BUILD_TESTS=OFF -DEINSTREAM_BUILD_CLI=OFF -DEINSTREAM_BUILD_FORTRAN=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" >"$build/soak-configure.log" 2>&1 ||
  { tail -n 20 "$build/soak-configure.log"; echo "soak: CONFIGURE FAILED"; exit 1; }
cmake --build "$build" -j"$jobs" --target einstream_soak >"$build/soak-build.log" 2>&1 ||
  { tail -n 30 "$build/soak-build.log"; echo "soak: BUILD FAILED (log $build/soak-build.log)"; exit 1; }

# nvidia-smi's view of the whole GPU, beside the program's own cudaMemGetInfo.
smi_log="$build/soak-nvidia-smi.log"
: >"$smi_log"
sampler=
if [ "$backend" != host ] && command -v nvidia-smi >/dev/null 2>&1; then
  (while true; do
     nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 >>"$smi_log" 2>/dev/null || true
     sleep 5
   done) &
  sampler=$!
  trap 'kill "$sampler" 2>/dev/null || true' EXIT
fi

set +e
"$build/bench/einstream_soak" --seconds "$seconds" --backend "$backend" --seed "$seed" \
  "${extra[@]}" | tee "$build/soak.log"
status=${PIPESTATUS[0]}
set -e
if [ -n "$sampler" ]; then
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  awk 'NF { if (n == 0) first = $1; last = $1; if ($1 > max) max = $1; if (n == 0 || $1 < min) min = $1; n++ }
       END { if (n) printf "soak: nvidia-smi memory.used (MiB, whole GPU, %d samples): first %d, min %d, max %d, last %d\n", n, first, min, max, last }' \
    "$smi_log"
fi
exit "$status"
