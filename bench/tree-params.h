/* tree-params.h — the parameters of GCBench and binary-trees, shared by the
 * gcheap workloads and the native baselines so that both do the same work
 * and print the same checksum. */
#ifndef GCHEAP_BENCH_TREE_PARAMS_H
#define GCHEAP_BENCH_TREE_PARAMS_H

#include <stdint.h>

/* GCBench's standard parameters are those of DEPTH 16: a stretch tree of
 * depth 18, a long-lived tree of depth 16, temporary trees of depth 4, 6,
 * ..., 16 and an array of 500000 doubles. A smaller DEPTH scales the trees
 * (for tests); the array keeps its size. */
#define GCBENCH_DEFAULT_DEPTH 16
#define GCBENCH_MIN_TREE_DEPTH 4
#define GCBENCH_ARRAY_SIZE 500000
static inline int gcbench_stretch_depth(int depth) {
  return depth + 2;
}

/* Nodes in a complete binary tree of depth d (a lone node has depth 0). */
static inline uint64_t tree_size(int depth) {
  return (UINT64_C(1) << (depth + 1)) - 1;
}

/* GCBench's NumIters: as many trees of depth d as make twice the stretch
 * tree's nodes. */
static inline uint64_t gcbench_iterations(int stretch_depth, int depth) {
  return 2 * tree_size(stretch_depth) / tree_size(depth);
}

/* binary-trees (the Benchmarks Game): trees of depth 4, 6, ..., max_depth,
 * 2^(max_depth - d + 4) of each, a stretch tree of max_depth + 1 and a
 * long-lived tree of max_depth. Every check is the node count. */
#define BINARY_TREES_MIN_DEPTH 4
#define BINARY_TREES_DEFAULT_N 16
static inline int binary_trees_max_depth(int n) {
  return n > BINARY_TREES_MIN_DEPTH + 2 ? n : BINARY_TREES_MIN_DEPTH + 2;
}
static inline uint64_t binary_trees_iterations(int max_depth, int depth) {
  return UINT64_C(1) << (max_depth - depth + BINARY_TREES_MIN_DEPTH);
}

#endif
