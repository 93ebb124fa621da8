/* refcount_memory.c — how the refcount collector gives memory back and takes
 * it again: wholly free blocks go back to the system only after they stayed
 * free across gc_collect calls and while the heap is well over its target
 * (before, every gc_collect gave back every empty block and the next
 * allocations faulted the pages straight back in); dead large objects'
 * mappings are reused by the next large objects of about their size.
 *
 * With verify=0, except where a test says otherwise: verify=1 keeps freed
 * cells poisoned (and quarantined), so it gives no page back at all. */
#include "refcount-fixture.h"

#include <gcheap-testing.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <refcount/refcount-testing.h>

/* About 200 KB of short-lived pairs. */
static NOINLINE void churn(gc_heap *heap, struct types *t) {
  for (int i = 0; i < 6000; i++)
    gc_set_i64(heap, gc_new_struct(heap, t->pair), VALUE, i);
}

/* A program that calls gc_collect after every ~200 KB of garbage keeps
 * its blocks: their pages are not given back, to be faulted in again by
 * the next round. */
Test(refcount_memory, frequent_collects_do_not_give_pages_back) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  for (int round = 0; round < 50; round++) {
    churn(heap, &t);
    gc_collect(heap);
  }
  CHECK_EQ(gc_refcount_test_blocks_released(heap), 0);
  harness_free_heap(heap);
}

/* Nor does it give back the cycle collector's room, which each gc_collect
 * reserves for the live objects (2 x live + 16 entries, rc_collect_cycles):
 * given back at every call, it was mapped again at the next one. With
 * 100,000 live pairs the room is over a megabyte, so it is mapped from the
 * system, and each map is a system allocation gcheap counts. */
Test(refcount_memory, frequent_collects_keep_the_cycle_collectors_room) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  for (int i = 0; i < 100000; i++) {
    gc_ref cell = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, cell, LEFT, *list);
    *list = cell;
  }
  for (int round = 0; round < 5; round++) {
    churn(heap, &t);
    gc_collect(heap);
  }
  long before = gc_test_allocation_count();
  for (int round = 0; round < 20; round++) {
    churn(heap, &t);
    gc_collect(heap);
  }
  long made = gc_test_allocation_count() - before;
  cr_expect(made < 20, "%ld system allocations in 20 rounds of gc_collect",
            made);
  /* Once the live objects are gone, the room goes back. */
  long long mapped = gc_test_mapped_bytes();
  *list = NULL;
  gc_collect(heap);
  gc_collect(heap);
  long long given_back = mapped - gc_test_mapped_bytes();
  cr_expect(given_back >= 1 << 20,
            "%lld bytes given back after the live objects died", given_back);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* Nothing dead is kept forever: a large live set dropped, then two
 * gc_collect calls (the blocks must stay free across one), and the pages
 * of the now empty blocks go back until the heap is near its target. */
Test(refcount_memory, blocks_free_across_collects_go_back) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  for (int i = 0; i < 1000000; i++) { /* 32 MB of pairs */
    gc_ref cell = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, cell, LEFT, *list);
    *list = cell;
  }
  gc_collect(heap);
  uint64_t full = gc_refcount_test_resident_bytes(heap);
  *list = NULL;
  gc_collect(heap); /* the list dies: its blocks are free, seen once */
  CHECK_EQ(gc_refcount_test_blocks_released(heap), 0);
  gc_collect(heap); /* still free: given back */
  CHECK(gc_refcount_test_blocks_released(heap) > 0);
  uint64_t resident = gc_refcount_test_resident_bytes(heap);
  cr_assert(resident < full / 2, "resident %llu of %llu bytes after the drop",
            (unsigned long long)resident, (unsigned long long)full);
  /* The heap still works, and takes the given-back pages again (zero). */
  for (int i = 0; i < 1000; i++) {
    gc_ref cell = gc_new_struct(heap, t.pair);
    CHECK(gc_get_ref(heap, cell, LEFT) == NULL);
    CHECK_EQ(gc_get_i64(heap, cell, VALUE), 0);
  }
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* A program that replaces its big arrays, 400 of 64 KiB, each dropped as
 * the next is made (with gc_collect every collect_every rounds, if not 0):
 * every new array reads zero, and fewer than half of them needed a system
 * allocation, the others reusing dead arrays' mappings. */
static void replace_large_arrays(const char *options, int collect_every) {
  struct types t;
  gc_heap *heap = new_heap(options, &t);
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_scope scope = gc_scope_open(heap);
  enum { LENGTH = 8 * 1024, ROUNDS = 400 }; /* 64 KiB each */
  gc_ref *current = gc_root(heap, gc_new_array(heap, ints, LENGTH));
  long maps = 0;
  for (int round = 1; round <= ROUNDS; round++) {
    gc_test_allocation_reset();
    gc_ref fresh = gc_new_array(heap, ints, LENGTH - (round % 3) * 64);
    maps += gc_test_allocation_count();
    cr_assert_not_null(fresh, "[%s] round %d: %s", options, round,
                       harness_traps.message);
    for (size_t i = 0; i < gc_array_len(heap, fresh); i += 97)
      cr_assert_eq(gc_get_i64(heap, fresh, i), 0, "[%s] round %d element %zu",
                   options, round, i);
    gc_array_fill_i64(heap, fresh, 0, gc_array_len(heap, fresh), round);
    *current = fresh; /* the previous array dies */
    if (collect_every && round % collect_every == 0)
      gc_collect(heap);
  }
  CHECK_EQ(gc_get_i64(heap, *current, LENGTH / 2), ROUNDS);
  cr_assert(maps < ROUNDS / 2, "[%s] %ld system allocations for %d arrays",
            options, maps, ROUNDS);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A program that replaces its big arrays reuses their mappings (zeroed),
 * instead of one mmap and one munmap per array. */
Test(refcount_memory, dead_large_objects_mappings_are_reused) {
  replace_large_arrays("verify=0,stress=0", 0);
}

/* With verify=1 a dead large object waits in the quarantine; when the
 * quarantine lets it go (the gc_collect every 8 rounds lets the oldest go),
 * its mapping is reused like one that died with verify=0 (before, the
 * quarantine unmapped it: 402 system allocations for 400 arrays). */
Test(refcount_memory, mappings_the_quarantine_lets_go_are_reused) {
  replace_large_arrays("verify=1,stress=0,verify-quarantine=1M", 8);
}

/* Under max-heap-size the cached mappings count, and give way: a heap that
 * alternates large arrays of two sizes never traps. */
Test(refcount_memory, cached_mappings_give_way_under_the_limit) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0,max-heap-size=4M", &t);
  gc_type ints = gc_type_array(heap, "ints", GC_KIND_I64);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *current = gc_root(heap, NULL);
  for (int round = 0; round < 200; round++) {
    *current = NULL;
    *current = gc_new_array(heap, ints, round % 2 ? 150000 : 60000);
    cr_assert_not_null(*current, "round %d: %s", round, harness_traps.message);
  }
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* True unless transparent huge pages are off on this machine ("[never]"). */
static bool huge_pages_possible(void) {
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f)
    return false;
  char line[128] = "";
  bool possible = fgets(line, sizeof line, f) && !strstr(line, "[never]");
  fclose(f);
  return possible;
}

static long minor_faults(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

/* The blocks come from huge-page-backed chunks where the system allows it:
 * a fresh allocation budget of small objects is a handful of page faults,
 * not one per 4 KiB (before: 1980 faults here; with huge pages about 120,
 * the malloc'd side tables' among them). */
Test(refcount_memory, fresh_blocks_are_few_page_faults) {
#if defined(__SANITIZE_ADDRESS__)
  /* Its allocator and shadow memory opt out of huge pages (NOHUGEPAGE), and
   * their faults count too. */
  cr_skip_test("AddressSanitizer's own memory has small pages");
#endif
  if (!huge_pages_possible())
    cr_skip_test("transparent huge pages are off");
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  long before = minor_faults();
  churn(heap, &t); /* ~200 KB: the promotion stacks and tables grow first */
  gc_collect(heap);
  long setup = minor_faults() - before;
  before = minor_faults();
  for (int i = 0; i < 40; i++) /* ~8 MB of short-lived pairs, one budget */
    churn(heap, &t);
  long faults = minor_faults() - before;
  cr_assert(faults < 1000, "%ld page faults for 8 MB of blocks (%ld to start)",
            faults, setup);
  harness_free_heap(heap);
}

/* A large structure that dies at once is freed over several allocation
 * collection points, not in one pause (one that promotes nothing frees at
 * most budget / 16 objects), and all of it without a gc_collect: 800,000
 * list cells, 524,288 per point at the default 8 MiB budget. */
Test(refcount_memory, a_large_death_is_freed_over_several_points) {
  struct types t;
  gc_heap *heap = new_heap("verify=1,stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  for (int i = 0; i < 800000; i++) {
    gc_ref cell = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, cell, RIGHT, *list);
    *list = cell;
  }
  gc_collect(heap); /* every cell old, counted by the next */
  uint64_t all = live_bytes(heap) - baseline;
  gc_scope_close(heap, scope); /* a root drop: nothing is decremented */
  uint64_t left[5];
  int points = 0;
  do {
    gc_refcount_test_end_budget(heap);
    uint64_t allocated = harness_stats(heap).allocated_bytes;
    gc_new_struct(heap, t.pair); /* a collection point; promotes nothing */
    /* The statistics count what was allocated since the point as live. */
    uint64_t probe = harness_stats(heap).allocated_bytes - allocated;
    left[points] = live_bytes(heap) - baseline - probe;
  } while (left[points++] && points < 5);
  cr_assert_gt(left[0], 0, "one point freed all %llu bytes",
               (unsigned long long)all);
  cr_assert_lt(left[0], all, "the first point freed nothing");
  cr_assert_eq(left[points - 1], 0, "%llu bytes left after %d points",
               (unsigned long long)left[points - 1], points);
  harness_free_heap(heap);
}
