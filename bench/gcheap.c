/* gcheap.c — the gcheap program.
 *
 *   gcheap [-C key=value]... bench WORKLOAD [ARGS]
 *   gcheap [-C key=value]... compare [WORKLOAD[:ARGS]...] [-n RUNS] [-o PREFIX]
 *   gcheap [-C key=value]... compare --scale WORKLOAD:LO..HI [-n RUNS] [...]
 *   gcheap --help | --version | --workloads
 *
 * "bench" runs one workload on the configured collector and prints its
 * checksum, wall time and heap statistics as "key: value" lines (which
 * "compare" parses; the native baselines print the same keys).
 *
 * "--workloads" prints each workload's name and the smoke tests' sizes
 * (workload.h), for bench/smoke-test.sh.
 *
 * Exit status: 0 success, 1 the workload computed a wrong result, 2 usage or
 * configuration error, 3 the heap ran out of memory (a GC_TRAP_OOM), 4 any
 * other trap.
 */
#include "compare.h"
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum {
  EXIT_WRONG = 1,
  EXIT_USAGE = 2,
  EXIT_TRAP_OOM = 3,
  EXIT_TRAP_OTHER = 4,
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: gcheap [-C key=value]... bench WORKLOAD [ARGS]\n"
          "       gcheap [-C key=value]... compare [WORKLOAD[:ARGS]...] [-n "
          "RUNS] [-o PREFIX]\n"
          "       gcheap [-C key=value]... compare --scale WORKLOAD:LO..HI [-n "
          "RUNS] [...]\n"
          "       gcheap --help | --version | --workloads\n");
}

static void help(void) {
  usage(stdout);
  printf("\ncollectors: %s\n\noptions (-C key=value, or "
         "GCHEAP_OPTIONS=\"k=v,k=v\"):\n",
         gc_collector_names());
  gc_config_help(stdout);
  printf("\nworkloads:\n");
  for (const struct workload *w = gc_workloads; w->name; w++)
    printf("  %-13s %-9s %s\n", w->name, w->usage, w->summary);
  printf("\n");
  compare_usage(stdout);
  printf("\n--workloads prints one line per workload: its name, then the "
         "arguments\nof its smoke test and of its verify=1 stress=1 run "
         "(\"-\": none), tab-separated\n");
  printf("\nexit status: 0 ok, 1 wrong result, 2 usage or configuration "
         "error,\n3 out of memory (GC_TRAP_OOM), 4 another trap\n");
}

/* A trap ends the program with a message and a status that says which kind;
 * the default handler would abort, which looks like a crash. */
static void exit_on_trap(gc_heap *heap, gc_trap trap, const char *msg,
                         void *ud) {
  fflush(stdout);
  fprintf(stderr, "gcheap: %s: %s\n", gc_collector_name(heap), msg);
  exit(trap == GC_TRAP_OOM ? EXIT_TRAP_OOM : EXIT_TRAP_OTHER);
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) +
         (double)(now.tv_nsec - start->tv_nsec) * 1e-9;
}

static double timeval_seconds(const struct timeval *t) {
  return (double)t->tv_sec + (double)t->tv_usec * 1e-6;
}

/* CPU time and page faults between two getrusage calls: system time is
 * where a collector that gives memory back and takes it again shows
 * (madvise, munmap, mmap and the page faults that follow). */
static void print_rusage(const struct rusage *before,
                         const struct rusage *after) {
  printf("user-time: %.6f s\n", timeval_seconds(&after->ru_utime) -
                                    timeval_seconds(&before->ru_utime));
  printf("sys-time: %.6f s\n", timeval_seconds(&after->ru_stime) -
                                   timeval_seconds(&before->ru_stime));
  printf("minor-faults: %ld\n", after->ru_minflt - before->ru_minflt);
}

static void print_stats(const gc_stats *s) {
  printf("collections: %llu\n", (unsigned long long)s->collections);
  printf("pause-max: %.3f ms\n", (double)s->pause_ns_max * 1e-6);
  printf("pause-total: %.3f ms\n", (double)s->pause_ns_total * 1e-6);
  printf("allocated: %llu bytes in %llu objects\n",
         (unsigned long long)s->allocated_bytes,
         (unsigned long long)s->allocated_objects);
  printf("freed: %llu bytes in %llu objects\n",
         (unsigned long long)s->freed_bytes,
         (unsigned long long)s->freed_objects);
  printf("live: %llu bytes\n", (unsigned long long)s->live_bytes);
  printf("heap: %llu bytes\n", (unsigned long long)s->heap_bytes);
  printf("peak-heap: %llu bytes\n", (unsigned long long)s->peak_heap_bytes);
  printf("destructors: %llu\n", (unsigned long long)s->destructors_run);
}

static int bench(gc_config *config, int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "gcheap: bench needs a workload; one of:");
    for (const struct workload *w = gc_workloads; w->name; w++)
      fprintf(stderr, " %s", w->name);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
  }
  const struct workload *w = workload_find(argv[0]);
  if (!w) {
    fprintf(stderr, "gcheap: unknown workload '%s'; accepted:", argv[0]);
    for (const struct workload *x = gc_workloads; x->name; x++)
      fprintf(stderr, " %s", x->name);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
  }
  char err[512];
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  if (!heap) {
    fprintf(stderr, "gcheap: %s\n", err);
    return EXIT_USAGE;
  }
  gc_set_trap_handler(heap, exit_on_trap, NULL);

  struct workload_result result = {.ok = true};
  struct timespec start;
  struct rusage usage_before, usage_after;
  getrusage(RUSAGE_SELF, &usage_before);
  clock_gettime(CLOCK_MONOTONIC, &start);
  int status = w->run(heap, argc, argv, &result);
  if (status < 0) {
    gc_heap_free(heap);
    /* -2: the workload printed why (a thread that could not attach). */
    if (status != WORKLOAD_REFUSED)
      fprintf(stderr, "usage: gcheap bench %s %s\n", w->name, w->usage);
    return EXIT_USAGE;
  }
  double wall = seconds_since(&start);
  getrusage(RUSAGE_SELF, &usage_after);

  gc_stats stats;
  gc_get_stats(heap, &stats);
  const char *collector = gc_collector_name(heap); /* a static string */
  printf("workload: %s", w->name);
  for (int i = 1; i < argc; i++)
    printf(" %s", argv[i]);
  printf("\ncollector: %s\n", collector);
  printf("wall-time: %.6f s\n", wall);
  print_rusage(&usage_before, &usage_after);
  print_stats(&stats);
  fflush(stdout);
  gc_heap_free(heap);
  if (w->after_free)
    w->after_free(&result);

  printf("checksum: %llu\n", (unsigned long long)result.checksum);
  printf("result: %s\n", result.ok ? "ok" : "WRONG");
  if (!result.ok) {
    fprintf(stderr, "gcheap: %s on %s computed a wrong result: %s\n", w->name,
            collector, result.message);
    return EXIT_WRONG;
  }
  return 0;
}

/* Copies the "-C key=value" settings of argv, in the form gc_config_set
 * takes, so that compare can forward them. Like gc_config_args, it takes
 * them from anywhere on the command line. */
static int collect_options(int argc, char **argv, char **options) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
      options[n++] = argv[++i];
    else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2])
      options[n++] = argv[i] + 2;
  }
  return n;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      help();
      return 0;
    }
    if (strcmp(argv[i], "--workloads") == 0) {
      for (const struct workload *w = gc_workloads; w->name; w++)
        printf("%s\t%s\t%s\n", w->name, w->tiny_args,
               w->stress_args ? w->stress_args : "-");
      return 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("gcheap %s (collectors: %s)\n", GC_HEAP_VERSION_STRING,
             gc_collector_names());
      return 0;
    }
  }

  char err[512];
  gc_config *config = gc_config_new(err, sizeof err);
  if (!config) {
    fprintf(stderr, "gcheap: %s\n", err);
    return EXIT_USAGE;
  }
  char **options = calloc((size_t)argc + 1, sizeof *options);
  if (!options)
    return EXIT_USAGE;
  int noptions = collect_options(argc, argv, options);
  if (gc_config_args(config, &argc, argv, err, sizeof err) < 0) {
    fprintf(stderr, "gcheap: %s\n", err);
    gc_config_free(config);
    return EXIT_USAGE;
  }

  int status;
  if (argc < 2) {
    usage(stderr);
    status = EXIT_USAGE;
  } else if (strcmp(argv[1], "bench") == 0) {
    status = bench(config, argc - 2, argv + 2);
  } else if (strcmp(argv[1], "compare") == 0) {
    status = compare_main(noptions, options, argc - 2, argv + 2);
  } else {
    fprintf(stderr, "gcheap: unknown command '%s'; accepted: bench, compare\n",
            argv[1]);
    usage(stderr);
    status = EXIT_USAGE;
  }
  gc_config_free(config);
  free(options);
  return status;
}
