#!/bin/sh
# paired.sh N KEY -- COMMAND_A... -- COMMAND_B...
#
# Runs two benchmark commands in turn (A B A B ...) N times each and prints,
# for the "KEY: value" line both print (wall-time, pause-max, ...), the
# median of each and the median, smallest and largest of the paired ratios
# B/A. Each pair saw the machine in the same state, so their ratio moves far
# less than either median (shared/design/boehm-baseline.md, point 6).
#
#   bench/paired.sh 7 pause-max -- build/gcheap -C gc-threads=1 bench \
#       large-live 512 -- build/gcheap -C gc-threads=2 bench large-live 512
#
# Used for what "gcheap compare" cannot pair: one collector under two
# options, or two builds of gcheap (before and after a change).
set -eu
[ $# -ge 5 ] || { echo "usage: $0 N KEY -- COMMAND_A... -- COMMAND_B..." >&2; exit 2; }
n=$1 key=$2
shift 2
[ "$1" = -- ] || { echo "$0: expected -- before COMMAND_A" >&2; exit 2; }
shift
a="" b="" in_b=0
for arg in "$@"; do
  if [ "$arg" = -- ] && [ $in_b = 0 ]; then in_b=1; continue; fi
  if [ $in_b = 0 ]; then a="$a '$arg'"; else b="$b '$arg'"; fi
done
[ -n "$a" ] && [ -n "$b" ] || { echo "$0: two commands are needed" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
value() { eval "$1" 2>/dev/null | sed -n "s/^$key: \([0-9.]*\).*/\1/p"; }
i=0
while [ $i -lt "$n" ]; do
  va=$(value "$a") vb=$(value "$b")
  [ -n "$va" ] && [ -n "$vb" ] || { echo "$0: run $i printed no $key" >&2; exit 1; }
  echo "$va $vb" >>"$tmp"
  i=$((i + 1))
done
sort_median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ma=$(awk '{print $1}' "$tmp" | sort_median)
mb=$(awk '{print $2}' "$tmp" | sort_median)
ratios=$(awk '{ if ($1 > 0) printf "%.4f\n", $2 / $1 }' "$tmp" | sort -g)
echo "$key, $n pairs:"
echo "  A: median $ma   ($a )"
echo "  B: median $mb   ($b )"
echo "  B/A: median $(echo "$ratios" | sort_median), min $(echo "$ratios" | head -n 1), max $(echo "$ratios" | tail -n 1)"
