/* wl-mt-gcbench.c — GCBench on several threads of one heap, each building
 * its own trees (as Whippet's mt-gcbench): allocation from several threads
 * at once, and collections that stop them all. THREADS threads do THREADS
 * times the work of gcbench; the checksum is THREADS times gcbench's. The
 * native baselines run the same (native/gcbench.c). */
#include "tree-params.h"
#include "workload.h"

static void gcbench_thread(gc_heap *handle, void *arg,
                           struct workload_result *result) {
  gcbench_run(handle, *(int *)arg, result);
}

int workload_mt_gcbench(gc_heap *h, int argc, char **argv,
                        struct workload_result *result) {
  long threads, depth;
  if (argc > 3 || workload_int_arg(argc, argv, 1, 1, 64, 2, &threads) < 0 ||
      workload_int_arg(argc, argv, 2, GCBENCH_MIN_TREE_DEPTH,
                       GCBENCH_DEFAULT_DEPTH + 4, GCBENCH_DEFAULT_DEPTH,
                       &depth) < 0)
    return -1;
  int d = (int)depth;
  return workload_on_threads(h, (int)threads, gcbench_thread, &d, result);
}
