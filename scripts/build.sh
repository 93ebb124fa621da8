#!/usr/bin/env bash
# Configures and builds one build tree: scripts/build.sh DIR [cmake args...]
# Prints a line per step and per target built (the full log is DIR/build.log),
# so that a first build shows it is progressing without flooding CI's log.
set -euo pipefail
dir=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
echo "build: configuring $dir ${*:-}"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1 ||
  { cat "$dir/configure.log"; exit 1; }
echo "build: compiling in $dir on $(nproc) cores (log: $dir/build.log)"
set +e
cmake --build "$dir" -j "$(nproc)" 2>&1 | tee "$dir/build.log" |
  grep --line-buffered -E "Built target|error:" | sed -u 's/^/  /'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "build: failed; the end of $dir/build.log:" >&2
  tail -n 30 "$dir/build.log" >&2
  exit "$status"
fi
echo "build: done"
