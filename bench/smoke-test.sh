#!/bin/sh
# smoke-test.sh GCHEAP [WHAT] — the bench/ smoke tests (run by CTest).
#   workloads: every workload at its tiny size on every collector
#   stress:    micro sizes with verify=1 and a collection at every allocation,
#              which catches a workload that breaks the rooting rule
#              (both sizes of every workload from gcheap --workloads)
#   errors:    a bogus collector exits 2 naming the accepted ones; the null
#              collector out of arena ends with a clean OOM message, status 3
#   native:    the native baselines print the same checksums as gcheap
#   compare:   "gcheap compare" runs, writes its CSV and reports success,
#              each kept run on memory warmed before it (not with
#              --cold-memory);
#              "compare --scale" runs every size and writes its chart's data,
#              and refuses bad ranges with status 2 and one line
set -u
gcheap=$1
what=${2:-all}
dir=$(dirname "$gcheap")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

collectors=$("$gcheap" --version | sed -n 's/.*(collectors: \(.*\))/\1/p' | tr -d ,)
[ -n "$collectors" ] || fail "gcheap --version lists no collectors"

# Prints the checksum line of gcheap's output.
checksum() { sed -n 's/^checksum: //p' "$1"; }

# Every workload and its sizes, from gcheap's own table (bench/workloads.c):
# one line each, "NAME<tab>TINY ARGS<tab>STRESS ARGS or -".
"$gcheap" --workloads >"$tmp/workloads" || fail "gcheap --workloads failed"
[ -s "$tmp/workloads" ] || fail "gcheap --workloads lists no workload"
tab=$(printf '\t')

# Runs gcheap "$@" on every collector, and on_success COLLECTOR after each
# run that exits 0, with sum set to its checksum. Every collector runs
# every workload: all of them take threads.
each_collector() {
  label=$1
  shift
  for c in $collectors; do
    # </dev/null: the callers' loops read the workload list on stdin.
    if "$gcheap" -C collector="$c" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; then
      sum=$(checksum "$tmp/out")
      on_success "$c"
    else
      fail "$label on $c exited $?: $(tail -n 1 "$tmp/err")"
    fi
  done
}

if [ "$what" = all ] || [ "$what" = workloads ]; then
  # The checksums of one workload's runs must agree across collectors.
  on_success() {
    if [ -z "$first" ]; then first=$sum
    elif [ "$sum" != "$first" ]; then
      fail "$label on $1: checksum $sum, another collector gave $first"
    fi
    echo "ok: $label on $1 (checksum $sum)"
  }
  while IFS=$tab read -r w tiny stress; do
    first=
    each_collector "$w $tiny" bench $w $tiny
  done <"$tmp/workloads"
fi

if [ "$what" = all ] || [ "$what" = stress ]; then
  on_success() { echo "ok: $label on $1 with verify=1 stress=1"; }
  while IFS=$tab read -r w tiny stress; do
    if [ "$stress" = - ]; then
      echo "skipped: $w with verify=1 stress=1: no size small enough"
      continue
    fi
    each_collector "$w $stress" -C verify=1 -C stress=1 bench $w $stress
  done <"$tmp/workloads"
fi

if [ "$what" = all ] || [ "$what" = errors ]; then
  "$gcheap" -C collector=bogus bench gcbench >"$tmp/out" 2>"$tmp/err"
  status=$?
  first_collector=$(echo $collectors | cut -d' ' -f1)
  if [ $status -ne 2 ]; then fail "collector=bogus exited $status, not 2"
  elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
    fail "collector=bogus: the error is not one line: $(cat "$tmp/err")"
  elif ! grep -q "$first_collector" "$tmp/err"; then
    fail "collector=bogus: the error does not list the collectors: $(cat "$tmp/err")"
  else echo "ok: collector=bogus: $(cat "$tmp/err")"; fi

  "$gcheap" -C max-heap-sise=1 bench gcbench >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ $status -ne 2 ]; then fail "a bad option exited $status, not 2"
  else echo "ok: bad option: $(cat "$tmp/err")"; fi

  "$gcheap" -C collector=null -C max-heap-size=16M bench gcbench \
    >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ $status -ne 3 ]; then
    fail "null out of arena exited $status, not 3: $(cat "$tmp/err")"
  elif ! grep -q '^gcheap: null: ' "$tmp/err"; then
    fail "null out of arena: no 'gcheap: null:' message: $(cat "$tmp/err")"
  else echo "ok: null out of arena: $(cat "$tmp/err")"; fi

  "$gcheap" bench no-such-workload >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 2 ] || fail "an unknown workload does not exit 2"
  "$gcheap" bench binary-trees abc >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 2 ] || fail "a bad workload argument does not exit 2"
  "$gcheap" --help >"$tmp/out" || fail "gcheap --help failed"
  grep -q large-live "$tmp/out" || fail "gcheap --help lists no workloads"
fi

if [ "$what" = all ] || [ "$what" = native ]; then
  for w in "gcbench 8" "binary-trees 8" "mt-gcbench 2 8"; do
    "$gcheap" -C collector=null bench $w >"$tmp/out" 2>"$tmp/err" ||
      fail "gcheap bench $w on null: $(cat "$tmp/err")"
    want=$(checksum "$tmp/out")
    for p in gcheap-native-malloc gcheap-native-boehm gcheap-native-boehm-static \
             gcheap-native-boehm-inline; do
      [ -x "$dir/$p" ] || continue
      for flag in "" --parallel-mark; do
        [ -n "$flag" ] && [ $p = gcheap-native-malloc ] && continue
        if "$dir/$p" $flag $w >"$tmp/out" 2>"$tmp/err"; then
          got=$(checksum "$tmp/out")
          if [ "$got" != "$want" ]; then
            fail "$p $flag $w: checksum $got, gcheap gave $want"
          else echo "ok: $p $flag $w (checksum $got)"; fi
        else
          fail "$p $flag $w exited $?: $(cat "$tmp/err")"
        fi
      done
    done
  done
fi

if [ "$what" = all ] || [ "$what" = compare ]; then
  if "$gcheap" compare gcbench:6 binary-trees:8 weak:5 large-live:24 -n 2 \
      -o "$tmp/cmp" >"$tmp/out" 2>"$tmp/err"; then
    [ -s "$tmp/cmp.csv" ] || fail "compare wrote no CSV"
    grep -q "binary-trees 8" "$tmp/out" || fail "compare printed no table"
    # Each kept run started on warmed memory (warmed_kib, the last column),
    # at least as much as any run of its variant on its workload took
    # (max_rss_kib, the 8th; large-live 24 takes 40-55 MiB, past the 16 MiB
    # every warming adds); the warm-up round is not kept (2 runs of each).
    short=$(awk -F, 'NR > 1 { k = $1 " on " $2; rss[k] = $8 > rss[k] ? $8 : rss[k]; key[NR] = k; warmed[NR] = $NF }
      END { for (i in key) if (warmed[i] < rss[key[i]]) print key[i] ": " warmed[i] " < " rss[key[i]] }' \
      "$tmp/cmp.csv")
    [ -z "$short" ] || fail "compare: runs started on less warmed memory than they take: $short"
    extra=$(awk -F, 'NR > 1 && $3 != 1 && $3 != 2' "$tmp/cmp.csv")
    [ -z "$extra" ] || fail "compare kept runs other than 1 and 2: $extra"
    echo "ok: compare"
  else
    fail "compare exited $?: $(tail -n 5 "$tmp/out") $(tail -n 3 "$tmp/err")"
  fi
  if "$gcheap" compare binary-trees:8 -n 1 --only tracing --cold-memory \
      -o "$tmp/cold" >"$tmp/out" 2>"$tmp/err"; then
    warmed=$(awk -F, 'NR > 1 { print $NF }' "$tmp/cold.csv")
    [ "$warmed" = 0 ] || fail "compare --cold-memory warmed ${warmed:-no} KiB"
    grep -q "on cold memory" "$tmp/out" || fail "compare --cold-memory does not say so"
    echo "ok: compare --cold-memory"
  else
    fail "compare --cold-memory exited $?: $(tail -n 3 "$tmp/err")"
  fi
  # binary-trees below 6 is binary-trees 6: 6..8 are three different sizes.
  before=$failures
  if "$gcheap" compare --scale binary-trees:6..8 -n 1 --only tracing,malloc \
      -o "$tmp/scale" >"$tmp/out" 2>"$tmp/err"; then
    for n in 6 7 8; do
      for v in tracing malloc; do
        grep -q "^binary-trees $n,$v,1,ok," "$tmp/scale.csv" 2>/dev/null ||
          fail "compare --scale: the CSV has no ok run of binary-trees $n on $v"
      done
    done
    points=$(grep -c '^[6-8] ' "$tmp/scale-scale.dat" 2>/dev/null)
    [ "${points:-0}" -eq 6 ] ||
      fail "compare --scale: the chart's data has ${points:-no} rows, not 3 sizes x 2 variants"
    if command -v gnuplot >/dev/null && [ ! -s "$tmp/scale-scale.svg" ]; then
      fail "compare --scale drew no chart: $(grep chart "$tmp/out")"
    fi
    [ $failures -eq "$before" ] && echo "ok: compare --scale ($points points)"
  else
    fail "compare --scale exited $?: $(tail -n 3 "$tmp/out") $(tail -n 3 "$tmp/err")"
  fi
  # Each is refused before anything runs: status 2, and one line that says
  # what is accepted (the syntax, or the workloads).
  for bad in "" binary-trees binary-trees:8..6 binary-trees:6..x \
             binary-trees:1..100 mt-gcbench:2,8,6..8 nosuch:6..8 \
             "binary-trees:6..8 gcbench:6"; do
    # shellcheck disable=SC2086 # the last case is two arguments
    "$gcheap" compare --scale $bad -o "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ $status -ne 2 ]; then
      fail "compare --scale '$bad' exited $status, not 2"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
      fail "compare --scale '$bad': not one line: $(cat "$tmp/err")"
    elif ! grep -q -e 'LO\.\.HI' -e 'accepted: ' -e 'one or the other' "$tmp/err"; then
      fail "compare --scale '$bad' does not say what is accepted: $(cat "$tmp/err")"
    else
      echo "ok: compare --scale '$bad': $(cat "$tmp/err")"
    fi
  done
  # The main job (scripts/demo.sh) runs the default workloads at full size on
  # every variant: none of them may end in a trap or anything but "ok" there
  # (null, which never frees, must get an arena they fit). compare exits 0
  # on an out-of-memory trap, so the CSV's status column is what is checked.
  # Collectors only: they are what can trap, and each is run with the same
  # arguments as in the full comparison.
  only=$(echo $collectors | tr ' ' ,)
  if "$gcheap" compare --only "$only" -n 1 -o "$tmp/default" \
      >"$tmp/out" 2>"$tmp/err"; then
    defaults=$("$gcheap" --help | sed -n 's/.*Default workloads: //p')
    want=$(($(echo $defaults | wc -w) * $(echo $collectors | wc -w)))
    runs=$(($(cat "$tmp/default.csv" 2>/dev/null | wc -l) - 1))
    bad=$(awk -F, 'NR > 1 && $4 != "ok" { print $1 " on " $2 ": " $4 " " $12 }' \
      "$tmp/default.csv" 2>/dev/null)
    if [ -n "$bad" ]; then
      fail "the default workloads do not all run under compare: $bad"
    elif [ "$want" -eq 0 ] || [ "$runs" -ne "$want" ]; then
      fail "compare of the default workloads ($defaults) wrote $runs runs, not $want"
    else
      echo "ok: the default workloads run on every collector ($runs runs)"
    fi
  else
    fail "compare of the default workloads exited $?: $(tail -n 3 "$tmp/err")"
  fi
fi

[ $failures -eq 0 ] && echo "all bench smoke tests passed"
exit $((failures != 0))
