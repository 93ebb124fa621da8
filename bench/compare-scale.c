/* compare-scale.c — "gcheap compare --scale": one workload at a range of
 * sizes, and a chart of how wall time, peak RSS and the longest pause grow
 * with the size.
 *
 * The x axis is the workload's own argument, not its live size: the native
 * programs report no live size, and gcheap's "live" line is what the last
 * collection kept, which differs between collectors for the same work.
 */
#define _GNU_SOURCE
#include "compare.h"
#include "workload.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- The range ----------------------------------------------------------- */

#define SCALE_ERROR "gcheap compare: --scale "

/* How many arguments the workload takes, read from its usage ("[ROUNDS
 * [LENGTH]]" takes 2); the name of argument n (from 1) goes into name. */
static int workload_args(const struct workload *w, int n, char *name,
                         size_t len) {
  int count = 0;
  for (const char *p = w->usage;;) {
    p += strspn(p, "[] ");
    size_t word = strcspn(p, "[] ");
    if (word == 0)
      return count;
    if (++count == n)
      snprintf(name, len, "%.*s", (int)word, p);
    p += word;
  }
}

/* A non-negative decimal integer at *p; *p moves past it. Signs, spaces and
 * other bases are refused: strtol would take them. */
static bool read_size(const char **p, long *out) {
  if (!isdigit((unsigned char)**p))
    return false;
  char *end;
  errno = 0;
  *out = strtol(*p, &end, 10);
  *p = end;
  return errno == 0;
}

static void list_workloads_with_args(void) {
  const char *sep = " ";
  for (const struct workload *w = gc_workloads; w->name; w++)
    if (workload_args(w, 0, NULL, 0) > 0) {
      fprintf(stderr, "%s%s %s", sep, w->name, w->usage);
      sep = ", ";
    }
}

int compare_scale_parse(struct compare *c, const char *spec) {
  const char *colon = strchr(spec, ':');
  const char *dots = strstr(spec, "..");
  if (!colon || !dots || dots < colon) {
    fprintf(stderr, SCALE_ERROR "needs a range, not '%s': %s\n", spec,
            COMPARE_SCALE_SYNTAX);
    return -1;
  }
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(colon - spec), spec);
  const struct workload *w = workload_find(name);
  if (!w) {
    fprintf(stderr, SCALE_ERROR "%s: unknown workload '%s'; accepted:", spec,
            name);
    list_workloads_with_args();
    fprintf(stderr, "\n");
    return -1;
  }

  /* The range is the last argument; those before it are kept as given. */
  const char *range = dots;
  while (range > colon + 1 && !strchr(", ", range[-1]))
    range--;
  int position = 1;
  for (const char *p = colon + 1 + strspn(colon + 1, ", "); p < range;
       p += strspn(p, ", ")) {
    position++;
    p += strcspn(p, ", ");
  }

  long lo = 0, hi = 0, step = 1;
  bool factor = false;
  const char *p = range;
  bool ok = read_size(&p, &lo) && p == dots;
  p = dots + 2;
  ok = ok && read_size(&p, &hi);
  if (ok && *p == '/') {
    factor = *++p == 'x';
    p += factor;
    ok = read_size(&p, &step);
  }
  if (!ok || *p) {
    fprintf(stderr,
            SCALE_ERROR "%s: LO, HI, STEP and FACTOR are non-negative "
                        "integers: %s\n",
            spec, COMPARE_SCALE_SYNTAX);
    return -1;
  }

  int nargs =
      workload_args(w, position, c->scale.arg_name, sizeof c->scale.arg_name);
  if (nargs == 0) {
    fprintf(stderr,
            SCALE_ERROR "%s: %s takes no integer argument; workloads that "
                        "do:",
            spec, w->name);
    list_workloads_with_args();
    fprintf(stderr, "\n");
    return -1;
  }
  if (position > nargs) {
    fprintf(stderr,
            SCALE_ERROR "%s: the range would be argument %d, but %s takes %d "
                        "(%s): %s\n",
            spec, position, w->name, nargs, w->usage, COMPARE_SCALE_SYNTAX);
    return -1;
  }
  if (lo > hi) {
    fprintf(stderr, SCALE_ERROR "%s: LO %ld is above HI %ld: %s\n", spec, lo,
            hi, COMPARE_SCALE_SYNTAX);
    return -1;
  }
  if (factor ? step < 2 || lo < 1 : step < 1) {
    fprintf(stderr,
            SCALE_ERROR "%s: a STEP is at least 1, a FACTOR at least 2 and "
                        "needs LO at least 1: %s\n",
            spec, COMPARE_SCALE_SYNTAX);
    return -1;
  }

  long npoints = 1;
  if (!factor)
    npoints += (hi - lo) / step;
  else
    for (long v = lo; v <= hi / step; v *= step)
      npoints++;
  if (npoints > COMPARE_MAX_WORKLOADS - c->nworkloads) {
    fprintf(stderr,
            SCALE_ERROR "%s gives %ld sizes; at most %d (a larger /STEP or "
                        "/xFACTOR gives fewer): %s\n",
            spec, npoints, COMPARE_MAX_WORKLOADS - c->nworkloads,
            COMPARE_SCALE_SYNTAX);
    return -1;
  }

  long v = lo;
  for (long i = 0; i < npoints; i++) {
    char one[160];
    snprintf(one, sizeof one, "%.*s%ld", (int)(range - spec), spec, v);
    struct compare_workload *cw = &c->workloads[c->nworkloads++];
    if (compare_parse_workload(one, cw) < 0)
      return -1;
    cw->scale_value = v;
    if (i + 1 < npoints) /* past the last, v could overflow */
      v = factor ? v * step : v + step;
  }
  c->scale.on = true;
  c->scale.factor = factor;
  snprintf(c->scale.spec, sizeof c->scale.spec, "%s", spec);
  return 0;
}

/* ---- The chart ----------------------------------------------------------- */

enum measure { WALL_S, RSS_MIB, PAUSE_MS, NMEASURES };

/* The median, smallest and largest of a measure over the ok runs of variant
 * v on workload w, in out[0..2]. Values of 0 are left out: a log axis cannot
 * show them, and a pause of 0 means there was none (malloc). */
static bool spread(const struct compare *c, int w, int v, enum measure m,
                   double out[3]) {
  double values[c->runs];
  int n = 0;
  for (int r = 0; r < c->runs; r++) {
    const struct compare_run *run = compare_find_run(c, w, v, r);
    if (!run || run->status != RUN_OK)
      continue;
    double x = m == WALL_S    ? run->wall_s
               : m == RSS_MIB ? (double)run->max_rss_kib / 1024.0
                              : run->pause_max_ms;
    if (x > 0)
      values[n++] = x;
  }
  return compare_spread(values, n, out);
}

/* Which variants have a point in panel m, and how many. */
static int variants_with(const struct compare *c, enum measure m, bool *has) {
  int count = 0;
  for (int v = 0; v < c->nvariants; v++) {
    double out[3];
    has[v] = false;
    for (int w = 0; w < c->nworkloads && !has[v]; w++)
      has[v] = compare_applies(c, w, v) && spread(c, w, v, m, out);
    count += has[v];
  }
  return count;
}

/* PREFIX-scale.dat: a block per drawn variant (gnuplot's "index", in the
 * order of drawn), a row per size: the size, then median, smallest and
 * largest of each measure, '?' where there is none. */
static bool write_data(const struct compare *c, const char *dat,
                       const bool *drawn) {
  FILE *f = fopen(dat, "w");
  if (!f) {
    perror(dat);
    return false;
  }
  fprintf(f,
          "# gcheap compare --scale %s, %d runs per point\n"
          "# %s wall_s lo hi peak_rss_mib lo hi pause_max_ms lo hi\n",
          c->scale.spec, c->runs, c->scale.arg_name);
  for (int v = 0; v < c->nvariants; v++) {
    if (!drawn[v])
      continue;
    fprintf(f, "\n\n# %s\n", c->variants[v].label);
    for (int w = 0; w < c->nworkloads; w++) {
      fprintf(f, "%ld", c->workloads[w].scale_value);
      for (int m = 0; m < NMEASURES; m++) {
        double out[3];
        bool have = compare_applies(c, w, v) && spread(c, w, v, m, out);
        for (int k = 0; k < 3; k++)
          if (have)
            fprintf(f, " %.6g", out[k]);
          else
            fprintf(f, " ?");
      }
      fprintf(f, "\n");
    }
  }
  fclose(f);
  return true;
}

/* Distinct colours for up to ten lines (gnuplot's own eight would repeat
 * with every variant drawn), the same variant in the same colour in every
 * panel; the native programs are dashed, so that Boehm stands apart from
 * gcheap's collectors. */
static const char *const colours[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

/* One panel: a line per drawn variant that has points in it. */
static void plot_panel(FILE *f, const struct compare *c, const char *dat,
                       const bool *drawn, const bool *has, enum measure m) {
  const char *sep = "plot";
  for (int v = 0, block = 0; v < c->nvariants; v++) {
    if (!drawn[v])
      continue;
    if (has[v])
      fprintf(f,
              "%s '%s' index %d using 1:%d:%d:%d with yerrorlines lw 1.5 "
              "lc rgb '%s' dt %d pt 7 ps 0.6 title \"%s\"",
              sep, dat, block, 2 + 3 * m, 3 + 3 * m, 4 + 3 * m,
              colours[v % (sizeof colours / sizeof *colours)],
              c->variants[v].native ? 2 : 1, c->variants[v].label);
    sep = has[v] ? ", \\\n    " : sep;
    block++;
  }
  fprintf(f, "\n");
}

void compare_scale_chart(const struct compare *c) {
  char dat[4096], gp[4096], svg[4096];
  snprintf(dat, sizeof dat, "%s-scale.dat", c->prefix);
  snprintf(gp, sizeof gp, "%s-scale.gp", c->prefix);
  snprintf(svg, sizeof svg, "%s-scale.svg", c->prefix);
  bool drawn[c->nvariants], has_pause[c->nvariants];
  if (variants_with(c, WALL_S, drawn) == 0) {
    printf("scale chart: nothing to draw (no run succeeded)\n");
    return;
  }
  if (!write_data(c, dat, drawn))
    return;
  int pauses = variants_with(c, PAUSE_MS, has_pause);
  FILE *f = fopen(gp, "w");
  if (!f) {
    perror(gp);
    return;
  }
  fprintf(f,
          "set terminal svg size 1500,600 dynamic font 'sans,12' background "
          "rgb 'white'\n"
          "set output '%s'\n"
          "set multiplot layout 1,%d title \"gcheap compare --scale %s: "
          "point = median of %d runs, error bar = smallest to largest\" "
          "noenhanced\n"
          "set datafile missing '?'\n"
          "set logscale y\n"
          "%s"
          "set offsets graph 0.03, graph 0.03, 0, 0\n"
          "set grid xtics ytics\n"
          "set xlabel \"%s (the workload's argument, not live size: the "
          "native programs report none)\" noenhanced\n"
          "set key at screen 0.5, screen 0.01 center bottom horizontal "
          "noenhanced maxcols 5 width 2\n"
          "set bmargin 10\n",
          svg, pauses ? 3 : 2, c->scale.spec, c->runs,
          c->scale.factor ? "set logscale x 2\n" : "", c->scale.arg_name);
  /* Ticks at the sizes that ran, not gnuplot's round numbers. */
  fprintf(f, "set xtics (");
  for (int w = 0; w < c->nworkloads; w++)
    fprintf(f, "%s%ld", w ? ", " : "", c->workloads[w].scale_value);
  fprintf(f, ")\n");
  fprintf(f, "set title 'wall time (s)'\n");
  plot_panel(f, c, dat, drawn, drawn, WALL_S);
  fprintf(f, "unset key\nset title 'peak RSS (MiB)'\n");
  plot_panel(f, c, dat, drawn, drawn, RSS_MIB);
  if (pauses) {
    fprintf(f, "set title 'longest pause (ms; lines only for variants that "
               "report one)'\n");
    plot_panel(f, c, dat, drawn, has_pause, PAUSE_MS);
  }
  fprintf(f, "unset multiplot\n");
  fclose(f);
  compare_gnuplot(gp, svg, dat);
}
