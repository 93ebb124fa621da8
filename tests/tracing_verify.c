/* tracing_verify.c — each verify=1 assertion of the tracing collector,
 * broken on purpose through a test-only hook (tracing-testing.h), must trap
 * GC_TRAP_INVARIANT with a message naming the address; the heap stays
 * usable afterwards.
 *
 * These run with stress=0: each case arranges collections itself. */
#include "harness.h"

#include <stdio.h>

#include <tracing/tracing-testing.h>

static gc_type pair_type(gc_heap *heap) {
  const gc_kind kinds[] = {GC_KIND_REF, GC_KIND_REF};
  return gc_type_struct(heap, "pair", 2, kinds);
}

static const char *address(const void *p) {
  static char buf[4][32];
  static int next;
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "%p", p);
  return b;
}

/* ---- After marking, marked objects point only to marked objects --------- */

static gc_ref victim;
static void unmark_victim(gc_heap *heap, void *ud) {
  (void)ud;
  gc_tracing_test_unmark(heap, victim);
}

Test(tracing_verify, marked_object_pointing_to_unmarked_one_traps) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_type pair = pair_type(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref b = gc_new_struct(heap, pair);
  gc_set_ref(heap, *a, 1, b);
  victim = b;
  gc_tracing_test_after_mark(heap, unmark_victim, NULL);
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "which is not marked");
  CHECK_STR_CONTAINS(harness_traps.message, address(*a));
  CHECK_STR_CONTAINS(harness_traps.message, address(b));
  CHECK_STR_CONTAINS(harness_traps.message, "field 1");
  /* The broken collection freed nothing: b is intact, and a clean
   * collection goes through. */
  gc_tracing_test_after_mark(heap, NULL, NULL);
  gc_collect(heap);
  EXPECT_NO_TRAP();
  CHECK(gc_get_ref(heap, *a, 1) == b);
  CHECK(gc_get_ref(heap, b, 0) == NULL);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- Freed cells are poisoned; the poison is checked on reuse ----------- */

static NOINLINE gc_ref make_garbage(gc_heap *heap, gc_type pair) {
  return gc_new_struct(heap, pair); /* the first cell of a fresh heap */
}

Test(tracing_verify, write_after_free_is_caught_when_the_cell_is_reused) {
  /* No quarantine: the cell is reused at once (quarantine_exit below
   * checks the poison when a quarantined line is released). */
  gc_heap *heap = harness_new_heap("tracing", "stress=0,verify-quarantine=0");
  gc_type pair = pair_type(heap);
  gc_ref dead = make_garbage(heap, pair);
  gc_collect(heap); /* dead's line is free and poisoned now */
  CHECK(gc_tracing_test_in_heap(heap, dead));
  ((volatile unsigned char *)dead)[9] = 0x42; /* a write after free */
  /* The fresh heap reuses its first free line first: dead's cell. */
  gc_ref again = gc_new_struct(heap, pair);
  CHECK(again == NULL);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "written after it was freed");
  CHECK_STR_CONTAINS(harness_traps.message, address(dead));
  /* The next allocations go on. */
  CHECK(gc_new_struct(heap, pair) != NULL);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* ---- Every reference handed to the API is a live object of this heap ---- */

Test(tracing_verify, freed_object_passed_to_the_api_traps) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_type pair = pair_type(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *keep = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref dead = make_garbage(heap, pair);
  gc_collect(heap);
  CHECK(gc_get_ref(heap, dead, 0) == NULL);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(dead));
  gc_set_ref(heap, *keep, 0, dead);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(dead));
  CHECK(gc_get_ref(heap, *keep, 0) == NULL);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

Test(tracing_verify, interior_and_wild_pointers_trap) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_type pair = pair_type(heap);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *obj = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *big = gc_root(heap, gc_new_array(heap, refs, 100000));
  gc_ref inside = (gc_ref)((char *)*obj + 8);
  gc_get_ref(heap, inside, 0);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(inside));
  gc_ref inside_big = (gc_ref)((char *)*big + 4096);
  gc_get_ref(heap, inside_big, 0);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(inside_big));
  long on_stack[4] = {0};
  gc_ref wild = (gc_ref)on_stack;
  gc_get_ref(heap, wild, 0);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "not in this heap");
  CHECK_STR_CONTAINS(harness_traps.message, address(wild));
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

Test(tracing_verify, object_of_another_heap_traps) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_heap *other = harness_new_heap("tracing", "stress=0");
  gc_type pair = pair_type(heap);
  gc_type other_pair = pair_type(other);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *mine = gc_root(heap, gc_new_struct(heap, pair));
  gc_scope other_scope = gc_scope_open(other);
  gc_ref *theirs = gc_root(other, gc_new_struct(other, other_pair));
  gc_set_ref(heap, *mine, 0, *theirs);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(*theirs));
  CHECK(gc_get_ref(heap, *mine, 0) == NULL);
  gc_scope_close(other, other_scope);
  gc_scope_close(heap, scope);
  harness_free_heap(other);
  harness_free_heap(heap);
}

Test(tracing_verify, root_slot_holding_a_wild_pointer_traps) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_scope scope = gc_scope_open(heap);
  gc_ref *slot = gc_root(heap, NULL);
  long on_stack[4] = {0};
  *slot = (gc_ref)on_stack; /* the mutator writes slots directly */
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(on_stack));
  *slot = NULL;
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- Destructors: never while reachable, at most once ------------------- */

static int destroy_count;
static void count_destroy(void *ptr, void *ud) {
  (void)ptr;
  (void)ud;
  destroy_count++;
}

Test(tracing_verify, reachable_destroyed_resource_and_second_run_trap) {
  destroy_count = 0;
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_scope scope = gc_scope_open(heap);
  gc_ref *res = gc_root(heap, gc_new_resource(heap, NULL, count_destroy, NULL));
  gc_ref resource = *res;
  gc_tracing_test_destroy_now(heap, resource); /* while reachable */
  CHECK_EQ(destroy_count, 1);
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT,
              "reachable but its destructor has already run");
  CHECK_STR_CONTAINS(harness_traps.message, address(resource));
  /* Now let it die: the collector would run its destructor a second time. */
  *res = NULL;
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "already ran");
  CHECK_STR_CONTAINS(harness_traps.message, address(resource));
  CHECK_EQ(destroy_count, 1);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
  CHECK_EQ(destroy_count, 1);
}

static NOINLINE gc_ref make_dead_resource(gc_heap *heap) {
  return gc_new_resource(heap, NULL, count_destroy, NULL);
}

Test(tracing_verify, sweep_reading_a_freed_resource_traps) {
  destroy_count = 0;
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_ref resource = make_dead_resource(heap);
  gc_tracing_test_poison(heap, resource); /* freed behind the list's back */
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "freed before its destructor ran");
  CHECK_STR_CONTAINS(harness_traps.message, address(resource));
  CHECK_EQ(destroy_count, 0);
  harness_free_heap(heap);
  CHECK_EQ(destroy_count, 0);
}

/* ---- Weak references to dead targets are cleared ------------------------ */

Test(tracing_verify, weak_reference_is_cleared_when_its_target_dies) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  gc_type pair = pair_type(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *target = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *weak = gc_root(heap, gc_new_weak(heap, *target));
  gc_collect(heap);
  CHECK(gc_weak_get(heap, *weak) == *target);
  *target = NULL;
  gc_collect(heap);
  CHECK(gc_weak_get(heap, *weak) == NULL);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- A dead large object's mapping is poisoned while the cache keeps it -- */

Test(tracing_verify, write_to_a_dead_large_object_traps_when_reused) {
  /* No quarantine, so that the dead array goes to the reuse cache. */
  gc_heap *heap = harness_new_heap("tracing", "stress=0,verify-quarantine=0");
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_type pair = pair_type(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *slot = gc_root(heap, gc_new_array(heap, ints, 4096)); /* 32 KiB */
  gc_ref stale = *slot;
  *slot = NULL;
  /* A collection on the allocation path keeps the dead array's mapping for
   * reuse (gc_collect would unmap it). */
  uint64_t collections = harness_stats(heap).collections;
  while (harness_stats(heap).collections == collections)
    cr_assert_not_null(gc_new_struct(heap, pair));
  /* A runtime bug: a write through a pointer kept past the object's death. */
  ((volatile int64_t *)(void *)stale)[5] = 42;
  gc_ref fresh = gc_new_array(heap, ints, 4096);
  EXPECT_TRAP(GC_TRAP_INVARIANT, address(stale));
  cr_assert_not_null(fresh); /* from a new mapping */
  CHECK(fresh != stale);
  CHECK_EQ(gc_get_i64(heap, fresh, 5), 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
