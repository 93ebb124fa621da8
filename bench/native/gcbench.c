/* gcbench.c — GCBench written directly against Boehm GC's API or malloc:
 * the native baseline of ../wl-gcbench.c (same parameters, same checks, same
 * checksum; see there for the program's description). */
#include "../tree-params.h"
#include "native.h"

#include <pthread.h>
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

/* argv[index] as an integer in [min, max], fallback if absent; -1 if bad. */
static int int_arg(int argc, char **argv, int index, long min, long max,
                   long fallback, long *out) {
  *out = fallback;
  if (argc <= index)
    return 0;
  char *end;
  long v = strtol(argv[index], &end, 10);
  if (*end || end == argv[index] || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static void gcbench_run(int depth, struct native_result *result);

int native_gcbench(int argc, char **argv, struct native_result *result) {
  long depth;
  if (argc > 2 ||
      int_arg(argc, argv, 1, GCBENCH_MIN_TREE_DEPTH, GCBENCH_DEFAULT_DEPTH + 4,
              GCBENCH_DEFAULT_DEPTH, &depth))
    return -1;
  gcbench_run((int)depth, result);
  return 0;
}

/* mt-gcbench: THREADS threads (the calling one and THREADS - 1 more), each
 * running GCBench with its own trees, as ../wl-mt-gcbench.c. */
struct gcbench_thread {
  pthread_t thread;
  int depth;
  struct native_result result;
};

static void *gcbench_thread_main(void *arg) {
  struct gcbench_thread *t = arg;
  gcbench_run(t->depth, &t->result);
  return NULL;
}

int native_mt_gcbench(int argc, char **argv, struct native_result *result) {
  long threads, depth;
  if (argc > 3 || int_arg(argc, argv, 1, 1, 64, 2, &threads) ||
      int_arg(argc, argv, 2, GCBENCH_MIN_TREE_DEPTH, GCBENCH_DEFAULT_DEPTH + 4,
              GCBENCH_DEFAULT_DEPTH, &depth))
    return -1;
  struct gcbench_thread *t =
      native_check_alloc(calloc((size_t)threads, sizeof *t));
  for (long i = 0; i < threads; i++) {
    t[i].depth = (int)depth;
    t[i].result.ok = true;
  }
  for (long i = 1; i < threads; i++)
    if (pthread_create(&t[i].thread, NULL, gcbench_thread_main, &t[i])) {
      fprintf(stderr, "cannot start thread %ld\n", i);
      exit(2);
    }
  gcbench_thread_main(&t[0]);
  for (long i = 1; i < threads; i++)
    pthread_join(t[i].thread, NULL);
  for (long i = 0; i < threads; i++) {
    result->checksum += t[i].result.checksum;
    if (!t[i].result.ok)
      native_fail(result, "thread %ld: %s", i, t[i].result.message);
  }
  free(t);
  return 0;
}

static void gcbench_run(int depth, struct native_result *result) {
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
}
