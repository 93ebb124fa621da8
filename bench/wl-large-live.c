/* wl-large-live.c — a large live set (default 1 GiB) kept while garbage
 * churns, to show pause times and memory at scale.
 *
 * The live set is a directory (an array) of MIB + 1 trees, each a complete
 * binary tree of depth 14 (32767 nodes of 32 bytes: just under 1 MiB). Then as
 * many trees again are built to replace random directory entries (the replaced
 * tree becomes garbage), with a small short-lived tree after each: the heap
 * allocates about twice the live set, and a collector that traces the whole
 * heap re-marks 1 GiB each time it collects.
 *
 * Every node stores its tree's id. At the end every tree is walked: its node
 * count and ids must be right. The checksum sums the final trees' ids and
 * counts.
 */
#include "tree-params.h"
#include "workload.h"

#include <stdlib.h>

enum { NODE_LEFT, NODE_RIGHT, NODE_ID };
enum { TREE_DEPTH = 14, SMALL_TREE_DEPTH = 6 };
/* A node's bytes: an 8-byte header and three 8-byte fields. */
#define NODE_BYTES 32

struct large_live {
  gc_heap *heap;
  gc_type node_type;
  gc_ref *level[TREE_DEPTH + 1]; /* roots: the node being filled per level */
};

/* Gives *ll->level[depth] a complete subtree of the given depth whose nodes
 * hold id. */
static void populate(struct large_live *ll, int depth, int64_t id) {
  if (depth <= 0)
    return;
  gc_heap *h = ll->heap;
  for (int side = NODE_LEFT; side <= NODE_RIGHT; side++) {
    gc_ref child = gc_new_struct(h, ll->node_type);
    gc_set_i64(h, child, NODE_ID, id);
    gc_set_ref(h, *ll->level[depth], side, child);
    *ll->level[depth - 1] = child;
    populate(ll, depth - 1, id);
  }
}

/* A new tree; returned unrooted (store it before the next allocation). */
static gc_ref new_tree(struct large_live *ll, int depth, int64_t id) {
  gc_heap *h = ll->heap;
  *ll->level[depth] = gc_new_struct(h, ll->node_type);
  gc_set_i64(h, *ll->level[depth], NODE_ID, id);
  populate(ll, depth, id);
  gc_ref tree = *ll->level[depth];
  for (int d = 0; d <= depth; d++)
    *ll->level[d] = NULL;
  return tree;
}

/* Nodes under node that hold id; counts a wrong id as a failure. */
static uint64_t count_tree(gc_heap *h, gc_ref node, int64_t id, int *wrong) {
  uint64_t n = 0;
  while (node) {
    if (gc_get_i64(h, node, NODE_ID) != id)
      *wrong = 1;
    n += 1 + count_tree(h, gc_get_ref(h, node, NODE_LEFT), id, wrong);
    node = gc_get_ref(h, node, NODE_RIGHT);
  }
  return n;
}

int workload_large_live(gc_heap *h, int argc, char **argv,
                        struct workload_result *result) {
  long mib;
  if (argc > 2 || workload_int_arg(argc, argv, 1, 1, 1 << 20, 1024, &mib) < 0)
    return -1;
  /* A tree is 32767 nodes of NODE_BYTES, 32 bytes short of 1 MiB: one tree
   * more than MIB makes the live set at least MIB MiB. */
  long trees =
      (long)(((uint64_t)mib << 20) / (tree_size(TREE_DEPTH) * NODE_BYTES)) + 1;
  struct large_live ll = {.heap = h};
  const gc_kind node_fields[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};
  ll.node_type = gc_type_struct(h, "large-live-node", 3, node_fields);
  gc_type directory_type = gc_type_array(h, "directory", GC_KIND_REF);
  int64_t *ids = calloc((size_t)trees, sizeof *ids); /* what each entry holds */
  if (!ids) {
    workload_fail(result, "out of C memory");
    return 0;
  }

  gc_scope scope = gc_scope_open(h);
  for (int d = 0; d <= TREE_DEPTH; d++)
    ll.level[d] = gc_root(h, NULL);
  gc_ref *directory =
      gc_root(h, gc_new_array(h, directory_type, (size_t)trees));
  int64_t next_id = 0;
  for (long t = 0; t < trees; t++) {
    gc_ref tree = new_tree(&ll, TREE_DEPTH, ids[t] = ++next_id);
    gc_set_ref(h, *directory, (size_t)t, tree);
  }
  uint64_t random = 0x6a09e667f3bcc909u;
  for (long r = 0; r < trees; r++) {
    size_t t = (size_t)(workload_random(&random) % (uint64_t)trees);
    gc_ref tree = new_tree(&ll, TREE_DEPTH, ids[t] = ++next_id);
    gc_set_ref(h, *directory, t, tree);
    new_tree(&ll, SMALL_TREE_DEPTH, -1); /* dies at once */
  }

  for (long t = 0; t < trees; t++) {
    int wrong = 0;
    uint64_t n =
        count_tree(h, gc_get_ref(h, *directory, (size_t)t), ids[t], &wrong);
    if (n != tree_size(TREE_DEPTH) || wrong)
      workload_fail(result, "tree %ld (id %lld) has %llu nodes%s", t,
                    (long long)ids[t], (unsigned long long)n,
                    wrong ? " and some hold a wrong id" : "");
    result->checksum += n + (uint64_t)ids[t];
  }
  gc_scope_close(h, scope);
  free(ids);
  return 0;
}
