#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (library and targets under
# AddressSanitizer and UndefinedBehaviorSanitizer, CUDA off) and runs each for
# the given number of seconds (default 60), starting from the checked-in seed
# corpus. Any crash, sanitizer report or wrong result fails the script and
# leaves the input in build-fuzz/findings/<target>/; copy it to
# tests/fuzz/regressions/<target>/ (einstream_tests replays that folder) and
# fix the bug.
#
#   bash scripts/fuzz.sh [seconds]      # EINSTREAM_FUZZ_BUILD_DIR overrides build-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${EINSTREAM_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${EINSTREAM_JOBS:-$(nproc)}
start=$(date +%s)

# Warnings are errors, as in the README's gcc build: clang warns of more
# (-Wunused-private-field, for one), so this build catches what that one
# cannot.
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" -DEINSTREAM_ENABLE_CUDA=OFF -DEINSTREAM_BUILD_FUZZ=ON \
  -DEINSTREAM_BUILD_TESTS=OFF -DEINSTREAM_BUILD_BENCH=OFF -DEINSTREAM_BUILD_CLI=OFF \
  -DEINSTREAM_WARNINGS_AS_ERRORS=ON >/dev/null
targets=(parse npy plan network)
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/einstream_fuzz_}"
built=$(date +%s)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"       # grows as the fuzzer runs; the seeds stay read-only
  findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  log="$build/fuzz-$target.log"
  echo "fuzz: $target for ${seconds}s"
  # -timeout: one input must not take more than 10 s (a hang is a bug too);
  # -rss_limit_mb bounds what a hostile size can make the target allocate.
  if "$build/tests/fuzz/einstream_fuzz_$target" "$corpus" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    summary+=("$target: $runs runs")
  else
    failed+=("$target")
    summary+=("$target: FAILED (log $log, input in $findings/)")
    tail -n 40 "$log"
  fi
done
end=$(date +%s)
printf -v joined '%s; ' "${summary[@]}"
echo "fuzz: ${joined}build $((built - start))s, fuzzing $((end - built))s"
[ ${#failed[@]} -eq 0 ]
