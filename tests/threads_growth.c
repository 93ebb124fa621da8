/* threads_growth.c — a thread that grows the heap holds up no other thread.
 *
 * Growing the heap touches fresh memory, and the first touch of a huge page
 * zeroes all 2 MiB of it: on this project's VM, on memory no process had
 * touched lately, 3.5 ms. tracing did it under the heap lock as it mapped
 * a chunk, refcount as it wrote the header of a block that starts a huge
 * page, and every other thread that needed a block, or a collection, waited
 * for the lock that long. Both now do that work with the lock let go,
 * counting as blocked (gc_heap_run_unlocked). The test hook
 * gc_test_while_unlocked holds the growing thread there while the main
 * thread collects: were the lock held, gc_collect would wait forever. */
#include "harness.h"

#include <gcheap-testing.h>
#include <pthread.h>

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_I64};
enum { NODE_NEXT, NODE_VALUE };
/* The list grows until the heap has grown with the lock let go (tracing: a
 * second chunk, past about 2 MiB; refcount: the block that starts the
 * heap's second huge page), then by NODES_AFTER more nodes; MAX_NODES (24
 * MiB of nodes) bounds it if that never happens. */
enum { MAX_NODES = 1 << 20, NODES_AFTER = 20000 };

struct grower {
  gc_heap *heap;
  gc_type node;
  struct harness_handoff handoff; /* 1: growing; 2: the main thread collected */
  char attach_error[256];
  int times_unlocked;
  long nodes;
  long wrong;
};

/* On the growing thread, the heap lock let go: the first time, waits there
 * until the main thread has collected. */
static void hold_the_growth(gc_heap *heap, void *ud) {
  (void)heap;
  struct grower *g = ud;
  if (g->times_unlocked++ == 0) {
    harness_set_stage(&g->handoff, 1);
    harness_wait_for_stage(NULL, &g->handoff, 2); /* blocked already */
  }
}

static void *grow_a_list(void *arg) {
  struct grower *g = arg;
  gc_heap *mine =
      gc_thread_attach(g->heap, g->attach_error, sizeof g->attach_error);
  if (!mine) {
    harness_set_stage(&g->handoff, 1);
    return NULL;
  }
  gc_scope scope = gc_scope_open(mine);
  gc_ref *list = gc_root(mine, NULL);
  long after = 0;
  for (g->nodes = 0; g->nodes < MAX_NODES && after < NODES_AFTER; g->nodes++) {
    gc_ref node = gc_new_struct(mine, g->node);
    gc_set_ref(mine, node, NODE_NEXT, *list);
    gc_set_i64(mine, node, NODE_VALUE, g->nodes);
    *list = node;
    after += g->times_unlocked > 0;
  }
  long expect = g->nodes;
  for (gc_ref n = *list; n; n = gc_get_ref(mine, n, NODE_NEXT))
    g->wrong += gc_get_i64(mine, n, NODE_VALUE) != --expect;
  g->wrong += expect != 0;
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  if (!g->times_unlocked)
    harness_set_stage(&g->handoff, 1); /* never let go: the test fails */
  return NULL;
}

/* stress=0: with a collection at every allocation, a list of 100,000 nodes
 * would take minutes; the collection that matters is the main thread's. */
COLLECTOR_TEST(threads_growth, a_thread_growing_the_heap_holds_up_no_collection,
               .timeout = 30) {
  if (strcmp(param->name, "tracing") && strcmp(param->name, "refcount"))
    cr_skip_test("[%s] takes no heap lock to grow the heap (null carves "
                 "regions with a compare-and-swap; boehm grows under its own "
                 "lock)",
                 param->name);
  gc_heap *heap = harness_new_heap(param->name, "stress=0");
  struct grower g = {
      .heap = heap,
      .node = gc_type_struct(heap, "node", 2, node_kinds),
      .handoff = HARNESS_HANDOFF_INIT,
  };
  gc_test_while_unlocked(heap, hold_the_growth, &g);
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, grow_a_list, &g), 0);
  harness_wait_for_stage(heap, &g.handoff, 1);
  gc_stats before, after;
  gc_get_stats(heap, &before);
  gc_collect(heap);
  gc_get_stats(heap, &after);
  cr_assert_gt(after.collections, before.collections);
  harness_set_stage(&g.handoff, 2);
  gc_blocking_begin(heap);
  pthread_join(thread, NULL);
  gc_blocking_end(heap);
  cr_assert(!g.attach_error[0], "[%s] gc_thread_attach: %s", param->name,
            g.attach_error);
  cr_assert_gt(g.times_unlocked, 0,
               "[%s] %ld nodes, and the heap lock was never let go",
               param->name, g.nodes);
  cr_assert_eq(g.wrong, 0, "[%s] %ld of %ld nodes wrong after the collection",
               param->name, g.wrong, g.nodes);
  gc_test_while_unlocked(heap, NULL, NULL);
  harness_free_heap(heap);
}
