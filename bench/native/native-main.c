/* native-main.c — the native baseline programs:
 *
 *   gcheap-native-boehm [--parallel-mark] WORKLOAD [ARGS]   (shared libgc)
 *   gcheap-native-boehm-static [--parallel-mark] ...        (static libgc)
 *   gcheap-native-boehm-inline ...   (static libgc, inline allocation from
 *                                     per-thread free lists, parallel marking)
 *   gcheap-native-malloc WORKLOAD [ARGS]                    (malloc/free)
 *
 * WORKLOAD is gcbench, binary-trees or mt-gcbench, with the arguments
 * "gcheap bench" takes; the output has the same "key: value" lines and
 * checksum.
 *
 * Boehm starts its parallel markers only when asked (see
 * shared/design/boehm-baseline.md): --parallel-mark, or the environment
 * variable GCHEAP_PARALLEL_MARK=1, calls GC_start_mark_threads().
 */
#include "native.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifndef NATIVE_LABEL
#error "NATIVE_LABEL names the variant, e.g. \"boehm-native\""
#endif

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void native_fail(struct native_result *result, const char *fmt, ...) {
  if (!result->ok)
    return;
  result->ok = false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(result->message, sizeof result->message, fmt, ap);
  va_end(ap);
}

void *native_check_alloc(void *ptr) {
  if (!ptr) {
    fflush(stdout);
    fprintf(stderr, "gcheap: %s: out of memory\n", NATIVE_LABEL);
    exit(3);
  }
  return ptr;
}

#ifdef NATIVE_BOEHM_INLINE
__thread void **native_free_lists;

void **native_thread_free_lists(void) {
  native_free_lists = native_check_alloc(
      GC_MALLOC_UNCOLLECTABLE(GC_TINY_FREELISTS * sizeof(void *)));
  return native_free_lists;
}
#endif

#ifdef NATIVE_BOEHM
/* Pause times, measured from Boehm's collection events. */
static uint64_t pause_start_ns, pause_max_ns, pause_total_ns;

static void on_collection_event(GC_EventType event) {
  if (event == GC_EVENT_START) {
    pause_start_ns = now_ns();
  } else if (event == GC_EVENT_END && pause_start_ns) {
    uint64_t pause = now_ns() - pause_start_ns;
    pause_total_ns += pause;
    if (pause > pause_max_ns)
      pause_max_ns = pause;
    pause_start_ns = 0;
  }
}
#endif

static const struct {
  const char *name;
  int (*run)(int argc, char **argv, struct native_result *result);
} workloads[] = {
    {"gcbench", native_gcbench},
    {"binary-trees", native_binary_trees},
    {"mt-gcbench", native_mt_gcbench},
};

int main(int argc, char **argv) {
  int first = 1;
  bool parallel_mark = getenv("GCHEAP_PARALLEL_MARK") &&
                       strcmp(getenv("GCHEAP_PARALLEL_MARK"), "1") == 0;
  if (argc > 1 && strcmp(argv[1], "--parallel-mark") == 0) {
    parallel_mark = true;
    first = 2;
  }
  int (*run)(int, char **, struct native_result *) = NULL;
  if (argc > first)
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
      if (strcmp(argv[first], workloads[i].name) == 0)
        run = workloads[i].run;
  if (!run) {
    fprintf(stderr,
            "usage: %s [--parallel-mark] gcbench [DEPTH] | binary-trees [N] "
            "| mt-gcbench [THREADS [DEPTH]]\n",
            argv[0]);
    return 2;
  }
  const char *label = NATIVE_LABEL;
#ifdef NATIVE_BOEHM
#ifdef NATIVE_BOEHM_INLINE
  GC_set_all_interior_pointers(0); /* before GC_INIT: see native.h */
  parallel_mark = false;           /* always on: no "-par" label */
#endif
  GC_INIT();
  GC_set_on_collection_event(on_collection_event);
#ifdef NATIVE_BOEHM_INLINE
  GC_start_mark_threads();
#endif
  if (parallel_mark) {
    GC_start_mark_threads();
    label = NATIVE_LABEL "-par";
  }
#else
  (void)parallel_mark; /* malloc has nothing to start */
#endif

  struct native_result result = {.ok = true};
  struct rusage usage_before, usage_after;
  getrusage(RUSAGE_SELF, &usage_before);
  uint64_t start = now_ns();
  if (run(argc - first, argv + first, &result) < 0) {
    fprintf(stderr, "%s: bad arguments for %s\n", argv[0], argv[first]);
    return 2;
  }
  uint64_t wall = now_ns() - start;
  getrusage(RUSAGE_SELF, &usage_after);

  printf("workload:");
  for (int i = first; i < argc; i++)
    printf(" %s", argv[i]);
  printf("\ncollector: %s\n", label);
  printf("wall-time: %.6f s\n", (double)wall * 1e-9);
  /* The same CPU time and fault lines as gcheap bench. */
  printf("user-time: %.6f s\n",
         (double)(usage_after.ru_utime.tv_sec - usage_before.ru_utime.tv_sec) +
             (double)(usage_after.ru_utime.tv_usec -
                      usage_before.ru_utime.tv_usec) *
                 1e-6);
  printf("sys-time: %.6f s\n",
         (double)(usage_after.ru_stime.tv_sec - usage_before.ru_stime.tv_sec) +
             (double)(usage_after.ru_stime.tv_usec -
                      usage_before.ru_stime.tv_usec) *
                 1e-6);
  printf("minor-faults: %ld\n", usage_after.ru_minflt - usage_before.ru_minflt);
#ifdef NATIVE_BOEHM
  printf("collections: %llu\n", (unsigned long long)GC_get_gc_no());
  printf("pause-max: %.3f ms\n", (double)pause_max_ns * 1e-6);
  printf("pause-total: %.3f ms\n", (double)pause_total_ns * 1e-6);
  printf("heap: %llu bytes\n", (unsigned long long)GC_get_heap_size());
  struct GC_prof_stats_s prof;
  GC_get_prof_stats(&prof, sizeof prof);
  printf("markers: %lu\n", (unsigned long)prof.markers_m1 + 1);
#else
  printf("collections: 0\npause-max: 0.000 ms\n");
#endif
  printf("checksum: %llu\n", (unsigned long long)result.checksum);
  printf("result: %s\n", result.ok ? "ok" : "WRONG");
  if (!result.ok) {
    fprintf(stderr, "%s: %s computed a wrong result: %s\n", label, argv[first],
            result.message);
    return 1;
  }
  return 0;
}
