/* compare.h — "gcheap compare": every collector against native Boehm.
 *
 * compare.c runs the programs (each run a separate process, interleaved),
 * compare-report.c turns the runs into the table, the CSV and the chart. */
#ifndef GCHEAP_BENCH_COMPARE_H
#define GCHEAP_BENCH_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Runs the comparison. options are the raw "-C key=value" settings given
 * before the command (already validated), forwarded to every collector run
 * except their collector= setting. argc/argv are the arguments after
 * "compare". Returns the process exit status. */
int compare_main(int noptions, char **options, int argc, char **argv);
void compare_usage(FILE *out);

/* ---- Shared between compare.c and compare-report.c ---------------------- */

enum {
  COMPARE_MAX_ARGS = 8,
  COMPARE_MAX_VARIANTS = 16,
  COMPARE_MAX_WORKLOADS = 32
};

/* A workload with its arguments, e.g. "binary-trees 16". */
struct compare_workload {
  char label[96];
  char *argv[COMPARE_MAX_ARGS + 1]; /* name, args, NULL */
  char *storage;                    /* what argv points into (owned) */
  bool has_native;                  /* the native baselines implement it */
};

/* A program to compare: a collector run by gcheap, or a native baseline. */
struct compare_variant {
  char label[48];
  char program[4096];
  bool native;
  bool parallel_mark; /* native Boehm with GC_start_mark_threads() */
};

enum run_status {
  RUN_OK,
  RUN_WRONG,    /* exit 1: the workload's own check failed */
  RUN_ERROR,    /* exit 2, or the program could not start */
  RUN_TRAP_OOM, /* exit 3: out of memory (the null collector's arena) */
  RUN_TRAP,     /* exit 4: another trap */
  RUN_CRASH,    /* killed by a signal, or an unknown status */
};

struct compare_run {
  int workload, variant, index;
  enum run_status status;
  int signal;    /* RUN_CRASH: the signal, or 0 */
  double wall_s; /* fork to wait4, measured by compare */
  double user_s, sys_s;
  long max_rss_kib;
  double collections;  /* as the program reported; -1 unknown */
  double pause_max_ms; /* as the program reported; -1 unknown */
  bool has_checksum;
  uint64_t checksum;
  char message[160]; /* the last line of stderr when not RUN_OK */
};

struct compare {
  struct compare_workload workloads[COMPARE_MAX_WORKLOADS];
  int nworkloads;
  struct compare_variant variants[COMPARE_MAX_VARIANTS];
  int nvariants;
  int runs;
  const char *prefix; /* PREFIX.csv, PREFIX.dat, PREFIX.gp, PREFIX.svg */
  struct compare_run *records;
  int nrecords;
};

/* Does this variant run this workload? */
bool compare_applies(const struct compare *c, int workload, int variant);
/* Prints the tables; writes the CSV and the chart. Returns 0 when every run
 * was right (an out-of-memory trap counts as right), else 1. */
int compare_report(struct compare *c);
const char *compare_status_name(const struct compare_run *run, char *buf,
                                size_t buflen);

#endif
