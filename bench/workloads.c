/* workloads.c — the table of workloads and the helpers they share. */
#include "workload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* tiny_args are what the smoke tests run on every collector, including the
 * null collector's default 256M arena and valgrind: keep them small. */
const struct workload gc_workloads[] = {
    {"gcbench", "[DEPTH]",
     "Ellis/Kovac/Boehm GCBench (DEPTH 16 = standard: stretch 18, long-lived "
     "16, trees 4..16, array 500000)",
     "8", workload_gcbench, NULL},
    {"binary-trees", "[N]",
     "Benchmarks Game binary-trees (default N 16; min depth 4)", "8",
     workload_binary_trees, NULL},
    {"array-copy", "[ROUNDS [LENGTH]]",
     "reference arrays copied with gc_array_copy, many onto themselves with "
     "overlapping ranges (default 400 rounds, 64 arrays of 4096)",
     "10", workload_array_copy, NULL},
    {"cycles", "[ROUNDS]",
     "cyclic garbage churn: rings and doubly linked lists dropped while some "
     "survive (default 200 rounds)",
     "5", workload_cycles, NULL},
    {"resources", "[COUNT]",
     "resources created and dropped; destructors counted against creations "
     "(default 1000000)",
     "5000", workload_resources, workload_resources_after_free},
    {"weak", "[TICKS]",
     "short-lived processes watched through weak references, as monitors are "
     "(default 2000 ticks)",
     "20", workload_weak, NULL},
    {"large-live", "[MIB]",
     "a live set of MIB MiB (default 1024) kept while garbage churns: pauses "
     "and memory at scale",
     "4", workload_large_live, NULL},
    {"collect-often", "[TICKS]",
     "an event loop that calls gc_collect after every ~200 KB of garbage "
     "(default 2000 ticks): memory given back and taken again shows as sys "
     "time",
     "5", workload_collect_often, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
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
