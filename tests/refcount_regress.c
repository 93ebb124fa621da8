/* refcount_regress.c — regression tests of the refcount collector: the
 * Wasmtime self-copy bug, every shape of cyclic garbage, prompt reclamation,
 * a 10-million-node list, counts past the overflow limit.
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

/* ---- Cycles of every shape ------------------------------------------------
 *
 * Each builder makes cyclic garbage reachable only from itself (its roots
 * are in a scope closed before it returns); one gc_collect must bring
 * live_bytes back to where it was. */

static int destroyed;
static void count_destroy(void *ptr, void *ud) {
  destroyed++;
}

static void self_loop(gc_heap *heap, struct types *t) {
  gc_scope s = gc_scope_open(heap);
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, *x, LEFT, *x);
  gc_scope_close(heap, s);
}

static void ring(gc_heap *heap, struct types *t) {
  gc_scope s = gc_scope_open(heap);
  gc_ref *first = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_ref *last = gc_root(heap, *first);
  for (int i = 0; i < 1000; i++) {
    gc_ref n = gc_new_struct(heap, t->pair);
    gc_set_ref(heap, *last, LEFT, n);
    *last = n;
  }
  gc_set_ref(heap, *last, LEFT, *first);
  gc_scope_close(heap, s);
}

static void doubly_linked(gc_heap *heap, struct types *t) {
  gc_scope s = gc_scope_open(heap);
  gc_ref *head = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_ref *tail = gc_root(heap, *head);
  for (int i = 0; i < 1000; i++) {
    gc_ref n = gc_new_struct(heap, t->pair);
    gc_set_ref(heap, *tail, RIGHT, n);
    gc_set_ref(heap, n, LEFT, *tail);
    *tail = gc_get_ref(heap, *tail, RIGHT);
  }
  gc_scope_close(heap, s);
}

/* struct -> array -> struct -> array -> first struct, plus an array that
 * holds itself. */
static void through_arrays(gc_heap *heap, struct types *t) {
  gc_scope s = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_ref *arr1 = gc_root(heap, gc_new_array(heap, t->refs, 4));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_ref *arr2 = gc_root(heap, gc_new_array(heap, t->refs, 4));
  gc_set_ref(heap, *a, LEFT, *arr1);
  gc_array_fill_ref(heap, *arr1, 0, 4, *b);
  gc_set_ref(heap, *b, RIGHT, *arr2);
  gc_set_ref(heap, *arr2, 3, *a);
  gc_set_ref(heap, *arr2, 0, *arr2);
  gc_scope_close(heap, s);
}

static void holding_resource(gc_heap *heap, struct types *t) {
  gc_scope s = gc_scope_open(heap);
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_ref *y = gc_root(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, *x, LEFT, *y);
  gc_set_ref(heap, *y, LEFT, *x);
  gc_set_ref(heap, *x, RIGHT, gc_new_resource(heap, NULL, count_destroy, NULL));
  gc_set_ref(heap, *y, RIGHT, gc_new_resource(heap, NULL, count_destroy, NULL));
  gc_scope_close(heap, s);
}

typedef void (*builder)(gc_heap *, struct types *);

static void check_cycle_reclaimed(builder build, const char *what) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  build(heap, &t);
  CHECK(live_bytes(heap) > baseline);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "%s: %llu bytes left of the cycle",
               what, (unsigned long long)(live_bytes(heap) - baseline));
  harness_free_heap(heap);
}

Test(refcount_regress, self_loop_reclaimed) {
  check_cycle_reclaimed(self_loop, "self-loop");
}
Test(refcount_regress, ring_reclaimed) {
  check_cycle_reclaimed(ring, "ring");
}
Test(refcount_regress, doubly_linked_list_reclaimed) {
  check_cycle_reclaimed(doubly_linked, "doubly linked list");
}
Test(refcount_regress, cycle_through_arrays_reclaimed) {
  check_cycle_reclaimed(through_arrays, "cycle through arrays");
}
Test(refcount_regress, cycle_holding_resources_reclaimed) {
  destroyed = 0;
  check_cycle_reclaimed(holding_resource, "cycle holding resources");
  cr_assert_eq(destroyed, 2);
}

/* A cycle that was once held from the heap (so its members were decremented
 * to nonzero and became candidates) and is the target of weak references. */
Test(refcount_regress, cycle_with_weak_target_reclaimed_and_cleared) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_ref *weak = gc_global(heap, NULL);
  {
    gc_scope s = gc_scope_open(heap);
    gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_ref *y = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_set_ref(heap, *x, LEFT, *y);
    gc_set_ref(heap, *y, LEFT, *x);
    gc_set_ref(heap, *holder, LEFT, *x);
    *weak = gc_new_weak(heap, *y);
    gc_scope_close(heap, s);
  }
  gc_collect(heap);
  cr_assert_not_null(gc_weak_get(heap, *weak)); /* held through holder */
  gc_set_ref(heap, *holder, LEFT, NULL);        /* decrement to nonzero */
  gc_collect(heap);
  cr_assert_null(gc_weak_get(heap, *weak));
  *weak = NULL;
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline);
  harness_free_heap(heap);
}

/* Many cycles churned while some survive: the survivors stay intact. */
Test(refcount_regress, cycles_churned_next_to_live_ones) {
  struct types t;
  gc_heap *heap = new_heap("verify=0", &t);
  gc_ref *keep = gc_global(heap, gc_new_array(heap, t.refs, 100));
  for (int round = 0; round < 200; round++) {
    gc_scope s = gc_scope_open(heap);
    gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_ref *y = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_set_ref(heap, *x, LEFT, *y);
    gc_set_ref(heap, *y, LEFT, *x);
    gc_set_i64(heap, *x, VALUE, round);
    if (round % 2 == 0)
      gc_set_ref(heap, *keep, (size_t)round / 2, *x);
    gc_scope_close(heap, s);
    if (round % 7 == 0)
      gc_collect(heap);
  }
  gc_collect(heap);
  for (int i = 0; i < 100; i++) {
    gc_ref x = gc_get_ref(heap, *keep, (size_t)i);
    cr_assert_eq(gc_get_i64(heap, x, VALUE), 2 * i);
    gc_ref y = gc_get_ref(heap, x, LEFT);
    cr_assert_eq(gc_get_ref(heap, y, LEFT), x);
  }
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
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline);
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
  gc_collect(heap); /* ten million frees, one after the other */
  cr_assert_eq(live_bytes(heap), baseline);
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
  gc_collect(heap); /* the array dies, then the self-loop, overflowed */
  cr_assert_eq(live_bytes(heap), baseline);
  harness_free_heap(heap);
}

/* ---- Random graphs ---------------------------------------------------------
 *
 * Random stores among a pool of rooted objects (cycles of every length form
 * and break), random root drops, collections now and then (verify=1 checks
 * every count each time); at the end every root goes and one gc_collect
 * must reclaim everything. collect_every: a gc_collect every that many
 * steps (0: none). filler: also allocate 64 KiB of garbage now and then, so
 * that the collection points come from the allocation budget (young
 * collection, bounded drain, trial deletion only when due) at random
 * moments between the stores. cycle_budget: trial deletion's work per
 * such point (0: the default), so that its runs stop part way through the
 * candidates and the next point goes on. */
static void random_graph(uint64_t first_seed, int collect_every, bool filler,
                         size_t cycle_budget, uint64_t drain_budget) {
  uint64_t seed = first_seed;
  struct types t;
  /* With filler, stress=1 would collect at every one of its allocations. */
  gc_heap *heap = new_heap(filler ? "stress=0" : NULL, &t);
  if (cycle_budget)
    gc_refcount_test_set_cycle_budget(heap, cycle_budget);
  if (drain_budget)
    gc_refcount_test_set_drain_budget(heap, drain_budget);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  uint64_t collections = harness_stats(heap).collections;
  enum { POOL = 64 };
  gc_scope scope = gc_scope_open(heap);
  gc_ref *pool[POOL];
  for (int i = 0; i < POOL; i++)
    pool[i] = gc_root(heap, NULL);
  for (int step = 0; step < 20000; step++) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    unsigned r = (unsigned)(seed >> 33);
    gc_ref *a = pool[r % POOL], *b = pool[(r >> 8) % POOL];
    unsigned op = (r >> 16) % (filler ? 10 : 8);
    if (filler && op == 4) {
      gc_new_array(heap, bytes, 64 << 10); /* 128 spend the budget */
      continue;
    }
    switch (op) {
    case 0:
      *a = gc_new_struct(heap, t.pair);
      break;
    case 1:
      *a = gc_new_array(heap, t.refs, 1 + (r >> 20) % 4);
      break;
    case 2:
      *a = NULL; /* a root drop: nothing decremented */
      break;
    case 3:
      if (*a && *b && gc_type_of(heap, *b) == t.pair)
        *a = gc_get_ref(heap, *b, (r >> 20) % 2);
      break;
    default:
      if (*a && gc_type_of(heap, *a) == t.pair)
        gc_set_ref(heap, *a, (r >> 20) % 2, *b);
      else if (*a)
        gc_set_ref(heap, *a, (r >> 20) % gc_array_len(heap, *a), *b);
      break;
    }
    if (collect_every && step % collect_every == 0)
      gc_collect(heap);
  }
  if (filler)
    CHECK(harness_stats(heap).collections > collections + 5);
  if (cycle_budget)
    CHECK(gc_refcount_test_cycle_runs_cut(heap) > 0);
  if (drain_budget)
    CHECK(gc_refcount_test_cycle_runs_before_drained(heap) > 0);
  gc_scope_close(heap, scope);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "seed %llu: %llu bytes left",
               (unsigned long long)first_seed,
               (unsigned long long)(live_bytes(heap) - baseline));
  harness_free_heap(heap);
}

Test(refcount_regress, random_graphs_are_reclaimed_completely) {
  for (uint64_t seed = 1; seed <= 6; seed++)
    random_graph(seed, seed % 2 ? 997 : 0, false, 0, 0);
  random_graph(7, 1, false, 0, 0);
}

Test(refcount_regress, random_graphs_with_allocation_collection_points,
     .timeout = 120) {
  for (uint64_t seed = 1; seed <= 4; seed++)
    random_graph(seed, 0, true, 0, 0);
}

/* Trial deletion one candidate at a time (a budget of one object): each
 * allocation's collection point examines one and leaves the rest, some of
 * which that run freed (zombies until the buffer is filtered). verify=1
 * checks every count at each point; the last gc_collect takes what is left
 * and must reclaim everything. */
Test(refcount_regress, trial_deletion_in_steps_reclaims_everything) {
  for (uint64_t seed = 11; seed <= 13; seed++)
    random_graph(seed, 0, true, 1, 0);
}

/* The drain in steps too (a few objects per collection point), so that
 * trial deletion runs while dead objects wait in the ZCT and their
 * references on the drain's stack: it must keep the former for the drain
 * (freeing one would free it twice) and take the latter's counts as they
 * are (too high, never too low). verify=1 counts the waiting references
 * in; the last gc_collect must reclaim everything. */
Test(refcount_regress, trial_deletion_with_the_drain_unfinished) {
  for (uint64_t seed = 21; seed <= 23; seed++)
    random_graph(seed, 0, true, 4, 3);
}

/* ---- Found by the differential fuzzer (tests/fuzz/regress/) --------------
 *
 * refcount-collect-white-reads-freed-child: a garbage cycle p (a self-loop)
 * -> a, where a is a reference array of more than 8 KiB (a large object,
 * unmapped when freed). Both are candidates, a's entry first. Collecting
 * the white objects one candidate at a time freed a, then read p's field
 * and a's colour: a use after free (SEGV). */
Test(refcount_regress, white_garbage_freed_after_every_candidate_is_gathered) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *helper = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *p = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *a = gc_root(heap, gc_new_array(heap, t.refs, 1100)); /* > 8 KiB */
  gc_collect(heap); /* every object leaves the ZCT */
  size_t candidates = gc_refcount_test_candidates(heap);
  gc_set_ref(heap, *p, RIGHT, *a);        /* a: 1 */
  gc_set_ref(heap, *helper, LEFT, *a);    /* a: 2 */
  gc_set_ref(heap, *helper, LEFT, NULL);  /* a: 2 -> 1, buffered first */
  gc_set_ref(heap, *p, LEFT, *p);         /* p: 1, a self-loop */
  gc_set_ref(heap, *helper, RIGHT, *p);   /* p: 2 */
  gc_set_ref(heap, *helper, RIGHT, NULL); /* p: 2 -> 1, buffered second */
  CHECK(gc_refcount_test_candidates(heap) >= candidates);
  *a = NULL;
  *p = NULL; /* p -> a is garbage now; roots are not counted */
  gc_scope_close(heap, s);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "%llu bytes left of the cycle",
               (unsigned long long)(live_bytes(heap) - baseline));
  harness_free_heap(heap);
}

/* refcount-candidate-blackened-by-increment: array a holds itself; a
 * decrement 2 -> 1 makes it a candidate, then a[2] = a increments it, which
 * colours it black. Dropping the roots decrements nothing, so if the black
 * entry leaves the candidate buffer, a is never examined again: live_bytes
 * stayed up forever. */
Test(refcount_regress, candidate_blackened_by_increment_is_still_collected) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_array(heap, t.refs, 6));
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *x, LEFT, *a); /* a: 1 */
  gc_set_ref(heap, *a, 0, *a);    /* a: 2, a self-reference */
  gc_collect(heap);               /* a leaves the ZCT */
  gc_set_ref(heap, *x, LEFT, *x); /* a: 2 -> 1, a candidate (purple) */
  gc_set_ref(heap, *a, 2, *a);    /* a: 1 -> 2, the increment blackens it */
  CHECK(gc_refcount_test_count(heap, *a) == 2);
  /* A collection point without trial deletion: it must not forget a. */
  gc_new_array(heap, t.refs, 1);
  gc_scope_close(heap, s); /* a and x unreachable; roots are not counted */
  gc_collect(heap);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "%llu bytes left of the cycle",
               (unsigned long long)(live_bytes(heap) - baseline));
  harness_free_heap(heap);
}

/* The same with stress=1, as the fuzzer found it (/tmp repro leak2.c):
 * every allocation is a collection point. */
Test(refcount_regress, candidate_blackened_by_increment_under_stress) {
  struct types t;
  gc_heap *heap = new_heap("stress=1", &t);
  gc_kind box_kinds[1] = {GC_KIND_REF};
  gc_type box = gc_type_struct(heap, "box", 1, box_kinds);
  gc_scope s = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_array(heap, t.refs, 6));
  gc_ref *x = gc_root(heap, gc_new_struct(heap, box));
  gc_set_ref(heap, *x, 0, *a);             /* a: 1 */
  gc_set_ref(heap, *a, 0, *a);             /* a: 2, a self-reference */
  gc_root(heap, gc_new_struct(heap, box)); /* a collection point */
  gc_set_ref(heap, *x, 0, *x);             /* a: 2 -> 1, a candidate */
  gc_set_ref(heap, *a, 2, *a);             /* a: 1 -> 2, blackened */
  gc_scope_close(heap, s);
  gc_collect(heap);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), 0, "%llu bytes left with no roots",
               (unsigned long long)live_bytes(heap));
  harness_free_heap(heap);
}

/* A cycle through an old object that was never in the ZCT: o3 -> o was
 * stored while both were old (o counted, o3 root-held with a zero count);
 * then o -> y -> x -> o3 closes the cycle through new objects and every
 * root goes. The collection point between (an allocation's, without trial
 * deletion, so the rooted o is not rebuffered) leaves o counted and not a
 * candidate. At the next one o3 gains a count: a search restricted to the
 * ZCT's entries and the new objects never met o and missed the cycle (it
 * leaked); o3 must become a trial-deletion candidate. */
Test(refcount_regress, cycle_through_an_old_object_outside_the_zct) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *o3 = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *o = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *o3, LEFT, *o);
  collect_by_allocation(heap, bytes);
  gc_ref *y = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *o, RIGHT, *y);
  gc_set_ref(heap, *y, LEFT, *x);
  gc_set_ref(heap, *x, LEFT, *o3);
  gc_scope_close(heap, s);
  gc_collect(heap);
  gc_collect(heap);
  cr_assert_eq(live_bytes(heap), baseline, "%llu bytes left of the cycle",
               (unsigned long long)(live_bytes(heap) - baseline));
  harness_free_heap(heap);
}
