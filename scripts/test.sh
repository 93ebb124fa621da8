#!/usr/bin/env bash
# Every test gcheap has, as CI runs it (.ci/run calls exactly this):
#   1. the Criterion suite with verify=1, plain and again with stress=1
#      (ctest registers both variants of every test executable);
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the threaded stress program built with ThreadSanitizer;
#   4. the suite under valgrind memcheck (errors and leaks fail the run);
#   5. the libFuzzer differential fuzzer, for a bounded time per collector.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

step() { printf '\n==== %s (%s)\n' "$*" "$(date +%T)"; }

step "dependencies"
scripts/deps.sh

step "build; suite with verify=1, plain and stress=1"
scripts/build.sh build
ctest --test-dir build -j "$jobs" --output-on-failure -LE valgrind

# The examples and the benchmark smoke tests run in the plain build above;
# here the library's own suite, plain and stress=1. Boehm's own tests with
# stress=1 are left out: a Boehm collection at every allocation, over ASan's
# shadow memory, takes minutes (boehm runs under stress=1 above and under
# valgrind below).
step "AddressSanitizer + UndefinedBehaviorSanitizer"
scripts/build.sh build-asan -DGCHEAP_SANITIZE=ON -DGCHEAP_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j "$jobs" --output-on-failure \
  -L "plain|stress" -LE example -E "^boehm_.*-stress$"

# Criterion cannot run under ThreadSanitizer (its process arenas fail to
# map), so TSan runs the threaded stress program (tests/stress/mt-stress.c):
# several threads on one heap of each collector, fixed seeds. collector=boehm
# is left out of this build: TSan cannot follow Boehm's signal-based stopping
# of threads (it runs threaded in the other steps).
step "ThreadSanitizer: threaded stress program"
mkdir -p build-tsan
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGCHEAP_TSAN=ON \
  -DGCHEAP_WITH_BOEHM=OFF -DGCHEAP_BENCH=OFF >build-tsan/build.log 2>&1 ||
  { cat build-tsan/build.log; exit 1; }
cmake --build build-tsan -j "$jobs" --target mt-stress \
  >>build-tsan/build.log 2>&1 || { tail -n 30 build-tsan/build.log; exit 1; }
for seed in 1 2 3; do
  TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/mt-stress "$seed" 4 20000
done

step "valgrind memcheck"
# A few minutes in all: each test runs its whole file under memcheck, so a
# line appears only as each one ends (the slowest take about two minutes).
echo "  $(ctest --test-dir build -N -L valgrind | grep -c 'Test #') tests; starting:"
ctest --test-dir build -N -L valgrind | sed -n 's/^ *Test *#[0-9]*: /    /p'
ctest --test-dir build -j "$jobs" --output-on-failure -L valgrind \
  --no-tests=error

if [ -x tests/fuzz/run.sh ]; then
  step "differential fuzzer"
  tests/fuzz/run.sh "${GCHEAP_FUZZ_SECONDS:-20}"
fi
step "all passed"
