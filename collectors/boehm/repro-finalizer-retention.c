/* repro-finalizer-retention.c — Boehm GC alone (no gcheap) keeping one
 * unreachable finalizable object alive through any number of collections.
 *
 *   cc -O2 collectors/boehm/repro-finalizer-retention.c -lgc -o repro
 *   ./repro
 *   -> "finalized 199 of 200" with libgc 8.2.2 (Debian 12, gcc 12, -O2)
 *
 * It does what conformance_resources' unreachable_resources_are_destroyed_once
 * does under GCHEAP_OPTIONS=stress=1 on collector=boehm: a collection before
 * each allocation, 200 finalizable atomic objects dropped, the dead stack
 * scrubbed, then three more collections. One object (in our runs the one at
 * the start of Boehm's heap section) stays marked: no word of any writable
 * mapping holds its address after the collections; during a collection a
 * copy appears in the dead stack below Boehm's own frames, which its
 * conservative scan of the collecting thread reads. How many survive depends
 * on stack layout (n = 150: 149 of 150, n = 100 or 300: all), so a test that
 * needs every finalizer after one collection is unreliable on Boehm. */
#include <gc/gc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finalized;
static void count(void *obj, void *cd) {
  finalized++;
}

/* Where the objects were, hidden from the collector. */
static uintptr_t hidden[400];

/* The getenv calls only shape the stack as in the run that showed it: with
 * them removed, or other small changes, no object (or another) survives. */
static __attribute__((noinline)) void make(int n) {
  for (int i = 0; i < n; i++) {
    GC_gcollect();
    if (getenv("REPRO_CHECK_FIRST")) {
      if (GC_should_invoke_finalizers())
        GC_invoke_finalizers();
    } else {
      GC_invoke_finalizers();
    }
    void *p = GC_MALLOC_ATOMIC(40);
    if (getenv("REPRO_OLD_FN")) {
      GC_finalization_proc old_fn;
      void *old_cd;
      GC_register_finalizer_no_order(p, count, NULL, &old_fn, &old_cd);
    } else {
      GC_register_finalizer_no_order(p, count, NULL, NULL, NULL);
    }
    hidden[i] = ~(uintptr_t)p;
  }
}

static __attribute__((noinline)) void scrub(int depth) {
  volatile char buffer[1024];
  memset((char *)buffer, 0, sizeof buffer);
  if (depth > 0)
    scrub(depth - 1);
  __asm__ volatile("" ::"r"(buffer) : "memory");
}

int main(void) {
  GC_set_all_interior_pointers(0);
  GC_INIT();
  GC_set_finalize_on_demand(1);
  int n = 200;
  make(n);
  scrub(32);
  for (int i = 0; i < 3; i++) {
    GC_gcollect();
    GC_invoke_finalizers();
    scrub(32);
  }
  printf("finalized %d of %d\n", finalized, n);
  return finalized == n ? 0 : 1;
}
