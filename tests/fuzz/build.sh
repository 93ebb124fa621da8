#!/bin/sh
# build.sh [OUT] — builds the differential fuzzer (libFuzzer, ASan, UBSan)
# straight from the gcheap sources, the way the top-level CMakeLists.txt
# assembles the library: gc/*.c plus the folder of every collector named in
# collectors/collectors.def that has a CMakeLists.txt (boehm only when
# pkg-config finds bdw-gc), listed in a gcheap-collectors.h of its own.
# OUT defaults to $GCHEAP_FUZZ_BUILD/gcheap-fuzz.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${GCHEAP_FUZZ_BUILD:-/tmp/gcheap-fuzz-build}
out=${1:-$build/gcheap-fuzz}
cc=${CC_FUZZ:-clang}
mkdir -p "$(dirname "$out")"

# The .c files a folder gives the installed library: those its
# CMakeLists.txt lists in gcheap_sources(...) before any TESTING or
# LIBRARIES keyword (the test hooks are not fuzzed), or, if none are found
# there, every .c file of the folder that does not define main().
library_sources() {
  listed=$(awk '/gcheap_sources\(/ {on = 1; skip = 0}
                on { for (i = 1; i <= NF; i++) {
                       if ($i == "TESTING" || $i == "LIBRARIES") skip = 1
                       if (!skip && $i ~ /\.c\)?$/) {
                         f = $i; sub(/^gcheap_sources\(/, "", f)
                         sub(/\)$/, "", f); print f } } }
                on && /\)/ {on = 0}' "$1/CMakeLists.txt")
  if [ -n "$listed" ]; then
    for f in $listed; do printf '%s ' "$1$f"; done
  else
    for f in "$1"*.c; do
      grep -q '^int main' "$f" || printf '%s ' "$f"
    done
  fi
}

defines=""
sources=""
libs=""
mkdir -p "$build/generated"
header="$build/generated/gcheap-collectors.h"
echo "/* Written by tests/fuzz/build.sh from collectors/collectors.def. */" >"$header"
for name in $(sed -n 's/^GC_COLLECTOR(\([a-z0-9_]*\),.*/\1/p' \
                "$root/collectors/collectors.def"); do
  dir="$root/collectors/$name/"
  [ -f "$dir/CMakeLists.txt" ] || continue
  if [ "$name" = boehm ]; then
    if ! pkg-config --exists bdw-gc; then
      echo "build.sh: bdw-gc not found: building without collector=boehm" >&2
      continue
    fi
    libs="$libs $(pkg-config --libs bdw-gc)"
    # fuzz_boehm.c talks to Boehm directly when it is there.
    defines="$defines $(pkg-config --cflags bdw-gc) -DGCHEAP_HAVE_boehm"
  fi
  echo "GC_BUILT_COLLECTOR($name)" >>"$header"
  sources="$sources $(library_sources "$dir")"
done

# -O1 keeps the sanitizers' reports precise while running fast enough;
# -fno-sanitize-recover makes any undefined behaviour a crash libFuzzer saves.
common="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
  -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter
  -DGC_IMPL -I$root/gc -I$root/collectors -I$build/generated"
# The library gets edge coverage but not comparison tracing: verify=1 walks
# whole heaps, and tracing every comparison in those loops made executions
# several times slower without guiding the fuzzer anywhere new. Nor does
# fuzz_digest.c, which hashes every reachable field after each collection
# (5 % of the fuzzer's time went to tracing its comparisons) and decides
# nothing from the input.
objects=""
mkdir -p "$build/obj"
for src in $(library_sources "$root/gc/") $sources "$here/fuzz_digest.c"; do
  obj="$build/obj/$(echo "$src" | sed "s|^$root/||; s|/|_|g; s|\.c\$|.o|")"
  # shellcheck disable=SC2086
  $cc $common $defines -fsanitize=fuzzer-no-link \
    -fno-sanitize-coverage=trace-cmp -c "$src" -o "$obj"
  objects="$objects $obj"
done
# The sanitizer runtimes as shared libraries, so that the fuzzer can tell
# Boehm not to scan their data for roots (fuzz_boehm.c); libstdc++ (which
# libFuzzer needs) linked statically, so that the ASan runtime comes first
# in the library list as it requires.
asan_lib=$($cc -print-file-name=libclang_rt.asan-x86_64.so)
# shellcheck disable=SC2086
$cc $common $defines -fsanitize=fuzzer -shared-libsan -static-libstdc++ \
  -Wl,-rpath,"$(dirname "$asan_lib")" $(ls "$here"/fuzz_*.c | grep -v fuzz_digest.c) \
  $objects $libs \
  -lm -o "$out"
echo "$out"
