/* Regression 1 — sweep after free (AtomVM's refc_binary use-after-free when
 * a context was destroyed).
 *
 * Resources referenced from a dying object graph and from each other (their
 * native payloads point at one another, and several objects share one
 * resource) are destroyed by a collection and, for the rest, by gc_heap_free.
 * Each destructor checks its payload's canary and frees it: a destructor run
 * twice, or run on memory gcheap already reused, shows up as a canary
 * mismatch, a count other than one, or (under ASan / valgrind) a double
 * free. The buggy behaviour this fails on: a heap teardown that sweeps
 * objects a collection already freed, or runs a destructor again. */
#include "harness.h"

#include <stdlib.h>

enum { GRAPHS = 12, PER_GRAPH = 24 };
#define CANARY UINT64_C(0xfeedfacecafebeef)

struct payload {
  uint64_t canary;
  int id;
  struct payload *peer; /* another resource's payload (native cross link) */
};

static int runs[GRAPHS * PER_GRAPH];
static int total_runs;

static void destroy_payload(void *ptr, void *ud) {
  struct payload *p = ptr;
  cr_assert_eq(p->canary, CANARY, "destructor on a dead payload (id %d)",
               p->id);
  cr_assert(ud == (void *)p, "destructor got the wrong ud");
  runs[p->id]++;
  total_runs++;
  /* The peer may already be destroyed: its memory must not be read here,
   * only compared, which is what a careful runtime does. */
  p->canary = 0;
  free(p);
}

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_REF,
                                     GC_KIND_I64};
enum { F_NEXT, F_RES, F_SHARED, F_ID };

/* One graph: a ring of PER_GRAPH nodes; node k owns resource k and also
 * points at resource (k + 1) of the ring; payload k's peer is payload k-1. An
 * array holds every resource too. Returned through *slot. */
static NOINLINE void build_graph(gc_heap *heap, gc_type node, gc_type refs,
                                 int graph, gc_ref *slot) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *all = gc_root(heap, gc_new_array(heap, refs, PER_GRAPH));
  struct payload *prev = NULL;
  for (int k = 0; k < PER_GRAPH; k++) {
    struct payload *p = malloc(sizeof *p);
    cr_assert(p);
    p->canary = CANARY;
    p->id = graph * PER_GRAPH + k;
    p->peer = prev;
    prev = p;
    gc_set_ref(heap, *all, k, gc_new_resource(heap, p, destroy_payload, p));
  }
  gc_ref *first = gc_root(heap, NULL), *last = gc_root(heap, NULL);
  for (int k = 0; k < PER_GRAPH; k++) {
    gc_ref n = gc_new_struct(heap, node);
    gc_set_i64(heap, n, F_ID, k);
    gc_set_ref(heap, n, F_RES, gc_get_ref(heap, *all, k));
    gc_set_ref(heap, n, F_SHARED, gc_get_ref(heap, *all, (k + 1) % PER_GRAPH));
    if (*last)
      gc_set_ref(heap, *last, F_NEXT, n);
    else
      *first = n;
    *last = n;
  }
  gc_set_ref(heap, *last, F_NEXT, *first); /* close the ring */
  /* The graph's head also keeps the array of all its resources alive
   * through the first node's shared slot chain: store it in a holder. */
  *slot = gc_new_struct(heap, node);
  gc_set_ref(heap, *slot, F_NEXT, *first);
  gc_set_ref(heap, *slot, F_RES, *all);
  gc_scope_close(heap, scope);
}

static void check_graph(gc_heap *heap, gc_ref holder, int graph) {
  gc_ref n = gc_get_ref(heap, holder, F_NEXT);
  for (int k = 0; k < PER_GRAPH; k++) {
    CHECK_EQ(gc_get_i64(heap, n, F_ID), k);
    struct payload *p = gc_resource_ptr(heap, gc_get_ref(heap, n, F_RES));
    cr_assert(p && p->canary == CANARY && p->id == graph * PER_GRAPH + k,
              "[%s] graph %d node %d: live resource's payload is wrong",
              harness_collector, graph, k);
    n = gc_get_ref(heap, n, F_NEXT);
  }
  CHECK(n == gc_get_ref(heap, holder, F_NEXT));
}

static void run(const char *collector, bool collect_between) {
  gc_heap *heap = harness_new_heap(collector, NULL);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *holders = gc_global(heap, gc_new_array(heap, refs, GRAPHS));
  for (int g = 0; g < GRAPHS; g++) {
    gc_ref *slot = gc_global(heap, NULL);
    build_graph(heap, node, refs, g, slot);
    gc_set_ref(heap, *holders, g, *slot);
    gc_global_free(heap, slot);
  }
  /* Drop the odd graphs: they die together, nodes and resources in one
   * collection. The even ones live on and are destroyed by gc_heap_free. */
  for (int g = 1; g < GRAPHS; g += 2)
    gc_set_ref(heap, *holders, g, NULL);
  if (collect_between) {
    harness_collect(heap);
    harness_collect(heap);
    int dead = (GRAPHS / 2) * PER_GRAPH;
    if (harness_reclaims(collector)) {
      CHECK_EQ(total_runs, dead);
      CHECK_EQ(harness_stats(heap).destructors_run, dead);
    } else {
      CHECK_EQ(total_runs, 0);
    }
    for (int g = 0; g < GRAPHS; g += 2)
      check_graph(heap, gc_get_ref(heap, *holders, g), g);
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
  for (int id = 0; id < GRAPHS * PER_GRAPH; id++)
    cr_assert_eq(runs[id], 1, "[%s] resource %d destroyed %d times",
                 collector, id, runs[id]);
  CHECK_EQ(total_runs, GRAPHS * PER_GRAPH);
}

COLLECTOR_TEST(regress_sweep_after_free, collection_then_heap_free) {
  run(param->name, true);
}

COLLECTOR_TEST(regress_sweep_after_free, all_at_heap_free) {
  run(param->name, false);
}

/* A resource shared by a dying graph and a live one: the dying side must not
 * take it down. */
COLLECTOR_TEST(regress_sweep_after_free, shared_with_a_survivor) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *holder = gc_global(heap, NULL);
  build_graph(heap, node, refs, 0, holder);
  gc_ref *survivor = gc_global(heap, gc_new_struct(heap, node));
  gc_ref first = gc_get_ref(heap, *holder, F_NEXT);
  gc_set_ref(heap, *survivor, F_RES, gc_get_ref(heap, first, F_RES));
  *holder = NULL;
  harness_collect(heap);
  CHECK_EQ(runs[0], 0);
  struct payload *p =
      gc_resource_ptr(heap, gc_get_ref(heap, *survivor, F_RES));
  CHECK(p && p->canary == CANARY && p->id == 0);
  harness_free_heap(heap);
  for (int id = 0; id < PER_GRAPH; id++)
    CHECK_EQ(runs[id], 1);
}
