#!/bin/sh
# scaling.sh [N [GCHEAP [WORKLOAD_ARGS...]]] — how two threads doing twice
# the work compare with one thread, beside what the machine itself allows.
#
# Each of N rounds (default 7) runs, in turn:
#   one:     gcheap bench mt-gcbench 1            (one thread, the work W)
#   procs:   two such processes at once           (2W on two cores, nothing
#            shared: the machine's own ceiling; the slower one's time)
#   threads: gcheap bench mt-gcbench 2            (2W on two threads of one heap)
# and prints procs/one and threads/one per round, then the medians and
# ranges. Perfect scaling is 1.0 for both; "procs" shows how far from it
# this machine is whatever the program does (shared caches, memory
# bandwidth, the hypervisor), so "threads" can be read against it.
# -C options go after GCHEAP as usual, e.g. scaling.sh 7 build/gcheap -C gc-threads=1.
#
# Before and after the rounds it times mt-gcbench 1 pinned to each core
# (taskset, if installed): a virtual machine's cores are not always equal
# (on this project's VM, at times one ran 1.4-1.8x slower than the other,
# bench/results/threads-13/scaling-history.md), and two threads that wait
# for each other at every collection go at the slower one's pace.
set -eu
n=${1:-7}
gcheap=${2:-$(dirname "$0")/../build/gcheap}
[ $# -ge 2 ] && shift 2 || shift $#
wall() { "$@" 2>/dev/null | sed -n 's/^wall-time: \([0-9.]*\).*/\1/p'; }
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.p"' EXIT
# The median of 3 pinned runs of mt-gcbench 1 on each core, and the ratio
# of the slowest core's to the fastest's.
cores() {
  command -v taskset >/dev/null 2>&1 || return 0
  ncpu=$(getconf _NPROCESSORS_ONLN)
  line="cores ($1):" c=0 fast="" slow=""
  shift
  while [ $c -lt "$ncpu" ]; do
    t=$(for r in 1 2 3; do wall taskset -c $c "$gcheap" "$@" bench mt-gcbench 1; done | sort -n | sed -n 2p)
    line="$line  $c: $(printf "%.3f" "$t") s"
    fast=$(awk -v a="$t" -v b="${fast:-$t}" 'BEGIN { print (a < b) ? a : b }')
    slow=$(awk -v a="$t" -v b="${slow:-$t}" 'BEGIN { print (a > b) ? a : b }')
    c=$((c + 1))
  done
  awk -v l="$line" -v f="$fast" -v s="$slow" 'BEGIN { printf "%s  (slowest / fastest %.2fx)\n", l, s / f }'
}
cores before "$@"
i=0
while [ $i -lt "$n" ]; do
  one=$(wall "$gcheap" "$@" bench mt-gcbench 1)
  wall "$gcheap" "$@" bench mt-gcbench 1 >"$tmp.p" &
  other=$(wall "$gcheap" "$@" bench mt-gcbench 1)
  wait
  procs=$(awk -v a="$other" -v b="$(cat "$tmp.p")" 'BEGIN { print (a > b) ? a : b }')
  threads=$(wall "$gcheap" "$@" bench mt-gcbench 2)
  awk -v o="$one" -v p="$procs" -v t="$threads" \
    'BEGIN { printf "one %.3f s  procs %.3f s (%.2fx)  threads %.3f s (%.2fx)\n", o, p, p / o, t, t / o }'
  echo "$one $procs $threads" >>"$tmp"
  i=$((i + 1))
done
cores after "$@"
awk '{ p[NR] = $2 / $1; t[NR] = $3 / $1 }
     function med(a, n,   i, j, x) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                                     return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     END { n = NR; mp = med(p, n); lp = p[1]; hp = p[n]; mt = med(t, n); lt = t[1]; ht = t[n]
           printf "two processes / one: median %.2f (%.2f-%.2f); two threads / one: median %.2f (%.2f-%.2f); %d rounds\n", mp, lp, hp, mt, lt, ht, n }' "$tmp"
