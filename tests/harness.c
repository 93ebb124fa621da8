/* harness.c — collector parameters, recording trap handler, test heaps. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HARNESS_VALGRIND 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
int __lsan_do_recoverable_leak_check(void);
#define HARNESS_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
int __lsan_do_recoverable_leak_check(void);
#define HARNESS_LSAN 1
#endif
#endif

struct trap_log harness_traps;
char harness_collector[32] = "?";

/* ---- The collector parameter -------------------------------------------- */

/* The collectors the conformance tests run on: gc_collector_names(), or
 * GCHEAP_TEST_COLLECTORS ("tracing,null") to pick some of them. In an
 * AddressSanitizer build boehm is left out unless asked for by name: ASan's
 * larger frames leave stale copies of addresses that Boehm's conservative
 * stack scan finds, so its reclamation checks fail there for reasons that are
 * not gcheap's (the plain and valgrind runs cover boehm). */
static const char *collectors_under_test(void) {
  const char *chosen = getenv("GCHEAP_TEST_COLLECTORS");
  if (chosen && *chosen)
    return chosen;
#ifdef HARNESS_LSAN
  static char without_boehm[128];
  if (!without_boehm[0]) {
    char *out = without_boehm;
    const char *p = gc_collector_names();
    while (*p) {
      size_t len = strcspn(p, ", ");
      if (len && !(len == 5 && !memcmp(p, "boehm", 5)) &&
          out + len + 2 < without_boehm + sizeof without_boehm) {
        memcpy(out, p, len);
        out += len;
        *out++ = ',';
      }
      p += len;
      p += strspn(p, ", ");
    }
    *out = 0;
  }
  return without_boehm;
#else
  return gc_collector_names();
#endif
}

/* Calls fn(name, len) for each collector under test ("a, b, c"). */
static void for_each_collector(void (*fn)(const char *name, size_t len,
                                          void *ctx),
                               void *ctx) {
  const char *p = collectors_under_test();
  while (p && *p) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t len = strcspn(p, ", ");
    if (len)
      fn(p, len, ctx);
    p += len;
  }
}

static void count_one(const char *name, size_t len, void *ctx) {
  (*(size_t *)ctx)++;
}

struct fill_ctx {
  struct collector_param *params;
  size_t n;
  const char *const *options; /* NULL-terminated: one param each */
};

static void fill_one(const char *name, size_t len, void *ctx) {
  struct fill_ctx *fill = ctx;
  for (const char *const *option = fill->options; *option; option++) {
    struct collector_param *p = &fill->params[fill->n++];
    size_t max = sizeof p->name - 1;
    memcpy(p->name, name, len < max ? len : max);
    p->name[len < max ? len : max] = 0;
    snprintf(p->options, sizeof p->options, "%s", *option);
  }
}

static void free_params(struct criterion_test_params *params) {
  cr_free(params->params);
}

static struct criterion_test_params
collector_params(const char *const *options) {
  size_t n = 0, noptions = 0;
  for_each_collector(count_one, &n);
  while (options[noptions])
    noptions++;
  struct fill_ctx fill = {cr_calloc(n ? n * noptions : 1, sizeof *fill.params),
                          0, options};
  for_each_collector(fill_one, &fill);
  return cr_make_param_array(struct collector_param, fill.params, fill.n,
                             free_params);
}

struct criterion_test_params harness_collector_params(void) {
  static const char *const options[] = {"", NULL};
  return collector_params(options);
}

struct criterion_test_params harness_collector_verify_params(void) {
  static const char *const options[] = {"verify=1", "verify=0", NULL};
  return collector_params(options);
}

bool harness_has_collector(const char *name) {
  /* What the build offers, whatever subset the tests run on. */
  size_t len = strlen(name);
  for (const char *p = gc_collector_names(); *p;) {
    size_t n = strcspn(p, ", ");
    if (n == len && !memcmp(p, name, len))
      return true;
    p += n;
    p += strspn(p, ", ");
  }
  return false;
}

bool harness_reclaims(const char *collector) {
  return strcmp(collector, "null") != 0;
}

bool harness_conservative(const char *collector) {
  return strcmp(collector, "boehm") == 0;
}

/* ---- Traps -------------------------------------------------------------- */

void harness_record_trap(gc_heap *heap, gc_trap kind, const char *msg,
                         void *ud) {
  struct trap_log *log = ud;
  log->pending++;
  log->total++;
  log->kind = kind;
  log->heap = heap;
  snprintf(log->message, sizeof log->message, "%s", msg ? msg : "(null)");
}

void harness_expect_trap(struct trap_log *log, gc_trap kind, const char *part,
                         const char *file, int line) {
  cr_assert(log->pending > 0, "[%s] %s:%d: expected a '%s' trap, got none",
            harness_collector, file, line, gc_trap_name(kind));
  cr_assert(log->pending == 1,
            "[%s] %s:%d: expected one '%s' trap, got %d (last: %s: %s)",
            harness_collector, file, line, gc_trap_name(kind), log->pending,
            gc_trap_name(log->kind), log->message);
  cr_assert(log->kind == kind, "[%s] %s:%d: expected a '%s' trap, got '%s': %s",
            harness_collector, file, line, gc_trap_name(kind),
            gc_trap_name(log->kind), log->message);
  cr_assert(!part || strstr(log->message, part),
            "[%s] %s:%d: '%s' trap message \"%s\" does not contain \"%s\"",
            harness_collector, file, line, gc_trap_name(kind), log->message,
            part);
  cr_assert(log->message[0], "[%s] %s:%d: '%s' trap with an empty message",
            harness_collector, file, line, gc_trap_name(kind));
  log->pending = 0;
}

void harness_expect_no_trap(struct trap_log *log, const char *file, int line) {
  cr_assert(log->pending == 0, "[%s] %s:%d: unexpected trap '%s': %s",
            harness_collector, file, line, gc_trap_name(log->kind),
            log->message);
}

/* ---- Heaps -------------------------------------------------------------- */

gc_config *harness_new_config(const char *collector, const char *options) {
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  cr_assert(config, "gc_config_new: %s", err);
  char setting[256];
  snprintf(setting, sizeof setting, "collector=%s", collector);
  cr_assert(gc_config_set(config, setting, err, sizeof err) == 0, "%s: %s",
            setting, err);
  cr_assert(gc_config_set(config, "verify=1", err, sizeof err) == 0,
            "verify=1: %s", err);
  for (const char *p = options; p && *p;) {
    size_t len = strcspn(p, ",");
    cr_assert(len < sizeof setting, "option too long");
    memcpy(setting, p, len);
    setting[len] = 0;
    cr_assert(gc_config_set(config, setting, err, sizeof err) == 0, "%s: %s",
              setting, err);
    p += len + (p[len] == ',');
  }
  return config;
}

/* Which log each live harness heap records into, so that harness_free_heap
 * can check it. A test uses a handful of heaps at a time at most. */
#define MAX_LOGGED_HEAPS 64
static struct {
  gc_heap *heap;
  struct trap_log *log;
} logged_heaps[MAX_LOGGED_HEAPS];

/* ---- Leaks and memory errors ---------------------------------------------
 *
 * Criterion ignores how a test's worker process exits once the test has
 * reported, so a LeakSanitizer report at exit, or a valgrind error, would
 * not fail the test. The harness asks them itself: when the last harness heap
 * of a test is freed, and at harness_check_memory(). Under valgrind it
 * compares the error and leak counts with those when the test's first heap
 * was made, so that Criterion's own allocations do not count. */
#ifdef HARNESS_VALGRIND
static unsigned long valgrind_errors_before, valgrind_leaked_before;
static bool valgrind_baseline_taken;

static unsigned long valgrind_leaked_now(void) {
  unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
  VALGRIND_DO_ADDED_LEAK_CHECK;
  VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
  /* Definitely lost only: "possibly lost" blocks come and go with the
   * heaps (interior pointers) and would hide a real leak in the sum. */
  (void)dubious;
  (void)reachable;
  (void)suppressed;
  return leaked;
}
#endif

static void take_memory_baseline(void) {
#ifdef HARNESS_VALGRIND
  if (RUNNING_ON_VALGRIND && !valgrind_baseline_taken) {
    valgrind_baseline_taken = true;
    /* The leak check first: it counts what it finds as errors. */
    valgrind_leaked_before = valgrind_leaked_now();
    valgrind_errors_before = VALGRIND_COUNT_ERRORS;
  }
#endif
}

void harness_check_memory(void) {
#ifdef HARNESS_LSAN
  cr_assert(__lsan_do_recoverable_leak_check() == 0,
            "[%s] LeakSanitizer found leaks (its report is above)",
            harness_collector);
#endif
#ifdef HARNESS_VALGRIND
  if (RUNNING_ON_VALGRIND && valgrind_baseline_taken) {
    unsigned long errors = VALGRIND_COUNT_ERRORS; /* before the leak check */
    cr_assert(errors == valgrind_errors_before,
              "[%s] valgrind found %lu memory errors (reports above)",
              harness_collector, errors - valgrind_errors_before);
    unsigned long leaked = valgrind_leaked_now();
    unsigned long leaked_before = valgrind_leaked_before;
    /* The next check compares with now (this one's findings included). */
    valgrind_errors_before = VALGRIND_COUNT_ERRORS;
    valgrind_leaked_before = leaked;
    cr_assert(leaked <= leaked_before,
              "[%s] valgrind: %lu bytes definitely lost (report above)",
              harness_collector, leaked - leaked_before);
  }
#endif
}

gc_heap *harness_new_heap_logged(const char *collector, const char *options,
                                 struct trap_log *log) {
  take_memory_baseline();
  snprintf(harness_collector, sizeof harness_collector, "%s", collector);
  gc_config *config = harness_new_config(collector, options);
  char err[256] = "";
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  cr_assert(heap, "[%s] gc_heap_new(%s) failed: %s", collector,
            options ? options : "", err);
  cr_assert_str_eq(gc_collector_name(heap), collector);
  memset(log, 0, sizeof *log);
  gc_set_trap_handler(heap, harness_record_trap, log);
  for (int i = 0; i < MAX_LOGGED_HEAPS; i++) {
    if (!logged_heaps[i].heap) {
      logged_heaps[i].heap = heap;
      logged_heaps[i].log = log;
      break;
    }
  }
  return heap;
}

gc_heap *harness_new_heap(const char *collector, const char *options) {
  return harness_new_heap_logged(collector, options, &harness_traps);
}

void harness_free_heap(gc_heap *heap) {
  for (int i = 0; i < MAX_LOGGED_HEAPS; i++) {
    if (logged_heaps[i].heap == heap) {
      harness_expect_no_trap(logged_heaps[i].log, __FILE__, __LINE__);
      logged_heaps[i].heap = NULL;
    }
  }
  gc_heap_free(heap);
  for (int i = 0; i < MAX_LOGGED_HEAPS; i++)
    if (logged_heaps[i].heap)
      return;
  /* No heap is left: check memory, though not after each of thousands of
   * heaps (a leak check scans the whole process); loops end with an
   * explicit harness_check_memory(). */
  static unsigned long heaps_freed;
  heaps_freed++;
  if ((heaps_freed & (heaps_freed - 1)) == 0)
    harness_check_memory();
}

/* Each frame of this recursion zeroes a buffer; 64 frames of 4K reach well
 * past anything the test's own frames left behind, even with the larger
 * frames of an AddressSanitizer build. */
static NOINLINE void scrub(int depth) {
  volatile char buffer[4096];
  memset((char *)buffer, 0, sizeof buffer);
  if (depth > 0)
    scrub(depth - 1);
  __asm__ volatile("" ::"r"(buffer) : "memory");
}

void harness_scrub_stack(void) {
  scrub(64);
}

void harness_collect(gc_heap *heap) {
  harness_scrub_stack();
  gc_collect(heap);
}

uint64_t harness_churn_collections(gc_heap *heap,
                                   void (*prepare)(gc_heap *heap, void *ud),
                                   void *ud) {
  const gc_kind kinds[] = {GC_KIND_REF, GC_KIND_I64};
  gc_type node = gc_type_struct(heap, "churn-list", 2, kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  const long live_nodes = (4l << 20) / 24;
  for (long i = 0; i < live_nodes; i++) {
    gc_ref cell = gc_new_struct(heap, node);
    cr_assert_not_null(cell);
    gc_set_ref(heap, cell, 0, *list);
    gc_set_i64(heap, cell, 1, i);
    *list = cell;
  }
  if (prepare)
    prepare(heap, ud);
  gc_collect(heap);
  uint64_t before = harness_stats(heap).collections;
  for (long i = 0; i < (64l << 20) / 24; i++)
    gc_new_struct(heap, node);
  uint64_t collections = harness_stats(heap).collections - before;
  long n = 0;
  for (gc_ref p = *list; p; p = gc_get_ref(heap, p, 0))
    cr_assert_eq(gc_get_i64(heap, p, 1), live_nodes - 1 - n++);
  cr_assert_eq(n, live_nodes);
  gc_scope_close(heap, scope);
  return collections;
}

static int64_t old_holder_destroyed;

static void count_old_holder_destroyed(void *ptr, void *ud) {
  (void)ptr;
  (void)ud;
  __atomic_fetch_add(&old_holder_destroyed, 1, __ATOMIC_RELAXED);
}

gc_ref *harness_old_holder(gc_heap *heap, gc_type node) {
  old_holder_destroyed = 0;
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, node));
  gc_set_ref(heap, *holder, 0, gc_new_struct(heap, node));
  gc_set_ref(heap, gc_get_ref(heap, *holder, 0), 0,
             gc_new_resource(heap, NULL, count_old_holder_destroyed, NULL));
  harness_collect(heap); /* both are old now */
  return holder;
}

void harness_check_young_in_old(gc_heap *heap, gc_type node, gc_ref *holder) {
  uint64_t before = harness_stats(heap).collections;
  for (long i = 0; i < (16l << 20) / 32; i++)
    gc_new_struct(heap, node); /* garbage */
  if (harness_reclaims(harness_collector))
    CHECK(harness_stats(heap).collections > before);
  gc_ref young = gc_get_ref(heap, gc_get_ref(heap, *holder, 0), 0);
  CHECK(young != NULL);
  if (young)
    CHECK_EQ(gc_get_i64(heap, young, 2), 42);
  harness_collect(heap);
  if (harness_reclaims(harness_collector) &&
      !harness_conservative(harness_collector))
    CHECK_EQ(__atomic_load_n(&old_holder_destroyed, __ATOMIC_RELAXED), 1);
  gc_global_free(heap, holder);
}

uint64_t harness_resident_bytes(uintptr_t lo, uintptr_t hi) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uint64_t resident = 0;
  /* Page by page: the range may span gaps between the heap's mappings,
   * which mincore reports as ENOMEM. */
  for (uintptr_t p = lo & ~(uintptr_t)(page - 1); p < hi; p += page) {
    unsigned char in_core = 0;
    if (mincore((void *)p, page, &in_core) == 0 && (in_core & 1))
      resident += page;
  }
  return resident;
}

bool harness_kernel_can_populate(void) {
#ifdef MADV_POPULATE_WRITE
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return false;
  bool can = madvise(p, page, MADV_POPULATE_WRITE) == 0;
  munmap(p, page);
  return can;
#else
  return false;
#endif
}

/* ---- Threads passing each other through stages -------------------------- */

void harness_set_stage(struct harness_handoff *h, int stage) {
  pthread_mutex_lock(&h->lock);
  h->stage = stage;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->lock);
}

void harness_wait_for_stage(gc_heap *heap, struct harness_handoff *h,
                            int stage) {
  if (heap)
    gc_blocking_begin(heap);
  pthread_mutex_lock(&h->lock);
  while (h->stage != stage)
    pthread_cond_wait(&h->cv, &h->lock);
  pthread_mutex_unlock(&h->lock);
  if (heap)
    gc_blocking_end(heap);
}
