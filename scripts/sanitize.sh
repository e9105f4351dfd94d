#!/usr/bin/env bash
# Sanitizer builds of einstream (CUDA off), each building only what it runs:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer: the library, the CLI and
#      the host test suites (einstream_tests, einstream_cli_tests, the install
#      test), run with ctest. A UB report aborts the test (no recovery).
#   2. ThreadSanitizer: the library and einstream_concurrency_tests (thread
#      pool, block copies, Plans used from several threads at once).
# Prints one summary line; exits non-zero if either fails.
#
#   bash scripts/sanitize.sh     # EINSTREAM_SANITIZE_BUILD_DIR overrides the build-asan/build-tsan prefix
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${EINSTREAM_SANITIZE_BUILD_DIR:-build}
jobs=${EINSTREAM_JOBS:-$(nproc)}
if command -v clang++ >/dev/null 2>&1; then compiler=clang++; else compiler=g++; fi
# -O1 keeps the tests quick and the reports readable; Debug keeps assertions on.
# Warnings are errors, as in the README's gcc build (clang warns of more).
common=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"
        -DEINSTREAM_ENABLE_CUDA=OFF -DEINSTREAM_BUILD_BENCH=OFF -DEINSTREAM_ENABLE_MPI=OFF
        -DEINSTREAM_WARNINGS_AS_ERRORS=ON)
now() { date +%s; }
status=0

# ------------------------------------------------------------ ASan + UBSan
start=$(now)
asan="$prefix-asan"
cmake -S . -B "$asan" "${common[@]}" \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  >/dev/null
cmake --build "$asan" -j"$jobs" --target einstream_tests einstream_cli_tests
built=$(now)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if ctest --test-dir "$asan" --output-on-failure -j"$jobs" >"$asan/ctest.log" 2>&1; then
  asan_result=$(grep -E 'tests passed' "$asan/ctest.log" | tail -n 1)
else
  status=1
  grep -E -A 200 'The following tests FAILED|tests passed' "$asan/ctest.log" | head -n 60 || true
  asan_result="FAILED ($(grep -E 'tests passed' "$asan/ctest.log" | tail -n 1); log $asan/ctest.log)"
fi
asan_summary="asan+ubsan ($compiler): $asan_result, build $((built - start))s, tests $(($(now) - built))s"
echo "sanitize: $asan_summary"

# ------------------------------------------------------------ TSan
start=$(now)
tsan="$prefix-tsan"
cmake -S . -B "$tsan" "${common[@]}" -DEINSTREAM_BUILD_CLI=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" >/dev/null
cmake --build "$tsan" -j"$jobs" --target einstream_concurrency_tests
built=$(now)
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# TSan in LLVM 14 cannot map its shadow memory under the high ASLR entropy
# of recent kernels ("unexpected memory mapping"); setarch -R turns ASLR off
# for this process only.
run=("$tsan/tests/einstream_concurrency_tests")
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then run=(setarch "$(uname -m)" -R "${run[@]}"); fi
if "${run[@]}" >"$tsan/tsan.log" 2>&1; then
  tsan_result="$(grep -E '^\[  PASSED  \]' "$tsan/tsan.log" | tail -n 1 | sed -E 's/\[  PASSED  \] ([0-9]+) tests?\./\1 tests passed/')"
else
  status=1
  grep -E -B 2 -A 40 'WARNING: ThreadSanitizer|FAILED|FATAL' "$tsan/tsan.log" | head -n 80 || true
  tsan_result="FAILED (log $tsan/tsan.log)"
fi
tsan_summary="tsan: $tsan_result, build $((built - start))s, run $(($(now) - built))s"

echo "sanitize: $asan_summary; $tsan_summary"
exit $status
