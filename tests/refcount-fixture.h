/* refcount-fixture.h — what the refcount test files share: a heap of the
 * refcount collector with a pair type and a reference-array type, and a way
 * to get a collection point from allocation rather than gc_collect. */
#ifndef GCHEAP_TESTS_REFCOUNT_FIXTURE_H
#define GCHEAP_TESTS_REFCOUNT_FIXTURE_H

#include "harness.h"

#include <gcheap-testing.h>
#include <refcount/refcount-testing.h>

static const gc_kind pair_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};
enum { LEFT, RIGHT, VALUE };

struct types {
  gc_type pair, refs;
};

static inline gc_heap *new_heap(const char *options, struct types *t) {
  gc_heap *heap = harness_new_heap("refcount", options);
  t->pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  t->refs = gc_type_array(heap, "refs", GC_KIND_REF);
  return heap;
}

static inline uint64_t live_bytes(gc_heap *heap) {
  return harness_stats(heap).live_bytes;
}

/* A full collection point, after which the heap must hold exactly the
 * baseline's live bytes again: everything the test dropped (what) was freed,
 * and nothing else was. */
static inline void collect_back_to(gc_heap *heap, uint64_t baseline,
                                   const char *what) {
  gc_collect(heap);
  uint64_t live = live_bytes(heap);
  cr_assert_eq(live, baseline, "%s: %lld bytes more than the baseline", what,
               (long long)(live - baseline));
}

/* Allocates garbage past the 8 MiB budget between collection points, so
 * that at least one collection point comes from allocation (no trial
 * deletion there, unlike gc_collect), and checks that it came. bytes: an
 * I8 array type. */
static inline void collect_by_allocation(gc_heap *heap, gc_type bytes) {
  uint64_t collections = harness_stats(heap).collections;
  for (int i = 0; i < 1200; i++)
    gc_new_array(heap, bytes, 8000);
  CHECK(harness_stats(heap).collections > collections);
}

/* obj's field or element i = v with every system allocation failing; fails
 * the test unless the store tried to grow something (what: the list that
 * should have grown). */
static inline void store_without_memory(gc_heap *heap, gc_ref obj, size_t i,
                                        gc_ref v, const char *what) {
  gc_test_allocation_reset();
  gc_test_fail_allocation(1);
  gc_set_ref(heap, obj, i, v);
  long attempts = gc_test_allocation_count();
  gc_test_allocation_reset();
  cr_assert_geq(attempts, 1, "the store did not try to grow %s", what);
}

/* Clears the n elements of the array in *arr with every system allocation
 * failing, and fails the test unless that tried to grow something (what:
 * the list that should have grown). */
static inline void clear_without_memory(gc_heap *heap, gc_ref *arr, uint64_t n,
                                        const char *what) {
  gc_test_allocation_reset();
  gc_test_fail_allocation(1);
  for (uint64_t i = 0; i < n; i++)
    gc_set_ref(heap, *arr, i, NULL);
  long attempts = gc_test_allocation_count();
  gc_test_allocation_reset();
  cr_assert_geq(attempts, 1, "%s never tried to grow", what);
}

/* n objects that build(heap, t, n) leaves in a rooted, old array (the
 * only references to them, or with the cycles they are on): cleared with
 * every system allocation failing (clear_without_memory), they must all be
 * freed at the next collection point all the same. */
static inline void cleared_without_memory_all_freed(
    gc_ref *(*build)(gc_heap *heap, struct types *t, int n), int n,
    const char *what) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *arr = build(heap, &t, n);
  clear_without_memory(heap, arr, (uint64_t)n, what);
  gc_scope_close(heap, s);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "%llu bytes left over",
               (unsigned long long)(live_bytes(heap) - baseline));
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Leaves *l (a root, with a pair of its own in l.left) waiting in the ZCT
 * with the NEW_REFERRERS mark (refcount-young.c): counted only by *p (a
 * root too), which an allocation's collection point promoted from the
 * roots, and the drain stopped before l's entry (a budget of two frees,
 * two dead entries above it). Sets the heap's drain budget to 1. */
static inline void counted_by_a_new_object(gc_heap *heap, struct types *t,
                                           gc_ref **l, gc_ref **p) {
  *l = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, **l, LEFT, gc_new_struct(heap, t->pair));
  gc_ref *holder = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, *holder, LEFT, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, *holder, RIGHT, gc_new_struct(heap, t->pair));
  gc_collect(heap); /* all old; l and holder wait in the ZCT, rooted */
  gc_set_ref(heap, *holder, LEFT, NULL); /* two dead entries on top */
  gc_set_ref(heap, *holder, RIGHT, NULL);
  *p = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, **p, LEFT, **l);           /* p is young: not counted yet */
  gc_refcount_test_set_drain_budget(heap, 1); /* stops after two frees */
  gc_refcount_test_end_budget(heap);
  gc_new_struct(heap, t->pair); /* p promoted from the roots: l counted */
  cr_assert(gc_refcount_test_new_referrers(heap, **l),
            "l should wait in the ZCT, counted by p alone");
}

#endif
