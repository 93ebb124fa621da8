/* collector=boehm: resources (Boehm finalizers plus the pending registry)
 * and weak references (disappearing links), including the cases where
 * Boehm's process-wide heap makes them subtle: several heaps, a heap freed
 * with destructors still queued, weak references to resources. */
#include "harness.h"

static const gc_kind cell_kinds[] = {GC_KIND_I64, GC_KIND_REF};

/* Each destructor adds its ud (a counter) by one. */
static void count_destroy(void *ptr, void *ud) { (*(int *)ud)++; }

/* n resources, unreachable once this returns (made in a frame of its own so
 * that no stale copy lingers in the caller's). */
static NOINLINE void drop_resources(gc_heap *heap, int n, int *counter) {
  for (int i = 0; i < n; i++)
    gc_new_resource(heap, NULL, count_destroy, counter);
}

Test(boehm_resources, unreachable_resources_are_destroyed_once) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  gc_heap *heap = harness_new_heap("boehm", NULL);
  int destroyed = 0, kept_destroyed = 0;
  gc_scope scope = gc_scope_open(heap);
  gc_ref *kept = gc_root(heap, gc_new_resource(heap, &kept_destroyed,
                                               count_destroy, &kept_destroyed));
  drop_resources(heap, 1000, &destroyed);
  harness_collect(heap);
  harness_collect(heap);
  /* Conservative stack scanning may keep a few: never most of them. */
  cr_assert(destroyed >= 990, "only %d of 1000 destroyed", destroyed);
  CHECK_EQ(kept_destroyed, 0);
  CHECK(gc_resource_ptr(heap, *kept) == &kept_destroyed);
  CHECK_EQ(harness_stats(heap).destructors_run, destroyed);
  int before_free = destroyed;
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
  /* Every one ran exactly once in all: the rest at heap free. */
  CHECK_EQ(destroyed, 1000);
  CHECK_EQ(kept_destroyed, 1);
  (void)before_free;
}

Test(boehm_resources, pending_destructors_run_at_heap_free) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  gc_heap *heap = harness_new_heap("boehm", NULL);
  int destroyed = 0;
  gc_scope scope = gc_scope_open(heap);
  for (int i = 0; i < 100; i++)
    gc_root(heap, gc_new_resource(heap, NULL, count_destroy, &destroyed));
  drop_resources(heap, 100, &destroyed);
  gc_scope_close(heap, scope);
  /* Only the dropped ones may have run (stress=1 collects all the time). */
  CHECK(destroyed <= 100);
  harness_free_heap(heap);
  CHECK_EQ(destroyed, 200);
}

/* A heap freed while Boehm has already queued some of its resources: the
 * queued finalizers must neither run the destructors twice nor touch the
 * freed heap when another heap later drains Boehm's queue. */
Test(boehm_resources, heap_freed_with_queued_finalizers) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  gc_heap *other = harness_new_heap("boehm", NULL);
  struct trap_log log;
  gc_heap *heap = harness_new_heap_logged("boehm", NULL, &log);
  int destroyed = 0;
  drop_resources(heap, 500, &destroyed);
  harness_scrub_stack();
  /* A collection through the other heap queues them; nobody drains yet
   * (the queue is drained by the heap that allocates or collects next, and
   * gc_collect(other) does drain it; so queue them from Boehm directly). */
  gc_collect(other);
  int after_other = destroyed;
  harness_free_heap(heap);
  CHECK_EQ(destroyed, 500);
  /* Allocating and collecting in the surviving heap drains whatever Boehm
   * still had queued: no second run, no crash. */
  gc_type cell = gc_type_struct(other, "cell", 2, cell_kinds);
  for (int i = 0; i < 10000; i++)
    gc_new_struct(other, cell);
  harness_collect(other);
  CHECK_EQ(destroyed, 500);
  harness_free_heap(other);
  (void)after_other;
}

static NOINLINE gc_ref *weak_to_dropped_resource(gc_heap *heap, int *counter) {
  return gc_global(heap, gc_new_weak(heap, gc_new_resource(heap, NULL,
                                                           count_destroy,
                                                           counter)));
}

Test(boehm_resources, weak_to_a_resource_is_cleared_when_it_dies) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  gc_heap *heap = harness_new_heap("boehm", NULL);
  int destroyed = 0;
  gc_ref *weak = weak_to_dropped_resource(heap, &destroyed);
  harness_collect(heap);
  harness_collect(heap);
  cr_assert_null(gc_weak_get(heap, *weak));
  CHECK_EQ(destroyed, 1);
  gc_global_free(heap, weak);
  harness_free_heap(heap);
  CHECK_EQ(destroyed, 1);
}

static NOINLINE gc_ref *weaks_to_dropped_cells(gc_heap *heap, gc_type cell,
                                               int n) {
  gc_ref *arr = gc_global(
      heap, gc_new_array(heap, gc_type_array(heap, "weaks", GC_KIND_REF), n));
  for (int i = 0; i < n; i++) {
    gc_ref obj = gc_new_struct(heap, cell);
    gc_set_i64(heap, obj, 0, i);
    gc_set_ref(heap, *arr, i, gc_new_weak(heap, obj));
  }
  return arr;
}

static NOINLINE int count_cleared(gc_heap *heap, gc_ref arr, int n) {
  int cleared = 0;
  for (int i = 0; i < n; i++) {
    gc_ref target = gc_weak_get(heap, gc_get_ref(heap, arr, i));
    if (!target)
      cleared++;
    else
      CHECK_EQ(gc_get_i64(heap, target, 0), i);
  }
  return cleared;
}

Test(boehm_resources, weak_references_keep_nothing_alive) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  gc_heap *heap = harness_new_heap("boehm", NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_ref *arr = weaks_to_dropped_cells(heap, cell, 1000);
  harness_collect(heap);
  int cleared = count_cleared(heap, *arr, 1000);
  cr_assert(cleared >= 990, "only %d of 1000 weak references cleared",
            cleared);
  gc_global_free(heap, arr);
  harness_free_heap(heap);
}

/* Destructors from two heaps: each heap's pending ones run at its own free,
 * the other heap's are untouched. */
Test(boehm_resources, two_heaps_keep_their_own_resources) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  struct trap_log log_a, log_b;
  gc_heap *a = harness_new_heap_logged("boehm", NULL, &log_a);
  gc_heap *b = harness_new_heap_logged("boehm", NULL, &log_b);
  int count_a = 0, count_b = 0;
  gc_ref *ra = gc_global(a, gc_new_resource(a, NULL, count_destroy, &count_a));
  gc_ref *rb = gc_global(b, gc_new_resource(b, NULL, count_destroy, &count_b));
  harness_collect(a);
  harness_collect(b);
  CHECK_EQ(count_a + count_b, 0);
  harness_free_heap(a);
  CHECK_EQ(count_a, 1);
  CHECK_EQ(count_b, 0);
  harness_collect(b);
  CHECK(gc_resource_ptr(b, *rb) == NULL);
  CHECK_EQ(count_b, 0);
  harness_free_heap(b);
  CHECK_EQ(count_b, 1);
  (void)ra;
}

/* Many heaps, one after another, each with its roots and resources: nothing
 * accumulates in Boehm's root table or in the list of live heaps. */
Test(boehm_resources, many_heaps_in_turn) {
  SKIP_WITHOUT_COLLECTOR("boehm");
  int destroyed = 0;
  for (int i = 0; i < 300; i++) {
    gc_heap *heap = harness_new_heap("boehm", NULL);
    gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
    gc_scope scope = gc_scope_open(heap);
    gc_ref *c = gc_root(heap, gc_new_struct(heap, cell));
    gc_set_ref(heap, *c, 1, gc_new_resource(heap, NULL, count_destroy,
                                            &destroyed));
    gc_global(heap, *c);
    gc_scope_close(heap, scope);
    harness_free_heap(heap);
  }
  CHECK_EQ(destroyed, 300);
}
