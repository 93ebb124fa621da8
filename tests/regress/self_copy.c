/* Regression 5 — self-referential copy (Wasmtime's DRC assertion: a
 * table.copy of a table onto itself with overlapping ranges miscounted the
 * references it moved).
 *
 * gc_array_copy of a REF array onto itself, overlapping in both directions
 * and with identical ranges, where the array is also held through a global
 * and some elements are the array itself or share targets. After each copy
 * and a collection, the contents match a memmove model, every target still
 * holds its value, and (refcount) no count went to zero early or stayed up:
 * targets that dropped out of the array are reclaimed, the rest live. */
#include "harness.h"

#include <stdio.h>

enum { N = 24, TARGETS = 6 };

static const gc_kind cell_kinds[] = {GC_KIND_I64};

/* The model: which target each element holds; -1 null, -2 the array. */
static int model[N];

static gc_ref element_for(gc_heap *heap, int m, gc_ref array, gc_ref targets) {
  if (m == -1)
    return NULL;
  if (m == -2)
    return array;
  return gc_get_ref(heap, targets, (size_t)m);
}

static void check_against_model(gc_heap *heap, gc_ref array, gc_ref targets,
                                const char *step) {
  for (int i = 0; i < N; i++) {
    gc_ref want = element_for(heap, model[i], array, targets);
    gc_ref got = gc_get_ref(heap, array, (size_t)i);
    cr_assert(got == want, "[%s] %s: element %d is %p, want %p (model %d)",
              harness_collector, step, i, (void *)got, (void *)want,
              model[i]);
    if (model[i] >= 0)
      CHECK_EQ(gc_get_i64(heap, got, 0), 1000 + model[i]);
  }
}

static void copy_both(gc_heap *heap, gc_ref array, size_t dst, size_t src,
                      size_t n) {
  gc_array_copy(heap, array, dst, array, src, n);
  memmove(model + dst, model + src, n * sizeof model[0]);
}

COLLECTOR_TEST(regress_self_copy, overlapping_copies_of_a_global_array) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 1, cell_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *targets = gc_global(heap, gc_new_array(heap, refs, TARGETS));
  for (int t = 0; t < TARGETS; t++) {
    gc_ref c = gc_new_struct(heap, cell);
    gc_set_i64(heap, c, 0, 1000 + t);
    gc_set_ref(heap, *targets, (size_t)t, c);
  }
  gc_ref *array = gc_global(heap, gc_new_array(heap, refs, N));
  /* A second global and a scope root holding the same array. */
  gc_ref *alias = gc_global(heap, *array);
  gc_scope scope = gc_scope_open(heap);
  gc_root(heap, *array);
  for (int i = 0; i < N; i++) {
    model[i] = (i % 5 == 4) ? -2 : (i % 7 == 6) ? -1 : i % TARGETS;
    gc_set_ref(heap, *array, (size_t)i,
               element_for(heap, model[i], *array, *targets));
  }
  static const struct {
    size_t dst, src, n;
  } steps[] = {
      {1, 0, N - 1}, /* overlap, dst after src */
      {0, 1, N - 1}, /* overlap, dst before src */
      {0, 0, N},     /* identical, whole array */
      {5, 5, 10},    /* identical, middle */
      {3, 0, 12},    {0, 9, 15}, {10, 2, 14}, {2, 10, 14}, {N - 1, 0, 1},
      {0, N - 1, 1}, {7, 6, 2},  {6, 7, 2},
  };
  char step[64];
  for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
    copy_both(heap, *array, steps[s].dst, steps[s].src, steps[s].n);
    snprintf(step, sizeof step, "copy(%zu <- %zu, %zu)", steps[s].dst,
             steps[s].src, steps[s].n);
    EXPECT_NO_TRAP();
    gc_collect(heap);
    check_against_model(heap, *array, *targets, step);
    CHECK(*alias == *array);
  }
  gc_scope_close(heap, scope);
  gc_global_free(heap, alias);
  gc_collect(heap);
  check_against_model(heap, *array, *targets, "after dropping the aliases");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Targets only the array holds: after copies that push some out, those are
 * reclaimed and the others stay. A miscounting barrier either frees a target
 * still in the array (verify traps, or its value is wrong) or keeps one that
 * left (its weak reference stays set). */
static NOINLINE void fill_with_fresh_cells(gc_heap *heap, gc_type cell,
                                           gc_ref array, gc_ref weaks) {
  for (int i = 0; i < N; i++) {
    gc_ref c = gc_new_struct(heap, cell);
    gc_set_i64(heap, c, 0, 1000 + i);
    gc_set_ref(heap, array, (size_t)i, c);
    gc_set_ref(heap, weaks, (size_t)i,
               gc_new_weak(heap, gc_get_ref(heap, array, (size_t)i)));
  }
}

static NOINLINE int64_t weak_value(gc_heap *heap, gc_ref weaks, int i) {
  gc_ref target = gc_weak_get(heap, gc_get_ref(heap, weaks, (size_t)i));
  return target ? gc_get_i64(heap, target, 0) : -1;
}

COLLECTOR_TEST(regress_self_copy, cells_pushed_out_are_reclaimed) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type cell = gc_type_struct(heap, "cell", 1, cell_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *array = gc_global(heap, gc_new_array(heap, refs, N));
  gc_ref *weaks = gc_global(heap, gc_new_array(heap, refs, N));
  fill_with_fresh_cells(heap, cell, *array, *weaks);
  /* Shift right by 4 twice and left by 2: cells 0..N-1 now sit at
   * model positions; cells N-10..N-1 that fell off the end (and the
   * duplicates at the front) are decided by the model. */
  for (int i = 0; i < N; i++)
    model[i] = i;
  copy_both(heap, *array, 4, 0, N - 4);
  copy_both(heap, *array, 4, 0, N - 4);
  copy_both(heap, *array, 0, 2, N - 2);
  harness_collect(heap);
  bool present[N] = {false};
  for (int i = 0; i < N; i++) {
    present[model[i]] = true;
    CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *array, (size_t)i), 0),
             1000 + model[i]);
  }
  for (int c = 0; c < N; c++) {
    int64_t v = weak_value(heap, *weaks, c);
    if (present[c])
      CHECK_EQ(v, 1000 + c);
    else if (harness_reclaims(param->name))
      cr_assert_eq(v, -1, "[%s] cell %d left the array but was kept",
                   param->name, c);
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
