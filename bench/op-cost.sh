#!/bin/sh
# op-cost.sh [BUILD_DIR] — instructions per API operation, with gcheap.h's
# inline fast paths and without (GCHEAP_NO_INLINE), on every collector, from
# callgrind: each operation runs in a loop 100,000 and 200,000 times
# (gcheap-op-cost, op-cost.c), and the difference of the two counts over
# 100,000 is the cost of one operation, the loop's own test and increment
# included (about 3 instructions). verify=0, stress=0: the fast paths'
# setting. "alloc" includes its share of the collections it causes.
set -eu
build=${1:-$(dirname "$0")/../build}
command -v valgrind >/dev/null || { echo "op-cost.sh: valgrind is not installed" >&2; exit 2; }
collectors=$("$build/gcheap" --version | sed -n 's/.*(collectors: \(.*\))/\1/p' | tr -d ,)
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -n 1
}
printf '%-10s %-10s %8s %10s\n' collector operation inline out-of-line
for c in $collectors; do
  for op in alloc get set-young set-old get-i64 set-i64; do
    line=$(printf '%-10s %-10s' "$c" "$op")
    for program in gcheap-op-cost gcheap-op-cost-noinline; do
      opts="-C collector=$c -C verify=0 -C stress=0"
      a=$(count "$build/$program" $opts "$op" 100000)
      b=$(count "$build/$program" $opts "$op" 200000)
      line="$line $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%9.1f", (b - a) / 100000 }')"
    done
    echo "$line"
  done
done
