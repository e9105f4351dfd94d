#!/usr/bin/env bash
# The CUDA suite on a GPU machine: builds einstream_cuda_tests, runs it, then
# runs it again under compute-sanitizer's memcheck (with --leak-check full),
# racecheck and initcheck, and prints one summary line. Run it before calling
# any CUDA change done.
#
#   scripts/gpu-check.sh [--build-dir DIR] [--tools memcheck,racecheck,initcheck]
#                        [--filter GTEST_FILTER] [--sanitizer-filter GTEST_FILTER]
#                        [--tool-timeout SECONDS] [--shards N] [--no-suite] [--no-mpi]
#
# Under the sanitizers the tests that provoke CUDA errors on purpose (real
# ones, or injected: CudaFaultInjection) are left out (--sanitizer-filter's
# default); racecheck and initcheck also leave out the half-precision GEMM
# tests (*HalfPrecision*, *MatchesReferenceF16/BF16): cuBLAS's f16/bf16
# kernels write C in a way initcheck does not see, so every later read of a
# GEMM result is reported, and racecheck reports hazards inside cuBLAS's
# split-K kernel; scripts/cublas-half-initcheck-probe.cu shows both with
# cuBLAS alone. Logs go to DIR/gpu-check/. --shards N runs each tool as N gtest
# shards at once (GTEST_TOTAL_SHARDS), one process each: the sanitizers cost
# host time per launch, so shards on a many-core machine finish N times
# sooner; the plain run is sharded too, its device-memory tests then run
# alone after it. --no-suite skips the plain run (e.g. one tool per call).
# With the plain run, where the build has MPI (einstream_mpi_tests) and
# mpirun is found, the MPI test also runs on 1 rank and on as many ranks as
# GPUs (at least 2: ranks then share a GPU): one rank per GPU takes the NCCL
# path of execute_distributed, shared GPUs the MPI one; --no-mpi skips it.
# Exit status 0 when the suite passes and every tool reports no error.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build-gpu-check
tools=memcheck,racecheck,initcheck
filter='*'
sanitizer_filter='-CudaBackend.FailedCallsSurfaceAsCudaError:CudaFaultInjection.*'
half_gemm_tests='*HalfPrecision*:*MatchesReferenceF16:*MatchesReferenceBF16'
own_sanitizer_filter=0
tool_timeout=0
shards=1
run_suite=1
run_mpi=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --sanitizer-filter) sanitizer_filter=$2; own_sanitizer_filter=1; shift 2 ;;
    --tool-timeout) tool_timeout=$2; shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --no-suite) run_suite=0; shift ;;
    --no-mpi) run_mpi=0; shift ;;
    -h|--help) sed -n 2,27p "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

logs=$build/gpu-check
mkdir -p "$logs"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if ! cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
       -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" >"$logs/configure.log" 2>&1 ||
   ! cmake --build "$build" -j"$(nproc)" --target einstream_cuda_tests >"$logs/build.log" 2>&1; then
  tail -20 "$logs/build.log" "$logs/configure.log" 2>/dev/null
  echo "gpu-check: BUILD FAILED (logs in $logs)"
  exit 1
fi
tests=$build/tests/einstream_cuda_tests
if ! "$tests" --gtest_list_tests >/dev/null 2>&1 || ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-check: no GPU visible (the CUDA tests would skip); nothing checked"
  exit 1
fi

# "N/M passed" from gtest logs (one per shard).
gtest_counts() {
  local passed=0 ran=0 log p r
  for log in "$@"; do
    p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$log" | grep -Eo '[0-9]+$' | head -1)
    r=$(grep -Eo '^\[==========\] [0-9]+ tests? from' "$log" | grep -Eo '[0-9]+' | head -1)
    passed=$((passed + ${p:-0}))
    ran=$((ran + ${r:-0}))
  done
  echo "$passed/$ran"
}

status=0
summary=""
# The plain suite: one process, or with --shards N (and the default filter)
# N shards at once and then the device-memory tests alone: those compare
# cudaMemGetInfo before and after, which other processes on the GPU disturb.
memory_tests='CudaFaultInjection.*'
if [ $run_suite -eq 1 ]; then
  suite_logs=("$logs/suite.log")
  if [ "$shards" -gt 1 ] && [ "$filter" = '*' ]; then
    suite_logs=()
    for ((shard = 0; shard < shards; ++shard)); do
      GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$shard "$tests" \
        --gtest_filter="*-$memory_tests" >"$logs/suite.$shard.log" 2>&1 &
      suite_logs+=("$logs/suite.$shard.log")
    done
    suite_rc=0
    for job in $(jobs -p); do wait "$job" || suite_rc=1; done
    "$tests" --gtest_filter="$memory_tests" >"$logs/suite.log" 2>&1 || suite_rc=1
    suite_logs+=("$logs/suite.log")
  else
    "$tests" --gtest_filter="$filter" >"$logs/suite.log" 2>&1
    suite_rc=$?
  fi
  summary="suite $(gtest_counts "${suite_logs[@]}") passed"
  [ $suite_rc -eq 0 ] || { summary="$summary (FAILED)"; status=1; }
fi

# The MPI test on 1 rank and on one rank per GPU (at least 2).
if [ $run_suite -eq 1 ] && [ $run_mpi -eq 1 ] && command -v mpirun >/dev/null 2>&1 &&
   cmake --build "$build" -j"$(nproc)" --target einstream_mpi_tests >"$logs/build-mpi.log" 2>&1; then
  launcher=(mpirun --oversubscribe)
  [ "$(id -u)" -eq 0 ] && launcher+=(--allow-run-as-root)
  gpus=$(nvidia-smi -L | grep -c '^GPU')
  for ranks in 1 $((gpus > 2 ? gpus : 2)); do
    if timeout 300 "${launcher[@]}" -np "$ranks" "$build/tests/einstream_mpi_tests" \
         >"$logs/mpi.$ranks.log" 2>&1; then
      summary="$summary; mpi on $ranks rank(s) $(gtest_counts "$logs/mpi.$ranks.log") passed"
    else
      summary="$summary; mpi on $ranks rank(s) FAILED"
      status=1
    fi
  done
elif [ $run_suite -eq 1 ] && [ $run_mpi -eq 1 ]; then
  summary="$summary; mpi: not run (no mpirun, or the build has no MPI: $logs/build-mpi.log)"
fi

# Runs one tool over shard $2 of $shards; its log is $logs/$1.$2.log.
run_shard() {
  local tool=$1 shard=$2
  local options=(--tool "$tool" --error-exitcode 99)
  [ "$tool" = memcheck ] && options+=(--leak-check full)
  local runner=()
  [ "$tool_timeout" -gt 0 ] && runner=(timeout "$tool_timeout")
  local tool_filter=$sanitizer_filter
  if [ "$tool" != memcheck ] && [ $own_sanitizer_filter -eq 0 ]; then
    tool_filter="$sanitizer_filter:$half_gemm_tests"
  fi
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$shard "${runner[@]}" compute-sanitizer \
    "${options[@]}" "$tests" --gtest_filter="$tool_filter" >"$logs/$tool.$shard.log" 2>&1
  echo $? >"$logs/$tool.$shard.rc"
}

IFS=, read -r -a tool_list <<<"$tools"
for tool in "${tool_list[@]}"; do
  for ((shard = 0; shard < shards; ++shard)); do
    run_shard "$tool" "$shard" &
  done
  wait
  errors=0 timed_out=0 failed=0 tool_logs=()
  for ((shard = 0; shard < shards; ++shard)); do
    log=$logs/$tool.$shard.log
    tool_logs+=("$log")
    rc=$(cat "$logs/$tool.$shard.rc")
    # memcheck and initcheck end with "ERROR SUMMARY: N errors", racecheck
    # with "RACECHECK SUMMARY: H hazards displayed (N errors, W warnings)".
    shard_errors=$(sed -nE 's/.*(ERROR SUMMARY: |RACECHECK SUMMARY: .*\()([0-9]+) error.*/\2/p' \
      "$log" | tail -1)
    errors=$((errors + ${shard_errors:-0}))
    [ "$rc" -eq 124 ] && timed_out=1
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && failed=1
    [ -z "$shard_errors" ] && [ "$rc" -ne 124 ] && failed=1
  done
  counts=$(gtest_counts "${tool_logs[@]}")
  if [ $timed_out -eq 1 ]; then
    summary="$summary; $tool: TIMED OUT after ${tool_timeout}s ($errors errors so far, tests $counts)"
    status=1
  elif [ $failed -eq 1 ] || [ $errors -ne 0 ]; then
    summary="$summary; $tool: $errors errors, tests $counts"
    status=1
  else
    summary="$summary; $tool: clean, tests $counts"
  fi
done
echo "gpu-check: ${summary#; } (logs in $logs)"
exit $status
