/* wl-binary-trees.c — the Computer Language Benchmarks Game's binary-trees,
 * written against gcheap.h.
 *
 * For N (max depth at least 6): a stretch tree of depth N+1 is built, checked
 * and dropped; a long-lived tree of depth N is built; then for d = 4, 6, ...,
 * N, 2^(N-d+4) trees of depth d are built bottom-up, checked and dropped;
 * finally the long-lived tree is checked. A check is the node count. A node
 * is two references (24 bytes with the header).
 *
 * The checksum is the sum of every check; each check is also compared with
 * the complete tree's size. native/binary-trees.c does the same.
 */
#include "tree-params.h"
#include "workload.h"

#include <assert.h>

#define BINARY_TREES_MAX_N 30

struct binary_trees {
  gc_heap *heap;
  gc_type node_type;
  /* The finished children of the node being built at each level, rooted
   * once and overwritten directly: the only references that must survive an
   * allocation. */
  gc_ref *left[BINARY_TREES_MAX_N + 2];
  gc_ref *right[BINARY_TREES_MAX_N + 2];
};

/* A complete tree of the given depth, built bottom-up; the result is not
 * rooted (the caller stores or uses it before its next allocation). */
static gc_ref bottom_up_tree(struct binary_trees *b, int depth) {
  gc_heap *h = b->heap;
  if (depth <= 0)
    return gc_new_struct(h, b->node_type);
  *b->left[depth] = bottom_up_tree(b, depth - 1);
  *b->right[depth] = bottom_up_tree(b, depth - 1);
  gc_ref node = gc_new_struct(h, b->node_type);
  gc_set_ref(h, node, 0, *b->left[depth]);
  gc_set_ref(h, node, 1, *b->right[depth]);
  *b->left[depth] = NULL; /* keep nothing alive past the tree's owner */
  *b->right[depth] = NULL;
  return node;
}

/* The node count; makes no allocation, so plain refs stay valid. */
static uint64_t item_check(gc_heap *h, gc_ref node) {
  uint64_t n = 1;
  gc_ref left = gc_get_ref(h, node, 0);
  if (left)
    n += item_check(h, left) + item_check(h, gc_get_ref(h, node, 1));
  return n;
}

static void expect_check(struct workload_result *result, const char *what,
                         int depth, uint64_t got, uint64_t want) {
  if (got != want)
    workload_fail(result, "%s (depth %d): check %llu, expected %llu", what,
                  depth, (unsigned long long)got, (unsigned long long)want);
  result->checksum += got;
}

int workload_binary_trees(gc_heap *h, int argc, char **argv,
                          struct workload_result *result) {
  long n;
  if (argc > 2 || workload_int_arg(argc, argv, 1, 0, BINARY_TREES_MAX_N - 1,
                                   BINARY_TREES_DEFAULT_N, &n) < 0)
    return -1;
  int max_depth = binary_trees_max_depth((int)n);
  int stretch_depth = max_depth + 1;
  assert(stretch_depth <= BINARY_TREES_MAX_N);

  struct binary_trees b = {.heap = h};
  const gc_kind node_fields[] = {GC_KIND_REF, GC_KIND_REF};
  b.node_type = gc_type_struct(h, "binary-trees-node", 2, node_fields);

  gc_scope scope = gc_scope_open(h);
  for (int level = 0; level <= stretch_depth; level++) {
    b.left[level] = gc_root(h, NULL);
    b.right[level] = gc_root(h, NULL);
  }

  expect_check(result, "stretch tree", stretch_depth,
               item_check(h, bottom_up_tree(&b, stretch_depth)),
               tree_size(stretch_depth));

  gc_ref *long_lived = gc_root(h, NULL);
  *long_lived = bottom_up_tree(&b, max_depth);

  for (int d = BINARY_TREES_MIN_DEPTH; d <= max_depth; d += 2) {
    uint64_t iterations = binary_trees_iterations(max_depth, d);
    uint64_t check = 0;
    for (uint64_t i = 0; i < iterations; i++)
      check += item_check(h, bottom_up_tree(&b, d));
    expect_check(result, "trees", d, check, iterations * tree_size(d));
  }

  expect_check(result, "long lived tree", max_depth, item_check(h, *long_lived),
               tree_size(max_depth));
  gc_scope_close(h, scope);
  return 0;
}
