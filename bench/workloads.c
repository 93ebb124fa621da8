/* workloads.c — the table of workloads and the helpers they share. */
#include "workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The smoke tests' sizes (tiny_args, stress_args) are read from here by
 * bench/smoke-test.sh, through gcheap --workloads: a workload added to the
 * table is smoke-tested on every collector without more. */
const struct workload gc_workloads[] = {
    {"gcbench", "[DEPTH]",
     "Ellis/Kovac/Boehm GCBench (DEPTH 16 = standard: stretch 18, long-lived "
     "16, trees 4..16, array 500000)",
     "8", "4", workload_gcbench, NULL},
    {"binary-trees", "[N]",
     "Benchmarks Game binary-trees (default N 16; min depth 4)", "8", "4",
     workload_binary_trees, NULL},
    {"array-copy", "[ROUNDS [LENGTH]]",
     "reference arrays copied with gc_array_copy, many onto themselves with "
     "overlapping ranges (default 400 rounds, 64 arrays of 4096)",
     "10", "2 16", workload_array_copy, NULL},
    {"cycles", "[ROUNDS]",
     "cyclic garbage churn: rings and doubly linked lists dropped while some "
     "survive (default 200 rounds)",
     "5", "1", workload_cycles, NULL},
    {"resources", "[COUNT]",
     "resources created and dropped; destructors counted against creations "
     "(default 1000000)",
     "5000", "300", workload_resources, workload_resources_after_free},
    {"weak", "[TICKS]",
     "short-lived processes watched through weak references, as monitors are "
     "(default 2000 ticks)",
     "20", "3", workload_weak, NULL},
    {"large-live", "[MIB]",
     "a live set of MIB MiB (default 1024) kept while garbage churns: pauses "
     "and memory at scale",
     /* no stress size: its smallest live set is 65,536 nodes, too many
      * for a collection at every allocation */
     "4", NULL, workload_large_live, NULL},
    {"collect-often", "[TICKS]",
     "an event loop that calls gc_collect after every ~200 KB of garbage "
     "(default 2000 ticks): memory given back and taken again shows as sys "
     "time",
     "5", "1", workload_collect_often, NULL},
    {"mt-gcbench", "[THREADS [DEPTH]]",
     "GCBench on THREADS threads of one heap, each with its own trees "
     "(default 2 threads, DEPTH 16)",
     "2 8", "2 4", workload_mt_gcbench, NULL},
    {"shared-replace", "[THREADS [ROUNDS]]",
     "THREADS threads replace entries of one shared, old array of lists "
     "under a lock: the write barrier under contention (default 2, 200000)",
     "2 2000", "3 50", workload_shared_replace, NULL},
    {"large-arrays", "[THREADS [ROUNDS [KIB]]]",
     "THREADS threads each replace big arrays, 8 of KIB KiB live per "
     "thread: the large-object space's reuse and lock (default 1, 20000, "
     "128)",
     "2 200 64", "3 30 16", workload_large_arrays, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct workload *workload_find(const char *name) {
  for (const struct workload *w = gc_workloads; w->name; w++)
    if (strcmp(w->name, name) == 0)
      return w;
  return NULL;
}

int workload_int_arg(int argc, char **argv, int index, long min, long max,
                     long fallback, long *out) {
  if (argc <= index) {
    *out = fallback;
    return 0;
  }
  char *end;
  errno = 0;
  long v = strtol(argv[index], &end, 10);
  if (errno || end == argv[index] || *end || v < min || v > max) {
    fprintf(stderr,
            "gcheap: %s: argument %d must be an integer from %ld to %ld, not "
            "'%s'\n",
            argv[0], index, min, max, argv[index]);
    return -1;
  }
  *out = v;
  return 0;
}

void workload_fail(struct workload_result *result, const char *fmt, ...) {
  if (!result->ok)
    return; /* keep the first reason: later ones are usually consequences */
  result->ok = false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(result->message, sizeof result->message, fmt, ap);
  va_end(ap);
}

/* ---- Threads ------------------------------------------------------------- */

struct thread_run {
  pthread_t thread;
  gc_heap *heap; /* any handle: the thread attaches its own */
  void (*body)(gc_heap *, void *, struct workload_result *);
  void *arg;
  struct workload_result result;
  char attach_error[200];
};

static void *run_attached(void *p) {
  struct thread_run *t = p;
  gc_heap *mine =
      gc_thread_attach(t->heap, t->attach_error, sizeof t->attach_error);
  if (!mine)
    return NULL;
  t->body(mine, t->arg, &t->result);
  gc_thread_detach(mine);
  return NULL;
}

int workload_on_threads(gc_heap *heap, int nthreads,
                        void (*body)(gc_heap *handle, void *arg,
                                     struct workload_result *result),
                        void *arg, struct workload_result *result) {
  struct thread_run *runs = calloc((size_t)nthreads, sizeof *runs);
  if (!runs) {
    fprintf(stderr, "gcheap: no memory for %d threads\n", nthreads);
    return WORKLOAD_REFUSED;
  }
  int started = 0;
  for (int i = 1; i < nthreads; i++, started++) {
    runs[i] = (struct thread_run){
        .heap = heap, .body = body, .arg = arg, .result = {.ok = true}};
    if (pthread_create(&runs[i].thread, NULL, run_attached, &runs[i])) {
      fprintf(stderr, "gcheap: cannot start thread %d\n", i);
      break;
    }
  }
  runs[0].result.ok = true;
  if (started == nthreads - 1)
    body(heap, arg, &runs[0].result);
  /* The joins wait without holding up the other threads' collections. */
  gc_blocking_begin(heap);
  for (int i = 1; i <= started; i++)
    pthread_join(runs[i].thread, NULL);
  gc_blocking_end(heap);
  int status = started == nthreads - 1 ? 0 : WORKLOAD_REFUSED;
  for (int i = 0; i <= started; i++) {
    if (runs[i].attach_error[0]) {
      fprintf(stderr, "gcheap: %s\n", runs[i].attach_error);
      status = WORKLOAD_REFUSED;
    }
    result->checksum += runs[i].result.checksum;
    if (!runs[i].result.ok)
      workload_fail(result, "thread %d: %s", i, runs[i].result.message);
  }
  free(runs);
  return status;
}
