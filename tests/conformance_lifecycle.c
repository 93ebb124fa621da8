/* Conformance: heap lifecycle — gc_heap_new / gc_heap_free /
 * gc_collector_name in loops, two heaps that do not affect each other, and a
 * mixed structure that survives many collections with every field intact. */
#include "harness.h"

#include "gcheap-testing.h"

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64,
                                     GC_KIND_F64};

COLLECTOR_TEST(lifecycle, heaps_created_and_freed_in_a_loop) {
  for (int i = 0; i < 200; i++) {
    gc_heap *heap =
        harness_new_heap(param->name, i % 2 ? "max-heap-size=1M" : NULL);
    cr_assert_str_eq(gc_collector_name(heap), param->name);
    if (i % 3) {
      gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
      gc_scope scope = gc_scope_open(heap);
      gc_ref *n = gc_root(heap, gc_new_struct(heap, node));
      gc_set_ref(heap, *n, 0, *n);
      gc_global(heap, gc_new_resource(heap, NULL, NULL, NULL));
      if (i % 5 == 0)
        gc_collect(heap);
      if (i % 2)
        gc_scope_close(heap, scope);
    }
    harness_free_heap(heap);
  }
  harness_check_memory();
}

/* Builds a binary tree of the given depth: node value = id, f64 = id / 4,
 * left = 2 id + 1, right = 2 id + 2. Returns it via *slot. */
static void build_tree(gc_heap *heap, gc_type node, gc_ref *slot, int64_t id,
                       int depth) {
  *slot = gc_new_struct(heap, node);
  gc_set_i64(heap, *slot, 2, id);
  gc_set_f64(heap, *slot, 3, id / 4.0);
  if (depth == 0)
    return;
  gc_scope scope = gc_scope_open(heap);
  gc_ref *child = gc_root(heap, NULL);
  build_tree(heap, node, child, 2 * id + 1, depth - 1);
  gc_set_ref(heap, *slot, 0, *child);
  build_tree(heap, node, child, 2 * id + 2, depth - 1);
  gc_set_ref(heap, *slot, 1, *child);
  gc_scope_close(heap, scope);
}

static int64_t check_tree(gc_heap *heap, gc_ref n, int64_t id, int depth) {
  CHECK_EQ(gc_get_i64(heap, n, 2), id);
  CHECK(gc_get_f64(heap, n, 3) == id / 4.0);
  if (depth == 0) {
    cr_assert_null(gc_get_ref(heap, n, 0));
    cr_assert_null(gc_get_ref(heap, n, 1));
    return 1;
  }
  return 1 + check_tree(heap, gc_get_ref(heap, n, 0), 2 * id + 1, depth - 1) +
         check_tree(heap, gc_get_ref(heap, n, 1), 2 * id + 2, depth - 1);
}

COLLECTOR_TEST(lifecycle, live_trees_survive_with_garbage_around) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_type floats = gc_type_array(heap, "floats", GC_KIND_F64);
  gc_ref *tree = gc_global(heap, NULL);
  build_tree(heap, node, tree, 0, 8); /* 511 nodes */
  gc_ref *arr = gc_global(heap, gc_new_array(heap, floats, 100));
  for (size_t i = 0; i < 100; i++)
    gc_set_f64(heap, *arr, i, i * 1.5);
  for (int round = 0; round < 4; round++) {
    gc_scope scope = gc_scope_open(heap);
    gc_ref *junk = gc_root(heap, NULL);
    build_tree(heap, node, junk, 1000, 5); /* garbage after the close */
    gc_scope_close(heap, scope);
    gc_collect(heap);
    CHECK_EQ(check_tree(heap, *tree, 0, 8), 511);
    for (size_t i = 0; i < 100; i++)
      CHECK(gc_get_f64(heap, *arr, i) == i * 1.5);
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

COLLECTOR_TEST(lifecycle, two_heaps_are_independent) {
  struct trap_log log_b;
  gc_heap *a = harness_new_heap(param->name, NULL);
  gc_heap *b = harness_new_heap_logged(param->name, "max-heap-size=2M", &log_b);
  gc_type node_a = gc_type_struct(a, "node", 4, node_kinds);
  gc_type node_b = gc_type_struct(b, "node", 4, node_kinds);
  gc_ref *tree_a = gc_global(a, NULL);
  gc_ref *tree_b = gc_global(b, NULL);
  build_tree(a, node_a, tree_a, 0, 6);
  build_tree(b, node_b, tree_b, 7, 6);
  gc_stats a_before = harness_stats(a);
  gc_collect(b);
  gc_collect(b);
  gc_stats a_after = harness_stats(a);
  if (!harness_conservative(param->name)) /* Boehm's GC is process-wide */
    CHECK_EQ(a_after.collections, a_before.collections);
  CHECK_EQ(a_after.allocated_objects, a_before.allocated_objects);
  /* b runs out of memory; a does not notice. */
  gc_type bytes_b = gc_type_array(b, "bytes", GC_KIND_I8);
  gc_new_array(b, bytes_b, 4 << 20);
  harness_expect_trap(&log_b, GC_TRAP_OOM, NULL, __FILE__, __LINE__);
  CHECK_EQ(harness_traps.total, 0);
  CHECK_EQ(check_tree(a, *tree_a, 0, 6), 127);
  CHECK_EQ(check_tree(b, *tree_b, 7, 6), 127);
  /* Freeing one leaves the other intact. */
  harness_free_heap(b);
  gc_collect(a);
  CHECK_EQ(check_tree(a, *tree_a, 0, 6), 127);
  harness_free_heap(a);
}

COLLECTOR_TEST(lifecycle, heaps_freed_in_any_order) {
  enum { N = 8 };
  gc_heap *heaps[N];
  struct trap_log logs[N];
  gc_ref *roots[N];
  for (int i = 0; i < N; i++) {
    heaps[i] = harness_new_heap_logged(param->name, NULL, &logs[i]);
    gc_type node = gc_type_struct(heaps[i], "node", 4, node_kinds);
    roots[i] = gc_global(heaps[i], NULL);
    build_tree(heaps[i], node, roots[i], i, 4);
  }
  for (int i = 1; i < N; i += 2)
    harness_free_heap(heaps[i]);
  for (int i = 0; i < N; i += 2) {
    gc_collect(heaps[i]);
    CHECK_EQ(check_tree(heaps[i], *roots[i], i, 4), 31);
    harness_free_heap(heaps[i]);
  }
}

/* A heap with small objects and large arrays, some kept to the end, some
 * dead in the reuse cache or (verify-quarantine above 0) the quarantine,
 * then freed. */
static void use_and_free_a_heap(const char *collector, const char *options) {
  gc_heap *heap = harness_new_heap(collector, options);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *tree = gc_global(heap, NULL);
  build_tree(heap, node, tree, 0, 10);
  gc_ref *kept = gc_global(heap, gc_new_array(heap, refs, 64));
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < 64; i++) /* 40 KiB each: large objects */
      gc_set_ref(heap, *kept, i, gc_new_array(heap, refs, 5000));
    gc_collect(heap);
  }
  harness_free_heap(heap);
}

/* gc_heap_free gives back every mapping, which LeakSanitizer and valgrind
 * do not check (they follow malloc): the bytes gcheap has mapped come back
 * to what they were before the heap was made. The live large objects and
 * the reuse cache (which verify=1's quarantine empties into as the heap is
 * freed) go back together, adjacent mappings in one call
 * (gc/large-object-space.c); a mapping left out of that, or counted twice,
 * shows here. Boehm's heap is libgc's own. */
COLLECTOR_TEST(lifecycle, freeing_a_heap_unmaps_everything_it_mapped) {
  if (harness_conservative(param->name))
    return;
  long long before = gc_test_mapped_bytes();
  use_and_free_a_heap(param->name, "verify-quarantine=0");
  CHECK_EQ(gc_test_mapped_bytes(), before);
  use_and_free_a_heap(param->name, NULL);
  CHECK_EQ(gc_test_mapped_bytes(), before);
}

/* The large objects that die go to a reuse cache (with no verify=1
 * quarantine to hold them first), and what no allocation reused is
 * unmapped at the next collection, adjacent mappings in one call: the live
 * arrays between them must stay mapped and intact. Three of every four
 * arrays die, so that dead mappings lie side by side. */
COLLECTOR_TEST(lifecycle, large_objects_beside_unmapped_ones_stay_intact) {
  gc_heap *heap = harness_new_heap(param->name, "verify-quarantine=0");
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  enum { ARRAYS = 96, LENGTH = 3000 }; /* 24 KiB each: large objects */
  gc_ref *all = gc_global(heap, gc_new_array(heap, refs, ARRAYS));
  for (size_t a = 0; a < ARRAYS; a++) {
    gc_ref arr = gc_new_array(heap, ints, LENGTH);
    gc_array_fill_i64(heap, arr, 0, LENGTH, (int64_t)a);
    gc_set_ref(heap, *all, a, arr);
  }
  for (size_t a = 0; a < ARRAYS; a++)
    if (a % 4)
      gc_set_ref(heap, *all, a, NULL);
  for (int i = 0; i < 3; i++) /* the dead are cached, then unmapped */
    gc_collect(heap);
  int wrong = 0;
  for (size_t a = 0; a < ARRAYS; a += 4) {
    gc_ref arr = gc_get_ref(heap, *all, a);
    for (size_t i = 0; i < LENGTH; i++)
      wrong += gc_get_i64(heap, arr, i) != (int64_t)a;
  }
  CHECK_EQ(wrong, 0);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A dead cycle (x <-> y) with nothing else pointing in, watched by a weak
 * reference held in the returned global. */
static NOINLINE gc_ref *weak_to_dead_cycle(gc_heap *heap, gc_type node) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *x = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *y = gc_root(heap, gc_new_struct(heap, node));
  gc_set_ref(heap, *x, 0, *y);
  gc_set_ref(heap, *y, 0, *x);
  gc_set_ref(heap, *x, 1, *x);
  gc_ref *weak = gc_global(heap, gc_new_weak(heap, *x));
  gc_scope_close(heap, scope);
  return weak;
}

COLLECTOR_TEST(lifecycle, dead_cycles_are_reclaimed) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_ref *weak = weak_to_dead_cycle(heap, node);
  harness_collect(heap);
  if (harness_reclaims(param->name))
    cr_assert_null(gc_weak_get(heap, *weak),
                   "[%s] a dead two-object cycle survived gc_collect",
                   param->name);
  else
    CHECK(gc_weak_get(heap, *weak) != NULL);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A heap of a few objects costs the pages it touches, not a huge page: a
 * huge page is zeroed and resident whole at its first touch (2 MiB per
 * heap, gc/collector-api.h: GC_SMALL_PAGES_FIRST). This fails only where
 * the system has transparent huge pages ("madvise" or "always"). Boehm
 * maps its own heap, where the system's malloc may share the range. */
COLLECTOR_TEST(lifecycle, a_small_heap_takes_only_the_pages_it_touches) {
  if (harness_conservative(param->name))
    return;
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *first = gc_root(heap, gc_new_struct(heap, node));
  for (int i = 0; i < 100; i++)
    gc_set_i64(heap, gc_new_struct(heap, node), 2, i);
  gc_collect(heap);
  /* The 2 MiB-aligned range around the first object. */
  const uintptr_t range = (uintptr_t)2 << 20;
  uintptr_t lo = (uintptr_t)*first & ~(range - 1);
  size_t resident = (size_t)(harness_resident_bytes(lo, lo + range) / 4096);
  cr_assert(resident < 128,
            "%zu of the 512 pages around a heap of 101 small objects are "
            "resident",
            resident);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* Pages of the array arr of `bytes` that are resident. */
static size_t resident_pages(gc_ref arr, size_t bytes) {
  uintptr_t lo = (uintptr_t)arr & ~(uintptr_t)4095;
  return (size_t)(harness_resident_bytes(lo, (uintptr_t)arr + bytes) / 4096);
}

/* A fresh large object of up to 256 KiB is backed whole when it is made,
 * in one call rather than a page fault per page as it is first written
 * (gc/large-object-space.c); a larger one takes only the pages written, so
 * that a big array used in places is not committed whole. boehm and null
 * have no large-object space. */
COLLECTOR_TEST(lifecycle, large_objects_are_backed_at_once_up_to_256_KiB) {
  if (harness_conservative(param->name) || !harness_reclaims(param->name))
    return;
  if (!harness_kernel_can_populate())
    cr_skip_test("the kernel has no MADV_POPULATE_WRITE");
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_scope scope = gc_scope_open(heap);
  enum { SMALL = 200 << 10, BIG = 4 << 20 }; /* bytes of elements */
  gc_ref small = *gc_root(heap, gc_new_array(heap, ints, SMALL / 8));
  size_t small_pages = resident_pages(small, SMALL);
  cr_expect(small_pages >= SMALL / 4096,
            "%zu of the %d pages of a fresh array of 200 KiB are resident",
            small_pages, SMALL / 4096);
  gc_ref big = *gc_root(heap, gc_new_array(heap, ints, BIG / 8));
  size_t big_pages = resident_pages(big, BIG);
  cr_expect(big_pages < BIG / 4096 / 8,
            "%zu of the %d pages of a fresh array of 4 MiB are resident",
            big_pages, BIG / 4096);
  gc_set_i64(heap, big, BIG / 8 - 1, 7);
  CHECK_EQ(gc_get_i64(heap, big, BIG / 8 - 1), 7);
  CHECK_EQ(gc_get_i64(heap, small, SMALL / 8 - 1), 0);
  EXPECT_NO_TRAP();
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* The heap's first 2 MiB are on small pages (GC_SMALL_PAGES_FIRST), where
 * each page of a fresh block would take a page fault as objects are first
 * written into it: the block is backed whole in one call when it is first
 * used instead (tracing-alloc.c's prepare_region, refcount-alloc.c's
 * add_block, null.c's new_region). The 32 KiB around the first object lie
 * in one block of each (tracing's blocks take 32 KiB, refcount's blocks
 * and null's regions 64). verify=0: with verify=1 tracing poisons the
 * hole, which writes it. Boehm maps its own heap. */
COLLECTOR_TEST(lifecycle,
               a_fresh_block_on_small_pages_is_backed_whole_at_once) {
  if (harness_conservative(param->name))
    return;
  if (!harness_kernel_can_populate())
    cr_skip_test("the kernel has no MADV_POPULATE_WRITE");
  enum { AROUND = 32 * 1024 };
  gc_heap *heap = harness_new_heap(param->name, "verify=0,stress=0");
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *first = gc_root(heap, gc_new_struct(heap, node));
  uintptr_t lo = (uintptr_t)*first & ~(uintptr_t)(AROUND - 1);
  uint64_t resident = harness_resident_bytes(lo, lo + AROUND);
  cr_expect_eq(resident, (uint64_t)AROUND,
               "%llu of the %d bytes around the first object are resident",
               (unsigned long long)resident, AROUND);
  gc_set_i64(heap, *first, 2, 42);
  CHECK_EQ(gc_get_i64(heap, *first, 2), 42);
  /* Not a big array made next, though it may start there: it costs only
   * the pages written. */
  enum { BIG = 4 << 20 }; /* bytes of elements */
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_ref big = *gc_root(heap, gc_new_array(heap, ints, BIG / 8));
  size_t big_pages = resident_pages(big, BIG);
  cr_expect(big_pages < BIG / 4096 / 8,
            "%zu of the %d pages of a fresh array of 4 MiB are resident",
            big_pages, BIG / 4096);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}
