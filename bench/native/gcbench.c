/* gcbench.c — GCBench written directly against Boehm GC's API or malloc:
 * the native baseline of ../wl-gcbench.c (same parameters, same checks, same
 * checksum; see there for the program's description). */
#include "../tree-params.h"
#include "native.h"

#include <stdio.h>

typedef struct node {
  struct node *left;
  struct node *right;
  int i, j;
} node;

static node *new_node(node *left, node *right) {
  node *n = native_check_alloc(native_alloc(sizeof(node)));
  n->left = left;
  n->right = right;
  n->i = n->j = 0;
  return n;
}

static void free_tree(node *n) {
  if (!NATIVE_FREES_EXPLICITLY)
    return;
  while (n) {
    node *right = n->right;
    free_tree(n->left);
    native_free(n);
    n = right;
  }
}

static void populate(int depth, node *n) {
  if (depth <= 0)
    return;
  n->left = new_node(NULL, NULL);
  n->right = new_node(NULL, NULL);
  populate(depth - 1, n->left);
  populate(depth - 1, n->right);
}

static node *make_tree(int depth) {
  if (depth <= 0)
    return new_node(NULL, NULL);
  node *left = make_tree(depth - 1);
  node *right = make_tree(depth - 1);
  return new_node(left, right);
}

static uint64_t count_nodes(const node *n) {
  uint64_t count = 0;
  while (n) {
    count += 1 + count_nodes(n->left);
    n = n->right;
  }
  return count;
}

static void check_tree(const node *tree, int depth, const char *what,
                       struct native_result *result) {
  uint64_t n = count_nodes(tree);
  if (n != tree_size(depth))
    native_fail(result, "%s tree of depth %d has %llu nodes, not %llu", what,
                depth, (unsigned long long)n,
                (unsigned long long)tree_size(depth));
  result->checksum += n;
}

static void time_construction(int stretch_depth, int depth,
                              struct native_result *result) {
  uint64_t iterations = gcbench_iterations(stretch_depth, depth);
  for (uint64_t i = 0; i < iterations; i++) {
    node *tree = new_node(NULL, NULL);
    populate(depth, tree);
    if (i + 1 == iterations)
      check_tree(tree, depth, "top-down", result);
    free_tree(tree);
  }
  for (uint64_t i = 0; i < iterations; i++) {
    node *tree = make_tree(depth);
    if (i + 1 == iterations)
      check_tree(tree, depth, "bottom-up", result);
    free_tree(tree);
  }
}

int native_gcbench(int argc, char **argv, struct native_result *result) {
  int depth = GCBENCH_DEFAULT_DEPTH;
  if (argc > 2)
    return -1;
  if (argc == 2) {
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (*end || end == argv[1] || v < GCBENCH_MIN_TREE_DEPTH ||
        v > GCBENCH_DEFAULT_DEPTH + 4)
      return -1;
    depth = (int)v;
  }
  int stretch_depth = gcbench_stretch_depth(depth);

  node *stretch = make_tree(stretch_depth);
  check_tree(stretch, stretch_depth, "stretch", result);
  free_tree(stretch);

  node *long_lived = new_node(NULL, NULL);
  populate(depth, long_lived);
  double *array = native_check_alloc(
      native_alloc_atomic(sizeof(double) * GCBENCH_ARRAY_SIZE));
  for (int i = 1; i < GCBENCH_ARRAY_SIZE / 2; i++)
    array[i] = 1.0 / i;

  for (int d = GCBENCH_MIN_TREE_DEPTH; d <= depth; d += 2)
    time_construction(stretch_depth, d, result);

  check_tree(long_lived, depth, "long-lived", result);
  for (int i = 1; i < GCBENCH_ARRAY_SIZE / 2; i++) {
    if (array[i] != 1.0 / i) {
      native_fail(result, "array[%d] is %g, not 1/%d", i, array[i], i);
      break;
    }
    result->checksum++;
  }
  free_tree(long_lived);
  native_free(array);
  return 0;
}
