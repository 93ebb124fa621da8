/* compare.c — "gcheap compare": runs every collector of this build, native
 * Boehm (shared and static libgc, and with parallel marking started) and
 * malloc/free on each workload, each run a separate process, interleaved
 * (A B C A B C ...) so that drift on a noisy machine hits all of them alike,
 * after one round that is not kept and with memory warmed before each run
 * (warm_memory). compare-report.c summarises the runs.
 */
#define _GNU_SOURCE
#include "compare.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <gcheap.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The default set: small enough that the README's first command finishes
 * in about a minute on two cores with every collector. */
static const char *const default_workloads[] = {
    "gcbench", "binary-trees:16", "array-copy", "cycles", "resources", "weak",
};
enum { DEFAULT_RUNS = 3 };

void compare_usage(FILE *out) {
  fprintf(out,
          "compare [WORKLOAD[:ARG,...]... | --scale RANGE] [-n RUNS] [-o "
          "PREFIX]\n"
          "        [--only LIST] [--cold-memory]\n"
          "  runs each collector, native Boehm (shared, static, parallel "
          "marking,\n"
          "  inline allocation) and malloc/free as separate processes, "
          "interleaved,\n"
          "  RUNS times (default %d) after a warm-up round that is not kept, "
          "each run\n"
          "  on memory warmed just before it (--cold-memory: not warmed; on a "
          "VM that\n"
          "  hands free memory back to its host, that memory costs far more "
          "to touch\n"
          "  again); prints medians and the ratio to the strongest\n"
          "  native Boehm (boehm-native-inline: static libgc, inline "
          "allocation,\n"
          "  parallel marking), or collector=boehm where there is no native "
          "program;\n"
          "  writes PREFIX.csv (every run) and PREFIX.svg (the ratios; "
          "default PREFIX\n"
          "  gcheap-compare). LIST: variant labels separated by commas.\n"
          "  -C options (e.g. -C max-heap-size=4G) go to every collector run;\n"
          "  without max-heap-size, null (which never frees) gets an arena of\n"
          "  half this machine's memory.\n"
          "  --scale RANGE (WORKLOAD:[ARG,...,]LO..HI[/STEP|/xFACTOR]) instead "
          "of\n  workloads:"
          " the workload at every value of its last argument from LO to\n  HI,"
          " adding STEP (default 1) or multiplying by FACTOR, e.g.\n"
          "  --scale binary-trees:16..22 or --scale large-live:16..64/x2; also "
          "draws\n"
          "  PREFIX-scale.svg: wall time, peak RSS and longest pause against "
          "that\n"
          "  argument, one line per variant (data in PREFIX-scale.dat).\n"
          "  Default workloads:",
          DEFAULT_RUNS);
  for (size_t i = 0; i < sizeof default_workloads / sizeof *default_workloads;
       i++)
    fprintf(out, " %s", default_workloads[i]);
  fprintf(out, "\n");
}

/* ---- Setting up ---------------------------------------------------------- */

int compare_parse_workload(const char *spec, struct compare_workload *w) {
  char *copy = strdup(spec);
  if (!copy)
    return -1;
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ": ,", &save); tok;
       tok = strtok_r(NULL, ": ,", &save)) {
    if (n == COMPARE_MAX_ARGS) {
      fprintf(stderr, "gcheap compare: too many arguments in '%s'\n", spec);
      free(copy);
      return -1;
    }
    w->argv[n++] = tok;
  }
  w->argv[n] = NULL;
  if (n == 0 || !workload_find(w->argv[0])) {
    fprintf(stderr, "gcheap compare: unknown workload '%s'; accepted:", spec);
    for (const struct workload *x = gc_workloads; x->name; x++)
      fprintf(stderr, " %s", x->name);
    fprintf(stderr, "\n");
    free(copy);
    return -1;
  }
  w->storage = copy;
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(w->label + len, sizeof w->label - len, "%s%s",
                            i ? " " : "", w->argv[i]);
  w->has_native = strcmp(w->argv[0], "gcbench") == 0 ||
                  strcmp(w->argv[0], "binary-trees") == 0 ||
                  strcmp(w->argv[0], "mt-gcbench") == 0;
  return 0;
}

/* The directory of the running gcheap: the baselines are built next to it. */
static int program_dir(char *dir, size_t len) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0)
    return -1;
  self[n] = 0;
  snprintf(dir, len, "%s", dirname(self));
  return 0;
}

static bool selected(const char *only, const char *label) {
  if (!only)
    return true;
  size_t n = strlen(label);
  for (const char *p = only; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, label, n) == 0)
      return true;
    p += len + (end != NULL);
  }
  return false;
}

static void add_variant(struct compare *c, const char *only, const char *label,
                        const char *program, bool native, bool parallel) {
  if (!selected(only, label) || c->nvariants == COMPARE_MAX_VARIANTS)
    return;
  if (native && access(program, X_OK) != 0)
    return; /* not built (e.g. no libgc.a): leave it out */
  struct compare_variant *v = &c->variants[c->nvariants++];
  snprintf(v->label, sizeof v->label, "%s", label);
  snprintf(v->program, sizeof v->program, "%s", program);
  v->native = native;
  v->parallel_mark = parallel;
}

static void add_variants(struct compare *c, const char *only) {
  char dir[PATH_MAX], path[PATH_MAX + 64];
  if (program_dir(dir, sizeof dir) < 0)
    snprintf(dir, sizeof dir, ".");
  /* Collectors first, in the order of gc_collector_names(). */
  char names[256];
  snprintf(names, sizeof names, "%s", gc_collector_names());
  snprintf(path, sizeof path, "%s/gcheap", dir);
  for (char *save = NULL, *tok = strtok_r(names, ", ", &save); tok;
       tok = strtok_r(NULL, ", ", &save))
    add_variant(c, only, tok, path, false, false);
  snprintf(path, sizeof path, "%s/gcheap-native-boehm", dir);
  add_variant(c, only, "boehm-native", path, true, false);
  add_variant(c, only, "boehm-native-par", path, true, true);
  snprintf(path, sizeof path, "%s/gcheap-native-boehm-static", dir);
  add_variant(c, only, "boehm-native-static", path, true, false);
  snprintf(path, sizeof path, "%s/gcheap-native-boehm-inline", dir);
  add_variant(c, only, "boehm-native-inline", path, true, false);
  snprintf(path, sizeof path, "%s/gcheap-native-malloc", dir);
  add_variant(c, only, "malloc", path, true, false);
}

static const char *const native_labels[] = {"boehm-native", "boehm-native-par",
                                            "boehm-native-static",
                                            "boehm-native-inline", "malloc"};

/* 0 if every label of --only names a collector of this build or a native
 * baseline; else prints what is accepted and returns -1. */
static int check_only(const char *only) {
  if (!only)
    return 0;
  char *copy = strdup(only);
  int status = copy ? 0 : -1;
  for (char *save = NULL, *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
       tok = strtok_r(NULL, ",", &save)) {
    bool known = false;
    char names[256];
    snprintf(names, sizeof names, "%s", gc_collector_names());
    for (char *s2 = NULL, *name = strtok_r(names, ", ", &s2); name;
         name = strtok_r(NULL, ", ", &s2))
      known |= strcmp(name, tok) == 0;
    for (size_t i = 0; i < sizeof native_labels / sizeof *native_labels; i++)
      known |= strcmp(native_labels[i], tok) == 0;
    if (!known) {
      fprintf(stderr,
              "gcheap compare: unknown variant '%s' in --only; "
              "accepted: %s",
              tok, gc_collector_names());
      for (size_t i = 0; i < sizeof native_labels / sizeof *native_labels; i++)
        fprintf(stderr, ", %s", native_labels[i]);
      fprintf(stderr, "\n");
      status = -1;
      break;
    }
  }
  free(copy);
  return status;
}

bool compare_applies(const struct compare *c, int workload, int variant) {
  return !c->variants[variant].native || c->workloads[workload].has_native;
}

/* ---- Running one program ------------------------------------------------- */

static double timespec_s(const struct timespec *t) {
  return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}
static double timeval_s(const struct timeval *t) {
  return (double)t->tv_sec + (double)t->tv_usec * 1e-6;
}

/* Reads "key: value" lines of the program's output into run. */
static void parse_output(const char *out, struct compare_run *run) {
  for (const char *line = out; line && *line;) {
    double number;
    unsigned long long u;
    if (sscanf(line, "collections: %lf", &number) == 1)
      run->collections = number;
    else if (sscanf(line, "pause-max: %lf", &number) == 1)
      run->pause_max_ms = number;
    else if (sscanf(line, "checksum: %llu", &u) == 1) {
      run->checksum = u;
      run->has_checksum = true;
    }
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
}

/* The last non-empty line of the program's stderr. */
static void last_line(FILE *err, char *buf, size_t len) {
  char line[160];
  buf[0] = 0;
  rewind(err);
  while (fgets(line, sizeof line, err)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0])
      snprintf(buf, len, "%s", line);
  }
}

/* null never frees: its default 256M arena is too small for most
 * workloads, and a comparison that prints "trap (oom)" tells nothing. Unless
 * the user gave max-heap-size, null gets half this machine's memory as its
 * arena (address space reserved, only what is used is touched). */
static bool gives_max_heap_size(int noptions, char **options) {
  for (int i = 0; i < noptions; i++)
    if (strncmp(options[i], "max-heap-size=", 14) == 0)
      return true;
  return false;
}

static void null_arena_option(char *buf, size_t len) {
  struct sysinfo info;
  uint64_t half = UINT64_C(1) << 30;
  if (sysinfo(&info) == 0 && info.totalram)
    half = (uint64_t)info.totalram * info.mem_unit / 2;
  snprintf(buf, len, "max-heap-size=%lluM", (unsigned long long)(half >> 20));
}

static void run_one(struct compare *c, int noptions, char **options,
                    struct compare_run *run) {
  const struct compare_variant *v = &c->variants[run->variant];
  const struct compare_workload *w = &c->workloads[run->workload];
  char *argv[2 * 64 + COMPARE_MAX_ARGS + 8];
  char collector_opt[80], arena_opt[64];
  int n = 0;
  argv[n++] = (char *)v->program;
  if (!v->native) {
    snprintf(collector_opt, sizeof collector_opt, "collector=%s", v->label);
    argv[n++] = "-C";
    argv[n++] = collector_opt;
    for (int i = 0; i < noptions && i < 64; i++)
      if (strncmp(options[i], "collector=", 10) != 0) {
        argv[n++] = "-C";
        argv[n++] = options[i];
      }
    if (strcmp(v->label, "null") == 0 &&
        !gives_max_heap_size(noptions, options)) {
      null_arena_option(arena_opt, sizeof arena_opt);
      argv[n++] = "-C";
      argv[n++] = arena_opt;
    }
    argv[n++] = "bench";
  } else if (v->parallel_mark) {
    argv[n++] = "--parallel-mark";
  }
  for (int i = 0; w->argv[i]; i++)
    argv[n++] = w->argv[i];
  argv[n] = NULL;

  run->status = RUN_ERROR;
  run->collections = run->pause_max_ms = -1;
  int out[2];
  FILE *err = tmpfile();
  if (!err || pipe2(out, O_CLOEXEC) < 0) {
    snprintf(run->message, sizeof run->message, "cannot start: %s",
             strerror(errno));
    if (err)
      fclose(err);
    return;
  }
  fflush(NULL);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    execv(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  size_t cap = 4096, len = 0;
  char *text = malloc(cap);
  ssize_t got;
  while (pid > 0 && text) {
    if (len + 1024 > cap) {
      char *bigger = realloc(text, cap *= 2);
      if (!bigger)
        break;
      text = bigger;
    }
    got = read(out[0], text + len, cap - len - 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    len += (size_t)got;
  }
  close(out[0]);
  int status = 0;
  struct rusage usage = {0};
  if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) {
    snprintf(run->message, sizeof run->message, "cannot run: %s",
             strerror(errno));
    free(text);
    fclose(err);
    return;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  run->wall_s = timespec_s(&end) - timespec_s(&start);
  run->user_s = timeval_s(&usage.ru_utime);
  run->sys_s = timeval_s(&usage.ru_stime);
  run->max_rss_kib = usage.ru_maxrss;
  if (text) {
    text[len] = 0;
    parse_output(text, run);
    free(text);
  }
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
    case 0:
      run->status = RUN_OK;
      break;
    case 1:
      run->status = RUN_WRONG;
      break;
    case 3:
      run->status = RUN_TRAP_OOM;
      break;
    case 4:
      run->status = RUN_TRAP;
      break;
    case 2:
    case 127:
      run->status = RUN_ERROR;
      break;
    default:
      run->status = RUN_CRASH;
      break;
    }
  } else {
    run->status = RUN_CRASH;
    run->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  if (run->status != RUN_OK)
    last_line(err, run->message, sizeof run->message);
  fclose(err);
}

/* Touches, then gives back, a little more memory than the variant's largest
 * run of the workload has taken so far, just before its next run starts.
 *
 * Why: on this project's VMs the kernel hands memory that stayed free for
 * about two seconds back to the host (free page reporting), and the next
 * touch of such a page has the host back it again: 1.5-1.9 ms per MiB,
 * against 0.07-0.22 ms for memory the guest freed a moment before
 * (bench/README.md, "Warm memory"). Without this, how much of a run's
 * memory is cold depends on how much the run before it gave back, and in
 * a round of interleaved variants the same variant always follows the same
 * one, so the cost would fall on the same variants every round. A run
 * started right after this finds its memory warm: large-live 512 on
 * tracing, after collector=boehm, had 0.06 s of system time against
 * 0.44 s without it. */
static long warm_memory(long peak_rss_kib) {
  long kib = peak_rss_kib / 4 * 5 + 16 * 1024; /* a quarter and 16 MiB more */
  size_t bytes = (size_t)kib * 1024;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return 0; /* the run is then measured on whatever memory it gets */
  madvise(p, bytes, MADV_HUGEPAGE);
  for (size_t i = 0; i < bytes; i += 4096)
    ((volatile char *)p)[i] = 1;
  munmap(p, bytes);
  return kib;
}

/* ---- The command --------------------------------------------------------- */

static int run_compare(struct compare *c, int noptions, char **options,
                       int argc, char **argv);

int compare_main(int noptions, char **options, int argc, char **argv) {
  struct compare c = {.runs = DEFAULT_RUNS, .prefix = "gcheap-compare"};
  int status = run_compare(&c, noptions, options, argc, argv);
  free(c.records);
  for (int w = 0; w < c.nworkloads; w++)
    free(c.workloads[w].storage);
  return status;
}

static int run_compare(struct compare *c, int noptions, char **options,
                       int argc, char **argv) {
  const char *only = NULL;
  int named = 0; /* workloads given as arguments, not by --scale */
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--scale") == 0 &&
        (i + 1 == argc || argv[i + 1][0] == '-' || c->scale.on)) {
      fprintf(stderr, "gcheap compare: --scale %s: %s\n",
              c->scale.on ? "is given once" : "needs a range",
              COMPARE_SCALE_SYNTAX);
      return 2;
    }
    if ((strcmp(arg, "-n") == 0 || strcmp(arg, "-o") == 0 ||
         strcmp(arg, "--only") == 0) &&
        i + 1 == argc) {
      fprintf(stderr, "gcheap compare: %s needs a value\n", arg);
      return 2;
    }
    if (strcmp(arg, "--scale") == 0) {
      if (compare_scale_parse(c, argv[++i]) < 0)
        return 2;
    } else if (strcmp(arg, "-n") == 0) {
      char *end;
      long runs = strtol(argv[++i], &end, 10);
      if (*end || runs < 1 || runs > 1000) {
        fprintf(stderr, "gcheap compare: -n takes 1 to 1000 runs\n");
        return 2;
      }
      c->runs = (int)runs;
    } else if (strcmp(arg, "-o") == 0) {
      c->prefix = argv[++i];
    } else if (strcmp(arg, "--only") == 0) {
      only = argv[++i];
    } else if (strcmp(arg, "--cold-memory") == 0) {
      c->cold_memory = true;
    } else if (arg[0] == '-') {
      fprintf(stderr, "gcheap compare: unknown option '%s'\n", arg);
      compare_usage(stderr);
      return 2;
    } else if (c->nworkloads == COMPARE_MAX_WORKLOADS) {
      fprintf(stderr, "gcheap compare: at most %d workloads\n",
              COMPARE_MAX_WORKLOADS);
      return 2;
    } else if (compare_parse_workload(arg, &c->workloads[c->nworkloads++]) <
               0) {
      return 2;
    } else {
      named++;
    }
  }
  if (c->scale.on && named) {
    fprintf(stderr, "gcheap compare: --scale takes the place of the "
                    "workloads: give one or the other\n");
    return 2;
  }
  if (c->nworkloads == 0)
    for (size_t i = 0; i < sizeof default_workloads / sizeof *default_workloads;
         i++)
      if (compare_parse_workload(default_workloads[i],
                                 &c->workloads[c->nworkloads++]) < 0)
        return 2;
  if (check_only(only) < 0)
    return 2;
  add_variants(c, only);
  if (c->nvariants == 0) {
    fprintf(stderr, "gcheap compare: no variant selected (the native "
                    "baselines are looked for next to gcheap)\n");
    return 2;
  }

  int total = 0;
  for (int w = 0; w < c->nworkloads; w++)
    for (int v = 0; v < c->nvariants; v++)
      total += compare_applies(c, w, v) ? c->runs : 0;
  c->records = calloc((size_t)total, sizeof *c->records);
  if (!c->records)
    return 2;

  fprintf(stderr,
          "gcheap compare: %d workloads x %d variants x %d runs, "
          "interleaved\n",
          c->nworkloads, c->nvariants, c->runs);
  /* Round -1 warms up: its runs are not kept. It loads the programs into
   * the page cache and tells warm_memory how much each run takes. */
  for (int r = -1; r < c->runs; r++) {
    for (int w = 0; w < c->nworkloads; w++) {
      if (r < 0)
        fprintf(stderr, "[warm-up] %-19s", c->workloads[w].label);
      else
        fprintf(stderr, "[run %d/%d] %-18s", r + 1, c->runs,
                c->workloads[w].label);
      for (int v = 0; v < c->nvariants; v++) {
        if (!compare_applies(c, w, v))
          continue;
        struct compare_run warm_up,
            *run = r < 0 ? &warm_up : &c->records[c->nrecords++];
        *run = (struct compare_run){.workload = w, .variant = v, .index = r};
        long *peak = &c->peak_rss_kib[w][v];
        long warmed = c->cold_memory ? 0 : warm_memory(*peak);
        run_one(c, noptions, options, run);
        run->warmed_kib = warmed;
        if (run->max_rss_kib > *peak)
          *peak = run->max_rss_kib;
        char status[64];
        if (run->status == RUN_OK)
          fprintf(stderr, " %s %.2fs", c->variants[v].label, run->wall_s);
        else
          fprintf(stderr, " %s %s", c->variants[v].label,
                  compare_status_name(run, status, sizeof status));
      }
      fprintf(stderr, "\n");
    }
  }
  return compare_report(c);
}
