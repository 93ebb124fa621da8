/* refcount_verify.c — each live-object assertion of the refcount collector
 * (verify=1) is shown to fire: the invariant is broken on purpose through a
 * test-only hook (refcount-testing.h) or a forbidden write, and the trap's
 * kind and message are checked. Each test repairs what it broke, so that
 * heap teardown (which verifies once more) finds a sound heap. */
#include "harness.h"

#include <refcount/refcount-testing.h>
#include <stdio.h>

static const gc_kind pair_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};

static char *address_of(gc_ref obj) {
  static char buf[32];
  snprintf(buf, sizeof buf, "%p", (void *)obj);
  return buf;
}

/* A stored count that disagrees with the heap: the trap names the address,
 * the stored count and the true count. */
Test(refcount_verify, wrong_count_traps_with_stored_and_true_count) {
  gc_heap *heap = harness_new_heap("refcount", NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_scope s = gc_scope_open(heap);
  gc_ref *parent = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *child = gc_root(heap, gc_new_struct(heap, pair));
  gc_collect(heap); /* both old: a store into parent is counted */
  gc_set_ref(heap, *parent, 0, *child);
  cr_assert_eq(gc_refcount_test_count(heap, *child), 1);
  gc_refcount_test_set_count(heap, *child, 5);
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "has stored ref count 5 but true count 1");
  CHECK_STR_CONTAINS(harness_traps.message, address_of(*child));
  gc_refcount_test_set_count(heap, *child, 1);
  gc_collect(heap);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, s);
  harness_free_heap(heap);
}

/* An object reachable from a root through the heap, with a zero count:
 * Wasmtime's assertion, word for word. The parent is old (promoted by a
 * collection point), since a young object's fields are not counted. */
Test(refcount_verify, reachable_zero_count_is_supposedly_live) {
  gc_heap *heap = harness_new_heap("refcount", NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_ref *parent = gc_global(heap, gc_new_struct(heap, pair));
  gc_set_ref(heap, *parent, 1, gc_new_struct(heap, pair));
  gc_collect(heap); /* promotes both, counting the parent's field */
  gc_ref child = gc_get_ref(heap, *parent, 1);
  cr_assert_eq(gc_refcount_test_count(heap, child), 1);
  gc_refcount_test_set_count(heap, child, 0);
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT,
              "is supposedly live; should have nonzero ref count");
  CHECK_STR_CONTAINS(harness_traps.message, address_of(child));
  /* The collection stopped at the trap: the child was not freed. */
  cr_assert_eq(gc_get_ref(heap, *parent, 1), child);
  gc_refcount_test_set_count(heap, child, 1);
  gc_collect(heap);
  harness_free_heap(heap);
}

/* A write into freed memory breaks its poison; reusing the cell traps. */
Test(refcount_verify, write_after_free_traps_on_reuse) {
  /* No quarantine: the cell is reused at once. */
  gc_heap *heap = harness_new_heap("refcount", "stress=0,verify-quarantine=0");
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_ref dead = gc_new_struct(heap, pair);
  gc_collect(heap);          /* nothing held it: freed and poisoned */
  ((int64_t *)dead)[3] = 42; /* the VALUE field, through a stale pointer */
  bool trapped = false;
  gc_scope s = gc_scope_open(heap);
  for (int i = 0; i < 10000 && !trapped; i++) {
    gc_root(heap, gc_new_struct(heap, pair));
    trapped = harness_traps.pending > 0;
  }
  gc_scope_close(heap, s);
  cr_assert(trapped, "the write after free went unnoticed");
  EXPECT_TRAP(GC_TRAP_INVARIANT, "written after it was freed");
  CHECK_STR_CONTAINS(harness_traps.message, address_of(dead));
  harness_free_heap(heap);
}

/* check_ref: a freed object, an interior pointer, a foreign address. */
Test(refcount_verify, bad_references_handed_to_the_api_trap) {
  gc_heap *heap = harness_new_heap("refcount", "stress=0");
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_ref *live = gc_global(heap, gc_new_struct(heap, pair));
  gc_ref dead = gc_new_struct(heap, pair);
  gc_collect(heap);

  cr_assert_null(gc_get_ref(heap, dead, 0));
  EXPECT_TRAP(GC_TRAP_INVARIANT, "a freed object");

  gc_ref interior = (gc_ref)((char *)*live + 8);
  gc_set_ref(heap, *live, 0, interior);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "not on an object boundary");
  cr_assert_null(gc_get_ref(heap, *live, 0)); /* the store did not happen */

  static uint64_t not_in_heap[4];
  gc_set_ref(heap, *live, 0, (gc_ref)not_in_heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "not an address of this refcount heap");

  gc_heap *other = harness_new_heap("refcount", "stress=0");
  gc_type other_pair = gc_type_struct(other, "pair", 3, pair_kinds);
  gc_ref *foreign = gc_global(other, gc_new_struct(other, other_pair));
  gc_set_ref(heap, *live, 0, *foreign);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "not an address of this refcount heap");
  harness_free_heap(other);
  harness_free_heap(heap);
}

/* The recount at a collection point checks every field of every object:
 * a reference written behind the API's back (a stale pointer kept by the
 * embedder, a runtime's own memcpy) to a freed object, into an object, or
 * out of the heap traps there, naming the object that holds it. The field
 * is repaired after each, so that the heap is sound again. */
Test(refcount_verify, heap_reference_to_what_is_not_an_object_traps) {
  gc_heap *heap = harness_new_heap("refcount", "stress=0");
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_ref *parent = gc_global(heap, gc_new_struct(heap, pair));
  gc_ref dead = gc_new_struct(heap, pair);
  gc_collect(heap); /* parent old; dead freed, held in the quarantine */
  gc_ref *field = (gc_ref *)*parent + 1; /* field 0, after the header */
  static uint64_t not_in_heap[4];
  struct {
    gc_ref value;
    const char *why;
  } bad[] = {
      {dead, "a freed object"},
      /* Field 1, which is NULL: read as a header, it looks like one. */
      {(gc_ref)((char *)*parent + 16), "not on an object boundary"},
      {(gc_ref)not_in_heap, "not an address of this refcount heap"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    *field = bad[i].value;
    gc_collect(heap);
    EXPECT_TRAP(GC_TRAP_INVARIANT, "which is not a live object");
    CHECK_STR_CONTAINS(harness_traps.message, bad[i].why);
    CHECK_STR_CONTAINS(harness_traps.message, address_of(*parent));
    *field = NULL;
  }
  gc_collect(heap);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A reachable resource is never destroyed; an unreachable one exactly
 * once, at the collection point that frees it. */
static int destroyed;
static void count_destroy(void *ptr, void *ud) {
  destroyed++;
}

Test(refcount_verify, resource_destroyed_once_when_count_reaches_zero) {
  gc_heap *heap = harness_new_heap("refcount", NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  destroyed = 0;
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, pair));
  gc_set_ref(heap, *holder, 0,
             gc_new_resource(heap, &destroyed, count_destroy, NULL));
  gc_collect(heap);
  cr_assert_eq(destroyed, 0);
  cr_assert_eq(gc_resource_ptr(heap, gc_get_ref(heap, *holder, 0)), &destroyed);
  gc_set_ref(heap, *holder, 0, NULL);
  cr_assert_eq(destroyed, 0); /* not in a barrier: at the collection point */
  gc_collect(heap);
  cr_assert_eq(destroyed, 1);
  harness_free_heap(heap);
  cr_assert_eq(destroyed, 1);
}
