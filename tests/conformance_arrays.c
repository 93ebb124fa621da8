/* Conformance: arrays — gc_new_array of every element kind, element access,
 * bounds, sizes that overflow, gc_array_copy (overlapping both ways, dst ==
 * src, identical ranges) and gc_array_fill_*. Every test runs with verify
 * on and off (ACCESSOR_TEST): off, element access takes the inline fast
 * path. */
#include "harness.h"

#include <gcheap-testing.h>
#include <refcount/refcount-testing.h>
#include <stdio.h>
#include <tracing/tracing-testing.h>

static const gc_kind pair_kinds[] = {GC_KIND_REF, GC_KIND_I64};

struct array_types {
  gc_type refs, ints, floats, bytes, pair;
};

static struct array_types register_types(gc_heap *heap) {
  struct array_types t = {
      .refs = gc_type_array(heap, "refs", GC_KIND_REF),
      .ints = gc_type_array(heap, "ints", GC_KIND_I64),
      .floats = gc_type_array(heap, "floats", GC_KIND_F64),
      .bytes = gc_type_array(heap, "bytes", GC_KIND_I8),
      .pair = gc_type_struct(heap, "pair", 2, pair_kinds),
  };
  return t;
}

ACCESSOR_TEST(arrays, elements_start_zero_and_round_trip) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, 10));
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, 10));
  gc_ref *floats = gc_root(heap, gc_new_array(heap, t.floats, 10));
  gc_ref *bytes = gc_root(heap, gc_new_array(heap, t.bytes, 13));
  CHECK_EQ(gc_array_len(heap, *refs), 10);
  CHECK_EQ(gc_array_len(heap, *bytes), 13);
  for (size_t i = 0; i < 10; i++) {
    cr_assert_null(gc_get_ref(heap, *refs, i));
    CHECK_EQ(gc_get_i64(heap, *ints, i), 0);
    CHECK(gc_get_f64(heap, *floats, i) == 0.0);
  }
  for (size_t i = 0; i < 13; i++)
    CHECK_EQ(gc_get_i8(heap, *bytes, i), 0);
  for (size_t i = 0; i < 10; i++) {
    gc_set_ref(heap, *refs, i, (i % 3) ? *ints : *refs);
    gc_set_i64(heap, *ints, i, -(int64_t)i * 1000000007);
    gc_set_f64(heap, *floats, i, i * 0.25);
  }
  for (size_t i = 0; i < 13; i++)
    gc_set_i8(heap, *bytes, i, (uint8_t)(250 + i)); /* wraps past 255 */
  gc_collect(heap);
  for (size_t i = 0; i < 10; i++) {
    CHECK(gc_get_ref(heap, *refs, i) == ((i % 3) ? *ints : *refs));
    CHECK_EQ(gc_get_i64(heap, *ints, i), -(int64_t)i * 1000000007);
    CHECK(gc_get_f64(heap, *floats, i) == i * 0.25);
  }
  for (size_t i = 0; i < 13; i++)
    CHECK_EQ(gc_get_i8(heap, *bytes, i), (uint8_t)(250 + i));
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Memory that dead objects left (every word -1 or a reference) is made
 * into new objects once it is reused: each reads zero all the same,
 * whichever way it was made (inline or out of line, small or medium, a
 * struct or an array of 8-byte or 1-byte elements). A collection every 50
 * rounds, and no verify=1 quarantine, so that memory is reused soon. */
ACCESSOR_TEST(arrays, new_objects_read_zero_where_dead_ones_were) {
  char options[128];
  snprintf(options, sizeof options, "%s%sverify-quarantine=0", param->options,
           *param->options ? "," : "");
  gc_heap *heap = harness_new_heap(param->name, options);
  struct array_types t = register_types(heap);
  gc_kind wide_kinds[20];
  for (int f = 0; f < 20; f++)
    wide_kinds[f] = f % 3 ? GC_KIND_I64 : GC_KIND_REF;
  gc_type wide = gc_type_struct(heap, "wide", 20, wide_kinds); /* medium */
  const size_t lengths[] = {1, 13, 100, 900}; /* 900 x 8: medium */
  int dirty = 0;
  for (int round = 0; round < 2000; round++) {
    if (round % 50 == 49)
      gc_collect(heap);
    for (int k = 0; k < 2; k++) {
      gc_type type = k ? wide : t.pair;
      gc_ref o =
          round % 2 ? gc_new_struct(heap, type) : (gc_new_struct)(heap, type);
      for (size_t f = 0; f < (k ? 20u : 2u); f++) {
        if ((k ? wide_kinds[f] : pair_kinds[f]) == GC_KIND_REF) {
          dirty += gc_get_ref(heap, o, f) != NULL;
          gc_set_ref(heap, o, f, o);
        } else {
          dirty += gc_get_i64(heap, o, f) != 0;
          gc_set_i64(heap, o, f, -1);
        }
      }
    }
    size_t len = lengths[round % 4];
    gc_ref ints = round % 2 ? gc_new_array(heap, t.ints, len)
                            : (gc_new_array)(heap, t.ints, len);
    for (size_t i = 0; i < len; i++)
      dirty += gc_get_i64(heap, ints, i) != 0;
    gc_array_fill_i64(heap, ints, 0, len, -1);
    gc_ref bytes = gc_new_array(heap, t.bytes, len + 3);
    for (size_t i = 0; i < len + 3; i++)
      dirty += gc_get_i8(heap, bytes, i) != 0;
    gc_array_fill_i8(heap, bytes, 0, len + 3, 0xff);
  }
  CHECK_EQ(dirty, 0);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, empty_arrays_work) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *e = gc_root(heap, gc_new_array(heap, t.refs, 0));
  gc_ref *b = gc_root(heap, gc_new_array(heap, t.bytes, 0));
  CHECK(*e && *b && *e != *b);
  CHECK_EQ(gc_array_len(heap, *e), 0);
  gc_get_ref(heap, *e, 0);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_set_i8(heap, *b, 0, 1);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *e, 0, *e, 0, 0);
  gc_array_fill_ref(heap, *e, 0, 0, *e);
  gc_collect(heap);
  CHECK_EQ(gc_array_len(heap, *b), 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, index_out_of_range_traps_for_every_kind) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, 4));
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, 4));
  gc_ref *floats = gc_root(heap, gc_new_array(heap, t.floats, 4));
  gc_ref *bytes = gc_root(heap, gc_new_array(heap, t.bytes, 5));
  const size_t bad[] = {5, 6, 1 << 20, SIZE_MAX};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    size_t i = bad[k];
    cr_assert_null(gc_get_ref(heap, *refs, i == 5 ? 4 : i));
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_ref(heap, *refs, i == 5 ? 4 : i, *refs);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    CHECK_EQ(gc_get_i64(heap, *ints, i == 5 ? 4 : i), 0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_i64(heap, *ints, i == 5 ? 4 : i, 1);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    CHECK(gc_get_f64(heap, *floats, i == 5 ? 4 : i) == 0.0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_f64(heap, *floats, i == 5 ? 4 : i, 1.0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    CHECK_EQ(gc_get_i8(heap, *bytes, i), 0);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
    gc_set_i8(heap, *bytes, i, 1);
    EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  }
  gc_collect(heap);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, wrong_element_kind_traps) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, 4));
  gc_ref *bytes = gc_root(heap, gc_new_array(heap, t.bytes, 4));
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, 4));
  gc_get_i8(heap, *ints, 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i64(heap, *bytes, 0, 1);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_i64(heap, *refs, 0, 0x1000); /* would forge a reference */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_set_ref(heap, *ints, 0, *ints);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_get_f64(heap, *ints, 0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  cr_assert_null(gc_get_ref(heap, *refs, 0));
  CHECK_EQ(gc_get_i64(heap, *ints, 0), 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, sizes_that_overflow_trap_oom) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  const size_t huge[] = {SIZE_MAX, SIZE_MAX / 8 + 1, SIZE_MAX / 2,
                         SIZE_MAX - 15};
  for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
    cr_assert_null(gc_new_array(heap, t.ints, huge[k]));
    EXPECT_TRAP(GC_TRAP_OOM, NULL);
    cr_assert_null(gc_new_array(heap, t.refs, huge[k]));
    EXPECT_TRAP(GC_TRAP_OOM, NULL);
    cr_assert_null(gc_new_array(heap, t.bytes, huge[k]));
    EXPECT_TRAP(GC_TRAP_OOM, NULL);
  }
  /* Still usable. */
  gc_ref a = gc_new_array(heap, t.ints, 3);
  gc_set_i64(heap, a, 2, 5);
  CHECK_EQ(gc_get_i64(heap, a, 2), 5);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Fills an I64 array with 0..n-1 and a REF array with r[i] = cells[i]. */
static void fill_pattern(gc_heap *heap, gc_ref ints, gc_ref refs, gc_ref cells,
                         size_t n) {
  for (size_t i = 0; i < n; i++) {
    gc_set_i64(heap, ints, i, (int64_t)i);
    gc_set_ref(heap, refs, i, gc_get_ref(heap, cells, i));
  }
}

/* A reference model: memmove on plain arrays, checked element by element. */
static void check_copy(gc_heap *heap, gc_ref ints, gc_ref refs, gc_ref cells,
                       size_t n, size_t dst_i, size_t src_i, size_t count) {
  int64_t model[64];
  size_t model_cell[64];
  cr_assert(n <= 64);
  for (size_t i = 0; i < n; i++)
    model[i] = (int64_t)(model_cell[i] = i);
  memmove(model + dst_i, model + src_i, count * sizeof model[0]);
  memmove(model_cell + dst_i, model_cell + src_i, count * sizeof model_cell[0]);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(gc_get_i64(heap, ints, i), model[i],
                 "[%s] copy(dst %zu, src %zu, n %zu): ints[%zu] = %lld, want "
                 "%lld",
                 harness_collector, dst_i, src_i, count, i,
                 (long long)gc_get_i64(heap, ints, i), (long long)model[i]);
    cr_assert(gc_get_ref(heap, refs, i) ==
                  gc_get_ref(heap, cells, model_cell[i]),
              "[%s] copy(dst %zu, src %zu, n %zu): refs[%zu] wrong",
              harness_collector, dst_i, src_i, count, i);
  }
}

ACCESSOR_TEST(arrays, copy_within_one_array_has_memmove_semantics) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  enum { N = 16 };
  gc_scope scope = gc_scope_open(heap);
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, N));
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, N));
  gc_ref *cells = gc_root(heap, gc_new_array(heap, t.refs, N));
  for (size_t i = 0; i < N; i++) {
    gc_ref cell = gc_new_struct(heap, t.pair);
    gc_set_i64(heap, cell, 1, (int64_t)i);
    gc_set_ref(heap, *cells, i, cell);
  }
  /* dst after src (overlap, copies backwards), dst before src, identical
   * ranges, whole array onto itself, disjoint, one element, zero elements. */
  static const struct {
    size_t dst, src, n;
  } cases[] = {{3, 0, 10}, {0, 3, 10}, {5, 5, 7},  {0, 0, N},
               {8, 0, 8},  {0, 8, 8},  {1, 0, 15}, {0, 1, 15},
               {7, 2, 1},  {4, 9, 0},  {N, 0, 0},  {0, N, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    fill_pattern(heap, *ints, *refs, *cells, N);
    gc_array_copy(heap, *ints, cases[c].dst, *ints, cases[c].src, cases[c].n);
    gc_array_copy(heap, *refs, cases[c].dst, *refs, cases[c].src, cases[c].n);
    EXPECT_NO_TRAP();
    gc_collect(heap);
    check_copy(heap, *ints, *refs, *cells, N, cases[c].dst, cases[c].src,
               cases[c].n);
  }
  /* The cells are still intact (none freed by a miscounted copy). */
  for (size_t i = 0; i < N; i++)
    CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *cells, i), 1), (int64_t)i);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, copy_between_arrays_of_every_kind) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *b1 = gc_root(heap, gc_new_array(heap, t.bytes, 11));
  gc_ref *b2 = gc_root(heap, gc_new_array(heap, t.bytes, 7));
  gc_ref *f1 = gc_root(heap, gc_new_array(heap, t.floats, 5));
  gc_ref *f2 = gc_root(heap, gc_new_array(heap, t.floats, 5));
  for (size_t i = 0; i < 11; i++)
    gc_set_i8(heap, *b1, i, (uint8_t)(i + 1));
  for (size_t i = 0; i < 5; i++)
    gc_set_f64(heap, *f1, i, i + 0.5);
  gc_array_copy(heap, *b2, 1, *b1, 4, 6);
  gc_array_copy(heap, *f2, 0, *f1, 1, 4);
  gc_array_copy(heap, *b1, 1, *b1, 0, 10); /* odd byte overlap */
  gc_collect(heap);
  CHECK_EQ(gc_get_i8(heap, *b2, 0), 0);
  for (size_t i = 1; i < 7; i++)
    CHECK_EQ(gc_get_i8(heap, *b2, i), i + 4);
  for (size_t i = 0; i < 4; i++)
    CHECK(gc_get_f64(heap, *f2, i) == i + 1.5);
  CHECK(gc_get_f64(heap, *f2, 4) == 0.0);
  CHECK_EQ(gc_get_i8(heap, *b1, 0), 1);
  for (size_t i = 1; i < 11; i++)
    CHECK_EQ(gc_get_i8(heap, *b1, i), i);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, bad_copies_trap_and_copy_nothing) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_array(heap, t.ints, 8));
  gc_ref *b = gc_root(heap, gc_new_array(heap, t.ints, 4));
  gc_ref *f = gc_root(heap, gc_new_array(heap, t.floats, 8));
  gc_ref *r = gc_root(heap, gc_new_array(heap, t.refs, 8));
  gc_ref *s = gc_root(heap, gc_new_struct(heap, t.pair));
  for (size_t i = 0; i < 8; i++)
    gc_set_i64(heap, *a, i, 100 + (int64_t)i);
  gc_array_copy(heap, *b, 0, *a, 0, 5); /* dst too short */
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *a, 0, *b, 1, 4); /* src too short */
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *a, 9, *a, 0, 0); /* start past the end */
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *a, 2, *a, 1, SIZE_MAX); /* index + n wraps */
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *a, SIZE_MAX, *a, 0, 2); /* index + n wraps */
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_copy(heap, *f, 0, *a, 0, 2); /* F64 <- I64 */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_copy(heap, *r, 0, *a, 0, 2); /* would forge references */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_copy(heap, *s, 0, *r, 0, 1); /* a struct is not an array */
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_copy(heap, NULL, 0, *a, 0, 1);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_array_copy(heap, *a, 0, NULL, 0, 1);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  for (size_t i = 0; i < 8; i++) {
    CHECK_EQ(gc_get_i64(heap, *a, i), 100 + (int64_t)i);
    cr_assert_null(gc_get_ref(heap, *r, i));
    CHECK(gc_get_f64(heap, *f, i) == 0.0);
  }
  for (size_t i = 0; i < 4; i++)
    CHECK_EQ(gc_get_i64(heap, *b, i), 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, fill_sets_exactly_the_range) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, 9));
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, 9));
  gc_ref *floats = gc_root(heap, gc_new_array(heap, t.floats, 9));
  gc_ref *bytes = gc_root(heap, gc_new_array(heap, t.bytes, 9));
  gc_ref *cell = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_array_fill_ref(heap, *refs, 2, 5, *cell);
  gc_array_fill_ref(heap, *refs, 8, 1, *refs); /* the array itself */
  gc_array_fill_i64(heap, *ints, 0, 9, -3);
  gc_array_fill_f64(heap, *floats, 3, 3, 2.5);
  gc_array_fill_i8(heap, *bytes, 1, 7, 0xAB);
  gc_array_fill_i64(heap, *ints, 9, 0, 5); /* empty range at the end */
  EXPECT_NO_TRAP();
  gc_collect(heap);
  for (size_t i = 0; i < 9; i++) {
    gc_ref want = (i >= 2 && i < 7) ? *cell : i == 8 ? *refs : NULL;
    CHECK(gc_get_ref(heap, *refs, i) == want);
    CHECK_EQ(gc_get_i64(heap, *ints, i), -3);
    CHECK(gc_get_f64(heap, *floats, i) == ((i >= 3 && i < 6) ? 2.5 : 0.0));
    CHECK_EQ(gc_get_i8(heap, *bytes, i), (i >= 1 && i < 8) ? 0xAB : 0);
  }
  /* Overwrite the filled references with null: the cell is dropped. */
  gc_array_fill_ref(heap, *refs, 0, 9, NULL);
  for (size_t i = 0; i < 9; i++)
    cr_assert_null(gc_get_ref(heap, *refs, i));
  gc_collect(heap);
  gc_set_i64(heap, *cell, 1, 77);
  CHECK_EQ(gc_get_i64(heap, *cell, 1), 77);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, bad_fills_trap_and_fill_nothing) {
  gc_heap *heap = harness_new_heap(param->name, param->options);
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *refs = gc_root(heap, gc_new_array(heap, t.refs, 4));
  gc_ref *ints = gc_root(heap, gc_new_array(heap, t.ints, 4));
  gc_ref *s = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_array_fill_i64(heap, *ints, 2, 3, 1);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_fill_i64(heap, *ints, 5, 0, 1);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_fill_i64(heap, *ints, 1, SIZE_MAX, 1);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_fill_ref(heap, *refs, 0, 5, *s);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  gc_array_fill_i64(heap, *refs, 0, 4, 0x1000);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_fill_ref(heap, *ints, 0, 4, *s);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_fill_f64(heap, *ints, 0, 4, 1.0);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_fill_i8(heap, *ints, 0, 4, 1);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_fill_i64(heap, *s, 0, 1, 1);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  gc_array_fill_ref(heap, NULL, 0, 1, NULL);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_array_fill_i8(heap, NULL, 0, 1, 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  gc_array_fill_f64(heap, NULL, 0, 1, 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  for (size_t i = 0; i < 4; i++) {
    cr_assert_null(gc_get_ref(heap, *refs, i));
    CHECK_EQ(gc_get_i64(heap, *ints, i), 0);
  }
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

ACCESSOR_TEST(arrays, oom_past_max_heap_size) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=4M");
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  /* 64K arrays, each rooted: the heap must run out after about 64 of them
   * whatever the collector does first. */
  int made = 0;
  while (harness_traps.pending == 0 && made < 1000) {
    gc_ref *slot = gc_root(heap, gc_new_array(heap, t.bytes, 64 << 10));
    if (*slot)
      made++;
  }
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  CHECK(made > 8 && made < 1000);
  /* One array larger than the whole heap. */
  cr_assert_null(gc_new_array(heap, t.bytes, 8 << 20));
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  gc_scope_close(heap, scope);
  /* With the roots dropped, collectors that reclaim have room again. */
  if (harness_reclaims(param->name)) {
    harness_collect(heap);
    gc_ref fresh = gc_new_array(heap, t.bytes, 64 << 10);
    EXPECT_NO_TRAP();
    CHECK(fresh != NULL);
  } else {
    cr_assert_null(gc_new_array(heap, t.bytes, 64 << 10));
    EXPECT_TRAP(GC_TRAP_OOM, "max-heap-size");
  }
  /* Small objects still work on every collector or trap cleanly. */
  harness_free_heap(heap);
}

/* Garbage three times the size of the heap: collectors that reclaim collect
 * before they give up, so nothing traps; null runs out. */
static NOINLINE int allocate_garbage_until_trap(gc_heap *heap, gc_type bytes,
                                                int count) {
  int made = 0;
  while (made < count && harness_traps.pending == 0) {
    gc_new_array(heap, bytes, 64 << 10);
    made += harness_traps.pending == 0;
  }
  return made;
}

ACCESSOR_TEST(arrays, collect_before_oom) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=4M");
  struct array_types t = register_types(heap);
  int made = allocate_garbage_until_trap(heap, t.bytes, 192);
  if (harness_reclaims(param->name)) {
    cr_assert_eq(made, 192,
                 "[%s] trapped OOM after %d x 64K of garbage in "
                 "a 4M heap: %s",
                 param->name, made, harness_traps.message);
    CHECK(harness_stats(heap).collections > 0);
  } else {
    CHECK(made < 192);
    EXPECT_TRAP(GC_TRAP_OOM, "max-heap-size");
  }
  harness_free_heap(heap);
}

/* The tests of gc/'s large-object space run on the collectors that use it:
 * null never frees, and boehm's large objects are libgc's. */
#define SKIP_WITHOUT_LARGE_OBJECT_SPACE(collector)                             \
  do {                                                                         \
    if (strcmp(collector, "tracing") && strcmp(collector, "refcount"))         \
      cr_skip_test("[%s] has no large-object space of gcheap's (null never "   \
                   "frees; boehm's large objects are libgc's)",                \
                   collector);                                                 \
  } while (0)

/* A program that keeps replacing a few big arrays, in a small heap: once
 * the heap has settled, nearly every new array takes the mapping of one
 * that died (the large-object space's cache, gc/large-object-space.h)
 * instead of a fresh one. The cache was bounded by less than what the
 * program allocates between two collections, and 22 % (tracing) and 50 %
 * (refcount, with two threads attached) of the arrays were fresh mappings,
 * each unmapped again a cycle later; refcount's bound in bytes of objects
 * rather than of mappings still left 3 % (12 here). gc_test_allocation_count
 * counts every mmap and malloc the library makes on this thread. */
COLLECTOR_TEST(arrays, replaced_large_arrays_reuse_the_dead_ones_mappings) {
  SKIP_WITHOUT_LARGE_OBJECT_SPACE(param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=0,verify=0");
  struct array_types t = register_types(heap);
  gc_scope scope = gc_scope_open(heap);
  enum { LIVE = 8, LENGTH = 16384, SETTLE = 200, ROUNDS = 400 }; /* 128 KiB */
  gc_ref *ring[LIVE];
  for (int i = 0; i < LIVE; i++)
    ring[i] = gc_root(heap, NULL);
  for (int round = 0; round < SETTLE + ROUNDS; round++) {
    if (round == SETTLE)
      gc_test_allocation_reset();
    gc_ref fresh = gc_new_array(heap, t.ints, LENGTH);
    cr_assert_not_null(fresh, "[%s] round %d: %s", param->name, round,
                       harness_traps.message);
    /* Zero, although a reused mapping held an older array's values. */
    for (size_t i = 0; i < LENGTH; i += 509)
      cr_assert_eq(gc_get_i64(heap, fresh, i), 0, "[%s] round %d element %zu",
                   param->name, round, i);
    gc_array_fill_i64(heap, fresh, 0, LENGTH, round + 1);
    *ring[round % LIVE] = fresh; /* the array from LIVE rounds ago dies */
  }
  long system_allocations = gc_test_allocation_count();
  cr_assert_lt(system_allocations, ROUNDS / 100,
               "[%s] %ld system allocations for %d arrays", param->name,
               system_allocations, ROUNDS);
  CHECK(harness_stats(heap).collections > 0);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Small garbage until n more collections have passed. */
static void collect_by_small_garbage(gc_heap *heap, gc_type pair, int n) {
  uint64_t collections = harness_stats(heap).collections;
  while (harness_stats(heap).collections < collections + (uint64_t)n)
    for (int i = 0; i < 1000; i++)
      gc_new_struct(heap, pair);
}

/* The bytes of dead large objects' mappings that heap holds for reuse. */
static uint64_t large_cached_bytes(const char *collector, gc_heap *heap) {
  return strcmp(collector, "tracing") == 0
             ? gc_tracing_test_large_cached_bytes(heap)
             : gc_refcount_test_large_cached_bytes(heap);
}

/* The other side of that cache: a dead large object's mapping is kept for
 * a few collections (GC_LARGE_CACHE_MAX_IDLE, 4), then, unless a new array
 * reused it, goes back to the system without gc_collect (which gives it
 * back at once). The collections come from small garbage. */
COLLECTOR_TEST(arrays, an_unused_cached_mapping_goes_back) {
  SKIP_WITHOUT_LARGE_OBJECT_SPACE(param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=0,verify=0");
  struct array_types t = register_types(heap);
  enum { BIG = 1 << 17 };                              /* 1 MiB of i64 */
  cr_assert_not_null(gc_new_array(heap, t.ints, BIG)); /* dead at once */
  collect_by_small_garbage(heap, t.pair, 1);
  uint64_t cached = large_cached_bytes(param->name, heap);
  cr_assert_geq(cached, BIG * 8, "[%s] the dead array's mapping was not kept",
                param->name);
  collect_by_small_garbage(heap, t.pair, 3);
  cr_assert_eq(large_cached_bytes(param->name, heap), cached,
               "[%s] the mapping went back within 4 collections", param->name);
  collect_by_small_garbage(heap, t.pair, 3);
  cr_assert_eq(large_cached_bytes(param->name, heap), 0,
               "[%s] the mapping was kept 7 collections unused", param->name);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
