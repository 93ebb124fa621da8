/* tracing_parallel.c — marking on several threads (gc-threads, tracing's
 * tracing-parallel.c) marks exactly what marking alone does.
 *
 * The graphs are made for races: every tree node also points into one
 * shared array of shared nodes, so that markers meet on the same objects
 * all the time, and a long reference array is scanned in slices whose
 * continuations travel between markers in packets. verify=1 (the harness
 * default) then checks, after every mark, that each marked object points
 * only to marked ones; and the program reads every node back. */
#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <gcheap-testing.h>
#include <tracing/tracing-testing.h>

enum { LEFT, RIGHT, SHARED, ID };
static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_REF,
                                     GC_KIND_I64};
enum { TREES = 48, DEPTH = 10, SHARED_NODES = 256 };

struct graph {
  gc_heap *heap;
  gc_type node, refs;
  gc_ref *dir, *shared, *level[DEPTH + 1];
};

/* A complete tree of depth d in *g->level[d] whose nodes hold id and point
 * at shared nodes. */
static void build_tree(struct graph *g, int d, int64_t id) {
  gc_heap *h = g->heap;
  *g->level[d] = gc_new_struct(h, g->node);
  gc_set_i64(h, *g->level[d], ID, id);
  gc_set_ref(h, *g->level[d], SHARED,
             gc_get_ref(h, *g->shared, (size_t)(id * 7 + d) % SHARED_NODES));
  if (d == 0)
    return;
  for (int side = LEFT; side <= RIGHT; side++) {
    build_tree(g, d - 1, id);
    gc_set_ref(h, *g->level[d], side, *g->level[d - 1]);
  }
}

/* Nodes of the tree under node holding id, each pointing at a shared node
 * holding its index; -1 if any is wrong. */
static long count_tree(gc_heap *h, gc_ref node, int64_t id) {
  if (!node)
    return 0;
  gc_ref shared = gc_get_ref(h, node, SHARED);
  if (gc_get_i64(h, node, ID) != id || !shared ||
      gc_get_i64(h, shared, ID) < 0 ||
      gc_get_i64(h, shared, ID) >= SHARED_NODES)
    return -1;
  long left = count_tree(h, gc_get_ref(h, node, LEFT), id);
  long right = count_tree(h, gc_get_ref(h, node, RIGHT), id);
  return left < 0 || right < 0 ? -1 : 1 + left + right;
}

/* A heap of the test's options whose marks call helpers from 4096
 * objects on, not PARALLEL_AFTER: the graphs here are far smaller. */
static gc_heap *parallel_heap(const char *options) {
  gc_heap *heap = harness_new_heap("tracing", options);
  gc_tracing_test_set_parallel_after(heap, 4096);
  return heap;
}

/* Builds `trees` trees in g's directory, with garbage trees in between. */
static void build_graph(struct graph *g, gc_heap *heap, int trees) {
  *g = (struct graph){.heap = heap,
                      .node = gc_type_struct(heap, "node", 4, node_kinds),
                      .refs = gc_type_array(heap, "refs", GC_KIND_REF)};
  g->dir = gc_root(heap, gc_new_array(heap, g->refs, (size_t)trees));
  g->shared = gc_root(heap, gc_new_array(heap, g->refs, SHARED_NODES));
  for (int d = 0; d <= DEPTH; d++)
    g->level[d] = gc_root(heap, NULL);
  for (int i = 0; i < SHARED_NODES; i++) {
    gc_ref node = gc_new_struct(heap, g->node);
    gc_set_i64(heap, node, ID, i);
    gc_set_ref(heap, *g->shared, (size_t)i, node);
  }
  for (int i = 0; i < trees; i++) {
    build_tree(g, DEPTH, i);
    gc_set_ref(heap, *g->dir, (size_t)i, *g->level[DEPTH]);
    build_tree(g, DEPTH / 2, -1); /* garbage */
  }
}

static void check_graph(struct graph *g, int trees) {
  for (int i = 0; i < trees; i++)
    CHECK_EQ(count_tree(g->heap, gc_get_ref(g->heap, *g->dir, (size_t)i), i),
             (1 << (DEPTH + 1)) - 1);
}

/* Builds the graph, collects, checks it, and returns the live bytes after
 * a last collection; also how many marks had helpers, and how many packets
 * of references the markers sent each other. */
static uint64_t mark_graph(const char *options, uint64_t *parallel_marks,
                           uint64_t *packets_sent) {
  gc_heap *heap = parallel_heap(options);
  gc_scope scope = gc_scope_open(heap);
  struct graph g;
  build_graph(&g, heap, TREES);
  harness_collect(heap);
  /* A long array of references to the trees' nodes: its slices and their
   * continuations are split between markers. */
  gc_ref *many = gc_root(heap, gc_new_array(heap, g.refs, 50000));
  for (size_t i = 0; i < 50000; i++)
    gc_set_ref(heap, *many, i, gc_get_ref(heap, *g.shared, i % SHARED_NODES));
  harness_collect(heap);
  harness_collect(heap);
  check_graph(&g, TREES);
  for (size_t i = 0; i < 50000; i += 997)
    CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *many, i), ID),
             (int64_t)(i % SHARED_NODES));
  gc_stats stats = harness_stats(heap);
  *parallel_marks = gc_tracing_test_parallel_marks(heap);
  *packets_sent = gc_tracing_test_packets_sent(heap);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
  return stats.live_bytes;
}

/* Each object is marked by one marker, its owner: the live bytes, which
 * the markers count as they mark, are exactly those of marking alone (a
 * marker that marked an object another one also marked would count it
 * twice), and references travel between the markers. */
Test(tracing_parallel, four_markers_keep_exactly_what_one_keeps) {
  SKIP_WITHOUT_COLLECTOR("tracing");
  uint64_t alone_marks, parallel_marks, alone_packets, parallel_packets;
  uint64_t alone =
      mark_graph("stress=0,gc-threads=1", &alone_marks, &alone_packets);
  uint64_t parallel =
      mark_graph("stress=0,gc-threads=4", &parallel_marks, &parallel_packets);
  CHECK_EQ(alone_marks, 0);
  CHECK_EQ(alone_packets, 0);
  /* The graph is large enough for helpers at each gc_collect, and at the
   * collections its allocation triggers. */
  CHECK(parallel_marks >= 3);
  CHECK(parallel_packets >= parallel_marks);
  CHECK_EQ(parallel, alone);
}

/* A helper on a slow core (here: one that sleeps 1 us for each object
 * it marks) marks fewer objects per nanosecond, so the next marks give it
 * fewer of them, and more again once it is fast (tracing-parallel.c,
 * "Shares"). Whatever the shares, the marks keep exactly the same bytes.
 * (The shares the graph's own collections leave are not checked: with
 * verify=1, marks this small measure the markers' speeds only roughly.) */
Test(tracing_parallel, a_slow_marker_gets_a_smaller_share) {
  SKIP_WITHOUT_COLLECTOR("tracing");
  enum { MANY_TREES = 4 * TREES }; /* each marker's part measurable */
  gc_heap *heap = parallel_heap("stress=0,gc-threads=2");
  gc_scope scope = gc_scope_open(heap);
  struct graph g;
  build_graph(&g, heap, MANY_TREES);
  harness_collect(heap);
  uint64_t live = harness_stats(heap).live_bytes;
  double before = gc_tracing_test_marker_share(heap, 1);
  gc_tracing_test_slow_marker(heap, 1, 1000);
  for (int i = 0; i < 6; i++)
    harness_collect(heap);
  double slow = gc_tracing_test_marker_share(heap, 1);
  cr_assert(slow < 0.25, "the slow helper's share is %.3f (%.3f before)", slow,
            before);
  cr_assert(fabs(gc_tracing_test_marker_share(heap, 0) + slow - 1) < 1e-9);
  CHECK_EQ(harness_stats(heap).live_bytes, live);
  gc_tracing_test_slow_marker(heap, 0, 0);
  for (int i = 0; i < 4; i++)
    harness_collect(heap);
  double recovered = gc_tracing_test_marker_share(heap, 1);
  cr_assert(recovered > slow + 0.1,
            "the helper's share is %.3f once fast again (%.3f when slow)",
            recovered, slow);
  CHECK_EQ(harness_stats(heap).live_bytes, live);
  check_graph(&g, MANY_TREES);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* A heap holding a graph of FEW_TREES trees, marked in parallel from its
 * next collection on: collect(heap, nth) collects with the nth allocation
 * (of the markers it chooses) failing, and says whether a collection was
 * voided (an OOM trap, consumed). The graph must be whole after it, and
 * the next collection must keep all of it: *live bytes, the first heap's. */
enum { FEW_TREES = 8 };

static bool graph_survives_a_fault(long nth,
                                   bool (*collect)(gc_heap *heap, long nth),
                                   uint64_t *live) {
  gc_heap *heap = harness_new_heap("tracing", "stress=0,gc-threads=2");
  gc_tracing_test_set_parallel_after(heap, UINT64_MAX);
  gc_scope scope = gc_scope_open(heap);
  struct graph g;
  build_graph(&g, heap, FEW_TREES);
  /* The first parallel mark, so that the pool is made in it. */
  gc_tracing_test_set_parallel_after(heap, 4096);
  bool voided = collect(heap, nth);
  check_graph(&g, FEW_TREES);
  harness_collect(heap);
  check_graph(&g, FEW_TREES);
  gc_stats stats = harness_stats(heap);
  if (!*live)
    *live = stats.live_bytes;
  CHECK_EQ(stats.live_bytes, *live);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
  return voided;
}

static bool voided_by_the_last_collection(void) {
  if (!harness_traps.pending)
    return false;
  EXPECT_TRAP(GC_TRAP_OOM, "collection abandoned");
  return true;
}

static bool collect_with_a_fault_here(gc_heap *heap, long nth) {
  gc_test_fail_allocation(nth);
  gc_collect(heap);
  gc_test_allocation_reset();
  return voided_by_the_last_collection();
}

/* The collecting thread's marker needs memory as a parallel mark starts:
 * the pool and its helpers, the packets it sends. Each of those
 * allocations made to fail in turn either leaves the mark alone (no pool)
 * or voids the collection (an OOM trap, nothing freed, P3): the graph is
 * whole afterwards and the next collection keeps all of it. */
Test(tracing_parallel, failed_allocations_in_a_parallel_mark_free_nothing) {
  SKIP_WITHOUT_COLLECTOR("tracing");
  int abandoned = 0;
  uint64_t live = 0;
  for (long nth = 1; nth <= 40; nth++)
    abandoned += graph_survives_a_fault(nth, collect_with_a_fault_here, &live);
  CHECK(abandoned > 0); /* the failure path ran */
}

/* Whether a helper takes work at all depends on timing: the mark runs
 * again until a helper met its fault, 20 times at most. */
static bool collect_with_a_fault_in_the_helpers(gc_heap *heap, long nth) {
  gc_tracing_test_fail_helper_allocations(heap, nth);
  bool voided = false;
  for (int attempt = 0; attempt < 20 && !voided; attempt++) {
    gc_collect(heap);
    voided = voided_by_the_last_collection();
  }
  gc_tracing_test_fail_helper_allocations(heap, 0);
  return voided;
}

/* The same for the helper threads' own allocations (their mark stacks,
 * the packets they take in and send). */
Test(tracing_parallel, failed_allocations_in_a_helper_free_nothing) {
  SKIP_WITHOUT_COLLECTOR("tracing");
  int abandoned = 0;
  uint64_t live = 0;
  for (long nth = 1; nth <= 4; nth++)
    abandoned +=
        graph_survives_a_fault(nth, collect_with_a_fault_in_the_helpers, &live);
  cr_log_info("a helper's fault voided the collection for %d of 4 points",
              abandoned);
  CHECK(abandoned > 0); /* the failure path ran */
}

/* ---- The remembered set across threads ------------------------------------
 */

struct handover {
  gc_heap *heap;
  gc_ref *old_array; /* a global, old after a full collection */
  gc_type node;
  char failure[320];
};

/* Stores young nodes into the old array, so that this thread's barrier
 * remembers it on its own list, then detaches: the list must go to the
 * heap (tracing.h, I4), or the next minor collection would not trace the
 * array and would free the young nodes it holds. */
static void *store_young_then_detach(void *arg) {
  struct handover *h = arg;
  char err[256];
  gc_heap *mine = gc_thread_attach(h->heap, err, sizeof err);
  if (!mine) {
    snprintf(h->failure, sizeof h->failure, "attach: %s", err);
    return NULL;
  }
  for (size_t i = 0; i < 8; i++) {
    gc_ref young = gc_new_struct(mine, h->node);
    gc_set_i64(mine, young, ID, 1000 + (int64_t)i);
    gc_set_ref(mine, *h->old_array, i, young);
  }
  gc_thread_detach(mine);
  return NULL;
}

Test(tracing_parallel, a_detached_threads_remembered_objects_are_traced) {
  SKIP_WITHOUT_COLLECTOR("tracing");
  gc_heap *heap = harness_new_heap("tracing", "stress=0");
  struct handover h = {.heap = heap,
                       .node = gc_type_struct(heap, "node", 4, node_kinds)};
  h.old_array = gc_global(
      heap, gc_new_array(heap, gc_type_array(heap, "refs", GC_KIND_REF), 8));
  harness_collect(heap); /* full: the array is old (marked) from here on */
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, store_young_then_detach, &h), 0);
  gc_blocking_begin(heap);
  pthread_join(thread, NULL);
  gc_blocking_end(heap);
  cr_assert(!h.failure[0], "%s", h.failure);
  /* Minor: traces the roots and the remembered set only. Had the
   * thread's list been dropped, the array would not be traced and the
   * young nodes would be freed (verify=1 traps at the first read). */
  gc_tracing_test_collect_minor(heap);
  for (size_t i = 0; i < 8; i++)
    CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *h.old_array, i), ID),
             1000 + (int64_t)i);
  harness_free_heap(heap);
}
