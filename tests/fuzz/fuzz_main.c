/* fuzz_main.c — the libFuzzer entry point: one input, every collector.
 *
 * The program in the input runs once per collector of the build (the names
 * come from gc_collector_names(), so a new collector joins by being compiled
 * in), and, for one input in four, once more on the first collector with
 * every accessor and allocation called out of line (fuzz_out_of_line,
 * fuzz.h) instead of through gcheap.h's inline fast paths. The first
 * collector's log of graph digests is the reference; every other run must log
 * the same digests at the same operations. At exit the time spent in each run
 * is printed.
 *
 * GCHEAP_FUZZ_COLLECTORS=a,b restricts the run to those collectors (for
 * bisecting a failure); GCHEAP_FUZZ_TRACE=1 prints every operation.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* fuzz_boehm.c: keeps Boehm from scanning the sanitizer runtimes. */
void fuzz_boehm_init(void);

#define MAX_COLLECTORS 8

bool fuzz_out_of_line;

static char names[MAX_COLLECTORS][32];
static int ncollectors;
/* One more run than collectors: the first collector, out of line. */
static double seconds[MAX_COLLECTORS + 1];
static unsigned long executions;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_totals(void) {
  fprintf(stderr,
          "gcheap-fuzz: %lu executions on each of %d collectors:", executions,
          ncollectors);
  for (int i = 0; i < ncollectors; i++)
    fprintf(stderr, " %s %.1f s,", names[i], seconds[i]);
  fprintf(stderr, " %s out of line %.1f s\n", names[0], seconds[ncollectors]);
}

static bool wanted(const char *name) {
  const char *only = getenv("GCHEAP_FUZZ_COLLECTORS");
  if (!only || !*only)
    return true;
  size_t len = strlen(name);
  for (const char *p = only; (p = strstr(p, name)); p += len)
    if ((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
      return true;
  return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  /* Every heap option comes from the input, never from the environment. */
  unsetenv("GCHEAP_OPTIONS");
  fuzz_boehm_init();
  const char *list = gc_collector_names(); /* "tracing, refcount, null" */
  while (*list && ncollectors < MAX_COLLECTORS) {
    size_t len = strcspn(list, ", ");
    if (len && len < sizeof names[0]) {
      memcpy(names[ncollectors], list, len);
      names[ncollectors][len] = '\0';
      if (wanted(names[ncollectors]))
        ncollectors++;
    }
    list += len;
    list += strspn(list, ", ");
  }
  if (ncollectors == 0) {
    fprintf(stderr, "gcheap-fuzz: no collector selected\n");
    exit(2);
  }
  atexit(print_totals);
  return 0;
}

static const char *differs(const struct fuzz_log *ref,
                           const struct fuzz_log *log, uint32_t *at) {
  uint32_t n = ref->n < log->n ? ref->n : log->n;
  for (uint32_t i = 0; i < n; i++) {
    *at = i;
    if (ref->entries[i].op != log->entries[i].op)
      return "a collection at a different operation";
    if (ref->entries[i].objects != log->entries[i].objects)
      return "a different number of reachable objects";
    if (ref->entries[i].digest != log->entries[i].digest)
      return "a different reachable graph";
  }
  *at = n;
  return ref->n != log->n ? "a different number of collections" : NULL;
}

/* One input in four (by a hash of its bytes, so a replay decides alike)
 * also runs out of line: a quarter of the cost of a full extra run. */
static bool also_out_of_line(const uint8_t *data, size_t size) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 16777619u;
  return (hash & 3) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct fuzz_state reference, state;
  executions++;
  int runs = ncollectors + also_out_of_line(data, size);
  for (int i = 0; i < runs; i++) {
    struct fuzz_state *s = i == 0 ? &reference : &state;
    /* The last run: the first collector again, out of line. */
    const char *name = names[i < ncollectors ? i : 0];
    fuzz_out_of_line = i == ncollectors;
    double start = now();
    int failed = fuzz_run(s, name, data, size);
    fuzz_out_of_line = false;
    if (failed)
      abort();
    seconds[i] += now() - start;
    if (i == 0)
      continue;
    uint32_t at;
    const char *why = differs(&reference.log, &s->log, &at);
    if (why) {
      fprintf(stderr, "gcheap-fuzz: %s and %s%s disagree: %s at log entry %u",
              names[0], name, i == ncollectors ? " out of line" : "", why, at);
      if (at < reference.log.n && at < s->log.n) {
        const struct fuzz_log_entry *r = &reference.log.entries[at],
                                    *e = &s->log.entries[at];
        fprintf(stderr,
                " (%s: op %u, %u objects, digest %016llx; %s: op %u, %u "
                "objects, digest %016llx)",
                names[0], r->op, r->objects, (unsigned long long)r->digest,
                name, e->op, e->objects, (unsigned long long)e->digest);
      }
      fputc('\n', stderr);
      abort();
    }
  }
  return 0;
}
