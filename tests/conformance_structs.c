/* Conformance: structs and their accessors — gc_new_struct, gc_get/set of
 * every kind, the null / bounds / kind traps of each accessor, and objects
 * surviving collections with every field intact. The accessor tests
 * (ACCESSOR_TEST) run with verify on and off: off, the accessors take their
 * inline fast path, which must refuse exactly what the checked path does. */
#include "harness.h"

#include <math.h>

/* fields: 0 REF, 1 I64, 2 F64, 3 REF */
static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_F64,
                                     GC_KIND_REF};
enum { F_NEXT, F_INT, F_FLOAT, F_OTHER, NFIELDS };

ACCESSOR_TEST(structs, fields_start_zero_and_round_trip) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

ACCESSOR_TEST(structs, live_structures_survive_collections_intact) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

ACCESSOR_TEST(structs, null_object_traps_in_every_accessor) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

ACCESSOR_TEST(structs, out_of_range_fields_trap_and_store_nothing) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

ACCESSOR_TEST(structs, wrong_kind_traps_and_stores_nothing) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

ACCESSOR_TEST(structs, resources_and_weaks_have_no_fields) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
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

/* The fast paths trust the REF bits of a header's type word (gcheap.h):
 * with verify=1, a word that is not its type's traps at the first call
 * that receives the object, before any field is read through it. */
COLLECTOR_TEST(structs, a_header_with_wrong_ref_bits_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  uint32_t *word = (uint32_t *)*a;
  uint32_t saved = *word;
  *word |= UINT32_C(1) << (16 + F_INT); /* claims the i64 field is a REF */
  cr_assert_null(gc_get_ref(heap, *a, F_INT));
  EXPECT_TRAP(GC_TRAP_INVARIANT, "header type word");
  gc_set_i64(heap, *a, F_INT, 5);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "header type word");
  *word = saved;
  gc_set_i64(heap, *a, F_INT, 5);
  CHECK_EQ(gc_get_i64(heap, *a, F_INT), 5);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* More fields than the fast path's 64-bit masks cover: fields 64 and up go
 * through the checked path, and must behave exactly like the first 64. */
ACCESSOR_TEST(structs, fields_past_the_sixty_fourth_work) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  enum { WIDE = 70 };
  gc_kind kinds[WIDE];
  for (int f = 0; f < WIDE; f++)
    kinds[f] = f % 3 == 0   ? GC_KIND_REF
               : f % 3 == 1 ? GC_KIND_I64
                            : GC_KIND_F64;
  gc_type wide = gc_type_struct(heap, "wide", WIDE, kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, wide));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, wide));
  for (int f = 0; f < WIDE; f++) {
    if (kinds[f] == GC_KIND_REF)
      gc_set_ref(heap, *a, f, f % 2 ? *a : *b);
    else if (kinds[f] == GC_KIND_I64)
      gc_set_i64(heap, *a, f, 1000 + f);
    else
      gc_set_f64(heap, *a, f, f + 0.5);
  }
  gc_collect(heap);
  for (int f = 0; f < WIDE; f++) {
    if (kinds[f] == GC_KIND_REF)
      CHECK(gc_get_ref(heap, *a, f) == (f % 2 ? *a : *b));
    else if (kinds[f] == GC_KIND_I64)
      CHECK_EQ(gc_get_i64(heap, *a, f), 1000 + f);
    else
      CHECK(gc_get_f64(heap, *a, f) == f + 0.5);
  }
  /* Wrong kinds on either side of 64, and the bound itself. */
  const int wrong[] = {0, 1, 62, 63, 64, 65, 68, 69};
  for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
    int f = wrong[k];
    if (kinds[f] == GC_KIND_REF) {
      CHECK_EQ(gc_get_i64(heap, *a, f), 0);
      EXPECT_TRAP(GC_TRAP_TYPE, "is ref, not i64");
    } else {
      cr_assert_null(gc_get_ref(heap, *a, f));
      EXPECT_TRAP(GC_TRAP_TYPE, "not ref");
      gc_set_ref(heap, *a, f, *b);
      EXPECT_TRAP(GC_TRAP_TYPE, "not ref");
    }
  }
  cr_assert_null(gc_get_ref(heap, *a, WIDE));
  EXPECT_TRAP(GC_TRAP_BOUNDS, "struct wide has 70 fields");
  gc_set_ref(heap, *a, WIDE, *b);
  EXPECT_TRAP(GC_TRAP_BOUNDS, "struct wide has 70 fields");
  CHECK_EQ(gc_get_i64(heap, *a, 64), 1064);
  CHECK(gc_get_f64(heap, *a, 65) == 65.5);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* gc_new_struct's fast path accepts only user struct types. */
ACCESSOR_TEST(structs, new_struct_refuses_every_other_type) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  gc_type node = gc_type_struct(heap, "node", NFIELDS, node_kinds);
  gc_type empty = gc_type_struct(heap, "empty", 0, NULL);
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  const gc_type bad[] = {GC_TYPE_NONE, 1,        2,         ints,
                         ints + 1,     1u << 31, UINT32_MAX};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    cr_assert_null(gc_new_struct(heap, bad[k]), "type %u", bad[k]);
    EXPECT_TRAP(GC_TRAP_TYPE, "is not a struct type");
  }
  gc_scope scope = gc_scope_open(heap);
  gc_ref *n = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *e = gc_root(heap, gc_new_struct(heap, empty));
  CHECK(*n && *e && gc_type_of(heap, *n) == node &&
        gc_type_of(heap, *e) == empty);
  cr_assert_null(gc_get_ref(heap, *e, 0));
  EXPECT_TRAP(GC_TRAP_BOUNDS, "has 0 fields");
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
