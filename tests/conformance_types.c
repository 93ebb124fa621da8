/* Conformance: the type registry — gc_type_struct, gc_type_array,
 * gc_type_name, gc_type_of, and the traps for types that do not fit. */
#include "harness.h"

#include <stdio.h>

static const gc_kind pair_kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_F64};

COLLECTOR_TEST(types, struct_and_array_types_keep_their_names) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  char name[32] = "pair";
  gc_type pair = gc_type_struct(heap, name, 3, pair_kinds);
  /* The registry keeps its own copy of the name. */
  strcpy(name, "XXXX");
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  CHECK(pair != GC_TYPE_NONE && ints != GC_TYPE_NONE && bytes != GC_TYPE_NONE);
  CHECK(pair != ints && ints != bytes && pair != bytes);
  cr_assert_str_eq(gc_type_name(heap, pair), "pair");
  cr_assert_str_eq(gc_type_name(heap, ints), "ints");
  cr_assert_str_eq(gc_type_name(heap, bytes), "bytes");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, objects_know_their_type) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_type floats = gc_type_array(heap, "floats", GC_KIND_F64);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *s = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *a = gc_root(heap, gc_new_array(heap, floats, 5));
  gc_ref *r = gc_root(heap, gc_new_resource(heap, NULL, NULL, NULL));
  gc_ref *w = gc_root(heap, gc_new_weak(heap, *s));
  CHECK_EQ(gc_type_of(heap, *s), pair);
  CHECK_EQ(gc_type_of(heap, *a), floats);
  cr_assert_str_eq(gc_type_name(heap, gc_type_of(heap, *r)), "resource");
  cr_assert_str_eq(gc_type_name(heap, gc_type_of(heap, *w)), "weak");
  CHECK_EQ(gc_array_len(heap, *a), 5);
  gc_collect(heap);
  CHECK_EQ(gc_type_of(heap, *s), pair);
  CHECK_EQ(gc_type_of(heap, *a), floats);
  CHECK_EQ(gc_array_len(heap, *a), 5);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, i8_fields_in_a_struct_trap) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  const gc_kind kinds[] = {GC_KIND_I64, GC_KIND_I8};
  CHECK_EQ(gc_type_struct(heap, "bad", 2, kinds), GC_TYPE_NONE);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  const gc_kind bogus[] = {(gc_kind)42};
  CHECK_EQ(gc_type_struct(heap, "bogus", 1, bogus), GC_TYPE_NONE);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  CHECK_EQ(gc_type_array(heap, "bogus", (gc_kind)42), GC_TYPE_NONE);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  /* The heap still registers good types. */
  CHECK(gc_type_struct(heap, "pair", 3, pair_kinds) != GC_TYPE_NONE);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, an_empty_struct_is_a_type_or_a_clean_trap) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type empty = gc_type_struct(heap, "empty", 0, pair_kinds);
  if (empty == GC_TYPE_NONE) {
    EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  } else {
    gc_scope scope = gc_scope_open(heap);
    gc_ref *obj = gc_root(heap, gc_new_struct(heap, empty));
    CHECK(*obj);
    gc_collect(heap);
    gc_get_i64(heap, *obj, 0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_scope_close(heap, scope);
  }
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, unknown_type_handles_trap) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  cr_assert_null(gc_type_name(heap, 9999));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_type_name(heap, GC_TYPE_NONE));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_new_struct(heap, 9999));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_new_struct(heap, GC_TYPE_NONE));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_new_array(heap, 9999, 3));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  /* A struct type is not an array type and vice versa, and the built-in
   * types are made only by their own constructors. */
  cr_assert_null(gc_new_struct(heap, ints));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_new_array(heap, pair, 3));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *r = gc_root(heap, gc_new_resource(heap, NULL, NULL, NULL));
  gc_ref *w = gc_root(heap, gc_new_weak(heap, NULL));
  cr_assert_null(gc_new_struct(heap, gc_type_of(heap, *r)));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_new_array(heap, gc_type_of(heap, *w), 1));
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_scope_close(heap, scope);
  /* Still usable. */
  CHECK(gc_new_struct(heap, pair));
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, null_objects_have_no_type) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  CHECK_EQ(gc_type_of(heap, NULL), GC_TYPE_NONE);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  CHECK_EQ(gc_array_len(heap, NULL), 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, array_len_of_a_non_array_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *s = gc_root(heap, gc_new_struct(heap, pair));
  CHECK_EQ(gc_array_len(heap, *s), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_ref *w = gc_root(heap, gc_new_weak(heap, NULL));
  CHECK_EQ(gc_array_len(heap, *w), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, many_types_register) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  enum { N = 2000 };
  static gc_type types[N];
  char name[32];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "t%d", i);
    types[i] = (i & 1) ? gc_type_array(heap, name, (gc_kind)(i % 4))
                       : gc_type_struct(heap, name, 1 + i % 3, pair_kinds);
    CHECK(types[i] != GC_TYPE_NONE);
  }
  for (int i = 0; i < N; i += 97) {
    snprintf(name, sizeof name, "t%d", i);
    cr_assert_str_eq(gc_type_name(heap, types[i]), name);
  }
  gc_ref obj = gc_new_struct(heap, types[N - 2]);
  CHECK_EQ(gc_type_of(heap, obj), types[N - 2]);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(types, types_belong_to_their_heap) {
  gc_heap *a = harness_new_heap(param->name, NULL);
  struct trap_log log_b;
  gc_heap *b = harness_new_heap_logged(param->name, NULL, &log_b);
  gc_type ta = gc_type_struct(a, "in-a", 3, pair_kinds);
  gc_type tb1 = gc_type_array(b, "first-in-b", GC_KIND_I8);
  gc_type tb2 = gc_type_struct(b, "second-in-b", 1, pair_kinds);
  cr_assert_str_eq(gc_type_name(a, ta), "in-a");
  cr_assert_str_eq(gc_type_name(b, tb1), "first-in-b");
  cr_assert_str_eq(gc_type_name(b, tb2), "second-in-b");
  harness_free_heap(b);
  harness_free_heap(a);
}
