/* workload.h — the benchmark workloads the gcheap program runs.
 *
 * Each workload is written once against gcheap.h, lives in its own file
 * (wl-NAME.c) and is listed in the table of workloads.c. A workload builds
 * its data on the heap it is given, checks its own result and reports a
 * checksum that must be the same on every collector (and in the native
 * baselines, for gcbench and binary-trees).
 *
 * Rooting rule, obeyed strictly here: a gc_ref that is not in a root slot or
 * a heap field is dead after any call that allocates (collectors may move
 * objects), so every reference that must survive an allocation is kept in a
 * slot and re-read from it afterwards. To keep the cost per object low, the
 * workloads root a fixed array of slots once and overwrite them directly
 * (the contract allows "*slot = v") instead of opening a scope per object.
 */
#ifndef GCHEAP_BENCH_WORKLOAD_H
#define GCHEAP_BENCH_WORKLOAD_H

#include <gcheap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct workload_result {
  uint64_t checksum; /* same on every collector for the same arguments */
  bool ok;           /* the workload's own check passed */
  char message[200]; /* when !ok: what was wrong */
};

#define WORKLOAD_REFUSED (-2)

struct workload {
  const char *name;
  const char *usage;   /* arguments, e.g. "[DEPTH]" */
  const char *summary; /* one line for --help */
  /* The arguments of the smoke tests' runs (bench/smoke-test.sh, through
   * gcheap --workloads), space-separated: tiny_args run on every collector
   * in well under a second, also in the null collector's default 256M
   * arena; stress_args with verify=1 stress=1, a collection at every
   * allocation (NULL: no size of the workload is small enough). */
  const char *tiny_args;
  const char *stress_args;
  /* Runs on heap with argc/argv being the workload's own arguments (argv[0]
   * is the workload name). Returns 0, -1 after printing a usage error to
   * stderr, or WORKLOAD_REFUSED after printing why the heap cannot run it
   * (a collector that keeps one thread per heap). The result's ok says
   * whether the computation was right. */
  int (*run)(gc_heap *heap, int argc, char **argv,
             struct workload_result *result);
  /* Optional: called after gc_heap_free, for checks that need every
   * destructor to have run. */
  void (*after_free)(struct workload_result *result);
};

/* The table, ended by an entry whose name is NULL. */
extern const struct workload gc_workloads[];
const struct workload *workload_find(const char *name);

/* Shared helpers (workloads.c). */

/* Parses argv[index] as an integer in [min, max], or returns fallback when
 * argc <= index. Prints an error naming the workload and returns -1 on bad
 * input. */
int workload_int_arg(int argc, char **argv, int index, long min, long max,
                     long fallback, long *out);
/* Marks result as failed with a printf-style reason (first failure wins). */
void workload_fail(struct workload_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A small deterministic pseudo-random generator (xorshift64*), so that every
 * collector sees the same sequence of operations. */
static inline uint64_t workload_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

/* The workload functions, one per file. */
int workload_gcbench(gc_heap *, int, char **, struct workload_result *);
int workload_binary_trees(gc_heap *, int, char **, struct workload_result *);
int workload_array_copy(gc_heap *, int, char **, struct workload_result *);
int workload_cycles(gc_heap *, int, char **, struct workload_result *);
int workload_resources(gc_heap *, int, char **, struct workload_result *);
int workload_weak(gc_heap *, int, char **, struct workload_result *);
int workload_large_live(gc_heap *, int, char **, struct workload_result *);
int workload_collect_often(gc_heap *, int, char **, struct workload_result *);
int workload_mt_gcbench(gc_heap *, int, char **, struct workload_result *);
int workload_shared_replace(gc_heap *, int, char **, struct workload_result *);
int workload_large_arrays(gc_heap *, int, char **, struct workload_result *);
void workload_resources_after_free(struct workload_result *);

/* GCBench of the given depth on heap (wl-gcbench.c): the body of gcbench,
 * and of each thread of mt-gcbench. Registers its own node type. */
void gcbench_run(gc_heap *heap, int depth, struct workload_result *result);

/* Runs body(handle, arg, result) on nthreads threads of heap: the calling
 * thread (with heap) and nthreads - 1 more, each attached to heap with its
 * own handle and result. The results are combined into result (checksums
 * summed, the first failure kept). WORKLOAD_REFUSED after a message if a
 * thread could not be started or attached. (workloads.c) */
int workload_on_threads(gc_heap *heap, int nthreads,
                        void (*body)(gc_heap *handle, void *arg,
                                     struct workload_result *result),
                        void *arg, struct workload_result *result);

#endif
