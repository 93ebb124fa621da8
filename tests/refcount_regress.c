/* refcount_regress.c — regression tests of the refcount collector: the
 * Wasmtime self-copy bug, prompt reclamation, a 10-million-node list,
 * counts past the overflow limit. Cyclic garbage: refcount_cycles.c.
 *
 * Every heap has verify=1 (harness_new_heap) unless a test says otherwise,
 * so each collection also recomputes every count from scratch. */
#include "harness.h"
#include "refcount-fixture.h"

#include <refcount/refcount-testing.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- The Wasmtime self-copy bug ------------------------------------------
 *
 * An array of references holding one inner array; gc_array_copy of element
 * 0 onto itself; then a collection. Wasmtime's barrier decremented the old
 * value first: the inner array's count passed through zero and it was
 * queued for freeing while still referenced ("is supposedly live; should
 * have nonzero ref count"). Incrementing first, the count never touches
 * zero, so the copy queues nothing in the zero count table. */

/* Runs the scenario; returns how many ZCT entries the copy itself added. */
static size_t self_copy_scenario(gc_heap *heap, struct types *t) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *outer = gc_root(heap, gc_new_array(heap, t->refs, 1));
  gc_ref inner = gc_new_array(heap, t->refs, 3);
  gc_set_ref(heap, *outer, 0, inner);
  gc_collect(heap); /* the ZCT now holds only the rooted outer array */
  inner = gc_get_ref(heap, *outer, 0);
  cr_assert_eq(gc_refcount_test_count(heap, inner), 1);
  size_t before = gc_refcount_test_zct_length(heap);
  gc_array_copy(heap, *outer, 0, *outer, 0, 1);
  size_t queued = gc_refcount_test_zct_length(heap) - before;
  cr_assert_eq(gc_refcount_test_count(heap, gc_get_ref(heap, *outer, 0)), 1);
  gc_collect(heap);
  /* Still there, still counted, still usable. */
  inner = gc_get_ref(heap, *outer, 0);
  cr_assert_not_null(inner);
  cr_assert_eq(gc_refcount_test_count(heap, inner), 1);
  cr_assert_eq(gc_array_len(heap, inner), 3);
  gc_scope_close(heap, scope);
  return queued;
}

Test(refcount_regress, self_copy_never_passes_through_zero) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  cr_assert_eq(self_copy_scenario(heap, &t), 0,
               "the self-copy made the inner array's count touch zero");
  harness_free_heap(heap);
}

/* The test above must fail on a barrier that decrements first: with the
 * test hook that restores Wasmtime's order, the same scenario queues the
 * inner array. */
Test(refcount_regress, self_copy_test_catches_decrement_first) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_refcount_test_decrement_first(heap, true);
  cr_assert_eq(self_copy_scenario(heap, &t), 1,
               "decrement-first went unnoticed by the self-copy test");
  harness_free_heap(heap);
}

/* Overlapping copies in both directions, with repeated targets: the counts
 * stay exact (verify=1 recomputes them at each collection). */
Test(refcount_regress, overlapping_copies_keep_counts_exact) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, 16));
  gc_ref *a = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, t.pair));
  for (size_t i = 0; i < 16; i++)
    gc_set_ref(heap, *arr, i, i % 3 == 0 ? *a : i % 3 == 1 ? *b : NULL);
  gc_array_copy(heap, *arr, 2, *arr, 0, 10); /* forward overlap */
  gc_collect(heap);
  gc_array_copy(heap, *arr, 0, *arr, 5, 11); /* backward overlap */
  gc_collect(heap);
  gc_array_copy(heap, *arr, 3, *arr, 3, 13); /* onto itself */
  gc_collect(heap);
  uint64_t na = 0, nb = 0;
  for (size_t i = 0; i < 16; i++) {
    gc_ref e = gc_get_ref(heap, *arr, i);
    na += e == *a;
    nb += e == *b;
  }
  cr_assert_eq(gc_refcount_test_count(heap, *a), na);
  cr_assert_eq(gc_refcount_test_count(heap, *b), nb);
  gc_array_fill_ref(heap, *arr, 0, 16, NULL);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 0);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* How many elements of arr are obj. */
static uint64_t occurrences(gc_heap *heap, gc_ref arr, gc_ref obj) {
  uint64_t n = 0;
  for (size_t i = 0; i < gc_array_len(heap, arr); i++)
    n += gc_get_ref(heap, arr, i) == obj;
  return n;
}

/* One thread: copies and fills into an old large array log its cards and
 * count them at the next collection point (refcount-stores.c), mixed with
 * single stores into logged and unlogged cards. The counts are exact after
 * it (verify=1 recomputes them there), what the array dropped is freed, and
 * between points the copies changed no count (each card counts once). */
Test(refcount_regress, copies_into_a_large_array_count_each_card_once) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_scope scope = gc_scope_open(heap);
  enum { LEN = 4096 }; /* 32 cards of 128 */
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, LEN));
  gc_ref *a = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *dropped = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *watch = gc_root(heap, gc_new_weak(heap, *dropped));
  for (size_t i = 0; i < LEN; i++)
    gc_set_ref(heap, *arr, i, i % 2 ? *a : *b);
  gc_set_ref(heap, *arr, 3000, *dropped);
  *dropped = NULL;  /* only the array holds it now */
  gc_collect(heap); /* everything old, counted */
  CHECK_EQ(gc_refcount_test_count(heap, *a), LEN / 2);
  for (int round = 0; round < 50; round++) {
    gc_array_copy(heap, *arr, 1, *arr, 0, LEN - 1);   /* up by one */
    gc_array_copy(heap, *arr, 0, *arr, 2, LEN - 300); /* down by two */
  }
  gc_array_fill_ref(heap, *arr, 0, 64, *a);
  cr_assert_neq(occurrences(heap, *arr, *a), LEN / 2); /* a's changed... */
  CHECK_EQ(gc_refcount_test_count(heap, *a), LEN / 2); /* ...uncounted */
  gc_set_ref(heap, *arr, 10, *b); /* a logged card: a plain store */
  gc_array_fill_ref(heap, *arr, 2900, 200, *a); /* drops the 3000th */
  gc_collect(heap);
  CHECK_EQ(gc_refcount_test_count(heap, *a), occurrences(heap, *arr, *a));
  CHECK_EQ(gc_refcount_test_count(heap, *b), occurrences(heap, *arr, *b));
  cr_assert_null(gc_weak_get(heap, *watch), "the dropped object was kept");
  /* After the point, cards count at once again until the next copy. */
  gc_set_ref(heap, *arr, 5, NULL);
  gc_array_copy(heap, *arr, 100, *arr, 0, 28); /* logs card 0 */
  gc_set_ref(heap, *arr, 127, *b);             /* card 0: plain */
  gc_set_ref(heap, *arr, 128, *b);             /* card 1: counted at once */
  gc_collect(heap);
  CHECK_EQ(gc_refcount_test_count(heap, *a), occurrences(heap, *arr, *a));
  CHECK_EQ(gc_refcount_test_count(heap, *b), occurrences(heap, *arr, *b));
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* A copy too large for the log (half a million elements) counts at once,
 * except in the cards an earlier copy logged: those take plain stores, and
 * the collection point counts them. */
Test(refcount_regress, a_copy_past_the_log_counts_at_once_beside_logged_cards) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_scope scope = gc_scope_open(heap);
  enum { LEN = 1200000 };
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, LEN));
  gc_ref *a = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_array_fill_ref(heap, *arr, 0, LEN, *a); /* young: plain */
  /* The copy below shifts this b into card 7 and an a out of it: a card
   * whose copy were counted twice would not balance. */
  gc_set_ref(heap, *arr, 895, *b);
  gc_collect(heap);
  CHECK_EQ(gc_refcount_test_count(heap, *a), LEN - 1);
  gc_array_copy(heap, *arr, 1000, *arr, 0, 10);   /* logs card 7 */
  gc_set_ref(heap, *arr, 0, *b);                  /* card 0: counted at once */
  gc_set_ref(heap, *arr, 1001, *b);               /* card 7: plain */
  gc_array_copy(heap, *arr, 1, *arr, 0, LEN - 1); /* past the log */
  gc_array_fill_ref(heap, *arr, 500, LEN - 1000, *b); /* past it too */
  gc_collect(heap);
  CHECK_EQ(gc_refcount_test_count(heap, *a), occurrences(heap, *arr, *a));
  CHECK_EQ(gc_refcount_test_count(heap, *b), occurrences(heap, *arr, *b));
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- Prompt reclamation -------------------------------------------------- */

/* The pages of [lo, hi) that are not resident but lie in a mapping that
 * still asks for huge pages: khugepaged would fill them in again (it
 * collapses a 2 MiB range when one of its pages is present; a dropped list's
 * given-back pages were all resident again 90 s later). Reads the mappings'
 * VmFlags ("hg": huge pages asked for) from /proc/self/smaps. */
static size_t given_back_pages_khugepaged_may_refill(uintptr_t lo,
                                                     uintptr_t hi) {
  static struct mapping {
    uintptr_t start, end;
    bool huge;
  } maps[4096];
  size_t n = 0;
  FILE *f = fopen("/proc/self/smaps", "r");
  cr_assert_not_null(f);
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, ' ') &&
        n < sizeof maps / sizeof maps[0]) {
      maps[n++] = (struct mapping){start, end, false};
    } else if (n && !strncmp(line, "VmFlags:", 8)) {
      maps[n - 1].huge = strstr(line, " hg") != NULL;
    }
  }
  fclose(f);
  size_t page = (size_t)sysconf(_SC_PAGESIZE), count = 0;
  for (uintptr_t p = lo & ~(uintptr_t)(page - 1); p < hi; p += page) {
    unsigned char in_core = 1;
    if (mincore((void *)p, page, &in_core) != 0 || (in_core & 1))
      continue;
    for (size_t i = 0; i < n; i++)
      if (p >= maps[i].start && p < maps[i].end && maps[i].huge)
        count++;
  }
  return count;
}

/* Memory comes back to the system, not only to the allocator: after a
 * 64 MB list dies, gc_collect gives the pages of the emptied blocks back
 * once they stayed free across a gc_collect (hysteresis: refcount_memory.c)
 * (verify=0: with verify the free cells keep their poison). What may stay:
 * each 64 KiB block's header page (1/16) and 1.5 times the allocation
 * budget (8 MB at the default heap-size), 16 MB in all; and none of the
 * given-back pages may stay where khugepaged would fill them in again. The
 * blocks are reused afterwards, their cells zero. */
Test(refcount_regress, gc_collect_gives_empty_blocks_back_to_the_system) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  gc_ref *head = gc_global(heap, NULL);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < 2000000; i++) { /* 32 bytes each */
    gc_ref n = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, n, LEFT, *head);
    *head = n;
    lo = (uintptr_t)n < lo ? (uintptr_t)n : lo;
    hi = (uintptr_t)n + 32 > hi ? (uintptr_t)n + 32 : hi;
  }
  gc_collect(heap);
  /* Only the pages that held the objects are counted: the process's
   * resident total also moves with the allocator under test
   * (AddressSanitizer's keeps freed blocks in its quarantine and gives
   * them back on its own clock). */
  uint64_t full = harness_resident_bytes(lo, hi);
  cr_assert(full >= (64u << 20), "the list is resident: %llu MB",
            (unsigned long long)(full >> 20));
  *head = NULL;
  gc_collect(heap); /* the list dies: its blocks are seen free */
  gc_collect(heap); /* still free: given back */
  uint64_t emptied = harness_resident_bytes(lo, hi);
  cr_assert(emptied <= (17u << 20),
            "resident %llu MB with the list, %llu MB after it died",
            (unsigned long long)(full >> 20),
            (unsigned long long)(emptied >> 20));
  cr_assert_eq(given_back_pages_khugepaged_may_refill(lo, hi), 0);
  for (int i = 0; i < 100000; i++) {
    gc_ref n = gc_new_struct(heap, t.pair);
    cr_assert_null(gc_get_ref(heap, n, LEFT));
    cr_assert_null(gc_get_ref(heap, n, RIGHT));
    cr_assert_eq(gc_get_i64(heap, n, 2), 0);
    gc_set_ref(heap, n, LEFT, *head);
    *head = n;
  }
  gc_collect(heap);
  CHECK_EQ(live_bytes(heap), 100000 * 32);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

Test(refcount_regress, prompt_reclamation_after_one_collection_point) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *root = gc_global(heap, NULL);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  /* A tree built top down, a list, and an array of both. */
  *root = gc_new_array(heap, t.refs, 2);
  {
    gc_scope s = gc_scope_open(heap);
    gc_ref *node = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_set_ref(heap, *root, 0, *node);
    for (int i = 0; i < 500; i++) {
      gc_ref n = gc_new_struct(heap, t.pair);
      gc_set_ref(heap, *node, i % 2 ? LEFT : RIGHT, n);
      *node = n;
    }
    gc_set_ref(heap, *root, 1, gc_get_ref(heap, *root, 0));
    gc_scope_close(heap, s);
  }
  gc_collect(heap); /* all of it is live: held by root */
  CHECK(live_bytes(heap) > baseline);
  *root = NULL; /* the last reference, a root slot: nothing decremented */
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}

/* The collection point of an allocation threshold reclaims too: no
 * gc_collect at all. */
Test(refcount_regress, allocation_threshold_reclaims) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  gc_ref *root = gc_global(heap, NULL);
  for (int i = 0; i < 2000000; i++) {
    gc_ref n = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, n, LEFT, *root);
    *root = i % 1000 == 999 ? NULL : n;
  }
  gc_stats s = harness_stats(heap);
  CHECK(s.collections > 0);
  /* Two million nodes allocated, at most a budget's worth not yet freed. */
  CHECK(s.live_bytes < (uint64_t)16 << 20);
  harness_free_heap(heap);
}

/* ---- A 10-million-node list: freeing does not recurse -------------------- */

Test(refcount_regress, ten_million_node_list_drop, .timeout = 240) {
  struct types t;
  gc_heap *heap = new_heap("verify=0,stress=0", &t);
  gc_ref *head = gc_global(heap, NULL);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  for (long i = 0; i < 10000000; i++) {
    gc_ref n = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, n, RIGHT, *head);
    *head = n;
  }
  gc_collect(heap);
  *head = NULL;
  /* ten million frees, one after the other */
  collect_back_to(heap, baseline, "the list");
  harness_free_heap(heap);
}

/* ---- Counts past the overflow limit -------------------------------------- */

Test(refcount_regress, counts_past_the_field_stay_exact) {
  struct types t;
  gc_heap *heap = harness_new_heap("refcount", NULL);
  gc_refcount_test_set_count_limit(heap, 4); /* before any allocation */
  t.pair = gc_type_struct(heap, "pair", 3, pair_kinds);
  t.refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, 10));
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap); /* arr old: its stores are counted (refcount-young.c) */
  gc_array_fill_ref(heap, *arr, 0, 10, *x);
  cr_assert_eq(gc_refcount_test_count(heap, *x), 10);
  cr_assert(gc_refcount_test_overflowed(heap, *x));
  gc_collect(heap); /* verify recomputes: 10 */
  gc_array_fill_ref(heap, *arr, 0, 8, NULL);
  cr_assert_eq(gc_refcount_test_count(heap, *x), 2);
  cr_assert(!gc_refcount_test_overflowed(heap, *x));
  gc_array_fill_ref(heap, *arr, 0, 10, *x);
  gc_set_ref(heap, *x, LEFT, *x); /* a self-loop among the 11 */
  gc_collect(heap);
  gc_scope_close(heap, s);
  /* the array dies, then the self-loop, overflowed */
  collect_back_to(heap, baseline, "the array and the self-loop");
  harness_free_heap(heap);
}

/* ---- The zero count table without memory ----------------------------------
 *
 * An old array holding n old structs, each counted only by it. */
static gc_ref *structs_in_an_array(gc_heap *heap, struct types *t, int n) {
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t->refs, (uint64_t)n));
  for (int i = 0; i < n; i++)
    gc_set_ref(heap, *arr, (uint64_t)i, gc_new_struct(heap, t->pair));
  gc_collect(heap); /* all old, each counted once */
  return arr;
}

/* Without memory for a zero count's entry, the next collection point scans
 * the heap for zero counts instead: the objects whose entries found no
 * room are freed all the same (verify=1 also traps a zero count that is
 * neither in the table nor covered by the scan). */
Test(refcount_regress, zero_counts_without_room_in_the_table_are_freed) {
  cleared_without_memory_all_freed(structs_in_an_array, 10000,
                                   "the zero count table");
}

/* The drain keeps rooted zero-count entries on a second list for the next
 * point. Without memory for that list, they leave the table and the next
 * point scans the heap for zero counts: once the roots go, they are freed
 * (verify=1 also traps a zero count that is neither in the table nor
 * covered by the scan). */
Test(refcount_regress, rooted_zero_counts_without_room_to_keep_are_freed) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  /* The table grows past 16000 entries (10000 dead, 6000 rooted), the
   * list of kept ones does not (a point's drain swaps the two). */
  gc_scope s = gc_scope_open(heap);
  gc_ref *arr = structs_in_an_array(heap, &t, 10000);
  for (uint64_t i = 0; i < 10000; i++)
    gc_set_ref(heap, *arr, i, NULL);
  for (int i = 0; i < 6000; i++)
    gc_root(heap, gc_new_struct(heap, t.pair));
  gc_test_allocation_reset();
  gc_test_fail_allocation(1); /* the kept list's growth */
  gc_collect(heap);           /* promoted with zero counts, rooted: kept */
  gc_test_allocation_reset();
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}
