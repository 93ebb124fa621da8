#!/usr/bin/env bash
# The main job: installs what is missing, builds, and compares every collector
# with native Boehm GC and malloc/free on the default workload.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec build/gcheap compare "$@"
