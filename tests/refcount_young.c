/* refcount_young.c — young objects in the refcount collector
 * (refcount-young.c): an object allocated since the last collection point is
 * not counted; the next collection point promotes what the roots and old
 * objects reach and frees the rest from the blocks' young bitmaps without
 * reading it. These tests check what that must not lose: objects only an old
 * object holds, destructors of resources that die young, weak references to and
 * from young objects, large young objects, young cycles, the fallback when
 * the remembered list cannot grow, and the mark that keeps the subtrees of a
 * tree built across collection points out of trial deletion.
 *
 * Every heap has verify=1 (harness_new_heap), so each collection point
 * also recomputes every count and checks every reference is live. */
#include "harness.h"
#include "refcount-fixture.h"

#include <gcheap-testing.h>
#include <refcount/refcount-testing.h>

static int destroyed;
static void count_destroy(void *ptr, void *ud) {
  destroyed++;
}

/* An object that only an old object's field holds (no root) survives the
 * collection point: the store counted it and listed it as remembered. */
Test(refcount_young, held_only_by_an_old_object_survives) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap); /* holder is old */
  gc_ref young = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, young, VALUE, 42);
  gc_set_ref(heap, *holder, LEFT, young);
  cr_assert_eq(gc_refcount_test_count(heap, young), 1);
  /* A young subtree below it is reached through it. */
  gc_set_ref(heap, young, RIGHT, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  gc_ref kept = gc_get_ref(heap, *holder, LEFT);
  cr_assert_eq(gc_get_i64(heap, kept, VALUE), 42);
  gc_ref below = gc_get_ref(heap, kept, RIGHT);
  cr_assert_not_null(below);
  cr_assert_eq(gc_refcount_test_count(heap, below), 1);
  harness_free_heap(heap);
}

/* A young object stored into an old one and removed again before the
 * collection point dies there, as if it had never been stored. */
Test(refcount_young, remembered_then_dropped_dies) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_set_ref(heap, *holder, LEFT, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *holder, LEFT, NULL);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}

/* Without memory for the remembered list, the collection point looks at
 * every young object's count instead: the object survives all the same.
 * (Were it swept, verify would find the holder's field pointing at a freed
 * cell.) */
Test(refcount_young, remembered_list_without_memory) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  gc_ref young = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, young, VALUE, 7);
  store_without_memory(heap, *holder, RIGHT, young, "the remembered list");
  gc_collect(heap);
  gc_ref kept = gc_get_ref(heap, *holder, RIGHT);
  cr_assert_eq(kept, young);
  cr_assert_eq(gc_get_i64(heap, kept, VALUE), 7);
  cr_assert_eq(gc_refcount_test_count(heap, kept), 1);
  harness_free_heap(heap);
}

/* Resources that die young run their destructor once, at the collection
 * point; a promoted one only when it dies later. */
Test(refcount_young, resources_dying_young_are_destroyed_once) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t); /* the counts need it */
  destroyed = 0;
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_ref *keep = gc_global(heap, gc_new_struct(heap, t.pair));
  for (int i = 0; i < 100; i++) {
    gc_ref holder = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, holder, LEFT,
               gc_new_resource(heap, NULL, count_destroy, NULL));
  }
  gc_set_ref(heap, *keep, LEFT,
             gc_new_resource(heap, NULL, count_destroy, NULL));
  cr_assert_eq(destroyed, 0);
  gc_collect(heap);
  cr_assert_eq(destroyed, 100);
  gc_collect(heap);
  cr_assert_eq(destroyed, 100);
  *keep = NULL;
  gc_collect(heap);
  cr_assert_eq(destroyed, 101);
  cr_assert_eq(live_bytes(heap), baseline);
  harness_free_heap(heap);
  cr_assert_eq(destroyed, 101);
}

/* Weak references and young objects, every way round: a young target that
 * dies young is cleared; a young weak reference that dies young leaves its
 * (old) target's list, which then still clears the others. */
Test(refcount_young, weak_references_to_and_from_young_objects) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *old_target = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_ref *kept_weak = gc_global(heap, gc_new_weak(heap, *old_target));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_ref *young_target_weak = gc_global(heap, NULL);
  {
    gc_scope s = gc_scope_open(heap);
    gc_ref *young = gc_root(heap, gc_new_struct(heap, t.pair));
    *young_target_weak = gc_new_weak(heap, *young);
    for (int i = 0; i < 10; i++) /* weak references that die young */
      gc_new_weak(heap, i % 2 ? *young : *old_target);
    cr_assert_eq(gc_weak_get(heap, *young_target_weak), *young);
    gc_scope_close(heap, s);
  }
  gc_collect(heap);
  cr_assert_null(gc_weak_get(heap, *young_target_weak));
  cr_assert_eq(gc_weak_get(heap, *kept_weak), *old_target);
  *young_target_weak = NULL;
  *old_target = NULL;
  gc_collect(heap);
  cr_assert_null(gc_weak_get(heap, *kept_weak));
  *kept_weak = NULL;
  gc_collect(heap);
  cr_assert_lt(live_bytes(heap), baseline);
  harness_free_heap(heap);
}

/* Large objects (their own mapping) die young or are promoted like the
 * others. */
Test(refcount_young, large_young_objects) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_new_array(heap, t.refs, 5000); /* > 8 KiB, dies young */
  gc_ref big = gc_new_array(heap, t.refs, 3000);
  gc_set_ref(heap, big, 2999, *holder);
  gc_set_ref(heap, *holder, LEFT, big); /* remembered */
  gc_collect(heap);
  big = gc_get_ref(heap, *holder, LEFT);
  cr_assert_eq(gc_array_len(heap, big), 3000);
  cr_assert_eq(gc_get_ref(heap, big, 2999), *holder);
  /* Promoted: its field now counts (holder <-> big is a cycle). */
  cr_assert_eq(gc_refcount_test_count(heap, *holder), 1);
  gc_set_ref(heap, *holder, LEFT, NULL);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}

/* Cycles among young objects: one that dies young costs nothing; one that
 * an old object held at the collection point is promoted, and found by
 * trial deletion once that reference goes. */
Test(refcount_young, young_cycles_die_young_or_are_found_later) {
  struct types t;
  gc_heap *heap = new_heap(NULL, &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  for (int promoted = 0; promoted < 2; promoted++) {
    gc_scope s = gc_scope_open(heap);
    gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_ref *y = gc_root(heap, gc_new_struct(heap, t.pair));
    gc_set_ref(heap, *x, LEFT, *y);
    gc_set_ref(heap, *y, LEFT, *x);
    gc_set_ref(heap, *holder, LEFT, *x);
    gc_scope_close(heap, s);
    if (promoted) {
      gc_collect(heap);
      cr_assert_gt(live_bytes(heap), baseline);
    }
    gc_set_ref(heap, *holder, LEFT, NULL);
    gc_collect(heap);
    cr_assert_eq(live_bytes(heap), baseline, "promoted=%d: %llu bytes left",
                 promoted, (unsigned long long)(live_bytes(heap) - baseline));
  }
  harness_free_heap(heap);
}

/* verify=1 checks young objects' counts too: references from old objects'
 * fields are counted whatever the target's age. */
Test(refcount_young, verify_checks_young_counts) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  gc_ref young = gc_new_struct(heap, t.pair);
  gc_set_ref(heap, *holder, LEFT, young);
  gc_refcount_test_set_count(heap, young, 3);
  gc_collect(heap);
  EXPECT_TRAP(GC_TRAP_INVARIANT, "has stored ref count 3 but true count 1");
  gc_refcount_test_set_count(heap, young, 1);
  gc_collect(heap);
  EXPECT_NO_TRAP();
  cr_assert_eq(gc_get_ref(heap, *holder, LEFT), young);
  harness_free_heap(heap);
}

/* Copies and fills into a young array are plain: nothing is counted until
 * the array is promoted, and then every element is. */
Test(refcount_young, young_array_stores_counted_at_promotion) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_scope s = gc_scope_open(heap);
  gc_ref *x = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap); /* x old */
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, 8));
  gc_array_fill_ref(heap, *arr, 0, 4, *x);
  gc_array_copy(heap, *arr, 4, *arr, 0, 3);
  cr_assert_eq(gc_refcount_test_count(heap, *x), 0);
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_count(heap, *x), 7);
  gc_array_fill_ref(heap, *arr, 0, 8, NULL); /* old now: counted */
  cr_assert_eq(gc_refcount_test_count(heap, *x), 0);
  gc_scope_close(heap, s);
  harness_free_heap(heap);
}

/* A young cycle that a root holds at an allocation's collection point (no
 * trial deletion there, so nothing rebuffers rooted objects) is promoted
 * with counts that nothing will ever decrement: only the promotion search
 * (refcount-young.c) makes it a candidate. Then the roots go, and one
 * gc_collect must reclaim it. A self-referencing array and a ring. */
Test(refcount_young, promoted_cycle_found_by_the_promotion_search) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *arr = gc_root(heap, gc_new_array(heap, t.refs, 3));
  gc_set_ref(heap, *arr, 1, *arr);
  gc_ref *first = gc_root(heap, gc_new_struct(heap, t.pair));
  gc_ref *last = gc_root(heap, *first);
  for (int i = 0; i < 100; i++) {
    gc_ref n = gc_new_struct(heap, t.pair);
    gc_set_ref(heap, *last, RIGHT, n);
    *last = n;
  }
  gc_set_ref(heap, *last, RIGHT, *first);
  *last = NULL;
  collect_by_allocation(heap, bytes);
  cr_assert_eq(gc_refcount_test_count(heap, *arr), 1); /* promoted */
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "the cycles");
  harness_free_heap(heap);
}

/* A tree built bottom-up across collection points (binary-trees' way):
 * each finished subtree waits in a root slot, is promoted there with a
 * zero count, and is counted when its parent is promoted from the roots
 * at a later point. That count closes no cycle (no old object reaches a
 * new one promoted from the roots), so the subtree root leaves the ZCT
 * without becoming a candidate; trial deletion had walked each such
 * subtree whole (2 million objects at binary-trees 21). */
static gc_ref build_across_points(gc_heap *heap, struct types *t,
                                  gc_ref **level, int depth,
                                  size_t *most_candidates) {
  if (depth == 0)
    return gc_new_struct(heap, t->pair);
  *level[2 * depth] =
      build_across_points(heap, t, level, depth - 1, most_candidates);
  *level[2 * depth + 1] =
      build_across_points(heap, t, level, depth - 1, most_candidates);
  gc_refcount_test_end_budget(heap); /* the subtrees are old from here on */
  gc_ref node = gc_new_struct(heap, t->pair);
  gc_set_ref(heap, node, LEFT, *level[2 * depth]);
  gc_set_ref(heap, node, RIGHT, *level[2 * depth + 1]);
  *level[2 * depth] = *level[2 * depth + 1] = NULL;
  /* Trial deletion may run at any point and take the buffer: look now. */
  size_t candidates = gc_refcount_test_candidates(heap);
  if (candidates > *most_candidates)
    *most_candidates = candidates;
  return node;
}

Test(refcount_young, a_tree_built_across_collection_points_makes_no_candidate) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  size_t candidates = gc_refcount_test_candidates(heap), most = candidates;
  gc_scope s = gc_scope_open(heap);
  enum { DEPTH = 8 };
  gc_ref *level[2 * DEPTH + 2];
  for (int i = 0; i < 2 * DEPTH + 2; i++)
    level[i] = gc_root(heap, NULL);
  gc_ref *tree =
      gc_root(heap, build_across_points(heap, &t, level, DEPTH, &most));
  gc_refcount_test_end_budget(heap);
  gc_new_struct(heap, t.pair); /* promotes the root: every count is in */
  cr_assert_eq(gc_refcount_test_count(heap, gc_get_ref(heap, *tree, LEFT)), 1);
  cr_assert_eq(most, candidates, "%zu candidates from a tree",
               most - candidates);
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}

/* The mark that spares such an object is a promise about its referrers
 * then; once they are gone (its count back at zero), a store that closes
 * a cycle through it must make it a candidate as for any object only
 * roots held. Here the drain stops before its entry
 * (counted_by_a_new_object), its new referrer lets go, and the store
 * l.left.left = l closes l -> l.left -> l; then the roots go. */
Test(refcount_young, counted_by_a_new_object_then_let_go_is_a_candidate_again) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *l, *p;
  counted_by_a_new_object(heap, &t, &l, &p);
  gc_set_ref(heap, *p, LEFT, NULL);                       /* l: 0 */
  gc_set_ref(heap, gc_get_ref(heap, *l, LEFT), LEFT, *l); /* l: 1 */
  cr_assert_not(gc_refcount_test_new_referrers(heap, *l));
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "the cycle");
  harness_free_heap(heap);
}
