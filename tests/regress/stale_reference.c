/* Regression — a stale reference after its cell was reused.
 *
 * A reference the program forgot to root dies at the next collection. With
 * verify=1 the first API call that receives it must trap INVARIANT, however
 * many allocations came after the collection: before the quarantine
 * (collectors/tracing/tracing-quarantine.c, collectors/refcount/refcount-quarantine.c) the
 * freed cell was handed straight back to the next allocation of its size,
 * and the stale reference silently aliased the new object (a read returned
 * the new object's 0, a store made an object point to itself).
 *
 * The stale-reference cases run on the precise collectors that reclaim
 * memory (tracing, refcount): null never frees, and boehm scans the stack
 * conservatively, so the forgotten object may stay alive there. The rooted
 * program and the out-of-memory case run on every collector. */
#include "harness.h"

#include <stdio.h>

enum { PAIR_LEFT, PAIR_VALUE, PAIR_SPARE };

/* Every object of the stale cases is 32 bytes (a pair, an array of two
 * references), so that the allocations that follow the mistake are laid
 * out where the dead ones were and one of them takes the stale cell. */
static gc_type pair_type(gc_heap *heap) {
  const gc_kind kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_I64};
  return gc_type_struct(heap, "pair", 3, kinds);
}

static void skip_unless_precise(const char *collector) {
  if (!harness_reclaims(collector) || harness_conservative(collector))
    cr_skip_test("%s frees no unrooted object it can see on the stack",
                 collector);
}

#define EXPECT_STALE() EXPECT_TRAP(GC_TRAP_INVARIANT, "not a live object")

/* Allocates n pairs of garbage, each the size of the stale one. */
static NOINLINE void allocate_pairs(gc_heap *heap, gc_type pair, int n) {
  for (int i = 0; i < n; i++)
    gc_set_i64(heap, gc_new_struct(heap, pair), PAIR_VALUE, i);
}

/* The pattern: under stress=1 the allocation that follows the
 * mistake collects, and its cell is the one the forgotten object had. */
COLLECTOR_TEST(stale_reference, caught_after_the_next_allocation) {
  skip_unless_precise(param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=1");
  gc_type pair = pair_type(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *keep = gc_root(heap, NULL);
  gc_ref a = gc_new_struct(heap, pair); /* not rooted: the mistake */
  gc_set_i64(heap, a, PAIR_VALUE, 42);
  *keep = gc_new_struct(heap, pair); /* collects: a is freed */
  gc_set_i64(heap, *keep, PAIR_VALUE, 7);

  CHECK_EQ(gc_get_i64(heap, a, PAIR_VALUE), 0);
  EXPECT_STALE();
  gc_set_ref(heap, *keep, PAIR_LEFT, a);
  EXPECT_STALE();
  CHECK(gc_get_ref(heap, *keep, PAIR_LEFT) == NULL); /* the store was refused */
  CHECK_EQ(gc_get_i64(heap, *keep, PAIR_VALUE), 7);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* Every kind of API entry that takes a reference refuses the stale one,
 * after gc_collect and twenty thousand allocations of the same size. */
static void stale_after_20000_allocations(const char *collector,
                                          const char *options) {
  gc_heap *heap = harness_new_heap(collector, options);
  gc_type pair = pair_type(heap);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *keep = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *array = gc_root(heap, gc_new_array(heap, refs, 2));
  /* Garbage around a, so that no live object shares its line (tracing
   * reuses memory by the line). */
  allocate_pairs(heap, pair, 64);
  gc_ref a = gc_new_struct(heap, pair); /* not rooted */
  gc_set_i64(heap, a, PAIR_VALUE, 42);
  allocate_pairs(heap, pair, 64);
  gc_collect(heap);
  allocate_pairs(heap, pair, 20000);

  gc_get_i64(heap, a, PAIR_VALUE);
  EXPECT_STALE();
  gc_set_i64(heap, a, PAIR_VALUE, 1);
  EXPECT_STALE();
  gc_get_ref(heap, a, PAIR_LEFT);
  EXPECT_STALE();
  gc_set_ref(heap, a, PAIR_LEFT, *keep);
  EXPECT_STALE();
  gc_set_ref(heap, *keep, PAIR_LEFT, a);
  EXPECT_STALE();
  gc_type_of(heap, a);
  EXPECT_STALE();
  CHECK(gc_root(heap, a) == NULL);
  EXPECT_STALE();
  CHECK(gc_global(heap, a) == NULL);
  EXPECT_STALE();
  CHECK(gc_new_weak(heap, a) == NULL);
  EXPECT_STALE();
  gc_array_fill_ref(heap, *array, 0, 2, a);
  EXPECT_STALE();
  for (size_t i = 0; i < 2; i++)
    CHECK(gc_get_ref(heap, *array, i) == NULL);
  CHECK(gc_get_ref(heap, *keep, PAIR_LEFT) == NULL);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

COLLECTOR_TEST(stale_reference, caught_after_20000_allocations) {
  skip_unless_precise(param->name);
  /* Collections only where the program asks and where the heap fills; and
   * one every thousand allocations (whatever the stress variant's
   * environment says). */
  stale_after_20000_allocations(param->name, "stress=0");
  stale_after_20000_allocations(param->name, "stress=1000");
}

/* gc_array_copy checks both arrays: a stale source, and a stale
 * destination, each after arrays of its size were allocated again. */
COLLECTOR_TEST(stale_reference, array_copy_source_and_destination) {
  skip_unless_precise(param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=1000");
  gc_type pair = pair_type(heap);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *live = gc_root(heap, gc_new_array(heap, refs, 2));
  gc_ref *target = gc_root(heap, gc_new_struct(heap, pair));
  for (int i = 0; i < 64; i++)
    gc_new_array(heap, refs, 2);
  gc_ref stale = gc_new_array(heap, refs, 2); /* not rooted */
  gc_set_ref(heap, stale, 1, *target);
  for (int i = 0; i < 64; i++)
    gc_new_array(heap, refs, 2);
  gc_collect(heap);
  for (int i = 0; i < 20000; i++)
    gc_new_array(heap, refs, 2);

  gc_array_copy(heap, *live, 0, stale, 0, 2);
  EXPECT_STALE();
  for (size_t i = 0; i < 2; i++)
    CHECK(gc_get_ref(heap, *live, i) == NULL);
  gc_array_copy(heap, stale, 0, *live, 0, 2);
  EXPECT_STALE();
  gc_array_len(heap, stale);
  EXPECT_STALE();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* A large object's mapping is not reused (or given back and mapped again
 * at the same address) while it is quarantined. */
COLLECTOR_TEST(stale_reference, large_object_after_large_allocations) {
  skip_unless_precise(param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=0");
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I64);
  gc_ref stale = gc_new_array(heap, bytes, 100000); /* 800 KB, not rooted */
  gc_set_i64(heap, stale, 5, 5);
  gc_collect(heap);
  /* Collections on the allocation path: tracing reuses a dead large
   * object's mapping from its cache there. */
  for (int i = 0; i < 20; i++)
    gc_set_i64(heap, gc_new_array(heap, bytes, 100000), 5, i);
  gc_get_i64(heap, stale, 5);
  EXPECT_STALE();
  gc_set_i64(heap, stale, 5, 1);
  EXPECT_STALE();
  harness_free_heap(heap);
}

/* The same program, rooted correctly, never traps under stress=1 and its
 * data is intact: the quarantine only delays reuse. */
COLLECTOR_TEST(stale_reference, rooted_program_never_traps_under_stress) {
  gc_heap *heap = harness_new_heap(param->name, "stress=1");
  gc_type pair = pair_type(heap);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  gc_ref *array = gc_root(heap, gc_new_array(heap, refs, 64));
  gc_ref *weak = gc_root(heap, NULL);
  for (int i = 0; i < 3000; i++) {
    gc_scope inner = gc_scope_open(heap);
    gc_ref *cell = gc_root(heap, gc_new_struct(heap, pair));
    gc_set_i64(heap, *cell, PAIR_VALUE, i);
    gc_set_ref(heap, *cell, PAIR_LEFT, i % 100 == 0 ? NULL : *list);
    *list = *cell;
    gc_set_ref(heap, *array, (size_t)i % 64, *cell);
    if (i % 64 == 63)
      gc_array_copy(heap, *array, 1, *array, 0, 63); /* overlapping */
    if (i == 2990)
      *weak = gc_new_weak(heap, *list);
    gc_new_struct(heap, pair); /* garbage */
    gc_scope_close(heap, inner);
  }
  int64_t expect = 2999, n = 0;
  for (gc_ref cell = *list; cell; cell = gc_get_ref(heap, cell, PAIR_LEFT)) {
    CHECK_EQ(gc_get_i64(heap, cell, PAIR_VALUE), expect--);
    n++;
  }
  CHECK_EQ(n, 100);
  CHECK(gc_weak_get(heap, *weak) != NULL);
  CHECK_EQ(gc_get_i64(heap, gc_weak_get(heap, *weak), PAIR_VALUE), 2990);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* verify=1 never changes which programs run out of memory: in a small
 * heap, the quarantine gives its room back before an OOM trap. */
COLLECTOR_TEST(stale_reference, quarantine_gives_way_before_oom) {
  if (!harness_reclaims(param->name))
    cr_skip_test("%s never frees", param->name);
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=4M,stress=0");
  gc_type pair = pair_type(heap);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I64);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *ring = gc_root(heap, gc_new_array(heap, bytes, 1000));
  /* 64 MB of garbage, 16 times the heap, large and small. (Large first:
   * refcount does not give the blocks of small objects to large ones.) */
  for (int i = 0; i < 40; i++)
    gc_new_array(heap, bytes, 200000);
  for (int i = 0; i < 200000; i++)
    gc_set_i64(heap, gc_new_struct(heap, pair), PAIR_VALUE, i);
  EXPECT_NO_TRAP();
  CHECK_EQ(gc_array_len(heap, *ring), 1000);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* A write through a stale pointer into a quarantined cell is reported when
 * the quarantine lets the cell go (before anything reuses it). */
COLLECTOR_TEST(stale_reference, write_in_quarantine_is_caught_as_it_leaves) {
  skip_unless_precise(param->name);
  gc_heap *heap =
      harness_new_heap(param->name, "stress=0,verify-quarantine=64K");
  gc_type pair = pair_type(heap);
  allocate_pairs(heap, pair, 64);
  gc_ref dead = gc_new_struct(heap, pair);
  allocate_pairs(heap, pair, 64);
  gc_collect(heap); /* dead is freed, poisoned and quarantined */
  ((volatile int64_t *)(void *)dead)[1 + PAIR_SPARE] = 42; /* the bug */
  bool trapped = false;
  for (int round = 0; round < 100 && !trapped; round++) {
    allocate_pairs(heap, pair, 1000); /* 32 KB freed by each collection */
    gc_collect(heap);
    trapped = harness_traps.pending > 0;
  }
  cr_assert(trapped, "[%s] a write in quarantine went unnoticed", param->name);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "left the quarantine");
  char address[32];
  snprintf(address, sizeof address, "%p", (void *)dead);
  CHECK_STR_CONTAINS(harness_traps.message, address);
  allocate_pairs(heap, pair, 1000); /* the heap goes on */
  gc_collect(heap);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
