/* compare-report.c — the table, the CSV and the chart of "gcheap compare".
 *
 * Per workload and variant: the medians of wall time (measured by compare
 * around each process), user time and peak RSS (wait4's rusage), the median
 * collection count and longest pause (as the program reports them), and the
 * ratio to the baseline: the median of the per-run ratios of wall time to the
 * baseline's run in the same round (runs are interleaved, so a pair saw the
 * same machine), and the same for CPU time (user+sys), which a busy machine
 * disturbs less. The baseline is the strongest native Boehm that ran: inline
 * allocation from per-thread free lists, static libgc, parallel marking
 * (boehm-native-inline; native/native.h), else native Boehm with the shared
 * libgc (a build without libgc.a), else collector=boehm for workloads
 * without a native version.
 */
#define _GNU_SOURCE
#include "compare.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *compare_status_name(const struct compare_run *run, char *buf,
                                size_t buflen) {
  switch (run->status) {
  case RUN_OK:
    return "ok";
  case RUN_WRONG:
    return "WRONG RESULT";
  case RUN_ERROR:
    return "error";
  case RUN_TRAP_OOM:
    return "trap (oom)";
  case RUN_TRAP:
    return "trap";
  case RUN_CRASH:
    if (run->signal)
      snprintf(buf, buflen, "CRASH (signal %d)", run->signal);
    else
      snprintf(buf, buflen, "CRASH");
    return buf;
  }
  return "?";
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double compare_median(double *values, int n) {
  if (n == 0)
    return -1;
  qsort(values, (size_t)n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

bool compare_spread(double *values, int n, double out[3]) {
  if (n == 0)
    return false;
  out[0] = compare_median(values, n); /* sorts */
  out[1] = values[0];
  out[2] = values[n - 1];
  return true;
}

const struct compare_run *compare_find_run(const struct compare *c, int w,
                                           int v, int index) {
  for (int i = 0; i < c->nrecords; i++) {
    const struct compare_run *r = &c->records[i];
    if (r->workload == w && r->variant == v && r->index == index)
      return r;
  }
  return NULL;
}

static int variant_index(const struct compare *c, const char *label) {
  for (int v = 0; v < c->nvariants; v++)
    if (strcmp(c->variants[v].label, label) == 0)
      return v;
  return -1;
}

/* The variant ratios are taken against, for workload w; -1 if none ran. */
static int baseline_of(const struct compare *c, int w) {
  const char *choices[] = {"boehm-native-inline", "boehm-native", "boehm"};
  for (size_t i = 0; i < sizeof choices / sizeof *choices; i++) {
    int v = variant_index(c, choices[i]);
    if (v < 0 || !compare_applies(c, w, v))
      continue;
    for (int r = 0; r < c->runs; r++) {
      const struct compare_run *run = compare_find_run(c, w, v, r);
      if (run && run->status == RUN_OK)
        return v;
    }
  }
  return -1;
}

struct summary {
  int ok_runs;
  const struct compare_run *failure; /* the first run that was not ok */
  double wall, user, sys, rss_mib, collections, pause_ms; /* -1: none */
  double ratio, cpu_ratio; /* wall and user+sys time over the baseline's */
};

static struct summary summarise(const struct compare *c, int w, int v,
                                int baseline) {
  struct summary s = {0};
  double wall[c->runs], user[c->runs], sys[c->runs], rss[c->runs], gcs[c->runs],
      pause[c->runs], ratio[c->runs], cpu_ratio[c->runs];
  int nratio = 0, ngcs = 0, npause = 0;
  for (int r = 0; r < c->runs; r++) {
    const struct compare_run *run = compare_find_run(c, w, v, r);
    if (!run)
      continue;
    if (run->status != RUN_OK) {
      if (!s.failure)
        s.failure = run;
      continue;
    }
    wall[s.ok_runs] = run->wall_s;
    user[s.ok_runs] = run->user_s;
    sys[s.ok_runs] = run->sys_s;
    rss[s.ok_runs] = (double)run->max_rss_kib / 1024.0;
    s.ok_runs++;
    if (run->collections >= 0)
      gcs[ngcs++] = run->collections;
    if (run->pause_max_ms >= 0)
      pause[npause++] = run->pause_max_ms;
    const struct compare_run *base =
        baseline >= 0 ? compare_find_run(c, w, baseline, r) : NULL;
    if (base && base->status == RUN_OK && base->wall_s > 0 &&
        base->user_s + base->sys_s > 0) {
      cpu_ratio[nratio] =
          (run->user_s + run->sys_s) / (base->user_s + base->sys_s);
      ratio[nratio++] = run->wall_s / base->wall_s;
    }
  }
  s.wall = compare_median(wall, s.ok_runs);
  s.user = compare_median(user, s.ok_runs);
  s.sys = compare_median(sys, s.ok_runs);
  s.rss_mib = compare_median(rss, s.ok_runs);
  s.collections = compare_median(gcs, ngcs);
  s.pause_ms = compare_median(pause, npause);
  s.ratio = compare_median(ratio, nratio);
  s.cpu_ratio = compare_median(cpu_ratio, nratio);
  return s;
}

/* True when every ok run of workload w printed the same checksum. */
static bool checksums_agree(const struct compare *c, int w, uint64_t *first) {
  bool have = false;
  for (int i = 0; i < c->nrecords; i++) {
    const struct compare_run *r = &c->records[i];
    if (r->workload != w || r->status != RUN_OK || !r->has_checksum)
      continue;
    if (!have) {
      *first = r->checksum;
      have = true;
    } else if (r->checksum != *first) {
      return false;
    }
  }
  return true;
}

static int print_tables(const struct compare *c) {
  int failures = 0;
  printf("\n");
  for (int w = 0; w < c->nworkloads; w++) {
    int baseline = baseline_of(c, w);
    uint64_t checksum = 0;
    bool agree = checksums_agree(c, w, &checksum);
    printf("%s — medians of %d runs%s; ratio (wall time) and cpu "
           "(user+sys) relative to %s, paired by run\n",
           c->workloads[w].label, c->runs,
           c->cold_memory ? " on cold memory" : "",
           baseline >= 0 ? c->variants[baseline].label : "(no baseline)");
    printf("  %-20s %8s %8s %7s %9s %7s %11s %6s %6s\n", "variant", "wall s",
           "user s", "sys s", "peak MiB", "GCs", "max pause", "ratio", "cpu");
    for (int v = 0; v < c->nvariants; v++) {
      if (!compare_applies(c, w, v))
        continue;
      struct summary s = summarise(c, w, v, baseline);
      printf("  %-20s", c->variants[v].label);
      if (s.ok_runs == 0) {
        char buf[64];
        printf(" %s", compare_status_name(s.failure, buf, sizeof buf));
        if (s.failure->status != RUN_TRAP_OOM)
          failures++;
        printf("%s%s\n", s.failure->message[0] ? ": " : "", s.failure->message);
        continue;
      }
      printf(" %8.3f %8.3f %7.3f %9.1f", s.wall, s.user, s.sys, s.rss_mib);
      if (s.collections >= 0)
        printf(" %7.0f", s.collections);
      else
        printf(" %7s", "-");
      if (s.pause_ms >= 0)
        printf(" %8.2f ms", s.pause_ms);
      else
        printf(" %11s", "-");
      if (s.ratio >= 0)
        printf(" %6.2f %6.2f", s.ratio, s.cpu_ratio);
      else
        printf(" %6s %6s", "-", "-");
      if (s.failure) {
        char buf[64];
        printf("  (%d of %d runs: %s)", c->runs - s.ok_runs, c->runs,
               compare_status_name(s.failure, buf, sizeof buf));
        if (s.failure->status != RUN_TRAP_OOM)
          failures++;
      }
      printf("\n");
    }
    if (agree)
      printf("  checksum %llu on every run\n\n", (unsigned long long)checksum);
    else {
      printf("  CHECKSUMS DIFFER between runs (see the CSV)\n\n");
      failures++;
    }
  }
  return failures;
}

static void write_csv(const struct compare *c) {
  char path[4096];
  snprintf(path, sizeof path, "%s.csv", c->prefix);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return;
  }
  fprintf(f, "workload,variant,run,status,wall_s,user_s,sys_s,max_rss_kib,"
             "collections,pause_max_ms,checksum,message,warmed_kib\n");
  for (int i = 0; i < c->nrecords; i++) {
    const struct compare_run *r = &c->records[i];
    char buf[64], message[sizeof r->message];
    snprintf(message, sizeof message, "%s", r->message);
    for (char *p = message; *p; p++)
      if (*p == '"')
        *p = '\'';
    fprintf(f, "%s,%s,%d,%s,%.6f,%.6f,%.6f,%ld,%.0f,%.3f,%llu,\"%s\",%ld\n",
            c->workloads[r->workload].label, c->variants[r->variant].label,
            r->index + 1, compare_status_name(r, buf, sizeof buf), r->wall_s,
            r->user_s, r->sys_s, r->max_rss_kib, r->collections,
            r->pause_max_ms,
            r->has_checksum ? (unsigned long long)r->checksum : 0ULL, message,
            r->warmed_kib);
  }
  fclose(f);
  printf("raw runs: %s\n", path);
}

/* The per-run ratios of variant v to baseline b on workload w (runs paired
 * by round, both ok), of wall time or of peak RSS: their median, minimum
 * and maximum in out[0..2]. False if no pair ran. */
static bool paired_spread(const struct compare *c, int w, int v, int b,
                          bool rss, double out[3]) {
  double values[c->runs];
  int n = 0;
  for (int r = 0; r < c->runs; r++) {
    const struct compare_run *run = compare_find_run(c, w, v, r);
    const struct compare_run *base = compare_find_run(c, w, b, r);
    if (!run || !base || run->status != RUN_OK || base->status != RUN_OK)
      continue;
    double x = rss ? (double)run->max_rss_kib : run->wall_s;
    double y = rss ? (double)base->max_rss_kib : base->wall_s;
    if (y > 0)
      values[n++] = x / y;
  }
  return compare_spread(values, n, out);
}

/* Writes PREFIX.dat: a row per workload, labelled with its baseline; for
 * each drawn variant the wall-time and the peak-RSS ratio, each as median,
 * smallest, largest ('?' where the variant did not run). */
static bool write_chart_data(const struct compare *c, const char *dat,
                             const bool *drawn) {
  FILE *f = fopen(dat, "w");
  if (!f) {
    perror(dat);
    return false;
  }
  fprintf(f, "workload");
  for (int v = 0; v < c->nvariants; v++)
    if (drawn[v])
      fprintf(f, " \"%s\" lo hi rss rlo rhi", c->variants[v].label);
  fprintf(f, "\n");
  for (int w = 0; w < c->nworkloads; w++) {
    int b = baseline_of(c, w);
    fprintf(f, "\"%s\\n(vs %s)\"", c->workloads[w].label,
            b >= 0 ? c->variants[b].label : "no baseline");
    for (int v = 0; v < c->nvariants; v++) {
      if (!drawn[v])
        continue;
      double spread[2][3];
      bool have = b >= 0 && compare_applies(c, w, v) &&
                  paired_spread(c, w, v, b, false, spread[0]) &&
                  paired_spread(c, w, v, b, true, spread[1]);
      for (int panel = 0; panel < 2; panel++)
        for (int k = 0; k < 3; k++)
          if (have)
            fprintf(f, " %.4f", spread[panel][k]);
          else
            fprintf(f, " ?");
    }
    fprintf(f, "\n");
  }
  fclose(f);
  return true;
}

/* Two panels with gnuplot, if it is installed: wall time and peak RSS of
 * every variant relative to each workload's baseline, named under the
 * workload since it differs (native Boehm where the workload has a native
 * version, collector=boehm elsewhere). A bar is the median of the paired
 * per-run ratios; its error bar spans the smallest to the largest, the
 * noise a reader must allow for. */
static void write_chart(const struct compare *c) {
  char dat[4096], gp[4096], svg[4096];
  snprintf(dat, sizeof dat, "%s.dat", c->prefix);
  snprintf(gp, sizeof gp, "%s.gp", c->prefix);
  snprintf(svg, sizeof svg, "%s.svg", c->prefix);
  /* A variant without any bar would only make gnuplot complain. */
  bool drawn[c->nvariants];
  int ndrawn = 0;
  for (int v = 0; v < c->nvariants; v++) {
    drawn[v] = false;
    for (int w = 0; w < c->nworkloads && !drawn[v]; w++) {
      double spread[3];
      int b = baseline_of(c, w);
      drawn[v] = b >= 0 && compare_applies(c, w, v) &&
                 paired_spread(c, w, v, b, false, spread);
    }
    ndrawn += drawn[v];
  }
  if (ndrawn == 0) {
    printf("chart: nothing to draw (no run of a baseline succeeded)\n");
    return;
  }
  if (!write_chart_data(c, dat, drawn))
    return;
  FILE *f = fopen(gp, "w");
  if (!f) {
    perror(gp);
    return;
  }
  fprintf(f,
          "set terminal svg size 1400,640 dynamic font 'sans,12' background "
          "rgb 'white'\n"
          "set output '%s'\n"
          "set multiplot layout 1,2 title \"gcheap compare: each variant "
          "relative to its workload's baseline (named under the workload); "
          "bar = median of %d paired runs, error bar = smallest to "
          "largest\" noenhanced\n"
          "set style data histograms\n"
          "set style histogram errorbars gap 1 lw 1\n"
          "set style fill solid 0.85 border -1\n"
          "set datafile missing '?'\n"
          "set yrange [0:*]\n"
          "set grid ytics\n"
          "set xtics noenhanced\n"
          "set key at screen 0.5, screen 0.02 center bottom horizontal "
          "noenhanced maxrows 2\n"
          "set bmargin 9\n"
          "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 "
          "lw 1.5\n"
          "set title 'wall time / baseline (lower is faster)'\n"
          "plot for [i=0:%d] '%s' using (column(2+6*i)):(column(3+6*i)):"
          "(column(4+6*i)):xtic(1) title columnheader(2+6*i)\n"
          "set title 'peak RSS / baseline (lower is smaller)'\n"
          "unset key\n"
          "plot for [i=0:%d] '%s' using (column(5+6*i)):(column(6+6*i)):"
          "(column(7+6*i)):xtic(1) title columnheader(2+6*i)\n"
          "unset multiplot\n",
          svg, c->runs, ndrawn - 1, dat, ndrawn - 1, dat);
  fclose(f);
  compare_gnuplot(gp, svg, dat);
}

void compare_gnuplot(const char *gp, const char *svg, const char *dat) {
  pid_t pid = fork();
  if (pid == 0) {
    execlp("gnuplot", "gnuplot", gp, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
      WEXITSTATUS(status) == 0)
    printf("chart: %s\n", svg);
  else
    printf("chart: %s not drawn (gnuplot failed or is not installed; data in "
           "%s)\n",
           svg, dat);
}

int compare_report(struct compare *c) {
  int failures = print_tables(c);
  write_csv(c);
  fflush(stdout);
  write_chart(c);
  if (c->scale.on) {
    fflush(stdout);
    compare_scale_chart(c);
  }
  if (failures)
    printf("%d variant(s) failed: see above\n", failures);
  return failures ? 1 : 0;
}
