/* Conformance: root scopes and global roots — gc_scope_open / gc_root /
 * gc_scope_close, gc_global / gc_global_free, their MISUSE traps, and slots
 * whose address never changes. */
#include "harness.h"

static const gc_kind cell_kinds[] = {GC_KIND_I64, GC_KIND_REF};

/* A cell holding value, unreachable from anything once this returns; the
 * caller keeps only a weak reference to it (made here, so that no stale copy
 * of the cell's address stays in the caller's frame). */
static NOINLINE gc_ref *rooted_weak_to_new_cell(gc_heap *heap, gc_type cell,
                                                int64_t value, gc_ref **slot) {
  gc_ref obj = gc_new_struct(heap, cell);
  gc_set_i64(heap, obj, 0, value);
  *slot = gc_root(heap, obj);
  return gc_global(heap, gc_new_weak(heap, **slot));
}

/* The weak reference's target holds value (checked in a frame of its own, so
 * that the target's address does not linger in the caller's). */
static NOINLINE bool weak_target_holds(gc_heap *heap, gc_ref weak,
                                       int64_t value) {
  gc_ref target = gc_weak_get(heap, weak);
  return target && gc_get_i64(heap, target, 0) == value;
}

COLLECTOR_TEST(roots, rooted_objects_survive_and_slots_are_writable) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, cell));
  gc_ref *b = gc_root(heap, NULL);
  cr_assert_null(*b);
  gc_set_i64(heap, *a, 0, 41);
  *b = gc_new_struct(heap, cell); /* the mutator may write slots directly */
  gc_set_i64(heap, *b, 0, 42);
  gc_set_ref(heap, *b, 1, *a);
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 100; k++)
      gc_new_struct(heap, cell);
    gc_collect(heap);
  }
  CHECK_EQ(gc_get_i64(heap, *a, 0), 41);
  CHECK_EQ(gc_get_i64(heap, *b, 0), 42);
  CHECK(gc_get_ref(heap, *b, 1) == *a);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(roots, closing_a_scope_drops_its_roots) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope outer = gc_scope_open(heap);
  gc_ref *kept = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *kept, 0, 7);
  gc_scope inner = gc_scope_open(heap);
  gc_ref *slot;
  gc_ref *weak = rooted_weak_to_new_cell(heap, cell, 99, &slot);
  harness_collect(heap);
  CHECK(weak_target_holds(heap, *weak, 99));
  gc_scope_close(heap, inner);
  harness_collect(heap);
  if (harness_reclaims(param->name))
    cr_assert_null(gc_weak_get(heap, *weak),
                   "[%s] a cell rooted only in a closed scope survived",
                   param->name);
  else
    CHECK(gc_weak_get(heap, *weak) != NULL);
  CHECK_EQ(gc_get_i64(heap, *kept, 0), 7);
  gc_scope_close(heap, outer);
  gc_global_free(heap, weak);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(roots, scopes_nest_deeply_and_slots_never_move) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  enum { DEPTH = 300, PER_SCOPE = 7 };
  static gc_scope scopes[DEPTH];
  static gc_ref *slots[DEPTH][PER_SCOPE];
  gc_scope base = gc_scope_open(heap);
  gc_ref *shared = gc_root(heap, gc_new_struct(heap, cell));
  for (int d = 0; d < DEPTH; d++) {
    scopes[d] = gc_scope_open(heap);
    CHECK_EQ(scopes[d].depth, base.depth + 1 + d);
    for (int k = 0; k < PER_SCOPE; k++)
      slots[d][k] = gc_root(heap, (k & 1) ? *shared : NULL);
  }
  /* About 2000 slots: several chunks of the root stack. Every earlier slot
   * is still where it was and holds what it held. */
  gc_collect(heap);
  for (int d = 0; d < DEPTH; d++)
    for (int k = 0; k < PER_SCOPE; k++)
      CHECK(*slots[d][k] == ((k & 1) ? *shared : NULL));
  for (int d = DEPTH - 1; d >= 0; d--)
    gc_scope_close(heap, scopes[d]);
  /* The same depth is reached again: the old handles are stale now. */
  gc_scope again = gc_scope_open(heap);
  CHECK_EQ(again.depth, scopes[0].depth);
  CHECK(again.serial != scopes[0].serial);
  gc_scope_close(heap, scopes[0]);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_scope_close(heap, again);
  gc_scope_close(heap, base);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(roots, closing_out_of_order_traps_and_changes_nothing) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope outer = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, cell));
  gc_scope inner = gc_scope_open(heap);
  gc_ref *b = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *a, 0, 1);
  gc_set_i64(heap, *b, 0, 2);
  gc_scope_close(heap, outer); /* not the innermost */
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  /* Nothing was closed: both roots still hold. */
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *a, 0), 1);
  CHECK_EQ(gc_get_i64(heap, *b, 0), 2);
  gc_scope_close(heap, inner);
  gc_scope_close(heap, inner); /* twice */
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  CHECK_EQ(gc_get_i64(heap, *a, 0), 1);
  gc_scope forged = {.depth = 77, .serial = 12345};
  gc_scope_close(heap, forged);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_scope_close(heap, outer);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, outer); /* nothing open any more */
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  harness_free_heap(heap);
}

COLLECTOR_TEST(roots, heap_free_with_open_scopes_and_globals) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope_open(heap);
  for (int i = 0; i < 600; i++)
    gc_root(heap, gc_new_struct(heap, cell));
  gc_scope_open(heap);
  for (int i = 0; i < 100; i++)
    gc_global(heap, gc_new_struct(heap, cell));
  harness_free_heap(heap); /* valgrind/ASan: nothing leaks */
}

static NOINLINE void replace_global(gc_heap *heap, gc_ref *g, gc_type cell,
                                    int64_t value) {
  *g = gc_new_struct(heap, cell);
  gc_set_i64(heap, *g, 0, value);
}

COLLECTOR_TEST(globals, globals_outlive_scopes_until_freed) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *g = gc_global(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *g, 0, 5);
  gc_ref *weak = gc_global(heap, gc_new_weak(heap, *g));
  gc_scope_close(heap, scope);
  harness_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *g, 0), 5);
  CHECK(weak_target_holds(heap, *weak, 5));
  replace_global(heap, g, cell, 6); /* direct writes to a global slot */
  harness_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *g, 0), 6);
  if (harness_reclaims(param->name))
    cr_assert_null(gc_weak_get(heap, *weak), "[%s] overwritten global kept",
                   param->name);
  gc_global_free(heap, g);
  EXPECT_NO_TRAP();
  gc_global_free(heap, weak);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A new cell held only by the global returned, watched by *weak. */
static NOINLINE gc_ref *global_cell_watched_by(gc_heap *heap, gc_type cell,
                                               gc_ref *weak) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *slot;
  gc_ref *w = rooted_weak_to_new_cell(heap, cell, 3, &slot);
  gc_ref *g = gc_global(heap, *slot);
  *weak = *w;
  gc_global_free(heap, w);
  gc_scope_close(heap, scope);
  return g;
}

COLLECTOR_TEST(globals, freeing_a_global_drops_its_object) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_ref *weak = gc_global(heap, NULL);
  gc_ref *g = global_cell_watched_by(heap, cell, weak);
  harness_collect(heap);
  CHECK(weak_target_holds(heap, *weak, 3));
  gc_global_free(heap, g);
  harness_collect(heap);
  if (harness_reclaims(param->name))
    cr_assert_null(gc_weak_get(heap, *weak), "[%s] freed global kept",
                   param->name);
  else
    CHECK(gc_weak_get(heap, *weak) != NULL);
  gc_global_free(heap, weak);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(globals, freeing_twice_or_a_non_global_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_ref *keep = gc_global(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *keep, 0, 12);
  gc_ref *g = gc_global(heap, gc_new_struct(heap, cell));
  gc_global_free(heap, g);
  EXPECT_NO_TRAP();
  gc_global_free(heap, g);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *scoped = gc_root(heap, NULL);
  gc_global_free(heap, scoped);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_ref local = NULL;
  gc_global_free(heap, &local);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_global_free(heap, NULL);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  gc_scope_close(heap, scope);
  /* The live global is untouched; new globals still work. */
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *keep, 0), 12);
  gc_ref *again = gc_global(heap, *keep);
  CHECK(*again == *keep);
  gc_global_free(heap, again);
  gc_global_free(heap, keep);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(globals, many_globals_keep_their_addresses) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  enum { N = 1500 };
  static gc_ref *slots[N];
  for (int i = 0; i < N; i++) {
    slots[i] = gc_global(heap, NULL);
    if (i % 3 == 0) {
      *slots[i] = gc_new_struct(heap, cell);
      gc_set_i64(heap, *slots[i], 0, i);
    }
  }
  /* Free every other one, then allocate more: freed slots may be reused,
   * live ones never move. */
  for (int i = 1; i < N; i += 2) {
    gc_global_free(heap, slots[i]);
    slots[i] = NULL;
  }
  for (int i = 0; i < 200; i++)
    gc_global(heap, NULL);
  gc_collect(heap);
  for (int i = 0; i < N; i += 2)
    if (i % 3 == 0)
      CHECK_EQ(gc_get_i64(heap, *slots[i], 0), i);
    else
      cr_assert_null(*slots[i]);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
