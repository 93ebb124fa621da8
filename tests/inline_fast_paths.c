/* inline_fast_paths.c — gcheap.h's inline fast paths (gc_inline_*): the
 * layout check, the bump region each collector publishes, and agreement
 * with the out-of-line functions, called in parentheses. The rest of the
 * suite covers them too: every test is built inline (and the conformance
 * tests again with GCHEAP_NO_INLINE, tests/CMakeLists.txt), and the
 * ACCESSOR_TESTs run with verify=0, where the inline paths are taken. */
#include "harness.h"

#include <stdio.h>

#ifdef GCHEAP_NO_INLINE
#error "this test checks the inline fast paths"
#endif

static const gc_kind mixed_kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_F64};

/* A heap whose calls take the inline paths: verify and stress off,
 * whatever GCHEAP_OPTIONS says. */
static gc_heap *fast_heap(const char *collector) {
  return harness_new_heap(collector, "verify=0,stress=0");
}

Test(inline_fast_paths, a_program_built_for_another_layout_gets_no_heap) {
  char err[256] = "";
  gc_heap *heap =
      gc_heap_new_for_layout(NULL, GCHEAP_INLINE_LAYOUT + 1, err, sizeof err);
  cr_assert_null(heap);
  cr_assert(strstr(err, "inline layout") && strstr(err, "GCHEAP_NO_INLINE"),
            "reason: %s", err);
  heap = gc_heap_new(NULL, err, sizeof err); /* this header's layout */
  cr_assert_not_null(heap, "%s", err);
  err[0] = '\0';
  cr_assert_null(gc_thread_attach_for_layout(heap, 0, err, sizeof err));
  cr_assert(strstr(err, "gc_thread_attach") && strstr(err, "layout 0"),
            "reason: %s", err);
  gc_heap_free(heap);
}

/* tracing and null make small objects in the handle's bump region,
 * refcount in the runs of its cell table and boehm in the free lists of
 * that table, so the inline allocation takes them there. */
COLLECTOR_TEST(inline_fast_paths, allocation_takes_the_published_memory) {
  gc_heap *heap = fast_heap(param->name);
  gc_type pair = gc_type_struct(heap, "pair", 3, mixed_kinds); /* 32 bytes */
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  CHECK_EQ(h->layout, GCHEAP_INLINE_LAYOUT);
  bool bump =
      strcmp(param->name, "tracing") == 0 || strcmp(param->name, "null") == 0;
  bool cells = strcmp(param->name, "refcount") == 0;
  bool lists = strcmp(param->name, "boehm") == 0;
  const struct gc_inline_bump *run = &h->cells[32 / 8 - 2];
  void *const *list = &h->cell_lists[0][32 / 8 - 2]; /* pair holds a ref */
  uint64_t objects = h->allocated_objects;
  int bumped = 0, celled = 0, listed = 0;
  for (int i = 0; i < 1000; i++) {
    char *before = h->bump.cursor, *cell = run->cursor;
    void *head = *list, *next = head ? *(void **)head : NULL;
    int64_t budget = h->cell_budget;
    gc_ref obj = gc_new_struct(heap, pair);
    cr_assert_not_null(obj);
    bumped += (char *)obj == before && h->bump.cursor == before + 32;
    celled += (char *)obj == cell && run->cursor == cell + 32 &&
              h->cell_budget == budget - 32;
    listed += obj == head && *list == next && h->cell_budget == budget - 32;
    /* What the inline path wrote is an object like any other. */
    CHECK_EQ(gc_get_i64(heap, obj, 1), 0);
    CHECK(gc_get_ref(heap, obj, 0) == NULL);
  }
  CHECK_EQ(h->allocated_objects, objects + 1000);
  /* A new region or run now and then is out of line. */
  CHECK(bump ? bumped >= 900 : bumped == 0);
  CHECK(cells ? celled >= 900 : celled == 0);
  CHECK(lists ? listed >= 900 : listed == 0);
  harness_free_heap(heap);
}

/* A collector's published free lists hold cells that are free to the
 * program but taken from the collector: a collection in between must leave
 * them on the lists, not reclaim them (boehm: the lists are a root area),
 * or a cell is handed out twice. Objects taken inline around collections
 * must stay distinct and keep what was written into them. (With boehm's
 * lists left out of its roots, 2323 of the 20000 read another's number:
 * Boehm reclaims a block only when over an eighth of it is unmarked, so the
 * collections come at every point of a list in turn.) */
COLLECTOR_TEST(inline_fast_paths,
               cells_taken_around_collections_stay_distinct) {
  gc_heap *heap = fast_heap(param->name);
  gc_type pair = gc_type_struct(heap, "pair", 3, mixed_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  enum { N = 20000 };
  gc_scope scope = gc_scope_open(heap);
  gc_ref *all = gc_root(heap, gc_new_array(heap, refs, N));
  for (size_t i = 0; i < N; i++) {
    gc_ref obj = gc_new_struct(heap, pair);
    gc_set_i64(heap, obj, 1, (int64_t)i);
    gc_set_ref(heap, *all, i, obj);
    if (i % 37 == 36) /* at every point of a list or run in turn */
      gc_collect(heap);
  }
  gc_collect(heap);
  int wrong = 0;
  for (size_t i = 0; i < N; i++)
    wrong += gc_get_i64(heap, gc_get_ref(heap, *all, i), 1) != (int64_t)i;
  CHECK_EQ(wrong, 0);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* Fields written by one path read back the same by the other, and the
 * barrier filter's out-of-line stores land too. */
COLLECTOR_TEST(inline_fast_paths, inline_and_out_of_line_calls_agree) {
  gc_heap *heap = fast_heap(param->name);
  gc_type pair = gc_type_struct(heap, "pair", 3, mixed_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *arr = gc_root(heap, gc_new_array(heap, refs, 10));
  gc_ref *raw = gc_root(heap, (gc_new_array)(heap, bytes, 13));
  CHECK_EQ(gc_array_len(heap, *arr), 10);
  CHECK_EQ((gc_array_len)(heap, *raw), 13);
  CHECK_EQ(gc_array_len(heap, *raw), 13);
  for (size_t i = 0; i < 10; i++) {
    gc_ref obj =
        i % 2 ? gc_new_struct(heap, pair) : (gc_new_struct)(heap, pair);
    gc_set_i64(heap, obj, 1, (int64_t)i * 7);
    (gc_set_f64)(heap, obj, 2, (double)i / 2);
    if (i % 2)
      gc_set_ref(heap, *arr, i, obj);
    else
      (gc_set_ref)(heap, *arr, i, obj);
    gc_set_i8(heap, *raw, i, (uint8_t)(200 + i));
  }
  gc_collect(heap); /* the array is old now: stores into it meet the barrier */
  for (size_t i = 0; i < 10; i++) {
    gc_ref obj = gc_get_ref(heap, *arr, i);
    CHECK(obj == (gc_get_ref)(heap, *arr, i));
    CHECK_EQ((gc_get_i64)(heap, obj, 1), (int64_t)i * 7);
    CHECK_EQ(gc_get_i64(heap, obj, 1), (int64_t)i * 7);
    CHECK(gc_get_f64(heap, obj, 2) == (double)i / 2);
    CHECK_EQ((gc_get_i8)(heap, *raw, i), 200 + i);
    /* Young into old: only the barrier keeps it (tracing's remembered set,
     * refcount's count), through the collections the garbage below makes
     * (no gc_collect: a full collection would find it anyway). */
    gc_ref young = gc_new_struct(heap, pair);
    gc_set_i64(heap, young, 1, 1000 + (int64_t)i);
    gc_set_ref(heap, *arr, i, young);
  }
  /* 12 MiB of garbage: past every first budget, so cells and lines that
   * held -1 come back; each new object must read zero all the same. */
  int dirty = 0;
  for (int i = 0; i < 400000; i++) {
    gc_ref junk = gc_new_struct(heap, pair);
    dirty += gc_get_i64(heap, junk, 1) != 0 || gc_get_ref(heap, junk, 0);
    gc_set_i64(heap, junk, 1, -1);
    gc_set_ref(heap, junk, 0, junk);
  }
  CHECK_EQ(dirty, 0);
  for (size_t i = 0; i < 10; i++)
    CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *arr, i), 1), 1000 + (int64_t)i);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* The type word: the type number below bit 16 and, from bit 16, which of
 * the first 16 fields are REFs (the fast paths check a REF field from the
 * header alone). Every way of making an object writes the same word. */
COLLECTOR_TEST(inline_fast_paths, the_type_word_holds_the_first_refs) {
  gc_heap *heap = fast_heap(param->name);
  enum { WIDE = 20 };
  gc_kind kinds[WIDE];
  uint32_t ref_bits = 0;
  for (int f = 0; f < WIDE; f++) {
    bool ref = f == 1 || f == 5 || f == 15 || f == 16 || f == 19;
    kinds[f] = ref ? GC_KIND_REF : f % 2 ? GC_KIND_I64 : GC_KIND_F64;
    if (ref && f < 16)
      ref_bits |= UINT32_C(1) << (16 + f);
  }
  gc_type wide = gc_type_struct(heap, "wide", WIDE, kinds);
  gc_type pair = gc_type_struct(heap, "pair", 3, mixed_kinds);
  gc_type flat = gc_type_struct(heap, "flat", 2, &mixed_kinds[1]);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *objs[6];
  objs[0] = gc_root(heap, gc_new_struct(heap, wide));
  objs[1] = gc_root(heap, (gc_new_struct)(heap, wide));
  objs[2] = gc_root(heap, gc_new_struct(heap, pair));
  objs[3] = gc_root(heap, gc_new_struct(heap, flat));
  objs[4] = gc_root(heap, gc_new_array(heap, refs, 3));
  gc_collect(heap); /* and after a collection, from reused memory */
  objs[5] = gc_root(heap, gc_new_struct(heap, wide));
  const uint32_t want[6] = {
      wide | ref_bits, wide | ref_bits, pair | UINT32_C(1) << 16, flat, refs,
      wide | ref_bits};
  for (int k = 0; k < 6; k++) {
    CHECK_EQ(*(const uint32_t *)*objs[k], want[k]);
    CHECK_EQ(gc_type_of(heap, *objs[k]), want[k] & 0xffff);
  }
  /* REFs inside and past the header's 16, beside fields of other kinds. */
  gc_set_ref(heap, *objs[0], 15, *objs[1]);
  gc_set_ref(heap, *objs[0], 16, *objs[2]);
  (gc_set_ref)(heap, *objs[0], 19, *objs[3]);
  gc_set_i64(heap, *objs[0], 3, 33);
  gc_collect(heap);
  CHECK(gc_get_ref(heap, *objs[0], 15) == *objs[1]);
  CHECK(gc_get_ref(heap, *objs[0], 16) == *objs[2]);
  CHECK(gc_get_ref(heap, *objs[0], 19) == (gc_get_ref)(heap, *objs[0], 19));
  CHECK(gc_get_ref(heap, *objs[0], 19) == *objs[3]);
  CHECK_EQ(gc_get_i64(heap, *objs[0], 3), 33);
  cr_assert_null(gc_get_ref(heap, *objs[0], 3));
  EXPECT_TRAP(GC_TRAP_TYPE, "not ref");
  cr_assert_null(gc_get_ref(heap, *objs[0], 17));
  EXPECT_TRAP(GC_TRAP_TYPE, "not ref");
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* What the inline test refuses goes out of line and traps as it would
 * there: a NULL object, an index out of range, another kind, a built-in
 * type, an array type given to gc_new_struct and the reverse. */
COLLECTOR_TEST(inline_fast_paths, what_the_inline_test_refuses_traps) {
  gc_heap *heap = fast_heap(param->name);
  gc_type pair = gc_type_struct(heap, "pair", 3, mixed_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *obj = gc_root(heap, gc_new_struct(heap, pair));
  gc_ref *arr = gc_root(heap, gc_new_array(heap, refs, 2));
  CHECK_EQ(gc_get_i64(heap, NULL, 0), 0);
  EXPECT_TRAP(GC_TRAP_NULL, "gc_get_i64");
  CHECK_EQ(gc_get_i64(heap, *obj, 3), 0);
  EXPECT_TRAP(GC_TRAP_BOUNDS, "out of bounds");
  CHECK(gc_get_f64(heap, *obj, 1) == 0);
  EXPECT_TRAP(GC_TRAP_TYPE, "not f64");
  gc_set_ref(heap, *arr, 2, *obj);
  EXPECT_TRAP(GC_TRAP_BOUNDS, "out of bounds");
  gc_set_i64(heap, *arr, 0, 1);
  EXPECT_TRAP(GC_TRAP_TYPE, "not i64");
  CHECK_EQ(gc_array_len(heap, *obj), 0);
  EXPECT_TRAP(GC_TRAP_TYPE, "not an array");
  CHECK_EQ(gc_array_len(heap, NULL), 0);
  EXPECT_TRAP(GC_TRAP_NULL, "gc_array_len");
  CHECK(gc_new_struct(heap, refs) == NULL);
  EXPECT_TRAP(GC_TRAP_TYPE, "not a struct type");
  CHECK(gc_new_array(heap, pair, 1) == NULL);
  EXPECT_TRAP(GC_TRAP_TYPE, "not an array type");
  CHECK(gc_new_struct(heap, 1) == NULL); /* the built-in resource type */
  EXPECT_TRAP(GC_TRAP_TYPE, "not a struct type");
  CHECK(gc_new_struct(heap, 999) == NULL); /* not registered */
  EXPECT_TRAP(GC_TRAP_TYPE, "not a struct type");
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}
