/* refcount-fixture.h — what the refcount test files share: a heap of the
 * refcount collector with a pair type and a reference-array type, and a way
 * to get a collection point from allocation rather than gc_collect. */
#ifndef GCHEAP_TESTS_REFCOUNT_FIXTURE_H
#define GCHEAP_TESTS_REFCOUNT_FIXTURE_H

#include "harness.h"

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

#endif
