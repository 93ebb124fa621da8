/* refcount_pauses.c — drain pauses (refcount.c): a collection point that
 * promoted much leaves the rest of its ZCT drain to pauses of their own,
 * spread through the next budget, which free old objects while young ones
 * exist. Young objects' fields are not counted, so what it must not
 * free is an old object that only a young one refers to, nor a young
 * object whose count a freed old one held.
 *
 * Every heap has verify=1 (harness_new_heap): each drain pause recomputes
 * every count before and after, and checks that every reference, a young
 * object's too, is to a live object. And stress=0: a collection at every
 * allocation would leave no young object. */
#include "harness.h"
#include "refcount-fixture.h"

#include <gcheap-testing.h>
#include <pthread.h>

/* Old, with a zero count (only a root holds it, so it waits in the ZCT),
 * and VALUE set to value. */
static gc_ref *old_in_the_zct(gc_heap *heap, struct types *t, int64_t value) {
  gc_ref *slot = gc_global(heap, gc_new_struct(heap, t->pair));
  gc_set_i64(heap, *slot, VALUE, value);
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_count(heap, *slot), 0);
  return slot;
}

/* A young object (in a global; returned) whose field LEFT is the only
 * reference to an old object in the ZCT with VALUE set to value: a young
 * object's fields are not counted, so a drain must treat that field as a
 * root slot. */
static gc_ref *young_holding_the_only_reference(gc_heap *heap, struct types *t,
                                                int64_t value) {
  gc_ref *old = old_in_the_zct(heap, t, value);
  gc_ref *young = gc_global(heap, gc_new_struct(heap, t->pair));
  gc_set_ref(heap, *young, LEFT, *old);
  *old = NULL;
  return young;
}

/* The young object's field is the old object's only reference, and it is
 * not counted: the drain pause must see it as a root slot's. */
Test(refcount_pauses, an_old_object_only_a_young_one_holds_survives) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *young = young_holding_the_only_reference(heap, &t, 7);
  gc_refcount_test_drain_pause(heap, 1000);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1);
  cr_assert_eq(gc_get_i64(heap, gc_get_ref(heap, *young, LEFT), VALUE), 7);
  /* A dead young object holds it as well, until the point that frees it. */
  gc_ref *dead = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *dead, LEFT, gc_get_ref(heap, *young, LEFT));
  *dead = NULL;
  gc_set_ref(heap, *young, LEFT, NULL);
  gc_refcount_test_drain_pause(heap, 1000);
  uint64_t before = live_bytes(heap);
  gc_collect(heap);
  cr_assert_lt(live_bytes(heap), before, "the old object was never freed");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A freed old object held the only count of a young one, which only
 * another young object refers to: its count drops to zero, but the next
 * collection point, not the drain, decides whether it lives. */
Test(refcount_pauses, a_young_object_a_freed_one_counted_is_not_freed) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *holder = old_in_the_zct(heap, &t, 0);
  gc_ref *young_parent = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_ref child = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, child, VALUE, 9);
  gc_set_ref(heap, *young_parent, LEFT, child);
  gc_set_ref(heap, *holder, LEFT, child); /* counted: the holder is old */
  cr_assert_eq(gc_refcount_test_count(heap, child), 1);
  *holder = NULL; /* the holder dies in the pause, and uncounts child */
  gc_refcount_test_drain_pause(heap, 1000);
  child = gc_get_ref(heap, *young_parent, LEFT);
  cr_assert_eq(gc_refcount_test_count(heap, child), 0);
  cr_assert_eq(gc_get_i64(heap, child, VALUE), 9);
  gc_collect(heap);
  cr_assert_eq(gc_get_i64(heap, gc_get_ref(heap, *young_parent, LEFT), VALUE),
               9);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A young weak reference to an old object the pause frees reads NULL
 * after it, whether the weak reference then lives (a root holds it) or
 * dies young at the next point (which unlinks it from a target that is
 * gone). */
Test(refcount_pauses, young_weak_references_to_what_a_pause_frees_clear) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *target = old_in_the_zct(heap, &t, 3);
  gc_ref *kept = gc_global(heap, gc_new_weak(heap, *target));
  gc_new_weak(heap, *target); /* dies young */
  cr_assert_eq(gc_get_i64(heap, gc_weak_get(heap, *kept), VALUE), 3);
  *target = NULL;
  gc_refcount_test_drain_pause(heap, 1000);
  cr_assert_null(gc_weak_get(heap, *kept));
  gc_collect(heap);
  cr_assert_null(gc_weak_get(heap, *kept));
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

static int destroyed;
static void count_destroy(void *ptr, void *ud) {
  destroyed++;
}

/* An old resource that dies runs its destructor in the drain pause that
 * frees it, once: not again at the next point, nor at teardown. One that
 * a young object holds is kept. */
Test(refcount_pauses, a_resource_freed_in_a_pause_is_destroyed_once) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  destroyed = 0;
  gc_ref *dying =
      gc_global(heap, gc_new_resource(heap, NULL, count_destroy, NULL));
  gc_ref *held =
      gc_global(heap, gc_new_resource(heap, NULL, count_destroy, NULL));
  gc_collect(heap); /* both old, each in the ZCT (only a global holds it) */
  gc_ref *young = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *young, LEFT, *held);
  *dying = NULL;
  *held = NULL;
  gc_refcount_test_drain_pause(heap, 1000);
  cr_assert_eq(destroyed, 1);
  gc_collect(heap);
  cr_assert_eq(destroyed, 1);
  gc_set_ref(heap, *young, LEFT, NULL);
  gc_collect(heap);
  cr_assert_eq(destroyed, 2);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
  cr_assert_eq(destroyed, 2);
}

/* A list of n pairs held by *head. */
static void make_list(gc_heap *heap, struct types *t, gc_ref *head, int n) {
  for (int i = 0; i < n; i++) {
    gc_ref node = gc_new_struct(heap, t->pair);
    gc_set_ref(heap, node, LEFT, *head);
    *head = node;
  }
}

/* Allocates about mb megabytes of garbage (arrays of bytes). */
static void allocate_garbage(gc_heap *heap, gc_type bytes, int mb) {
  for (int i = 0; i < mb * 125; i++)
    gc_new_array(heap, bytes, 8000);
}

/* A backlog of 1000 dead old objects, of which a collection point drains
 * only 100 (the drain's bound set to 100 until the caller resets it), so
 * that drain pauses are due. */
static void leave_a_backlog(gc_heap *heap, struct types *t) {
  gc_ref *list = gc_global(heap, NULL);
  make_list(heap, t, list, 1000);
  gc_collect(heap); /* old, every node counted */
  *list = NULL;
  gc_refcount_test_set_drain_budget(heap, 100);
  gc_refcount_test_end_budget(heap);
  gc_new_struct(heap, t->pair); /* a point: frees 100 */
}

/* A point whose drain stops at its bound hands the rest to two drain
 * pauses, which come after a third and two thirds of the next budget
 * (here after 3 and 6 MB of garbage; a point needs 8 MiB), and free more
 * of it each. */
Test(refcount_pauses, a_cut_drain_goes_on_in_pauses_through_the_next_budget) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  uint64_t baseline = live_bytes(heap);
  leave_a_backlog(heap, &t);
  cr_assert_gt(live_bytes(heap), baseline + 800 * 24,
               "the point drained it all");
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 0);
  uint64_t collections = harness_stats(heap).collections;
  uint64_t after_point = gc_refcount_test_old_objects(heap);
  allocate_garbage(heap, bytes, 3);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1);
  uint64_t after_first = gc_refcount_test_old_objects(heap);
  cr_assert_lt(after_first, after_point, "the first pause freed nothing");
  cr_assert_gt(after_first, after_point - 200, "it went past its bound");
  allocate_garbage(heap, bytes, 3);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 2);
  uint64_t after_second = gc_refcount_test_old_objects(heap);
  cr_assert_lt(after_second, after_first, "the second pause freed nothing");
  cr_assert_gt(after_second, after_first - 200, "it went past its bound");
  cr_assert_eq(harness_stats(heap).collections, collections + 2,
               "a collection point came before the drain pauses");
  allocate_garbage(heap, bytes, 3);
  cr_assert_eq(harness_stats(heap).collections, collections + 3,
               "no collection point at the end of the budget");
  gc_refcount_test_set_drain_budget(heap, 0);
  collect_back_to(heap, baseline, "what the test dropped");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A drain pause that empties the ZCT hands the threads the rest of the
 * budget at once: a second pause would have nothing to free. */
Test(refcount_pauses, a_pause_that_drains_everything_ends_the_drain_pauses) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  leave_a_backlog(heap, &t);
  gc_refcount_test_set_drain_budget(heap, 0); /* the pauses' own bound */
  cr_assert_gt(gc_refcount_test_old_objects(heap), 800);
  uint64_t collections = harness_stats(heap).collections;
  allocate_garbage(heap, bytes, 3);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1);
  cr_assert_eq(gc_refcount_test_old_objects(heap), 0,
               "the pause left some of the backlog");
  allocate_garbage(heap, bytes, 3);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1,
               "a second pause came after the ZCT was drained");
  cr_assert_eq(harness_stats(heap).collections, collections + 1);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A second thread, attached and blocked (it holds up no pause) until
 * stage 2: while it is attached, stores are logged, not counted. */
struct guest {
  struct harness_handoff handoff;
  gc_heap *heap;
};

static void *blocked_guest(void *arg) {
  struct guest *g = arg;
  gc_heap *mine = gc_thread_attach(g->heap, NULL, 0);
  if (mine)
    gc_blocking_begin(mine);
  harness_set_stage(&g->handoff, mine ? 1 : 3);
  harness_wait_for_stage(NULL, &g->handoff, 2);
  if (mine) {
    gc_blocking_end(mine);
    gc_thread_detach(mine);
  }
  return NULL;
}

/* With two threads attached, the stores since the last point are in the
 * threads' logs: a drain pause counts them before it frees anything (a
 * store that dropped an object's last reference frees it; one that added
 * a reference keeps its target). verify=1 compares every count with the
 * heap before and after the pause. */
Test(refcount_pauses, a_drain_pause_counts_the_logged_stores_first) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_ref *list = gc_global(heap, NULL);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  make_list(heap, &t, list, 1000);
  gc_collect(heap);
  struct guest guest = {HARNESS_HANDOFF_INIT, heap};
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, blocked_guest, &guest), 0);
  harness_wait_for_stage(heap, &guest.handoff, 1);
  cr_assert_eq(guest.handoff.stage, 1, "the second thread could not attach");
  gc_ref first = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, first, VALUE, 5);
  gc_set_ref(heap, *holder, LEFT, first); /* logged */
  *list = NULL;
  gc_refcount_test_set_drain_budget(heap, 100);
  gc_refcount_test_end_budget(heap);
  gc_new_struct(heap, t.pair); /* a point: the drain is cut */
  gc_ref second = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, second, VALUE, 6);
  gc_set_ref(heap, *holder, RIGHT, second); /* logged */
  gc_set_ref(heap, *holder, LEFT, NULL);    /* logged: first dies */
  uint64_t collections = harness_stats(heap).collections;
  /* Past the whole 8 MiB budget: the drain pause (which frees the whole
   * backlog, so no second one comes), then the point at its end. */
  allocate_garbage(heap, bytes, 10);
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1);
  cr_assert_eq(harness_stats(heap).collections, collections + 1);
  cr_assert_eq(gc_get_i64(heap, gc_get_ref(heap, *holder, RIGHT), VALUE), 6);
  harness_set_stage(&guest.handoff, 2);
  gc_blocking_begin(heap);
  pthread_join(thread, NULL);
  gc_blocking_end(heap);
  gc_refcount_test_set_drain_budget(heap, 0);
  gc_set_ref(heap, *holder, RIGHT, NULL);
  collect_back_to(heap, baseline, "what the test dropped");
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Without memory to list the old objects young ones refer to, a drain
 * pause frees nothing (the next point drains): an old object that only a
 * young one holds must survive it. Were the pause to drain anyway, it
 * would free the object (verify=1 poisons the cell, and the next
 * collection traps the young object's reference to it). */
Test(refcount_pauses, a_pause_without_memory_frees_nothing) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *young = young_holding_the_only_reference(heap, &t, 7);
  gc_test_allocation_reset();
  gc_test_fail_allocation(1); /* the list's first growth */
  gc_refcount_test_drain_pause(heap, 1000);
  long attempts = gc_test_allocation_count();
  gc_test_allocation_reset();
  cr_assert_geq(attempts, 1, "the pause did not try to grow the list");
  cr_assert_eq(gc_get_i64(heap, gc_get_ref(heap, *young, LEFT), VALUE), 7);
  gc_collect(heap);
  cr_assert_eq(gc_get_i64(heap, gc_get_ref(heap, *young, LEFT), VALUE), 7);
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* A drain pause that stops early puts the rooted zero-count entries it
 * kept back into the table. Without memory for them there, they leave the
 * table and the next point scans the heap for zero counts: once the roots
 * go, they are freed (verify=1 also traps a zero count that is neither in
 * the table nor covered by the scan). Here the pause keeps K rooted entries,
 * then frees an array whose M rooted elements reach zero and join the
 * table, and a second object, which stops it: K + M entries then need more
 * room than the table's 4096. */
Test(refcount_pauses, kept_entries_without_room_after_a_pause_are_freed) {
  enum { K = 3000, M = 3000 };
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *holder = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *kept = gc_root(heap, gc_new_array(heap, t.refs, K));
  for (uint64_t i = 0; i < K; i++)
    gc_set_ref(heap, *kept, i, *gc_root(heap, gc_new_struct(heap, t.pair)));
  gc_ref *array = gc_root(heap, gc_new_array(heap, t.refs, M + 1));
  gc_set_ref(heap, *array, 0, gc_new_struct(heap, t.pair)); /* freed last */
  for (uint64_t i = 1; i <= M; i++)
    gc_set_ref(heap, *array, i, *gc_root(heap, gc_new_struct(heap, t.pair)));
  gc_set_ref(heap, *holder, LEFT, *array);
  *array = NULL;
  /* A dead array as long first, so that the drain's stack has the room. */
  gc_ref *dead = gc_root(heap, gc_new_array(heap, t.refs, M + 1));
  for (uint64_t i = 0; i <= M; i++)
    gc_set_ref(heap, *dead, i, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *holder, RIGHT, *dead);
  *dead = NULL;
  gc_collect(heap); /* all old */
  gc_set_ref(heap, *holder, RIGHT, NULL);
  gc_collect(heap);
  gc_set_ref(heap, *holder, LEFT, NULL); /* the array, then K on top */
  for (uint64_t i = 0; i < K; i++)
    gc_set_ref(heap, *kept, i, NULL);
  gc_test_allocation_reset();
  gc_test_fail_allocation(1);
  gc_refcount_test_drain_pause(heap, 1); /* stops after two frees */
  gc_test_allocation_reset();
  cr_assert_eq(gc_refcount_test_drain_pauses(heap), 1);
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}
