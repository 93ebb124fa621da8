/* Fault injection (issue 6): every system allocation gcheap makes can fail,
 * and each failure must end as a clean error — gc_config_new returning NULL,
 * gc_heap_new returning NULL with a reason, or a GC_TRAP_OOM trap after which
 * the program stops and frees the heap — never a crash, another kind of
 * trap, or a leak (leaks: this test runs under valgrind and ASan in CI).
 *
 * As SQLite does: a representative program runs once to count the system
 * allocations it makes (gc_test_allocation_count), then once for every N in
 * 1..count with the Nth allocation (and all later ones) failing. */
#include "harness.h"

#include <gcheap-testing.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum outcome {
  COMPLETED,     /* the program ran to its end */
  CONFIG_FAILED, /* gc_config_new returned NULL */
  HEAP_FAILED,   /* gc_heap_new returned NULL with a reason */
  TRAPPED_OOM,   /* a GC_TRAP_OOM trap, then a clean stop */
  /* Failures of the test: */
  BAD_SETUP,     /* gc_config_set failed */
  NO_REASON,     /* gc_heap_new returned NULL without a reason */
  WRONG_TRAP,    /* a trap other than OOM, or one without a message */
  NOUTCOMES
};

static const char *const outcome_names[NOUTCOMES] = {
    "completed",  "config failed",  "heap failed", "OOM trap",
    "bad setup",  "heap failed without a reason",  "wrong trap",
};

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};

/* Stops the program at the first trap: after a trap the failing call
 * returned NULL or 0, which must not be used. */
#define STEP(expr)                                                             \
  do {                                                                         \
    expr;                                                                      \
    if (log.total)                                                             \
      goto stopped;                                                            \
  } while (0)

/* The representative program: every kind of internal allocation gcheap
 * makes — configuration, the heap and its collector, the type registry
 * growing, objects small and large, the root stack and scope stack growing,
 * globals, resources and weak references, and collections over a deep
 * structure (mark stacks, work lists). */
static enum outcome representative_program(const char *collector,
                                           char *why, size_t whylen) {
  gc_config *config = gc_config_new(why, whylen);
  if (!config)
    return CONFIG_FAILED;
  char setting[64];
  snprintf(setting, sizeof setting, "collector=%s", collector);
  if (gc_config_set(config, setting, why, whylen) ||
      gc_config_set(config, "verify=1", why, whylen)) {
    gc_config_free(config);
    return BAD_SETUP;
  }
  why[0] = 0;
  gc_heap *heap = gc_heap_new(config, why, whylen);
  gc_config_free(config);
  if (!heap)
    return why[0] ? HEAP_FAILED : NO_REASON;
  struct trap_log log = {0};
  gc_set_trap_handler(heap, harness_record_trap, &log);

  gc_type node = GC_TYPE_NONE, refs = GC_TYPE_NONE, bytes = GC_TYPE_NONE;
  STEP(node = gc_type_struct(heap, "node", 3, node_kinds));
  STEP(refs = gc_type_array(heap, "refs", GC_KIND_REF));
  STEP(bytes = gc_type_array(heap, "bytes", GC_KIND_I8));
  for (int i = 0; i < 40; i++) { /* grows the type registry */
    char name[16];
    snprintf(name, sizeof name, "extra%d", i);
    STEP(gc_type_array(heap, name, GC_KIND_I64));
  }

  gc_scope outer;
  STEP(outer = gc_scope_open(heap));
  gc_ref *list = NULL, *table = NULL, *big = NULL;
  STEP(list = gc_root(heap, NULL));
  STEP(table = gc_root(heap, gc_new_array(heap, refs, 64)));
  /* A deep list: collections need their mark stack or work list. */
  for (int i = 0; i < 200; i++) {
    gc_ref n;
    STEP(n = gc_new_struct(heap, node));
    STEP(gc_set_ref(heap, n, 0, *list));
    STEP(gc_set_i64(heap, n, 2, i));
    *list = n;
  }
  STEP(gc_collect(heap));
  /* Large objects (their own mappings in some collectors). */
  STEP(big = gc_root(heap, gc_new_array(heap, bytes, 1 << 20)));
  STEP(gc_array_fill_i8(heap, *big, 0, 1 << 20, 7));
  STEP(gc_new_array(heap, bytes, 3 << 20)); /* garbage */
  /* Deep scopes and many roots: the scope and root stacks grow. */
  gc_scope scopes[120];
  for (int d = 0; d < 120; d++) {
    STEP(scopes[d] = gc_scope_open(heap));
    for (int k = 0; k < 4; k++)
      STEP(gc_root(heap, *list));
  }
  for (int d = 119; d >= 0; d--)
    STEP(gc_scope_close(heap, scopes[d]));
  /* Globals, resources, weak references. */
  static gc_ref *globals[150];
  for (int i = 0; i < 150; i++) {
    STEP(globals[i] = gc_global(heap, NULL));
    STEP(*globals[i] = gc_new_resource(heap, NULL, NULL, NULL));
  }
  for (int i = 0; i < 150; i += 2)
    STEP(gc_global_free(heap, globals[i]));
  STEP(gc_root(heap, gc_new_weak(heap, *list)));
  for (int i = 0; i < 64; i++)
    STEP(gc_set_ref(heap, *table, i, gc_new_weak(heap, *big)));
  STEP(gc_array_copy(heap, *table, 1, *table, 0, 63));
  STEP(gc_collect(heap));
  STEP(*list = NULL);
  STEP(gc_collect(heap));
  STEP(gc_scope_close(heap, outer));
  STEP(gc_collect(heap));
  gc_heap_free(heap);
  return COMPLETED;

stopped:
  snprintf(why, whylen, "%s: %s", gc_trap_name(log.kind), log.message);
  gc_heap_free(heap);
  return log.kind == GC_TRAP_OOM && log.message[0] ? TRAPPED_OOM : WRONG_TRAP;
}

/* Runs the program with the nth allocation failing in a child process, so
 * that a crash is reported with its n instead of ending the test. */
static enum outcome run_isolated(const char *collector, long nth, int *signal,
                                 char *why, size_t whylen) {
  int pipefd[2];
  cr_assert_eq(pipe(pipefd), 0);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], 2); /* the default trap handler's words, if any */
    alarm(20);          /* a hang is a failure too, not a stuck suite */
    gc_test_fail_allocation(nth);
    enum outcome o = representative_program(collector, why, whylen);
    if (o != COMPLETED && o != CONFIG_FAILED)
      (void)!write(2, why, strlen(why));
    _exit(o);
  }
  close(pipefd[1]);
  size_t used = 0;
  ssize_t n;
  while (used + 1 < whylen &&
         (n = read(pipefd[0], why + used, whylen - 1 - used)) > 0)
    used += (size_t)n;
  why[used] = 0;
  close(pipefd[0]);
  int status;
  waitpid(pid, &status, 0);
  *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (*signal || WEXITSTATUS(status) >= NOUTCOMES)
    return NOUTCOMES;
  return (enum outcome)WEXITSTATUS(status);
}

COLLECTOR_TEST(fault_injection, every_allocation_failure_is_clean) {
  snprintf(harness_collector, sizeof harness_collector, "%s", param->name);
  char why[600];
  gc_test_allocation_reset();
  enum outcome plain = representative_program(param->name, why, sizeof why);
  cr_assert_eq(plain, COMPLETED, "[%s] the program fails without faults: %s",
               param->name, why);
  long count = gc_test_allocation_count();
  cr_assert(count > 3, "[%s] only %ld system allocations counted",
            param->name, count);

  /* Pass 1, isolated: which allocation points fail badly, all of them. */
  int outcomes[NOUTCOMES + 1] = {0};
  char failures[4096] = "";
  size_t flen = 0;
  for (long nth = 1; nth <= count + 1; nth++) {
    int signal = 0;
    enum outcome o = run_isolated(param->name, nth, &signal, why, sizeof why);
    outcomes[o]++;
    bool bad = o >= BAD_SETUP || (nth == count + 1 && o != COMPLETED);
    if (bad && flen < sizeof failures - 200)
      flen += (size_t)snprintf(failures + flen, sizeof failures - flen,
                               "\n  allocation %ld: %s%s%s%.*s", nth,
                               signal ? "killed by " : "",
                               signal ? strsignal(signal)
                               : o < NOUTCOMES ? outcome_names[o] : "?",
                               why[0] ? ": " : "", 120, why);
  }
  cr_log_info("[%s] %ld allocation points: %d config failures, %d heap "
              "failures, %d OOM traps, %d tolerated",
              param->name, count, outcomes[CONFIG_FAILED],
              outcomes[HEAP_FAILED], outcomes[TRAPPED_OOM],
              outcomes[COMPLETED] - 1);
  cr_assert(!failures[0],
            "[%s] of %ld allocation points, these failed uncleanly:%s",
            param->name, count, failures);

  /* Pass 2, in this process: the same failures again, so that valgrind and
   * ASan see every error path's frees (a forked child skips leak checks). */
  for (long nth = 1; nth <= count; nth++) {
    gc_test_fail_allocation(nth);
    enum outcome o = representative_program(param->name, why, sizeof why);
    gc_test_allocation_reset();
    CHECK(o < BAD_SETUP);
  }
  CHECK(outcomes[CONFIG_FAILED] + outcomes[HEAP_FAILED] > 0);
  CHECK(outcomes[TRAPPED_OOM] > 0);
  harness_check_memory(); /* ASan / valgrind: no error path leaked */
}

/* A heap whose system allocations start failing traps OOM, and works again
 * once memory is back. */
COLLECTOR_TEST(fault_injection, heap_recovers_after_an_injected_oom) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=8M");
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *slot = gc_root(heap, gc_new_array(heap, refs, 8));
  /* Make every further system allocation fail and exhaust what the heap
   * already holds (8M at most): some call must trap OOM. */
  gc_test_fail_allocation(1);
  int made = 0;
  while (harness_traps.total == 0 && made < 100000) {
    if (!gc_root(heap, gc_new_array(heap, refs, 64 << 10)))
      break;
    made++;
  }
  gc_test_allocation_reset();
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  gc_scope_close(heap, scope);
  scope = gc_scope_open(heap);
  slot = gc_root(heap, gc_new_array(heap, refs, 8));
  gc_set_ref(heap, *slot, 0, *slot);
  gc_collect(heap);
  CHECK(gc_get_ref(heap, *slot, 0) == *slot);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* The write barrier's own memory (tracing's remembered list, refcount's
 * list of old objects holding young ones) may not grow: the store must
 * still not lose the young object at the next collection, a minor one
 * where the collector has them, and what it overwrote must still be freed. */
COLLECTOR_TEST(fault_injection, a_barrier_without_memory_loses_no_reference) {
  /* stress=0 in the stress run too: its collections are all full ones. */
  gc_heap *heap = harness_new_heap(param->name, "stress=0");
  gc_type node = gc_type_struct(heap, "node", 3, node_kinds);
  gc_ref *holder = harness_old_holder(heap, node);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *young = gc_root(heap, gc_new_struct(heap, node));
  gc_set_i64(heap, *young, 2, 42);
  gc_test_fail_allocation(1);
  gc_set_ref(heap, gc_get_ref(heap, *holder, 0), 0, *young);
  cr_log_info("[%s] the store tried %ld system allocations", param->name,
              gc_test_allocation_count());
  gc_test_allocation_reset();
  gc_scope_close(heap, scope);
  harness_check_young_in_old(heap, node, holder);
  harness_free_heap(heap);
}
