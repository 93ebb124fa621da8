/* mt-stress.c — the threaded stress program: THREADS threads run a random
 * program (fixed seed) on one heap of each collector, with verify=1 and
 * again with verify=0 (where gcheap.h's inline fast paths run: allocation
 * from each thread's published region, plain stores past the barrier
 * filter), and check every structure against a shadow model.
 *
 *   mt-stress [SEED [THREADS [OPS]]]        defaults: 1, 4, 20000
 *
 * Each thread keeps SLOTS rooted lists whose node ids it also records in
 * its shadow; its operations push, pop, copy, check and drop lists, make
 * resources (each destructor must run exactly once by the end), weak
 * references (while the target is rooted, the weak reference returns it),
 * collect, sit at safepoints and sleep inside gc_blocking_begin/end. A
 * shared array of lists, with its own shadow, is read and replaced under
 * the embedder's lock, so that stores into an old shared object from many
 * threads meet the barrier (and, with THREADS > 2, the lock's waiters meet
 * collections).
 *
 * It is not a Criterion test: Criterion cannot run under ThreadSanitizer
 * (its process arenas fail there), and this program is what the TSan build
 * of CI runs (scripts/test.sh). Under TSan collector=boehm is left out:
 * TSan cannot follow Boehm's signal-based stopping of threads.
 *
 * Exit status: 0, or 1 with the first failure on stderr. */
#include <gcheap.h>
#include <tracing/tracing-testing.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

enum { SLOTS = 8, MAX_LEN = 24, SHARED = 16, MAX_THREADS = 16 };
/* A second shared table, large enough that refcount logs it by cards
 * (1023 elements or more): each entry is the shared table's entry
 * SHARED_LARGE_COPY apart, so that it is checked against the same shadow. */
enum { SHARED_LARGE = 4096, SHARED_LARGE_COPY = SHARED_LARGE / SHARED };
/* Each thread's ballast: enough live objects for tracing to mark on
 * several threads (gc-threads) at every collection, once its helpers join
 * from PARALLEL_AFTER_HERE objects on. */
enum { PARALLEL_AFTER_HERE = 4096 };
enum { BALLAST_LISTS = 64, BALLAST_NODES = 40 };
/* Each thread also replaces a big array now and then: large objects, whose
 * memory the allocating thread zeroes with the heap lock let go. */
enum { BIG_LENGTH = 4096, BIG_STRIDE = 61 }; /* 32 KiB */
enum { NODE_NEXT, NODE_ID, NODE_RES };
static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_I64, GC_KIND_REF};

struct shadow_list {
  int len;
  int64_t ids[MAX_LEN];
};

struct shared_state {
  pthread_mutex_t lock;
  gc_ref *table; /* a global array of SHARED lists */
  gc_ref *large; /* a global array of SHARED_LARGE lists, see above */
  struct shadow_list shadow[SHARED];
  gc_type node, lists, ints;
  atomic_long resources_made, resources_destroyed;
  atomic_int failed;
  char failure[512];
};

struct thread_state {
  pthread_t thread;
  gc_heap *heap; /* the creator's handle: this thread attaches its own */
  struct shared_state *shared;
  uint64_t rng;
  int id;
  long ops;
  char attach_error[256];
};

static void fail(struct shared_state *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct shared_state *s, const char *fmt, ...) {
  if (atomic_exchange(&s->failed, 1))
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->failure, sizeof s->failure, fmt, ap);
  va_end(ap);
}

static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

static void count_destroy(void *ptr, void *ud) {
  atomic_fetch_add(&((struct shared_state *)ud)->resources_destroyed, 1);
}

/* 0 if the list matches the shadow, else -1 after recording why. */
static int check_list(gc_heap *h, struct shared_state *s, gc_ref list,
                      const struct shadow_list *shadow, const char *what) {
  for (int i = 0; i < shadow->len; i++, list = gc_get_ref(h, list, NODE_NEXT)) {
    if (!list || gc_get_i64(h, list, NODE_ID) != shadow->ids[i]) {
      fail(s, "%s: node %d is %s, expected id %lld", what, i,
           list ? "another node" : "missing", (long long)shadow->ids[i]);
      return -1;
    }
  }
  if (list) {
    fail(s, "%s: longer than its %d nodes", what, shadow->len);
    return -1;
  }
  return 0;
}

/* Prepends a node with id to *slot (rooted), maybe holding a resource. */
static void push_node(gc_heap *h, struct thread_state *t, gc_ref *slot,
                      struct shadow_list *shadow, int64_t id,
                      bool with_resource) {
  struct shared_state *s = t->shared;
  gc_ref node = gc_new_struct(h, s->node);
  gc_set_i64(h, node, NODE_ID, id);
  gc_set_ref(h, node, NODE_NEXT, *slot);
  *slot = node;
  if (with_resource) {
    atomic_fetch_add(&s->resources_made, 1);
    gc_ref res = gc_new_resource(h, t, count_destroy, s);
    gc_set_ref(h, *slot, NODE_RES, res);
  }
  memmove(&shadow->ids[1], &shadow->ids[0], (size_t)shadow->len * 8);
  shadow->ids[0] = id;
  shadow->len++;
}

/* Reads and replaces a random entry of the shared table under its lock;
 * the wait for the lock is a blocking call. */
static void shared_step(gc_heap *h, struct thread_state *t, gc_ref *const *slot,
                        struct shadow_list *shadows) {
  struct shared_state *s = t->shared;
  int k = (int)(next_random(&t->rng) % SHARED);
  int from = (int)(next_random(&t->rng) % SLOTS);
  gc_blocking_begin(h);
  pthread_mutex_lock(&s->lock);
  gc_blocking_end(h);
  gc_ref current = gc_get_ref(h, *s->table, (size_t)k);
  if (check_list(h, s, current, &s->shadow[k], "shared entry") == 0) {
    gc_set_ref(h, *s->table, (size_t)k, *slot[from]);
    gc_set_ref(h, *s->large, (size_t)k * SHARED_LARGE_COPY, *slot[from]);
    s->shadow[k] = shadows[from];
  }
  pthread_mutex_unlock(&s->lock);
}

/* Replaces *big with a new big array, after checking that the old one
 * still holds its tag and the new one reads zero, and tags the new one. */
static void replace_big_array(gc_heap *h, struct thread_state *t, gc_ref *big,
                              int64_t *tag) {
  struct shared_state *s = t->shared;
  for (size_t i = 0; *big && i < BIG_LENGTH; i += BIG_STRIDE)
    if (gc_get_i64(h, *big, i) != *tag + (int64_t)i)
      fail(s, "thread %d: big array element %zu changed", t->id, i);
  *big = gc_new_array(h, s->ints, BIG_LENGTH);
  *tag += BIG_LENGTH;
  for (size_t i = 0; i < BIG_LENGTH; i += BIG_STRIDE) {
    if (gc_get_i64(h, *big, i) != 0)
      fail(s, "thread %d: a new big array is not zero at %zu", t->id, i);
    gc_set_i64(h, *big, i, *tag + (int64_t)i);
  }
}

static void run_program(gc_heap *h, struct thread_state *t) {
  struct shared_state *s = t->shared;
  gc_scope scope = gc_scope_open(h);
  gc_ref *slot[SLOTS];
  for (int i = 0; i < SLOTS; i++)
    slot[i] = gc_root(h, NULL);
  gc_ref *weak_slot = gc_root(h, NULL);
  gc_ref *big = gc_root(h, NULL);
  int64_t big_tag = (int64_t)t->id << 40;
  int weak_target = -1; /* the slot whose head weak_slot watches */
  int64_t weak_id = -1; /* that head's id */
  struct shadow_list shadows[SLOTS] = {0};
  int64_t next_id = (int64_t)t->id << 32;
  gc_ref *ballast = gc_root(h, gc_new_array(h, s->lists, BALLAST_LISTS));
  gc_ref *list = gc_root(h, NULL);
  for (int i = 0; i < BALLAST_LISTS; i++) {
    *list = NULL;
    for (int n = 0; n < BALLAST_NODES; n++) {
      gc_ref node = gc_new_struct(h, s->node);
      gc_set_i64(h, node, NODE_ID, -i);
      gc_set_ref(h, node, NODE_NEXT, *list);
      *list = node;
    }
    gc_set_ref(h, *ballast, (size_t)i, *list);
  }
  for (long op = 0; op < t->ops && !atomic_load(&s->failed); op++) {
    int i = (int)(next_random(&t->rng) % SLOTS);
    int j = (int)(next_random(&t->rng) % SLOTS);
    switch (next_random(&t->rng) % 16) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
      if (shadows[i].len < MAX_LEN)
        push_node(h, t, slot[i], &shadows[i], next_id++,
                  next_random(&t->rng) % 8 == 0);
      break;
    case 5:
      if (shadows[i].len) {
        *slot[i] = gc_get_ref(h, *slot[i], NODE_NEXT);
        shadows[i].len--;
        memmove(&shadows[i].ids[0], &shadows[i].ids[1],
                (size_t)shadows[i].len * 8);
      }
      break;
    case 6:
      *slot[j] = *slot[i];
      shadows[j] = shadows[i];
      break;
    case 7:
    case 8:
      check_list(h, s, *slot[i], &shadows[i], "private list");
      break;
    case 9:
      *slot[i] = NULL;
      shadows[i].len = 0;
      break;
    case 10:
      shared_step(h, t, slot, shadows);
      break;
    case 11:
      if (next_random(&t->rng) % 8 == 0)
        gc_collect(h);
      else
        gc_safepoint(h);
      break;
    case 12:
      if (next_random(&t->rng) % 16 == 0) {
        gc_blocking_begin(h);
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
        gc_blocking_end(h);
      } else {
        replace_big_array(h, t, big, &big_tag);
      }
      break;
    case 13:
      if (*slot[i]) {
        *weak_slot = gc_new_weak(h, *slot[i]);
        weak_target = i;
        weak_id = shadows[i].ids[0];
      }
      break;
    default:
      /* While the watched node is still the head of its slot (ids are
       * unique per node), it is rooted: the weak reference returns it. */
      if (weak_target >= 0 && shadows[weak_target].len &&
          shadows[weak_target].ids[0] == weak_id &&
          gc_weak_get(h, *weak_slot) != *slot[weak_target])
        fail(s, "thread %d: a weak reference lost a rooted target", t->id);
      break;
    }
  }
  for (int i = 0; i < SLOTS; i++)
    check_list(h, s, *slot[i], &shadows[i], "private list at the end");
  for (int i = 0; i < BALLAST_LISTS; i++) {
    int n = 0;
    for (gc_ref node = gc_get_ref(h, *ballast, (size_t)i); node;
         node = gc_get_ref(h, node, NODE_NEXT), n++)
      if (gc_get_i64(h, node, NODE_ID) != -i)
        fail(s, "thread %d: ballast list %d holds a stranger", t->id, i);
    if (n != BALLAST_NODES)
      fail(s, "thread %d: ballast list %d has %d nodes", t->id, i, n);
  }
  gc_scope_close(h, scope);
}

static void *thread_main(void *arg) {
  struct thread_state *t = arg;
  gc_heap *mine =
      gc_thread_attach(t->heap, t->attach_error, sizeof t->attach_error);
  if (!mine)
    return NULL;
  run_program(mine, t);
  gc_thread_detach(mine);
  return NULL;
}

static void record_trap(gc_heap *heap, gc_trap trap, const char *msg,
                        void *ud) {
  fail(ud, "trap %s: %s", gc_trap_name(trap), msg);
}

/* The null collector never frees, so its arena must hold all that a run
 * allocates. An operation allocates 2 KiB on average: a big array (32 KiB)
 * one time in 17, a node or a list now and then; 3 KiB an operation, over
 * 64 MiB for the tables and the ballast, leaves room whatever the seed.
 * (The default arena, 256M, held 4 threads of 20,000 operations and ran
 * out with 8.) */
static uint64_t null_arena_bytes(int nthreads, long ops) {
  return (UINT64_C(64) << 20) + (uint64_t)nthreads * (uint64_t)ops * 3072;
}

/* 0 ok, 1 failed. */
static int run_collector(const char *collector, int verify, uint64_t seed,
                         int nthreads, long ops) {
  static struct shared_state s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.lock, NULL);
  char err[256], opt[64], arena[64];
  gc_config *config = gc_config_new(err, sizeof err);
  snprintf(opt, sizeof opt, "collector=%s", collector);
  snprintf(arena, sizeof arena, "max-heap-size=%llu",
           (unsigned long long)null_arena_bytes(nthreads, ops));
  bool tracing = strcmp(collector, "tracing") == 0;
  bool null = strcmp(collector, "null") == 0;
  if (!config || gc_config_set(config, opt, err, sizeof err) ||
      gc_config_set(config, verify ? "verify=1" : "verify=0", err,
                    sizeof err) ||
      (tracing && gc_config_set(config, "gc-threads=4", err, sizeof err)) ||
      (null && gc_config_set(config, arena, err, sizeof err))) {
    fprintf(stderr, "mt-stress: %s\n", err);
    return 1;
  }
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!heap) {
    fprintf(stderr, "mt-stress: %s\n", err);
    return 1;
  }
  gc_set_trap_handler(heap, record_trap, &s);
  gc_tracing_test_set_parallel_after(heap, PARALLEL_AFTER_HERE);
  s.node = gc_type_struct(heap, "node", 3, node_kinds);
  s.lists = gc_type_array(heap, "lists", GC_KIND_REF);
  s.ints = gc_type_array(heap, "ints", GC_KIND_I64);
  s.table = gc_global(heap, gc_new_array(heap, s.lists, SHARED));
  s.large = gc_global(heap, gc_new_array(heap, s.lists, SHARED_LARGE));
  gc_collect(heap); /* the table is old from here on */
  struct thread_state threads[MAX_THREADS];
  for (int i = 0; i < nthreads; i++)
    threads[i] = (struct thread_state){.heap = heap,
                                       .shared = &s,
                                       .rng = seed * 0x9E3779B97F4A7C15u +
                                              (uint64_t)i + 1,
                                       .id = i,
                                       .ops = ops};
  for (int i = 0; i < nthreads; i++)
    pthread_create(&threads[i].thread, NULL, thread_main, &threads[i]);
  gc_blocking_begin(heap);
  for (int i = 0; i < nthreads; i++)
    pthread_join(threads[i].thread, NULL);
  gc_blocking_end(heap);
  for (int i = 0; i < nthreads; i++)
    if (threads[i].attach_error[0])
      fail(&s, "attach: %s", threads[i].attach_error);
  gc_collect(heap);
  for (int k = 0; k < SHARED; k++)
    check_list(heap, &s,
               gc_get_ref(heap, *s.large, (size_t)k * SHARED_LARGE_COPY),
               &s.shadow[k], "large shared entry at the end");
  for (int k = 0; k < SHARED; k++)
    check_list(heap, &s, gc_get_ref(heap, *s.table, (size_t)k), &s.shadow[k],
               "shared entry at the end");
  /* tracing's marks are parallel here (gc-threads=4, helpers from
   * PARALLEL_AFTER_HERE objects on): without that, this program would not
   * test parallel marking at all. */
  if (tracing && !gc_tracing_test_parallel_marks(heap))
    fail(&s, "no collection marked in parallel");
  gc_heap_free(heap);
  if (atomic_load(&s.resources_destroyed) != atomic_load(&s.resources_made))
    fail(&s, "%ld resources made, %ld destructors run",
         atomic_load(&s.resources_made), atomic_load(&s.resources_destroyed));
  pthread_mutex_destroy(&s.lock);
  if (atomic_load(&s.failed)) {
    fprintf(stderr, "mt-stress: %s, verify=%d, seed %llu: %s\n", collector,
            verify, (unsigned long long)seed, s.failure);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
  int nthreads = argc > 2 ? atoi(argv[2]) : 4;
  long ops = argc > 3 ? atol(argv[3]) : 20000;
  if (nthreads < 1 || nthreads > MAX_THREADS || ops < 1) {
    fprintf(stderr, "usage: mt-stress [SEED [THREADS (1-%d) [OPS]]]\n",
            MAX_THREADS);
    return 2;
  }
  const char *names = gc_collector_names();
  int status = 0;
  for (const char *p = names; *p;) {
    size_t len = strcspn(p, ",");
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    p += len;
    p += strspn(p, ", ");
#ifdef UNDER_TSAN
    if (strcmp(name, "boehm") == 0) {
      printf("mt-stress: boehm: left out under ThreadSanitizer\n");
      continue;
    }
#endif
    for (int verify = 1; verify >= 0; verify--) {
      int result = run_collector(name, verify, seed, nthreads, ops);
      printf("mt-stress: %s, verify=%d: %s (seed %llu, %d threads, %ld ops "
             "each)\n",
             name, verify, result == 0 ? "ok" : "FAILED",
             (unsigned long long)seed, nthreads, ops);
      if (result == 1)
        status = 1;
    }
  }
  return status;
}
