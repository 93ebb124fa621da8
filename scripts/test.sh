#!/usr/bin/env bash
# Every test gcheap has, as CI runs it (.ci/run calls exactly this):
#   1. the Criterion suite with verify=1, plain and again with stress=1
#      (ctest registers both variants of every test executable);
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the suite under valgrind memcheck (errors and leaks fail the run);
#   4. the libFuzzer differential fuzzer, for a bounded time per collector.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

step() { printf '\n==== %s (%s)\n' "$*" "$(date +%T)"; }

step "dependencies"
scripts/deps.sh

step "build; suite with verify=1, plain and stress=1"
scripts/build.sh build
ctest --test-dir build -j "$jobs" --output-on-failure -LE valgrind

step "AddressSanitizer + UndefinedBehaviorSanitizer"
scripts/build.sh build-asan -DGCHEAP_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j "$jobs" --output-on-failure -LE valgrind

step "valgrind memcheck"
ctest --test-dir build -j "$jobs" --output-on-failure -L valgrind

if [ -x tests/fuzz/run.sh ]; then
  step "differential fuzzer"
  tests/fuzz/run.sh "${GCHEAP_FUZZ_SECONDS:-20}"
fi
step "all passed"
