/* Conformance: weak references — gc_new_weak, gc_weak_get: the target while
 * it lives, NULL once it is reclaimed (collectors that reclaim), never keeping
 * the target alive, and weak objects being garbage themselves. */
#include "harness.h"

static const gc_kind cell_kinds[] = {GC_KIND_I64, GC_KIND_REF};

/* A weak reference (held by the returned global) to a new cell holding
 * value that nothing else references. */
static NOINLINE gc_ref *weak_to_garbage(gc_heap *heap, gc_type cell,
                                        int64_t value) {
  gc_ref obj = gc_new_struct(heap, cell);
  gc_set_i64(heap, obj, 0, value);
  return gc_global(heap, gc_new_weak(heap, obj));
}

static NOINLINE int64_t target_value(gc_heap *heap, gc_ref weak) {
  gc_ref target = gc_weak_get(heap, weak);
  return target ? gc_get_i64(heap, target, 0) : -1;
}

COLLECTOR_TEST(weak, null_target) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_ref *w = gc_global(heap, gc_new_weak(heap, NULL));
  CHECK(*w != NULL);
  cr_assert_null(gc_weak_get(heap, *w));
  gc_collect(heap);
  cr_assert_null(gc_weak_get(heap, *w));
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(weak, live_target_is_returned) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *target = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *target, 0, 31);
  gc_ref *w = gc_root(heap, gc_new_weak(heap, *target));
  gc_ref *ww = gc_root(heap, gc_new_weak(heap, *w)); /* weak to a weak */
  for (int i = 0; i < 3; i++) {
    gc_new_struct(heap, cell);
    gc_collect(heap);
    CHECK(gc_weak_get(heap, *w) == *target);
    CHECK(gc_weak_get(heap, *ww) == *w);
  }
  CHECK_EQ(gc_get_i64(heap, gc_weak_get(heap, *w), 0), 31);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(weak, cleared_when_target_is_reclaimed) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_ref *w = weak_to_garbage(heap, cell, 17);
  CHECK_EQ(target_value(heap, *w), 17); /* not collected yet */
  harness_collect(heap);
  if (harness_reclaims(param->name)) {
    cr_assert_null(gc_weak_get(heap, *w),
                   "[%s] a weak reference kept its target alive", param->name);
  } else {
    /* The null collector never reclaims: the target stays. */
    CHECK_EQ(target_value(heap, *w), 17);
  }
  /* Still a valid weak object afterwards. */
  CHECK_EQ(gc_type_of(heap, *w), gc_type_of(heap, *w));
  gc_global_free(heap, w);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

static int weak_target_destroyed;
static void count_destroy(void *ptr, void *ud) {
  weak_target_destroyed++;
}

static NOINLINE gc_ref *weak_to_garbage_resource(gc_heap *heap) {
  return gc_global(heap, gc_new_weak(heap, gc_new_resource(heap, NULL,
                                                           count_destroy,
                                                           NULL)));
}

COLLECTOR_TEST(weak, does_not_keep_a_resource_alive) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_ref *w = weak_to_garbage_resource(heap);
  harness_collect(heap);
  if (harness_reclaims(param->name)) {
    CHECK_EQ(weak_target_destroyed, 1);
    cr_assert_null(gc_weak_get(heap, *w));
  } else {
    CHECK_EQ(weak_target_destroyed, 0);
  }
  harness_free_heap(heap);
  CHECK_EQ(weak_target_destroyed, 1);
}

/* Many weak references, none rooted: they are garbage like anything else. */
static NOINLINE void make_garbage_weaks(gc_heap *heap, gc_ref target, int n) {
  for (int i = 0; i < n; i++)
    gc_new_weak(heap, target);
}

COLLECTOR_TEST(weak, weak_objects_are_garbage_themselves) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_ref *target = gc_global(heap, gc_new_struct(heap, cell));
  harness_collect(heap);
  gc_stats before = harness_stats(heap);
  make_garbage_weaks(heap, *target, 500);
  gc_stats during = harness_stats(heap);
  CHECK(during.allocated_objects >= before.allocated_objects + 500);
  harness_collect(heap);
  gc_stats after = harness_stats(heap);
  if (harness_reclaims(param->name)) {
    CHECK(after.freed_objects >= before.freed_objects + 500);
    CHECK(after.live_bytes <= before.live_bytes);
  } else {
    CHECK_EQ(after.freed_objects, 0);
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(weak, weak_in_a_field_and_dying_holder) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *holder = gc_root(heap, gc_new_struct(heap, cell));
  gc_ref *target = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *target, 0, 8);
  gc_set_ref(heap, *holder, 1, gc_new_weak(heap, *target));
  gc_collect(heap);
  gc_ref weak = gc_get_ref(heap, *holder, 1);
  CHECK(gc_weak_get(heap, weak) == *target);
  /* The weak dies with its holder before its target does. */
  *holder = NULL;
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *target, 0), 8);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(weak, weak_get_of_a_non_weak_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *c = gc_root(heap, gc_new_struct(heap, cell));
  cr_assert_null(gc_weak_get(heap, *c));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_weak_get(heap, NULL));
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}
