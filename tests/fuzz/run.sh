#!/bin/sh
# run.sh [SECONDS_PER_COLLECTOR] — builds the differential fuzzer, replays
# every regression input in regress/, then fuzzes from the seed corpus for
# SECONDS_PER_COLLECTOR (default 15) times the number of collectors in the
# build: every execution runs the input on each collector in turn, so the
# slower collectors take more of the time (the fuzzer prints each one's).
# Exits non-zero on any failure and prints the number of executions. One
# fuzzing process per core.
#
# Environment: GCHEAP_FUZZ_BUILD (build directory, default
# /tmp/gcheap-fuzz-build); new crash inputs are written there too.
# GCHEAP_FUZZ_WORKERS: fuzzing processes (default: the online CPUs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
per_collector=${1:-15}
build=${GCHEAP_FUZZ_BUILD:-/tmp/gcheap-fuzz-build}
fuzzer=$build/gcheap-fuzz
mkdir -p "$build/artifacts" "$build/corpus"

if ! "$here/build.sh" "$fuzzer" >"$build/build.log" 2>&1; then
  cat "$build/build.log"
  echo "run.sh: FAIL: the fuzzer does not build" >&2
  exit 1
fi

# The collectors this build offers: the fuzzer prints them at exit.
ncollectors=$("$fuzzer" -runs=0 "$here/corpus/bad-calls-plain" 2>&1 |
  sed -n 's/^gcheap-fuzz: .* executions on each of \([0-9]*\) collectors.*/\1/p')
[ -n "$ncollectors" ] || { echo "run.sh: the fuzzer does not start" >&2; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# One Boehm marker: the fuzzer's heaps are tiny, and waking Boehm's parallel
# markers for each of their collections took a third of collector=boehm's
# time (4.9 s against 3.2 s over the corpus), with one fuzzing process per
# core competing for the same cores. Parallel marking is tested in the
# suite (tests/boehm_*.c run with the default markers).
export GC_MARKERS=${GC_MARKERS:-1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Regressions first: each input once, on every collector. A failing one is
# reported and fails the run, but fuzzing still goes on.
failed=0
if ls "$here"/regress/* >/dev/null 2>&1; then
  echo "run.sh: replaying $(ls "$here"/regress | wc -l) regression inputs"
  for input in "$here"/regress/*; do
    if ! "$fuzzer" -runs=1 "$input" >"$build/regress.log" 2>&1; then
      echo "run.sh: FAIL: regress/$(basename "$input"):"
      grep -E '^gcheap-fuzz: [a-z]+:|SUMMARY|ERROR' "$build/regress.log" |
        head -3 | sed 's/^/    /'
      failed=1
    fi
  done
fi

# Then fuzz: one libFuzzer process per core (GCHEAP_FUZZ_WORKERS), for the
# same wall time, each with libFuzzer's own random seed (it mixes in the
# process id, so no two workers, and no two CI runs, take the same path). They share the output corpus
# (libFuzzer reloads it every second, so each picks up what the others
# found); the seed corpus is read-only. Separate processes rather than
# libFuzzer's -fork/-jobs modes, so that each prints its own totals here.
total=$((per_collector * ncollectors))
workers=${GCHEAP_FUZZ_WORKERS:-$(nproc)}
echo "run.sh: fuzzing for ${total} s on $workers worker(s): every input runs" \
  "on each of $ncollectors collectors in turn, so each gets a share by its own" \
  "speed (the per-collector seconds are printed at the end)"
# -entropic_scale_per_exec_time=1: libFuzzer's entropic schedule picks the
# inputs to mutate by the rare coverage features they reach; this scales
# each input's weight down with its execution time, so that of two inputs
# that reach the same rare features the faster is mutated more (up to 30x).
# An input costs from 1 ms to 150 ms (a stress configuration verifies the
# whole heap at every allocation): over 60 s from the seed corpus it ran
# 1.74x the executions (10,973 against 6,297) and reached as much coverage
# (2,513 edges against 2,508).
pids=""
for worker in $(seq 1 "$workers"); do
  "$fuzzer" -max_total_time="$total" -print_final_stats=1 \
    -entropic_scale_per_exec_time=1 \
    -artifact_prefix="$build/artifacts/" -max_len=2048 -timeout=60 \
    -rss_limit_mb=4096 "$build/corpus" "$here/corpus" \
    >"$build/fuzz-$worker.log" 2>&1 &
  pids="$pids $!"
done
worker=0
executions=0
for pid in $pids; do
  worker=$((worker + 1))
  status=0
  wait "$pid" || status=$?
  log="$build/fuzz-$worker.log"
  grep -E '^gcheap-fuzz:|ERROR|SUMMARY' "$log" | tail -20 |
    sed "s/^/worker $worker: /"
  n=$(sed -n 's/^stat::number_of_executed_units: //p' "$log")
  executions=$((executions + ${n:-0}))
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "run.sh: FAIL (worker $worker, exit $status): crash input in" \
      "$build/artifacts/; log: $log"
    ls "$build/artifacts/"
  fi
done
echo "run.sh: $executions executions in all, each on every collector"
if [ "$failed" -ne 0 ]; then
  echo "run.sh: FAIL"
  exit 1
fi
echo "run.sh: PASS"
