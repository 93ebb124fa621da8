/* wl-gcbench.c — GCBench (John Ellis and Pete Kovac, C version by Hans
 * Boehm), written against gcheap.h.
 *
 * The program: build a "stretch" tree and drop it; build a long-lived tree
 * and a long-lived array of doubles; then for depths 4, 6, ..., 16 build many
 * short-lived trees, half top-down (allocate a node, then populate its
 * children) and half bottom-up (build both children, then their parent).
 * A node is two references and two ints; the ints are packed in one I64 field
 * so that a node has the same 24-byte payload as the C original's.
 *
 * Checks (also done by the native baselines, native/gcbench.c): the stretch
 * tree, the last tree of each depth and kind, and the long-lived tree are
 * walked and their node counts compared with the expected size; the array is
 * read back. The checksum is the sum of the walked node counts plus the
 * number of array entries read back.
 */
#include "tree-params.h"
#include "workload.h"

#include <assert.h>

enum { NODE_LEFT, NODE_RIGHT, NODE_IJ };

struct gcbench {
  gc_heap *heap;
  gc_type node_type;
  /* Root slots, one per tree level, rooted once and overwritten directly:
   * top-down construction keeps the node being populated at each level in
   * node[level]; bottom-up keeps the finished children of the node being
   * built at each level in left[level] and right[level]. */
  gc_ref *node[GCBENCH_DEFAULT_DEPTH + 8];
  gc_ref *left[GCBENCH_DEFAULT_DEPTH + 8];
  gc_ref *right[GCBENCH_DEFAULT_DEPTH + 8];
  /* The tree check_tree walks: the walk polls safepoints, where another
   * thread may collect. */
  gc_ref *checked;
};

/* Gives the node in *b->node[depth] a complete subtree of the given depth. */
static void populate(struct gcbench *b, int depth) {
  if (depth <= 0)
    return;
  gc_heap *h = b->heap;
  gc_ref child = gc_new_struct(h, b->node_type); /* node[depth] is rooted */
  gc_set_ref(h, *b->node[depth], NODE_LEFT, child);
  child = gc_new_struct(h, b->node_type);
  gc_set_ref(h, *b->node[depth], NODE_RIGHT, child);
  *b->node[depth - 1] = gc_get_ref(h, *b->node[depth], NODE_LEFT);
  populate(b, depth - 1);
  *b->node[depth - 1] = gc_get_ref(h, *b->node[depth], NODE_RIGHT);
  populate(b, depth - 1);
}

/* A complete tree of the given depth, built bottom-up. The result is not
 * rooted: the caller stores it before its next allocation. */
static gc_ref make_tree(struct gcbench *b, int depth) {
  gc_heap *h = b->heap;
  if (depth <= 0)
    return gc_new_struct(h, b->node_type);
  *b->left[depth] = make_tree(b, depth - 1);
  *b->right[depth] = make_tree(b, depth - 1);
  gc_ref node = gc_new_struct(h, b->node_type);
  gc_set_ref(h, node, NODE_LEFT, *b->left[depth]);
  gc_set_ref(h, node, NODE_RIGHT, *b->right[depth]);
  /* Clear the slots so that they do not keep this tree alive after its
   * owner drops it. */
  *b->left[depth] = NULL;
  *b->right[depth] = NULL;
  return node;
}

/* Nodes reachable from node. It polls gc_safepoint: without it, a
 * collection another thread asks for waits until the walk ends (a depth-16
 * tree: 131,071 nodes). A collection there may free what no root holds, so
 * the tree must be rooted (check_tree); its nodes, reached through it, stay
 * valid as plain refs since no collector moves objects. */
static uint64_t count_nodes(gc_heap *h, gc_ref node) {
  uint64_t n = 0;
  while (node) {
    gc_safepoint(h);
    n += 1 + count_nodes(h, gc_get_ref(h, node, NODE_LEFT));
    node = gc_get_ref(h, node, NODE_RIGHT);
  }
  return n;
}

static void check_tree(struct gcbench *b, gc_ref tree, int depth,
                       const char *what, struct workload_result *result) {
  *b->checked = tree;
  uint64_t n = count_nodes(b->heap, *b->checked);
  *b->checked = NULL;
  if (n != tree_size(depth))
    workload_fail(result, "%s tree of depth %d has %llu nodes, not %llu", what,
                  depth, (unsigned long long)n,
                  (unsigned long long)tree_size(depth));
  result->checksum += n;
}

/* Drops the top-down slots, which would otherwise keep the last tree's
 * subtrees alive. */
static void clear_levels(struct gcbench *b, int depth) {
  for (int level = 0; level <= depth; level++)
    *b->node[level] = NULL;
}

static void time_construction(struct gcbench *b, int stretch_depth, int depth,
                              struct workload_result *result) {
  gc_heap *h = b->heap;
  uint64_t iterations = gcbench_iterations(stretch_depth, depth);
  for (uint64_t i = 0; i < iterations; i++) {
    *b->node[depth] = gc_new_struct(h, b->node_type);
    populate(b, depth);
    if (i + 1 == iterations)
      check_tree(b, *b->node[depth], depth, "top-down", result);
  }
  clear_levels(b, depth);
  for (uint64_t i = 0; i < iterations; i++) {
    gc_ref tree = make_tree(b, depth);
    if (i + 1 == iterations)
      check_tree(b, tree, depth, "bottom-up", result);
  }
}

int workload_gcbench(gc_heap *h, int argc, char **argv,
                     struct workload_result *result) {
  long depth;
  if (argc > 2 || workload_int_arg(argc, argv, 1, GCBENCH_MIN_TREE_DEPTH,
                                   GCBENCH_DEFAULT_DEPTH + 4,
                                   GCBENCH_DEFAULT_DEPTH, &depth) < 0)
    return -1;
  gcbench_run(h, (int)depth, result);
  return 0;
}

void gcbench_run(gc_heap *h, int depth, struct workload_result *result) {
  int stretch_depth = gcbench_stretch_depth(depth);
  assert(stretch_depth <
         (int)(sizeof(((struct gcbench *)0)->node) / sizeof(gc_ref *)));

  struct gcbench b = {.heap = h};
  const gc_kind node_fields[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};
  b.node_type = gc_type_struct(h, "gcbench-node", 3, node_fields);
  gc_type array_type = gc_type_array(h, "gcbench-doubles", GC_KIND_F64);

  gc_scope scope = gc_scope_open(h);
  b.checked = gc_root(h, NULL);
  for (int level = 0; level <= stretch_depth; level++) {
    b.node[level] = gc_root(h, NULL);
    b.left[level] = gc_root(h, NULL);
    b.right[level] = gc_root(h, NULL);
  }

  /* Stretch the heap with a tree that dies at once. */
  check_tree(&b, make_tree(&b, stretch_depth), stretch_depth, "stretch",
             result);

  /* The long-lived data. */
  gc_ref *long_lived = gc_root(h, gc_new_struct(h, b.node_type));
  *b.node[depth] = *long_lived;
  populate(&b, depth);
  clear_levels(&b, depth);
  gc_ref *array = gc_root(h, gc_new_array(h, array_type, GCBENCH_ARRAY_SIZE));
  /* The loop allocates nothing, and its first writes fault the array's
   * pages in: it polls, or another thread's collection waits for it to end
   * (5-7 ms in mt-gcbench 2 before it did). */
  for (int i = 1; i < GCBENCH_ARRAY_SIZE / 2; i++) {
    if (i % 1024 == 0)
      gc_safepoint(h);
    gc_set_f64(h, *array, i, 1.0 / i);
  }

  for (int d = GCBENCH_MIN_TREE_DEPTH; d <= depth; d += 2)
    time_construction(&b, stretch_depth, d, result);

  check_tree(&b, *long_lived, depth, "long-lived", result);
  for (int i = 1; i < GCBENCH_ARRAY_SIZE / 2; i++) {
    if (i % 1024 == 0)
      gc_safepoint(h); /* as above */
    if (gc_get_f64(h, *array, i) != 1.0 / i) {
      workload_fail(result, "array[%d] is %g, not 1/%d", i,
                    gc_get_f64(h, *array, i), i);
      break;
    }
    result->checksum++;
  }
  gc_scope_close(h, scope);
}
