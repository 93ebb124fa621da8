#!/bin/sh
# run-programs.sh LISP PROGRAMS_DIR COLLECTOR MODE
#   Runs every PROGRAMS_DIR/*.lisp with LISP -C collector=COLLECTOR and
#   compares its output with the .expected file next to it.
#   MODE plain:  --scale 4 (collections happen on their own)
#   MODE stress: --scale 0 -C stress=1 -C verify=1 (a collection at every
#                allocation, every invariant checked).
#   Exit 77 (skipped) when LISP does not offer COLLECTOR.
# run-programs.sh LISP PROGRAMS_DIR "KNOWN NAMES" check-list
#   Fails if LISP offers a collector not among KNOWN NAMES (so a new
#   collector cannot go untested).
set -u
lisp=$1 programs=$2 collector=$3 mode=$4
unset GCHEAP_OPTIONS # the test says exactly what it runs

offered=$("$lisp" --collectors) || { echo "$lisp --collectors failed"; exit 1; }

if [ "$mode" = check-list ]; then
  status=0
  for name in $offered; do
    case " $collector " in
      *" $name "*) ;;
      *) echo "collector '$name' is offered but has no lisp test"; status=1 ;;
    esac
  done
  exit $status
fi

if ! printf '%s\n' $offered | grep -qx "$collector"; then
  echo "collector $collector is not in this build (offered: $offered): skipped"
  exit 77
fi

case $mode in
  plain) options="-C collector=$collector --scale 4" ;;
  stress)
    options="-C collector=$collector -C stress=1 -C verify=1 --scale 0" ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
status=0
for program in "$programs"/*.lisp; do
  name=$(basename "$program" .lisp)
  # shellcheck disable=SC2086 # options are words on purpose
  "$lisp" $options "$program" >"$out"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL $name: lisp $options exited with status $rc"
    status=1
  elif ! diff -u "$programs/$name.expected" "$out"; then
    echo "FAIL $name: output differs from $name.expected (lisp $options)"
    status=1
  else
    echo "ok   $name ($collector, $mode)"
  fi
done
exit $status
