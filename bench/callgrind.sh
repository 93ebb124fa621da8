#!/bin/sh
# callgrind.sh [GCHEAP [WORKLOAD...]] — instruction counts, a noise-free
# second figure.
# Runs each workload at a small size under valgrind --tool=callgrind on every
# collector and on native Boehm (shared libgc), and prints the instructions
# executed and the ratio to native Boehm (to collector=boehm for workloads
# without a native version; "-" when neither is available). A WORKLOAD is
# quoted with its arguments, e.g. "binary-trees 12"; the default is every
# workload at a small size. gcbench 12 rather than 10: at 10 its fixed
# 500000-element array costs as much as its trees.
set -u
gcheap=${1:-$(dirname "$0")/gcheap}
[ $# -gt 0 ] && shift
[ -x "$gcheap" ] || gcheap=$(dirname "$0")/../build/gcheap
dir=$(dirname "$gcheap")
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }
collectors=$("$gcheap" --version | sed -n 's/.*(collectors: \(.*\))/\1/p' | tr -d ,)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Instructions executed by the command, or the reason it has none.
instructions() {
  if valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" \
      >"$tmp/out" 2>"$tmp/err"; then
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err" | tail -n 1
  else
    case $? in
      3) echo "trap(oom)" ;; *) echo "failed" ;;
    esac
  fi
}

printf '%-18s %-20s %16s %8s\n' workload variant instructions ratio
[ $# -gt 0 ] || set -- "gcbench 12" "binary-trees 12" "array-copy 20" \
  "cycles 10" "resources 20000" "weak 100" "large-live 16"
for spec in "$@"; do
  base=
  name=${spec%% *}
  rows=
  if [ "$name" = gcbench ] || [ "$name" = binary-trees ]; then
    if [ -x "$dir/gcheap-native-boehm" ]; then
      base=$(instructions "$dir/gcheap-native-boehm" $spec)
      printf '%-18s %-20s %16s %8s\n' "$spec" boehm-native "$base" 1.00
    fi
    if [ -x "$dir/gcheap-native-malloc" ]; then
      n=$(instructions "$dir/gcheap-native-malloc" $spec)
      rows="$rows malloc=$n"
    fi
  fi
  for c in $collectors; do
    n=$(instructions "$gcheap" -C collector=$c -C max-heap-size=1G bench $spec)
    [ -z "$base" ] && [ "$c" = boehm ] && base=$n
    rows="$rows $c=$n"
  done
  for row in $rows; do
    v=${row%%=*}; n=${row#*=}
    ratio=-
    case "$base$n" in
      *[!0-9]*|'') ;;
      *) ratio=$(awk -v a="$n" -v b="$base" 'BEGIN { printf "%.2f", a / b }') ;;
    esac
    printf '%-18s %-20s %16s %8s\n' "$spec" "$v" "$n" "$ratio"
  done
done
