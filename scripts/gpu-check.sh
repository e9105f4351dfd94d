#!/usr/bin/env bash
# The CUDA suite on a GPU machine: builds einstream_cuda_tests, runs it, then
# runs it again under compute-sanitizer's memcheck (with --leak-check full),
# racecheck and initcheck, and prints one summary line. Run it before calling
# any CUDA change done.
#
#   scripts/gpu-check.sh [--build-dir DIR] [--tools memcheck,racecheck,initcheck]
#                        [--filter GTEST_FILTER] [--sanitizer-filter GTEST_FILTER]
#                        [--tool-timeout SECONDS]
#
# Under the sanitizers the tests that provoke CUDA errors on purpose (real
# ones, or injected: CudaFaultInjection) are left out (--sanitizer-filter's
# default); logs go to DIR/gpu-check/.
# Exit status 0 when the suite passes and every tool reports no error.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build-gpu-check
tools=memcheck,racecheck,initcheck
filter='*'
sanitizer_filter='-CudaBackend.FailedCallsSurfaceAsCudaError:CudaFaultInjection.*'
tool_timeout=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --sanitizer-filter) sanitizer_filter=$2; shift 2 ;;
    --tool-timeout) tool_timeout=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
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

# "N/M passed" from a gtest log.
gtest_counts() {
  local passed ran
  passed=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$1" | grep -Eo '[0-9]+$' || echo 0)
  ran=$(grep -Eo '^\[==========\] [0-9]+ tests? from' "$1" | grep -Eo '[0-9]+' | head -1 || echo 0)
  echo "${passed:-0}/${ran:-0}"
}

status=0
"$tests" --gtest_filter="$filter" >"$logs/suite.log" 2>&1
suite_rc=$?
summary="suite $(gtest_counts "$logs/suite.log") passed"
[ $suite_rc -eq 0 ] || { summary="$summary (FAILED)"; status=1; }

IFS=, read -r -a tool_list <<<"$tools"
for tool in "${tool_list[@]}"; do
  options=(--tool "$tool" --error-exitcode 99)
  [ "$tool" = memcheck ] && options+=(--leak-check full)
  runner=()
  [ "$tool_timeout" -gt 0 ] && runner=(timeout "$tool_timeout")
  "${runner[@]}" compute-sanitizer "${options[@]}" "$tests" --gtest_filter="$sanitizer_filter" \
    >"$logs/$tool.log" 2>&1
  rc=$?
  errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$logs/$tool.log" | tail -1 | grep -Eo '[0-9]+$')
  counts=$(gtest_counts "$logs/$tool.log")
  if [ $rc -eq 124 ]; then
    summary="$summary; $tool: TIMED OUT after ${tool_timeout}s"
    status=1
  elif [ $rc -ne 0 ] || [ "${errors:-0}" != 0 ]; then
    summary="$summary; $tool: ${errors:-?} errors, tests $counts (rc $rc)"
    status=1
  else
    summary="$summary; $tool: clean, tests $counts"
  fi
done
echo "gpu-check: $summary (logs in $logs)"
exit $status
