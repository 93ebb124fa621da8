/* refcount_cycles.c — cyclic garbage and trial deletion in the refcount
 * collector: every shape of cycle, random graphs whose cycles form and
 * break, trial deletion stopped part way and resumed, and the cases the
 * differential fuzzer found.
 *
 * Every heap has verify=1 (harness_new_heap) unless a test says otherwise,
 * so each collection also recomputes every count from scratch. */
#include "harness.h"
#include "refcount-fixture.h"

#include <refcount/refcount-testing.h>

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
  collect_back_to(heap, baseline, what);
  harness_free_heap(heap);
}

Test(refcount_cycles, self_loop_reclaimed) {
  check_cycle_reclaimed(self_loop, "self-loop");
}
Test(refcount_cycles, ring_reclaimed) {
  check_cycle_reclaimed(ring, "ring");
}
Test(refcount_cycles, doubly_linked_list_reclaimed) {
  check_cycle_reclaimed(doubly_linked, "doubly linked list");
}
Test(refcount_cycles, cycle_through_arrays_reclaimed) {
  check_cycle_reclaimed(through_arrays, "cycle through arrays");
}
Test(refcount_cycles, cycle_holding_resources_reclaimed) {
  destroyed = 0;
  check_cycle_reclaimed(holding_resource, "cycle holding resources");
  cr_assert_eq(destroyed, 2);
}

/* A cycle that was once held from the heap (so its members were decremented
 * to nonzero and became candidates) and is the target of weak references. */
Test(refcount_cycles, cycle_with_weak_target_reclaimed_and_cleared) {
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
  collect_back_to(heap, baseline, "the cycle and the weak reference");
  harness_free_heap(heap);
}

/* Many cycles churned while some survive: the survivors stay intact. */
Test(refcount_cycles, cycles_churned_next_to_live_ones) {
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

Test(refcount_cycles, random_graphs_are_reclaimed_completely) {
  for (uint64_t seed = 1; seed <= 6; seed++)
    random_graph(seed, seed % 2 ? 997 : 0, false, 0, 0);
  random_graph(7, 1, false, 0, 0);
}

Test(refcount_cycles, random_graphs_with_allocation_collection_points,
     .timeout = 120) {
  for (uint64_t seed = 1; seed <= 4; seed++)
    random_graph(seed, 0, true, 0, 0);
}

/* Trial deletion one candidate at a time (a budget of one object): each
 * allocation's collection point examines one and leaves the rest, some of
 * which that run freed (zombies until the buffer is filtered). verify=1
 * checks every count at each point; the last gc_collect takes what is left
 * and must reclaim everything. */
Test(refcount_cycles, trial_deletion_in_steps_reclaims_everything) {
  for (uint64_t seed = 11; seed <= 13; seed++)
    random_graph(seed, 0, true, 1, 0);
}

/* The drain in steps too (a few objects per collection point), so that
 * trial deletion runs while dead objects wait in the ZCT and their
 * references on the drain's stack: it must keep the former for the drain
 * (freeing one would free it twice) and take the latter's counts as they
 * are (too high, never too low). verify=1 counts the waiting references
 * in; the last gc_collect must reclaim everything. */
Test(refcount_cycles, trial_deletion_with_the_drain_unfinished) {
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
Test(refcount_cycles, white_garbage_freed_after_every_candidate_is_gathered) {
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
  collect_back_to(heap, baseline, "the cycle");
  harness_free_heap(heap);
}

/* refcount-candidate-blackened-by-increment: array a holds itself; a
 * decrement 2 -> 1 makes it a candidate, then a[2] = a increments it, which
 * colours it black. Dropping the roots decrements nothing, so if the black
 * entry leaves the candidate buffer, a is never examined again: live_bytes
 * stayed up forever. */
Test(refcount_cycles, candidate_blackened_by_increment_is_still_collected) {
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
  collect_back_to(heap, baseline, "the cycle");
  harness_free_heap(heap);
}

/* The same with stress=1, as the fuzzer found it (/tmp repro leak2.c):
 * every allocation is a collection point. */
Test(refcount_cycles, candidate_blackened_by_increment_under_stress) {
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
Test(refcount_cycles, cycle_through_an_old_object_outside_the_zct) {
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
  collect_back_to(heap, baseline, "the cycle");
  harness_free_heap(heap);
}

/* ---- Without memory -------------------------------------------------------
 *
 * n self-loops, each also held by an old array: clearing the array makes
 * each a candidate (2 -> 1), and the loops are garbage. Promoted 1000 at a
 * time, so that the candidate buffer (each promoted loop is a candidate
 * there) stays short. */
static gc_ref *self_loops_in_an_array(gc_heap *heap, struct types *t, int n) {
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t->refs, (uint64_t)n));
  for (int i = 0; i < n; i++) {
    gc_ref x = gc_new_struct(heap, t->pair);
    gc_set_ref(heap, x, LEFT, x);
    gc_set_ref(heap, *arr, (uint64_t)i, x);
    if (i % 1000 == 999 || i == n - 1)
      gc_collect(heap); /* old, each counted twice */
  }
  return arr;
}

/* Without memory for a candidate's entry, the buffer is not grown and the
 * cycle collector scans the heap for purple objects instead: every loop is
 * reclaimed, those that found no room in the buffer too. */
Test(refcount_cycles, candidates_without_room_in_the_buffer_are_reclaimed) {
  cleared_without_memory_all_freed(self_loops_in_an_array, 10000,
                                   "the candidate buffer");
}

/* Without memory for trial deletion's stack, a collection leaves the
 * candidates buffered: the next collection reclaims the cycles. */
Test(refcount_cycles, candidates_wait_for_memory_for_trial_deletion) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *arr = self_loops_in_an_array(heap, &t, 1000);
  for (uint64_t i = 0; i < 1000; i++)
    gc_set_ref(heap, *arr, i, NULL);
  gc_scope_close(heap, s);
  /* More live objects than before: trial deletion's stack must grow. */
  gc_ref *more = gc_global(heap, gc_new_array(heap, t.refs, 3000));
  for (uint64_t i = 0; i < 3000; i++)
    gc_set_ref(heap, *more, i, gc_new_struct(heap, t.pair));
  gc_test_allocation_reset();
  gc_test_fail_allocation(1);
  gc_collect(heap);
  gc_test_allocation_reset();
  cr_assert_gt(gc_refcount_test_candidates(heap), 0,
               "the candidates did not wait for memory");
  gc_global_free(heap, more);
  collect_back_to(heap, baseline, "the loops");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}
