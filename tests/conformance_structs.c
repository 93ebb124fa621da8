/* Conformance: structs and their accessors — gc_new_struct, gc_get/set of
 * every kind, the null / bounds / kind traps of each accessor, and objects
 * surviving collections with every field intact. */
#include "harness.h"

#include <math.h>

/* fields: 0 REF, 1 I64, 2 F64, 3 REF */
static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_F64,
                                     GC_KIND_REF};
enum { F_NEXT, F_INT, F_FLOAT, F_OTHER, NFIELDS };

COLLECTOR_TEST(structs, fields_start_zero_and_round_trip) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, node));
  CHECK(*a && *b && *a != *b);
  cr_assert_null(gc_get_ref(heap, *a, F_NEXT));
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), 0);
  CHECK(gc_get_f64(heap, *a, F_FLOAT) == 0.0);
  cr_assert_null(gc_get_ref(heap, *a, F_OTHER));

  gc_set_ref(heap, *a, F_NEXT, *b);
  gc_set_i64(heap, *a, F_INT, INT64_MIN);
  gc_set_f64(heap, *a, F_FLOAT, -0.5);
  gc_set_ref(heap, *a, F_OTHER, *a); /* a self reference */
  gc_set_i64(heap, *b, F_INT, INT64_MAX);
  gc_set_f64(heap, *b, F_FLOAT, INFINITY);
  CHECK(gc_get_ref(heap, *a, F_NEXT) == *b);
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), INT64_MIN);
  CHECK(gc_get_f64(heap, *a, F_FLOAT) == -0.5);
  CHECK(gc_get_ref(heap, *a, F_OTHER) == *a);
  CHECK_EQ(gc_get_i64(heap, *b, F_INT), INT64_MAX);
  CHECK(isinf(gc_get_f64(heap, *b, F_FLOAT)));
  gc_set_f64(heap, *b, F_FLOAT, NAN);
  CHECK(isnan(gc_get_f64(heap, *b, F_FLOAT)));

  /* Overwrite and clear references. */
  gc_set_ref(heap, *a, F_NEXT, NULL);
  cr_assert_null(gc_get_ref(heap, *a, F_NEXT));
  gc_set_ref(heap, *a, F_OTHER, *b);
  gc_set_ref(heap, *a, F_OTHER, *b);
  CHECK(gc_get_ref(heap, *a, F_OTHER) == *b);
  gc_collect(heap);
  CHECK(gc_get_ref(heap, *a, F_OTHER) == *b);
  CHECK_EQ(gc_get_i64(heap, *b, F_INT), INT64_MAX);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Builds a list of n nodes rooted at *head; node k holds k, k/2.0, and a
 * reference to the node k/2 positions from the head of the list. */
static void build_list(gc_heap *heap, gc_type node, gc_ref *head, int n) {
  for (int k = n - 1; k >= 0; k--) {
    gc_ref fresh = gc_new_struct(heap, node);
    gc_set_ref(heap, fresh, F_NEXT, *head);
    gc_set_i64(heap, fresh, F_INT, k);
    gc_set_f64(heap, fresh, F_FLOAT, k / 2.0);
    *head = fresh;
  }
  /* F_OTHER: back to the head, a cycle through the whole list. */
  for (gc_ref p = *head; p; p = gc_get_ref(heap, p, F_NEXT))
    gc_set_ref(heap, p, F_OTHER, *head);
}

static void check_list(gc_heap *heap, gc_ref head, int n) {
  int k = 0;
  for (gc_ref p = head; p; p = gc_get_ref(heap, p, F_NEXT), k++) {
    CHECK_EQ(gc_get_i64(heap, p, F_INT), k);
    CHECK(gc_get_f64(heap, p, F_FLOAT) == k / 2.0);
    CHECK(gc_get_ref(heap, p, F_OTHER) == head);
  }
  CHECK_EQ(k, n);
}

COLLECTOR_TEST(structs, live_structures_survive_collections_intact) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *head = gc_root(heap, NULL);
  build_list(heap, node, head, 300);
  /* Interleave garbage so that a collector has something to reclaim. */
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 200; i++)
      gc_new_struct(heap, node);
    gc_collect(heap);
    check_list(heap, *head, 300);
  }
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, null_object_traps_in_every_accessor) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  cr_assert_null(gc_get_ref(heap, NULL, 0));
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_set_ref(heap, NULL, 0, NULL);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  CHECK_EQ(gc_get_i64(heap, NULL, 0), 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_set_i64(heap, NULL, 0, 1);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  CHECK(gc_get_f64(heap, NULL, 0) == 0.0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_set_f64(heap, NULL, 0, 1.0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  CHECK_EQ(gc_get_i8(heap, NULL, 0), 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_set_i8(heap, NULL, 0, 1);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, out_of_range_fields_trap_and_store_nothing) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, node));
  const size_t bad[] = {NFIELDS, NFIELDS + 1, 1000, SIZE_MAX};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    cr_assert_null(gc_get_ref(heap, *a, bad[k]));
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_ref(heap, *a, bad[k], *b);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    CHECK_EQ(gc_get_i64(heap, *a, bad[k]), 0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_i64(heap, *a, bad[k], 7);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    CHECK(gc_get_f64(heap, *a, bad[k]) == 0.0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_f64(heap, *a, bad[k], 7.0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  }
  /* b, the next object, was not written through a's out-of-range fields. */
  for (int f = 0; f < NFIELDS; f++) {
    if (node_kinds[f] == GC_KIND_REF)
      cr_assert_null(gc_get_ref(heap, *b, f));
  }
  CHECK_EQ(gc_get_i64(heap, *b, F_INT), 0);
  CHECK(gc_get_f64(heap, *b, F_FLOAT) == 0.0);
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, wrong_kind_traps_and_stores_nothing) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  gc_set_i64(heap, *a, F_INT, 11);
  gc_set_f64(heap, *a, F_FLOAT, 1.5);

  CHECK_EQ(gc_get_i64(heap, *a, F_NEXT), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i64(heap, *a, F_NEXT, 0x1234); /* would forge a reference */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_f64(heap, *a, F_OTHER, 1e300);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_get_ref(heap, *a, F_INT));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_ref(heap, *a, F_INT, *a);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  CHECK(gc_get_f64(heap, *a, F_INT) == 0.0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_f64(heap, *a, F_INT, 2.5);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  CHECK_EQ(gc_get_i64(heap, *a, F_FLOAT), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i64(heap, *a, F_FLOAT, 3);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  /* I8 accessors do not apply to struct fields at all. */
  CHECK_EQ(gc_get_i8(heap, *a, F_INT), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i8(heap, *a, F_INT, 9);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);

  cr_assert_null(gc_get_ref(heap, *a, F_NEXT));
  cr_assert_null(gc_get_ref(heap, *a, F_OTHER));
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), 11);
  CHECK(gc_get_f64(heap, *a, F_FLOAT) == 1.5);
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), 11);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, resources_and_weaks_have_no_fields) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *n = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *r = gc_root(heap, gc_new_resource(heap, NULL, NULL, NULL));
  gc_ref *w = gc_root(heap, gc_new_weak(heap, *n));
  cr_assert_null(gc_get_ref(heap, *w, 0));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_ref(heap, *w, 0, NULL); /* would clear the weak behind its back */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  CHECK_EQ(gc_get_i64(heap, *r, 0), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i64(heap, *r, 0, 1);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  CHECK(gc_weak_get(heap, *w) == *n);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, references_from_another_heap_trap) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  struct trap_log other_log;
  gc_heap *other = harness_new_heap_logged(param->name, NULL, &other_log);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_type other_node = gc_type_struct(other, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_scope other_scope = gc_scope_open(other);
  gc_ref *mine = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *foreign = gc_root(other, gc_new_struct(other, other_node));
  gc_set_ref(heap, *mine, F_NEXT, *foreign);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  cr_assert_null(gc_get_ref(heap, *mine, F_NEXT));
  gc_get_i64(heap, *foreign, F_INT);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  gc_scope_close(other, other_scope);
  gc_scope_close(heap, scope);
  harness_free_heap(other);
  harness_free_heap(heap);
}

COLLECTOR_TEST(structs, wild_pointers_trap) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  /* A fake object that looks plausible: header of the node type. */
  static uint64_t fake[8];
  memcpy(fake, (void *)*a, sizeof fake[0]);
  gc_ref wild = (gc_ref)(void *)fake;
  gc_get_i64(heap, wild, F_INT);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  gc_set_ref(heap, *a, F_NEXT, wild);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  cr_assert_null(gc_get_ref(heap, *a, F_NEXT));
  /* An interior pointer is not an object either. */
  gc_ref interior = (gc_ref)((char *)*a + 8);
  gc_get_i64(heap, interior, F_INT);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}
