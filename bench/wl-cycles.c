/* wl-cycles.c — cyclic garbage churn.
 *
 * Each round builds STRUCTURES rings of 1 to MAX_RING nodes: singly linked
 * rings (a lone node points to itself) and doubly linked rings (every
 * neighbour pair is a cycle of two). A quarter of them replace a random
 * survivor in a table of SURVIVORS, dropping the old one; the rest are
 * dropped at once. Everything dropped is cyclic garbage that reference
 * counting alone never frees.
 *
 * Each node stores its ring's id plus its position, so a walk can check that
 * a ring is whole: every round one survivor is walked, and all of them at the
 * end. The checksum is the number of nodes built plus the ids and lengths of
 * the final survivors.
 */
#include "workload.h"

enum { NODE_NEXT, NODE_PREV, NODE_VALUE };
enum { STRUCTURES = 100, SURVIVORS = 256, MAX_RING = 64 };

struct cycles {
  gc_heap *heap;
  gc_type node_type;
  gc_ref *survivors;   /* root: an array of SURVIVORS rings (their heads) */
  gc_ref *head, *tail; /* roots: the ring being built */
  uint64_t random;
  int64_t next_ring_id;
};

/* value of node k of ring id: id * 1024 + k, with k < MAX_RING <= 1024. */
static int64_t node_value(int64_t ring_id, int64_t k) {
  return ring_id * 1024 + k;
}

/* Builds a ring of length nodes; the head is left in *c->head. */
static void build_ring(struct cycles *c, int64_t length, int doubly) {
  gc_heap *h = c->heap;
  int64_t id = ++c->next_ring_id;
  *c->head = gc_new_struct(h, c->node_type);
  gc_set_i64(h, *c->head, NODE_VALUE, node_value(id, 0));
  *c->tail = *c->head;
  for (int64_t k = 1; k < length; k++) {
    gc_ref node = gc_new_struct(h, c->node_type); /* head, tail rooted */
    gc_set_i64(h, node, NODE_VALUE, node_value(id, k));
    if (doubly)
      gc_set_ref(h, node, NODE_PREV, *c->tail);
    gc_set_ref(h, *c->tail, NODE_NEXT, node);
    *c->tail = node;
  }
  gc_set_ref(h, *c->tail, NODE_NEXT, *c->head);
  if (doubly)
    gc_set_ref(h, *c->head, NODE_PREV, *c->tail);
  *c->tail = NULL;
}

/* Walks the ring at head; returns its length, or -1 after recording what
 * was wrong. */
static int64_t check_ring(struct cycles *c, gc_ref head,
                          struct workload_result *result) {
  gc_heap *h = c->heap;
  int64_t first = gc_get_i64(h, head, NODE_VALUE);
  int64_t id = first / 1024, length = 0;
  int doubly = gc_get_ref(h, head, NODE_PREV) != NULL;
  gc_ref node = head;
  do {
    if (length >= MAX_RING ||
        gc_get_i64(h, node, NODE_VALUE) != node_value(id, length)) {
      workload_fail(result, "ring %lld is broken at node %lld", (long long)id,
                    (long long)length);
      return -1;
    }
    gc_ref next = gc_get_ref(h, node, NODE_NEXT);
    if (doubly && gc_get_ref(h, next, NODE_PREV) != node) {
      workload_fail(result,
                    "ring %lld: node %lld's successor does not point "
                    "back",
                    (long long)id, (long long)length);
      return -1;
    }
    node = next;
    length++;
  } while (node != head);
  return length;
}

int workload_cycles(gc_heap *h, int argc, char **argv,
                    struct workload_result *result) {
  long rounds;
  if (argc > 2 ||
      workload_int_arg(argc, argv, 1, 0, 100000000, 200, &rounds) < 0)
    return -1;
  struct cycles c = {.heap = h, .random = 0x2545f4914f6cdd1du};
  const gc_kind node_fields[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};
  c.node_type = gc_type_struct(h, "ring-node", 3, node_fields);
  gc_type table_type = gc_type_array(h, "survivors", GC_KIND_REF);

  gc_scope scope = gc_scope_open(h);
  c.survivors = gc_root(h, gc_new_array(h, table_type, SURVIVORS));
  c.head = gc_root(h, NULL);
  c.tail = gc_root(h, NULL);
  uint64_t nodes_built = 0;
  for (long r = 0; r < rounds; r++) {
    for (int s = 0; s < STRUCTURES; s++) {
      uint64_t x = workload_random(&c.random);
      int64_t length = 1 + (int64_t)(x % MAX_RING);
      build_ring(&c, length, (int)((x >> 8) & 1));
      nodes_built += (uint64_t)length;
      if (((x >> 9) & 3) == 0)
        gc_set_ref(h, *c.survivors, (x >> 16) % SURVIVORS, *c.head);
      *c.head = NULL;
    }
    gc_ref some =
        gc_get_ref(h, *c.survivors, workload_random(&c.random) % SURVIVORS);
    if (some)
      check_ring(&c, some, result);
  }
  result->checksum = nodes_built;
  for (size_t s = 0; s < SURVIVORS; s++) {
    gc_ref head = gc_get_ref(h, *c.survivors, s);
    if (!head)
      continue;
    int64_t length = check_ring(&c, head, result);
    result->checksum +=
        (uint64_t)gc_get_i64(h, head, NODE_VALUE) + (uint64_t)length;
  }
  gc_scope_close(h, scope);
  return 0;
}
