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
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
