/* threads_faults.c — fault injection for threads, as tests/fault_injection.c
 * does for one thread: each system allocation gc_thread_attach makes fails
 * in turn, and a thread detaches when the system gives no more memory. On
 * every collector with verify=1; under valgrind on the precise ones only
 * (tests/CMakeLists.txt: Boehm's scan of the other threads' stacks reads
 * words memcheck calls invalid). */
#include "harness.h"

#include <gcheap-testing.h>
#include <pthread.h>
#include <stdio.h>

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};

/* One thread's attempt: gc_thread_attach with the fail_at-th system
 * allocation failing (0: none), then, if that failed, again without a
 * fault; then the handle is used and detached. The thread records what it
 * saw; the test checks it after joining. */
struct attach_attempt {
  gc_heap *heap; /* the test's handle */
  gc_type node;
  long fail_at;
  long allocations; /* what gc_thread_attach made, fault or not */
  bool failed_cleanly;
  char failure[300];
};

static void *attach_with_fault(void *arg) {
  struct attach_attempt *a = arg;
  char err[256] = "";
  gc_test_fail_allocation(a->fail_at); /* 0: only counts */
  gc_heap *mine = gc_thread_attach(a->heap, err, sizeof err);
  a->allocations = gc_test_allocation_count();
  gc_test_allocation_reset();
  if (!mine) {
    if (!err[0]) {
      snprintf(a->failure, sizeof a->failure, "NULL without a reason");
      return NULL;
    }
    a->failed_cleanly = true;
    /* Nothing of the failed attempt may stay: this thread is not
     * attached, so it can attach now. */
    mine = gc_thread_attach(a->heap, err, sizeof err);
    if (!mine) {
      snprintf(a->failure, sizeof a->failure,
               "attaching again without a fault failed: %.200s", err);
      return NULL;
    }
  }
  gc_scope scope = gc_scope_open(mine);
  gc_ref *slot = gc_root(mine, gc_new_struct(mine, a->node));
  gc_set_i64(mine, *slot, 2, a->fail_at);
  gc_collect(mine);
  if (gc_get_i64(mine, *slot, 2) != a->fail_at)
    snprintf(a->failure, sizeof a->failure, "the new handle's object changed");
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

static void run_attempt(gc_heap *heap, struct attach_attempt *a) {
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, attach_with_fault, a), 0);
  gc_blocking_begin(heap); /* the attempt may collect */
  pthread_join(thread, NULL);
  gc_blocking_end(heap);
}

/* Each system allocation gc_thread_attach makes (the handle, the
 * collector's per-thread state) fails in turn: attach returns NULL with a
 * reason, leaves nothing behind (the thread attaches at once after, and
 * valgrind and ASan see no leak), and the heap goes on. */
COLLECTOR_TEST(threads_faults, attaching_fails_cleanly_at_every_allocation) {
  snprintf(harness_collector, sizeof harness_collector, "%s", param->name);
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 3, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *mine = gc_root(heap, gc_new_struct(heap, node));
  gc_set_i64(heap, *mine, 2, -1);

  struct attach_attempt plain = {.heap = heap, .node = node};
  run_attempt(heap, &plain);
  cr_assert(!plain.failure[0] && !plain.failed_cleanly, "[%s] %s", param->name,
            plain.failure);
  long count = plain.allocations;
  cr_assert(count >= 1, "[%s] attaching made no system allocation",
            param->name);
  int failed = 0;
  for (long nth = 1; nth <= count; nth++) {
    struct attach_attempt a = {.heap = heap, .node = node, .fail_at = nth};
    run_attempt(heap, &a);
    cr_assert(!a.failure[0], "[%s] allocation %ld of %ld: %s", param->name, nth,
              count, a.failure);
    failed += a.failed_cleanly;
  }
  cr_log_info("[%s] attaching: %ld allocation points, %d made it fail",
              param->name, count, failed);
  CHECK_EQ(failed, count); /* each allocation it makes is one it needs */
  gc_collect(heap);
  CHECK_EQ(gc_get_i64(heap, *mine, 2), -1);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- Detaching ----------------------------------------------------------- */

struct detach_attempt {
  gc_heap *heap;
  gc_type node;
  gc_ref *holder; /* harness_old_holder's */
  long allocations;
  char failure[300];
};

/* Stores a young object into the old object the holder holds (over the
 * resource there), so that the thread has something to hand over when it
 * leaves (tracing: the old object, remembered; refcount: the logged old
 * field), then detaches with every system allocation failing. */
static void *store_then_detach_without_memory(void *arg) {
  struct detach_attempt *a = arg;
  char err[256] = "";
  gc_heap *mine = gc_thread_attach(a->heap, err, sizeof err);
  if (!mine) {
    snprintf(a->failure, sizeof a->failure, "attach: %.200s", err);
    return NULL;
  }
  gc_scope scope = gc_scope_open(mine);
  gc_ref *young = gc_root(mine, gc_new_struct(mine, a->node));
  gc_set_i64(mine, *young, 2, 42);
  gc_set_ref(mine, gc_get_ref(mine, *a->holder, 0), 0, *young);
  gc_scope_close(mine, scope);
  gc_test_fail_allocation(1);
  gc_thread_detach(mine);
  a->allocations = gc_test_allocation_count();
  gc_test_allocation_reset();
  return NULL;
}

/* What a thread hands over as it detaches may need memory the system no
 * longer gives: then the next collection must still find the young object
 * (tracing: it collects in full; refcount: it recounts every object), and
 * still free what the store dropped. */
COLLECTOR_TEST(threads_faults, detaching_without_memory_loses_no_reference) {
  /* stress=0 in the stress run too: its collections are all full ones. */
  gc_heap *heap = harness_new_heap(param->name, "stress=0");
  gc_type node = gc_type_struct(heap, "node", 3, node_kinds);
  gc_ref *holder = harness_old_holder(heap, node);
  struct detach_attempt a = {.heap = heap, .node = node, .holder = holder};
  pthread_t thread;
  cr_assert_eq(
      pthread_create(&thread, NULL, store_then_detach_without_memory, &a), 0);
  gc_blocking_begin(heap);
  pthread_join(thread, NULL);
  gc_blocking_end(heap);
  cr_assert(!a.failure[0], "[%s] %s", param->name, a.failure);
  cr_log_info("[%s] detaching tried %ld system allocations", param->name,
              a.allocations);
  harness_check_young_in_old(heap, node, holder);
  harness_free_heap(heap);
}
