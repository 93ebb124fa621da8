/* threads.c — one heap, many threads: attaching, the stop-the-world
 * handshake, blocking calls, stores into shared objects, resources and weak
 * references across threads. Every test runs on every collector, with
 * verify=1 (and, as every test, also under stress=1).
 *
 * Worker threads never call Criterion's assertions (they may only fail the
 * test from its own thread): each records what went wrong in its struct
 * worker, which the test checks after joining it. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static const gc_kind node_kinds[] = {GC_KIND_I64, GC_KIND_REF};

/* ---- Workers --------------------------------------------------------------
 */

struct worker {
  pthread_t thread;
  gc_heap *heap; /* any handle: the worker attaches its own */
  gc_type node;
  gc_type pair; /* two REF fields */
  int id;
  int count;         /* how much work: nodes, rounds */
  bool collects;     /* also calls gc_collect now and then */
  char failure[768]; /* "" or what went wrong */
  void *shared;      /* the test's own state */
};

#define WORKER_FAIL(w, ...)                                                    \
  do {                                                                         \
    if (!(w)->failure[0])                                                      \
      snprintf((w)->failure, sizeof(w)->failure, __VA_ARGS__);                 \
  } while (0)

static void start_workers(struct worker *workers, int n,
                          void *(*body)(void *)) {
  for (int i = 0; i < n; i++)
    cr_assert_eq(pthread_create(&workers[i].thread, NULL, body, &workers[i]),
                 0);
}

/* Joins the workers while the test's own thread stays out of the way of
 * their collections (it holds a handle, so it must not hold them up). */
static void join_workers(gc_heap *heap, struct worker *workers, int n) {
  gc_blocking_begin(heap);
  for (int i = 0; i < n; i++)
    pthread_join(workers[i].thread, NULL);
  gc_blocking_end(heap);
  /* A worker that met a trap usually failed because of it: say which. */
  char trap[600] = "";
  if (harness_traps.total)
    snprintf(trap, sizeof trap, " (last trap: %s: %s)",
             gc_trap_name(harness_traps.kind), harness_traps.message);
  for (int i = 0; i < n; i++)
    cr_assert(!workers[i].failure[0], "[%s] worker %d: %s%s", harness_collector,
              workers[i].id, workers[i].failure, trap);
}

/* The calling thread's handle; NULL, with the failure recorded, if the
 * collector refused it. */
static gc_heap *attach(struct worker *w) {
  char err[256] = "";
  gc_heap *mine = gc_thread_attach(w->heap, err, sizeof err);
  if (!mine)
    WORKER_FAIL(w, "gc_thread_attach failed: %s", err);
  return mine;
}

/* A list of n nodes holding first, first + 1, ..., rooted in *slot. */
static void build_list(gc_heap *h, gc_type node, gc_ref *slot, int64_t first,
                       int n) {
  *slot = NULL;
  for (int i = n - 1; i >= 0; i--) {
    gc_ref cell = gc_new_struct(h, node);
    gc_set_i64(h, cell, 0, first + i);
    gc_set_ref(h, cell, 1, *slot);
    *slot = cell;
  }
}

/* "" if the list in slot holds first .. first + n - 1, else what is wrong. */
static const char *check_list(gc_heap *h, gc_ref list, int64_t first, int n) {
  static _Thread_local char why[128];
  for (int i = 0; i < n; i++, list = gc_get_ref(h, list, 1)) {
    if (!list) {
      snprintf(why, sizeof why, "list ends after %d of %d nodes", i, n);
      return why;
    }
    if (gc_get_i64(h, list, 0) != first + i) {
      snprintf(why, sizeof why, "node %d holds %lld, not %lld", i,
               (long long)gc_get_i64(h, list, 0), (long long)(first + i));
      return why;
    }
  }
  return list ? "list longer than built" : "";
}

/* ---- Attaching ------------------------------------------------------------
 */

static void *attach_twice(void *arg) {
  struct worker *w = arg;
  gc_ref **globals = w->shared;
  for (int round = 0; round < 2; round++) {
    gc_heap *mine = attach(w);
    if (!mine)
      return NULL;
    gc_scope scope = gc_scope_open(mine);
    gc_ref *list = gc_root(mine, NULL);
    build_list(mine, w->node, list, 100 * w->id + round, 50);
    gc_collect(mine);
    const char *why = check_list(mine, *list, 100 * w->id + round, 50);
    if (*why)
      WORKER_FAIL(w, "round %d: %s", round, why);
    globals[2 * w->id + round] = gc_global(mine, *list);
    gc_scope_close(mine, scope);
    gc_thread_detach(mine);
  }
  return NULL;
}

COLLECTOR_TEST(threads, attach_detach_and_attach_again) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  enum { N = 3 };
  gc_ref *globals[2 * N] = {0};
  struct worker workers[N];
  for (int i = 0; i < N; i++)
    workers[i] =
        (struct worker){.heap = heap, .node = node, .id = i, .shared = globals};
  start_workers(workers, N, attach_twice);
  join_workers(heap, workers, N);
  /* What the threads left in globals outlives them. */
  harness_collect(heap);
  for (int i = 0; i < N; i++)
    for (int round = 0; round < 2; round++)
      CHECK_EQ(*check_list(heap, *globals[2 * i + round], 100 * i + round, 50),
               0);
  harness_free_heap(heap);
}

/* Stage 1: attached; stage 2: may detach. */
static void *attach_and_wait(void *arg) {
  struct worker *w = arg;
  struct harness_handoff *handoff = w->shared;
  gc_heap *mine = attach(w);
  harness_set_stage(handoff, 1);
  harness_wait_for_stage(mine, handoff, 2);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, freeing_a_heap_with_a_thread_attached_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  struct harness_handoff handoff = HARNESS_HANDOFF_INIT;
  struct worker w = {.heap = heap, .shared = &handoff};
  start_workers(&w, 1, attach_and_wait);
  harness_wait_for_stage(heap, &handoff, 1);
  gc_heap_free(heap); /* refused: the heap stays whole */
  EXPECT_TRAP(GC_TRAP_MISUSE, "1 other threads are still attached");
  harness_set_stage(&handoff, 2);
  join_workers(heap, &w, 1);
  gc_collect(heap);
  harness_free_heap(heap);
}

static void *use_creators_handle(void *arg) {
  struct worker *w = arg;
  *(gc_ref *)w->shared = gc_new_struct(w->heap, w->node);
  return NULL;
}

COLLECTOR_TEST(threads, a_handle_used_from_another_thread_traps) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  gc_ref made = (gc_ref)1;
  struct worker w = {.heap = heap, .node = node, .shared = &made};
  start_workers(&w, 1, use_creators_handle);
  join_workers(heap, &w, 1);
  CHECK(made == NULL);
  EXPECT_TRAP(GC_TRAP_MISUSE, "gc_new_struct with another thread's handle");
  harness_free_heap(heap);
}

static void *misuse_own_handle(void *arg) {
  struct worker *w = arg;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  struct trap_log *log = w->shared;
  gc_set_trap_handler(mine, harness_record_trap, log);
  gc_scope scope = gc_scope_open(mine);
  gc_thread_detach(mine); /* a scope is open */
  if (log->pending != 1 || !strstr(log->message, "1 scopes are still open"))
    WORKER_FAIL(w, "detach with an open scope: %s", log->message);
  log->pending = 0;
  gc_scope_close(mine, scope);
  gc_blocking_begin(mine);
  gc_ref cell = gc_new_struct(mine, w->node); /* blocked: may not */
  if (cell || log->pending != 1 ||
      !strstr(log->message, "between gc_blocking_begin and gc_blocking_end"))
    WORKER_FAIL(w, "allocation while blocked: %s", log->message);
  log->pending = 0;
  gc_blocking_end(mine);
  gc_blocking_end(mine); /* not blocked */
  if (log->pending != 1 || !strstr(log->message, "without gc_blocking_begin"))
    WORKER_FAIL(w, "gc_blocking_end twice: %s", log->message);
  log->pending = 0;
  if (!gc_new_struct(mine, w->node))
    WORKER_FAIL(w, "the handle does not work after the misuses");
  gc_set_trap_handler(mine, harness_record_trap, &harness_traps);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, misuse_of_a_handle_traps_and_leaves_it_usable) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  struct trap_log log = {0};
  struct worker w = {.heap = heap, .node = node, .shared = &log};
  start_workers(&w, 1, misuse_own_handle);
  join_workers(heap, &w, 1);
  gc_thread_detach(heap); /* the creator's handle is not detached */
  EXPECT_TRAP(GC_TRAP_MISUSE, "gc_heap_free frees it with the heap");
  harness_free_heap(heap);
}

/* ---- Allocation and collection on many threads ----------------------------
 */

/* Private lists, rebuilt in rounds, checked after every round; some
 * threads also collect. */
static void *build_private_lists(void *arg) {
  struct worker *w = arg;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *kept = gc_root(mine, NULL);
  gc_ref *fresh = gc_root(mine, NULL);
  build_list(mine, w->node, kept, 1000000 * w->id, w->count);
  for (int round = 0; round < 8 && !w->failure[0]; round++) {
    build_list(mine, w->node, fresh, 1000000 * w->id + round, w->count);
    if (w->collects && round % 2 == 0)
      gc_collect(mine);
    const char *why = check_list(mine, *kept, 1000000 * w->id, w->count);
    if (*why)
      WORKER_FAIL(w, "round %d, kept list: %s", round, why);
    why = check_list(mine, *fresh, 1000000 * w->id + round, w->count);
    if (*why)
      WORKER_FAIL(w, "round %d, fresh list: %s", round, why);
  }
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

static void run_private_lists(const struct collector_param *param,
                              int nthreads) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  struct worker workers[8];
  /* Fewer nodes under stress=1, where every allocation collects. */
  const char *env = getenv("GCHEAP_OPTIONS");
  int count = env && strstr(env, "stress=1") ? 40 : 3000;
  for (int i = 0; i < nthreads; i++)
    workers[i] = (struct worker){.heap = heap,
                                 .node = node,
                                 .id = i,
                                 .count = count,
                                 .collects = i % 2 == 0};
  start_workers(workers, nthreads, build_private_lists);
  join_workers(heap, workers, nthreads);
  gc_stats stats = harness_stats(heap);
  if (harness_reclaims(param->name))
    CHECK(stats.collections > 0);
  harness_collect(heap);
  harness_free_heap(heap);
}

COLLECTOR_TEST(threads, two_threads_allocate_while_they_collect) {
  run_private_lists(param, 2);
}
COLLECTOR_TEST(threads, four_threads_allocate_while_they_collect) {
  run_private_lists(param, 4);
}
COLLECTOR_TEST(threads, eight_threads_allocate_while_they_collect) {
  run_private_lists(param, 8);
}

/* ---- A shared, old structure ----------------------------------------------
 */

struct shared_table {
  pthread_mutex_t lock;
  gc_ref *table; /* a global: an array of lists */
  int slots;
};

/* Replaces random slots of the shared table with new lists of 3 nodes
 * holding (id, round), under the embedder's lock; a thread waiting for the
 * lock is blocked, so that it does not hold up a collection meanwhile. */
static void *replace_shared_entries(void *arg) {
  struct worker *w = arg;
  struct shared_table *t = w->shared;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *fresh = gc_root(mine, NULL);
  unsigned seed = (unsigned)w->id * 7919u + 1;
  for (int round = 0; round < w->count; round++) {
    build_list(mine, w->node, fresh, 1000 * w->id + round % 1000, 3);
    gc_blocking_begin(mine);
    pthread_mutex_lock(&t->lock);
    gc_blocking_end(mine);
    seed = seed * 1103515245u + 12345u;
    size_t slot = (seed >> 8) % (unsigned)t->slots;
    /* Check what is there, then replace it: the barrier sees an old array
     * receive a young list from this thread, maybe right after another
     * thread did the same. */
    gc_ref old = gc_get_ref(mine, *t->table, slot);
    if (old) {
      int64_t first = gc_get_i64(mine, old, 0);
      const char *why = check_list(mine, old, first, 3);
      if (*why)
        WORKER_FAIL(w, "slot %zu: %s", slot, why);
    }
    gc_set_ref(mine, *t->table, slot, *fresh);
    pthread_mutex_unlock(&t->lock);
    if (w->collects && round % 64 == 0)
      gc_collect(mine);
  }
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, threads_replace_entries_of_a_shared_old_array) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  gc_type array = gc_type_array(heap, "lists", GC_KIND_REF);
  struct shared_table t = {PTHREAD_MUTEX_INITIALIZER, NULL, 64};
  t.table = gc_global(heap, gc_new_array(heap, array, (size_t)t.slots));
  harness_collect(heap); /* the array is old from here on */
  enum { N = 4 };
  const char *env = getenv("GCHEAP_OPTIONS");
  int rounds = env && strstr(env, "stress=1") ? 30 : 2000;
  struct worker workers[N];
  for (int i = 0; i < N; i++)
    workers[i] = (struct worker){.heap = heap,
                                 .node = node,
                                 .id = i,
                                 .count = rounds,
                                 .collects = i == 0,
                                 .shared = &t};
  start_workers(workers, N, replace_shared_entries);
  join_workers(heap, workers, N);
  harness_collect(heap);
  for (int i = 0; i < t.slots; i++) {
    gc_ref list = gc_get_ref(heap, *t.table, (size_t)i);
    if (list)
      CHECK_EQ(*check_list(heap, list, gc_get_i64(heap, list, 0), 3), 0);
  }
  harness_free_heap(heap);
}

/* ---- Safepoints and blocking calls ----------------------------------------
 */

/* Roots a list, then sleeps on a condition inside gc_blocking_begin/end
 * (stage 1: blocked; stage 2: wake up); its list must survive the
 * collections meanwhile. */
static void *sleep_blocked(void *arg) {
  struct worker *w = arg;
  struct harness_handoff *s = w->shared;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *list = gc_root(mine, NULL);
  build_list(mine, w->node, list, 7, 200);
  gc_blocking_begin(mine);
  harness_set_stage(s, 1);
  harness_wait_for_stage(NULL, s, 2); /* blocked already */
  gc_blocking_end(mine);
  const char *why = check_list(mine, *list, 7, 200);
  if (*why)
    WORKER_FAIL(w, "after sleeping: %s", why);
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, a_blocked_thread_does_not_hold_up_collections) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  struct harness_handoff s = HARNESS_HANDOFF_INIT;
  struct worker w = {.heap = heap, .node = node, .shared = &s};
  start_workers(&w, 1, sleep_blocked);
  harness_wait_for_stage(heap, &s, 1);
  uint64_t before = harness_stats(heap).collections;
  /* Would wait forever if a blocked thread held up a collection. */
  gc_scope scope = gc_scope_open(heap);
  gc_ref *garbage = gc_root(heap, NULL);
  for (int i = 0; i < 3; i++) {
    build_list(heap, node, garbage, 0, 1000);
    harness_collect(heap);
  }
  gc_scope_close(heap, scope);
  CHECK(harness_stats(heap).collections >= before + 3);
  harness_set_stage(&s, 2);
  join_workers(heap, &w, 1);
  harness_free_heap(heap);
}

/* Spins without allocating, calling gc_safepoint, until told to stop
 * (stage 1: spinning). */
static void *spin_at_safepoints(void *arg) {
  struct worker *w = arg;
  struct harness_handoff *s = w->shared;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *list = gc_root(mine, NULL);
  build_list(mine, w->node, list, 11, 100);
  harness_set_stage(s, 1);
  while (!atomic_load(&s->stop))
    gc_safepoint(mine);
  const char *why = check_list(mine, *list, 11, 100);
  if (*why)
    WORKER_FAIL(w, "after spinning: %s", why);
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, a_loop_without_allocation_waits_at_its_safepoint) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  struct harness_handoff s = HARNESS_HANDOFF_INIT;
  struct worker w = {.heap = heap, .node = node, .shared = &s};
  start_workers(&w, 1, spin_at_safepoints);
  harness_wait_for_stage(heap, &s, 1);
  uint64_t before = harness_stats(heap).collections;
  for (int i = 0; i < 5; i++)
    harness_collect(heap); /* each waits for the spinner's next safepoint */
  CHECK(harness_stats(heap).collections >= before + 5);
  atomic_store(&s.stop, true);
  join_workers(heap, &w, 1);
  harness_free_heap(heap);
}

/* ---- Resources and weak references across threads -------------------------
 */

enum { RESOURCE_THREADS = 4, RESOURCES_EACH = 100 };
static atomic_int destroyed[RESOURCE_THREADS * RESOURCES_EACH];
static int payload[RESOURCE_THREADS * RESOURCES_EACH];

static void count_destroy(void *ptr, void *ud) {
  atomic_fetch_add(&destroyed[(int *)ptr - payload], 1);
}

struct weak_exchange {
  pthread_mutex_t lock;
  gc_ref *weaks; /* a global array: thread i's weak references to thread
                    i + 1's objects */
};

/* Makes resources (half dropped at once, half kept rooted until detach)
 * and weak references to another thread's objects. */
static void *resources_and_weaks(void *arg) {
  struct worker *w = arg;
  struct weak_exchange *x = w->shared;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *kept = gc_root(mine, NULL); /* a list of pairs (resource, next) */
  gc_ref *res = gc_root(mine, NULL);
  for (int i = 0; i < RESOURCES_EACH; i++) {
    int id = w->id * RESOURCES_EACH + i;
    *res = gc_new_resource(mine, &payload[id], count_destroy, NULL);
    if (i % 2 == 0) {
      gc_ref pair = gc_new_struct(mine, w->pair);
      gc_set_ref(mine, pair, 0, *res);
      gc_set_ref(mine, pair, 1, *kept);
      *kept = pair;
    }
    if (i % 10 == 0)
      gc_collect(mine);
  }
  /* A weak reference, from a shared array, to a fresh object of this
   * thread that only this thread's scope keeps. */
  gc_ref *target = gc_root(mine, gc_new_struct(mine, w->node));
  /* Rooted: while this thread waits for the lock, another collects. */
  gc_ref *weak = gc_root(mine, gc_new_weak(mine, *target));
  gc_blocking_begin(mine);
  pthread_mutex_lock(&x->lock);
  gc_blocking_end(mine);
  gc_set_ref(mine, *x->weaks, (size_t)w->id, *weak);
  pthread_mutex_unlock(&x->lock);
  gc_collect(mine);
  if (gc_weak_get(mine, gc_get_ref(mine, *x->weaks, (size_t)w->id)) != *target)
    WORKER_FAIL(w, "a weak reference lost a target this thread roots");
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, each_destructor_runs_once_whatever_thread_made_it) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  for (int i = 0; i < RESOURCE_THREADS * RESOURCES_EACH; i++)
    atomic_store(&destroyed[i], 0);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  static const gc_kind pair_kinds[] = {GC_KIND_REF, GC_KIND_REF};
  gc_type pair = gc_type_struct(heap, "pair", 2, pair_kinds);
  gc_type weaks = gc_type_array(heap, "weaks", GC_KIND_REF);
  struct weak_exchange x = {PTHREAD_MUTEX_INITIALIZER, NULL};
  x.weaks = gc_global(heap, gc_new_array(heap, weaks, RESOURCE_THREADS));
  struct worker workers[RESOURCE_THREADS];
  for (int i = 0; i < RESOURCE_THREADS; i++)
    workers[i] = (struct worker){
        .heap = heap, .node = node, .pair = pair, .id = i, .shared = &x};
  start_workers(workers, RESOURCE_THREADS, resources_and_weaks);
  join_workers(heap, workers, RESOURCE_THREADS);
  harness_collect(heap);
  for (int i = 0; i < RESOURCE_THREADS * RESOURCES_EACH; i++)
    CHECK(atomic_load(&destroyed[i]) <= 1);
  /* The threads' scopes are gone: their weak targets are garbage now. */
  if (harness_reclaims(param->name) && !harness_conservative(param->name))
    for (int i = 0; i < RESOURCE_THREADS; i++)
      CHECK(gc_weak_get(heap, gc_get_ref(heap, *x.weaks, (size_t)i)) == NULL);
  harness_free_heap(heap);
  for (int i = 0; i < RESOURCE_THREADS * RESOURCES_EACH; i++)
    CHECK_EQ(atomic_load(&destroyed[i]), 1);
}

/* ---- Out of memory --------------------------------------------------------
 */

/* Fills the heap from this thread until an allocation fails: the OOM trap
 * must come to this thread's handle, and the heap must stay usable. */
static void *fill_until_oom(void *arg) {
  struct worker *w = arg;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_scope scope = gc_scope_open(mine);
  gc_ref *list = gc_root(mine, NULL);
  long cells = 0;
  for (; cells < 10000000; cells++) {
    gc_ref cell = gc_new_struct(mine, w->node);
    if (!cell)
      break;
    gc_set_ref(mine, cell, 1, *list);
    *list = cell;
  }
  if (cells == 10000000)
    WORKER_FAIL(w, "10 million cells fitted in a 4M heap");
  else if (harness_traps.pending != 1 || harness_traps.kind != GC_TRAP_OOM)
    WORKER_FAIL(w, "no OOM trap after %ld cells", cells);
  else if (harness_traps.heap != mine)
    WORKER_FAIL(w, "the OOM trap went to handle %p, not this thread's %p",
                (void *)harness_traps.heap, (void *)mine);
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, out_of_memory_traps_in_the_thread_that_hit_it) {
  gc_heap *heap = harness_new_heap(param->name, "max-heap-size=4M,stress=0");
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  struct worker w = {.heap = heap, .node = node};
  start_workers(&w, 1, fill_until_oom);
  join_workers(heap, &w, 1);
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  /* The worker's list is garbage now: the heap has room again (null,
   * which never frees, traps again, in this thread). */
  harness_collect(heap);
  if (harness_reclaims(param->name)) {
    CHECK(gc_new_struct(heap, node) != NULL);
  } else {
    CHECK(gc_new_struct(heap, node) == NULL);
    CHECK(harness_traps.heap == heap);
    EXPECT_TRAP(GC_TRAP_OOM, NULL);
  }
  harness_free_heap(heap);
}

/* Stores into one field of one old object from two threads at once, with
 * no lock: the program's own data race. The guide promises that a race
 * gives one of the values written and never breaks the heap: the barriers
 * (tracing's remembering, refcount's logging) stay correct whatever the
 * interleaving, and verify=1 checks every count and reference at each
 * collection. */
static void *store_into_shared_field(void *arg) {
  struct worker *w = arg;
  gc_heap *mine = attach(w);
  if (!mine)
    return NULL;
  gc_ref *holder = w->shared;
  for (int k = 0; k < w->count; k++) {
    gc_ref cell = gc_new_struct(mine, w->node);
    gc_set_i64(mine, cell, 0, (int64_t)w->id * 1000000 + k);
    gc_set_ref(mine, *holder, 1, cell);
    if (w->collects && k % 500 == 499)
      gc_collect(mine);
  }
  gc_thread_detach(mine);
  return NULL;
}

COLLECTOR_TEST(threads, racing_stores_into_one_field_leave_one_value) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type node = gc_type_struct(heap, "node", 2, node_kinds);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, node));
  harness_collect(heap); /* the holder is old */
  enum { N = 2, STORES = 3000 };
  struct worker workers[N];
  for (int i = 0; i < N; i++)
    workers[i] = (struct worker){.heap = heap,
                                 .node = node,
                                 .id = i + 1,
                                 .count = STORES,
                                 .collects = i == 0,
                                 .shared = holder};
  start_workers(workers, N, store_into_shared_field);
  join_workers(heap, workers, N);
  harness_collect(heap);
  gc_ref last = gc_get_ref(heap, *holder, 1);
  CHECK(last != NULL);
  int64_t value = gc_get_i64(heap, last, 0);
  /* One thread's last store: each thread's stores follow one another. */
  CHECK(value == 1 * 1000000 + STORES - 1 || value == 2 * 1000000 + STORES - 1);
  harness_free_heap(heap);
}
