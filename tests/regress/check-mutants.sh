#!/bin/bash
# Mutation check for tests/regress (issue 6: each regression test must be
# seen to fail on a deliberately broken build). Copies the tree to /tmp/mut,
# breaks the tracing collector five ways, one per test, and runs that test:
# each line must report a failure. Never touches the working tree.
#   tests/regress/check-mutants.sh
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=/tmp/mut/src; B=/tmp/mut/build; rm -rf /tmp/mut/pristine
rm -rf $SRC; mkdir -p $SRC
(cd "$ROOT" && tar --exclude=.git --exclude="./build*" -cf - .) | (cd $SRC && tar xf -)
cp -r $SRC /tmp/mut/pristine
mkdir -p $B; cd $B
cmake $SRC -DGCHEAP_WITH_BOEHM=OFF -DGCHEAP_BENCH=OFF >/dev/null
mutate() { # name file perl-expression test
  local name=$1 file=$2 expr=$3 test=$4
  cp /tmp/mut/pristine/$file $SRC/$file
  perl -0pi -e "$expr" $SRC/$file
  if cmp -s /tmp/mut/pristine/$file $SRC/$file; then echo "$name: MUTATION DID NOT APPLY"; return; fi
  make -j2 test_$test >/dev/null 2>&1 || { echo "$name: build failed"; cp /tmp/mut/pristine/$file $SRC/$file; return; }
  out=$(./tests/test_$test 2>&1 | grep -E "Synthesis")
  echo "$name -> $test: $out"
  ./tests/test_$test 2>&1 | grep -E "\]   \[" | head -3
  cp /tmp/mut/pristine/$file $SRC/$file
}
mutate "M1 sweep keeps destroyed resources" collectors/tracing/tracing-collect.c \
  's/res->items\[i\] = res->items\[--res->count\];\n    gc_run_destructor\(heap, r\);/gc_run_destructor(heap, r);\n    i++;/' regress_sweep_after_free
mutate "M2 weak refs never cleared" collectors/tracing/tracing-collect.c \
  's/w->target = NULL;/(void)0;/' regress_links_monitors
mutate "M3 teardown leaks the weak list" collectors/tracing/tracing.c \
  's/  gc_vector_free\(&c->weaks\);\n//' regress_heap_churn
mutate "M4 dead objects stay valid for verify" collectors/tracing/tracing-collect.c \
  's/(static void forget_dead_objects\(struct gc_collector \*c\) \{)/$1\n  return;/' regress_free_order_poison
mutate "M5 reference copy is a forward loop" collectors/tracing/tracing.c \
  's/memmove\(dst, src, n \* sizeof \*dst\);/for (size_t k = 0; k < n; k++) dst[k] = src[k];/' regress_self_copy
echo MUTATION-DONE
