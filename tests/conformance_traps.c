/* Conformance: traps — gc_set_trap_handler, gc_trap_name, the default
 * handler (prints "gcheap: COLLECTOR: MESSAGE" and aborts), every trap kind
 * from one place, and the heap staying usable after each. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const gc_kind cell_kinds[] = {GC_KIND_I64, GC_KIND_REF};

Test(traps, every_kind_has_its_name) {
  cr_assert_str_eq(gc_trap_name(GC_TRAP_OOM), "oom");
  cr_assert_str_eq(gc_trap_name(GC_TRAP_NULL), "null");
  cr_assert_str_eq(gc_trap_name(GC_TRAP_BOUNDS), "bounds");
  cr_assert_str_eq(gc_trap_name(GC_TRAP_TYPE), "type");
  cr_assert_str_eq(gc_trap_name(GC_TRAP_MISUSE), "misuse");
  cr_assert_str_eq(gc_trap_name(GC_TRAP_INVARIANT), "invariant");
}

/* The heap works: allocate, store, collect, read back. */
static void check_heap_usable(gc_heap *heap, gc_type cell) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, cell));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *a, 0, 1234);
  gc_set_ref(heap, *b, 1, *a);
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, gc_get_ref(heap, *b, 1), 0), 1234);
  gc_scope_close(heap, scope);
  EXPECT_NO_TRAP();
}

/* Each trap kind in turn on one heap, each followed by normal work. */
COLLECTOR_TEST(traps, heap_stays_usable_after_each_kind) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=8M");
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *c = gc_root(heap, gc_new_struct(heap, cell));

  gc_get_i64(heap, NULL, 0);
  EXPECT_TRAP(GC_TRAP_NULL, NULL);
  check_heap_usable(heap, cell);

  gc_set_i64(heap, *c, 2, 0);
  EXPECT_TRAP(GC_TRAP_BOUNDS, NULL);
  check_heap_usable(heap, cell);

  gc_set_f64(heap, *c, 0, 0.5);
  EXPECT_TRAP(GC_TRAP_TYPE, NULL);
  check_heap_usable(heap, cell);

  gc_new_array(heap, bytes, SIZE_MAX);
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  check_heap_usable(heap, cell);

  gc_new_array(heap, bytes, 16 << 20); /* bigger than max-heap-size */
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  check_heap_usable(heap, cell);

  gc_scope stale = {.depth = 99, .serial = 99};
  gc_scope_close(heap, stale);
  EXPECT_TRAP(GC_TRAP_MISUSE, NULL);
  check_heap_usable(heap, cell);

  static uint64_t fake[4];
  gc_get_i64(heap, (gc_ref)(void *)&fake[1], 0);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  check_heap_usable(heap, cell);

  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* Each trap message names what went wrong in words a user can act on. */
COLLECTOR_TEST(traps, messages_say_what_went_wrong) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=2M");
  gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *c = gc_root(heap, gc_new_struct(heap, cell));
  gc_set_i64(heap, *c, 7, 0);
  EXPECT_TRAP(GC_TRAP_BOUNDS, "7");
  gc_get_ref(heap, NULL, 0);
  EXPECT_TRAP(GC_TRAP_NULL, "gc_get_ref");
  gc_new_array(heap, bytes, 4 << 20);
  EXPECT_TRAP(GC_TRAP_OOM, "max-heap-size");
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* The handler sees the heap and its own ud. */
static void remember_heap(gc_heap *heap, gc_trap kind, const char *msg,
                          void *ud) {
  *(gc_heap **)ud = heap;
}

COLLECTOR_TEST(traps, handler_gets_the_heap_and_its_ud) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_heap *seen = NULL;
  gc_set_trap_handler(heap, remember_heap, &seen);
  gc_get_i64(heap, NULL, 0);
  CHECK(seen == heap);
  gc_heap_free(heap);
}

COLLECTOR_TEST(traps, default_handler_aborts, .signal = SIGABRT) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_set_trap_handler(heap, NULL, NULL); /* back to the default */
  gc_get_i64(heap, NULL, 0);
  cr_assert(0, "[%s] the default trap handler returned", param->name);
}

COLLECTOR_TEST(traps, default_handler_on_oom_aborts, .signal = SIGABRT) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=1M");
  gc_set_trap_handler(heap, NULL, NULL);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_scope_open(heap);
  for (int i = 0; i < 64; i++)
    gc_root(heap, gc_new_array(heap, bytes, 64 << 10));
  cr_assert(0, "[%s] 4M rooted in a 1M heap without a trap", param->name);
}

/* The default handler's exact output, seen from a child process. */
COLLECTOR_TEST(traps, default_handler_prints_collector_and_message) {
  /* The default handler runs in a forked child whose stderr is a pipe. */
  int pipefd[2];
  cr_assert_eq(pipe(pipefd), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    gc_heap *heap = harness_new_heap(param->name, NULL);
    gc_set_trap_handler(heap, NULL, NULL);
    gc_get_i64(heap, NULL, 0);
    _exit(0); /* not reached if the handler aborts */
  }
  close(pipefd[1]);
  char text[1024] = "";
  size_t used = 0;
  ssize_t n;
  while ((n = read(pipefd[0], text + used, sizeof text - 1 - used)) > 0)
    used += (size_t)n;
  text[used] = 0;
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
            "[%s] child did not abort (status %d)", param->name, status);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "gcheap: %s: ", param->name);
  cr_assert(strstr(text, prefix), "[%s] stderr lacks \"%s\": %s", param->name,
            prefix, text);
}

COLLECTOR_TEST(traps, handlers_are_per_heap) {
  struct trap_log log_a, log_b;
  gc_heap *a = harness_new_heap_logged(param->name, NULL, &log_a);
  gc_heap *b = harness_new_heap_logged(param->name, NULL, &log_b);
  gc_get_i64(a, NULL, 0);
  CHECK_EQ(log_a.total, 1);
  CHECK_EQ(log_b.total, 0);
  gc_get_i64(b, NULL, 0);
  gc_get_i64(b, NULL, 0);
  CHECK_EQ(log_a.total, 1);
  CHECK_EQ(log_b.total, 2);
  log_a.pending = log_b.pending = 0;
  harness_free_heap(b);
  harness_free_heap(a);
}

/* ---- A NULL heap (gcheap.h: a precondition) ----------------------------- */

enum null_call {
  NULL_TYPE_STRUCT,
  NULL_TYPE_ARRAY,
  NULL_SET_TRAP_HANDLER,
  NULL_SCOPE_OPEN,
  NULL_GLOBAL,
  NULL_COLLECT,
  NULL_GET_STATS,
  NULL_SAFEPOINT, /* inline in gcheap.h: it must still reach the message */
  NULL_BLOCKING_BEGIN,
  NULL_BLOCKING_END,
  NULL_CALLS
};
static const char *const null_call_names[] = {
    "gc_type_struct", "gc_type_array", "gc_set_trap_handler",
    "gc_scope_open",  "gc_global",     "gc_collect",
    "gc_get_stats",   "gc_safepoint",  "gc_blocking_begin",
    "gc_blocking_end"};

static void call_with_null_heap(enum null_call call) {
  const gc_kind kinds[] = {GC_KIND_I64};
  gc_stats stats;
  switch (call) {
  case NULL_TYPE_STRUCT:
    gc_type_struct(NULL, "t", 1, kinds);
    break;
  case NULL_TYPE_ARRAY:
    gc_type_array(NULL, "a", GC_KIND_I64);
    break;
  case NULL_SET_TRAP_HANDLER:
    gc_set_trap_handler(NULL, harness_record_trap, NULL);
    break;
  case NULL_SCOPE_OPEN:
    gc_scope_open(NULL);
    break;
  case NULL_GLOBAL:
    gc_global(NULL, NULL);
    break;
  case NULL_COLLECT:
    gc_collect(NULL);
    break;
  case NULL_GET_STATS:
    gc_get_stats(NULL, &stats);
    break;
  case NULL_SAFEPOINT:
    gc_safepoint(NULL);
    break;
  case NULL_BLOCKING_BEGIN:
    gc_blocking_begin(NULL);
    break;
  case NULL_BLOCKING_END:
    gc_blocking_end(NULL);
    break;
  case NULL_CALLS:
    break;
  }
}

/* The calls that set a heap up, and the thread calls (gc_safepoint is
 * inline in gcheap.h), abort with a message naming the call (a
 * SIGSEGV before); gc_heap_free(NULL) and gc_collector_name(NULL) are
 * fine. */
Test(traps, null_heap_aborts_with_a_message_in_setup_calls) {
  gc_heap_free(NULL);
  cr_assert_str_eq(gc_collector_name(NULL), "(no heap)");
  for (int call = 0; call < NULL_CALLS; call++) {
    int err[2];
    cr_assert_eq(pipe(err), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
      dup2(err[1], STDERR_FILENO);
      call_with_null_heap((enum null_call)call);
      _exit(0);
    }
    close(err[1]);
    char message[512] = "";
    ssize_t got = read(err[0], message, sizeof message - 1);
    message[got > 0 ? got : 0] = 0;
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "%s(NULL): status %#x", null_call_names[call], status);
    cr_assert(strstr(message, null_call_names[call]) &&
                  strstr(message, "the heap is NULL"),
              "%s(NULL) said: %s", null_call_names[call], message);
  }
}
