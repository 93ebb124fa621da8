/* binary-trees.c — the Benchmarks Game's binary-trees written directly
 * against Boehm GC's API or malloc: the native baseline of
 * ../wl-binary-trees.c (same trees, same checks, same checksum). */
#include "../tree-params.h"
#include "native.h"

#include <stdio.h>

typedef struct node {
  struct node *left;
  struct node *right;
} node;

static node *bottom_up_tree(int depth) {
  node *left = NULL, *right = NULL;
  if (depth > 0) {
    left = bottom_up_tree(depth - 1);
    right = bottom_up_tree(depth - 1);
  }
  node *n = native_check_alloc(native_alloc(sizeof(node)));
  n->left = left;
  n->right = right;
  return n;
}

static uint64_t item_check(const node *n) {
  return n->left ? 1 + item_check(n->left) + item_check(n->right) : 1;
}

static void free_tree(node *n) {
  if (!NATIVE_FREES_EXPLICITLY)
    return;
  if (n->left) {
    free_tree(n->left);
    free_tree(n->right);
  }
  native_free(n);
}

static void expect_check(struct native_result *result, const char *what,
                         int depth, uint64_t got, uint64_t want) {
  if (got != want)
    native_fail(result, "%s (depth %d): check %llu, expected %llu", what, depth,
                (unsigned long long)got, (unsigned long long)want);
  result->checksum += got;
}

int native_binary_trees(int argc, char **argv, struct native_result *result) {
  int n = BINARY_TREES_DEFAULT_N;
  if (argc > 2)
    return -1;
  if (argc == 2) {
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (*end || end == argv[1] || v < 0 || v > 28)
      return -1;
    n = (int)v;
  }
  int max_depth = binary_trees_max_depth(n);
  int stretch_depth = max_depth + 1;

  node *stretch = bottom_up_tree(stretch_depth);
  expect_check(result, "stretch tree", stretch_depth, item_check(stretch),
               tree_size(stretch_depth));
  free_tree(stretch);

  node *long_lived = bottom_up_tree(max_depth);
  for (int d = BINARY_TREES_MIN_DEPTH; d <= max_depth; d += 2) {
    uint64_t iterations = binary_trees_iterations(max_depth, d);
    uint64_t check = 0;
    for (uint64_t i = 0; i < iterations; i++) {
      node *tree = bottom_up_tree(d);
      check += item_check(tree);
      free_tree(tree);
    }
    expect_check(result, "trees", d, check, iterations * tree_size(d));
  }
  expect_check(result, "long lived tree", max_depth, item_check(long_lived),
               tree_size(max_depth));
  free_tree(long_lived);
  return 0;
}
