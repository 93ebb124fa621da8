#!/usr/bin/env bash
# Installs what gcheap needs from Debian's packages, if anything is missing.
# Safe to run again: it installs nothing when everything is present.
set -euo pipefail

packages=(
  cmake make gcc pkg-config  # the build
  libgc-dev                  # collector=boehm and the native Boehm baselines
  libcriterion-dev           # the test suite
  valgrind                   # memcheck in the test run, callgrind counts
  clang libclang-rt-14-dev   # the libFuzzer differential fuzzer
  gnuplot-nox                # the comparison chart
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: every package is installed (${packages[*]})"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "deps: missing ${missing[*]}"
echo "deps: apt-get update (reading Debian's package lists)"
$sudo apt-get update -qq
# One line per package as apt unpacks and sets it up (its full output is
# long); about a minute on a fresh machine.
echo "deps: apt-get install (about a minute on a fresh machine)"
set +e
$sudo apt-get install -y --no-install-recommends "${missing[@]}" 2>&1 |
  grep --line-buffered -E "^(Unpacking|Setting up) |^E:" | sed -u 's/^/  /'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "deps: apt-get install failed" >&2; exit "$status"; }
echo "deps: done"
