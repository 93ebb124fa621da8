/* compare.h — "gcheap compare": every collector against native Boehm.
 *
 * compare.c runs the programs (each run a separate process, interleaved),
 * compare-report.c turns the runs into the table, the CSV and the chart,
 * compare-scale.c expands --scale's range and draws the chart against size. */
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
  long scale_value;                 /* --scale: the argument the range sets */
};

/* What --scale accepts, for its usage and its errors. */
#define COMPARE_SCALE_SYNTAX                                                   \
  "WORKLOAD:[ARG,...,]LO..HI[/STEP|/xFACTOR] (e.g. binary-trees:16..22, "      \
  "large-live:16..64/x2)"

/* "--scale WORKLOAD:[ARG,...,]LO..HI[/STEP|/xFACTOR]": the workload at every
 * value of its last given argument from LO to HI, adding STEP (default 1)
 * or multiplying by FACTOR. */
struct compare_scale {
  bool on;
  char spec[96];     /* as given, for the chart's title */
  char arg_name[32]; /* the range's argument, from the workload's usage */
  bool factor;       /* the sizes are LO, LO*FACTOR, ...: a log x axis */
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
  long warmed_kib;     /* memory touched and given back just before the run */
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
  bool cold_memory; /* --cold-memory: memory is not warmed before each run */
  /* The largest peak RSS of each variant on each workload so far: how much
   * memory to warm before its next run there. */
  long peak_rss_kib[COMPARE_MAX_WORKLOADS][COMPARE_MAX_VARIANTS];
  const char *prefix; /* PREFIX.csv, PREFIX.dat, PREFIX.gp, PREFIX.svg */
  struct compare_scale scale;
  struct compare_run *records;
  int nrecords;
};

/* Parses "binary-trees:16" (or ' ' or ',' between arguments) into w; prints
 * what is accepted and returns -1 on an unknown workload. */
int compare_parse_workload(const char *spec, struct compare_workload *w);
/* Does this variant run this workload? */
bool compare_applies(const struct compare *c, int workload, int variant);
/* Prints the tables; writes the CSV and the chart. Returns 0 when every run
 * was right (an out-of-memory trap counts as right), else 1. */
int compare_report(struct compare *c);
const char *compare_status_name(const struct compare_run *run, char *buf,
                                size_t buflen);
const struct compare_run *compare_find_run(const struct compare *c, int w,
                                           int v, int index);
/* The median of n values (sorted in place); -1 when n is 0. */
double compare_median(double *values, int n);
/* The median, smallest and largest of n values (sorted in place) in
 * out[0..2]; false when n is 0. */
bool compare_spread(double *values, int n, double out[3]);
/* Runs gnuplot on the script gp and prints where the chart svg is, or that
 * it was not drawn and that its data is in dat. */
void compare_gnuplot(const char *gp, const char *svg, const char *dat);

/* Adds the workloads of a --scale spec to c and sets c->scale; prints a
 * one-line error naming what is accepted and returns -1 on bad input. */
int compare_scale_parse(struct compare *c, const char *spec);
/* PREFIX-scale.dat and, with gnuplot, PREFIX-scale.svg: wall time, peak RSS
 * and longest pause of every variant against the range's argument. */
void compare_scale_chart(const struct compare *c);

#endif
