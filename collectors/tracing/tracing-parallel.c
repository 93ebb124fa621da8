/* tracing-parallel.c — marking on several threads (gc-threads=N).
 *
 * The collecting thread marks alone at first (tracing-mark.c): a small heap,
 * and every collection of stress=1, is done before helpers could even wake
 * up. Once it has marked PARALLEL_AFTER objects and still holds more than
 * SHARE_MIN entries of work, it starts the pool: N - 1 helper threads, made at
 * the first parallel collection and kept until the heap is freed, join it. (A
 * depth-first mark of trees keeps a shallow stack: SHARE_MIN is small.)
 *
 * Work moves in packets (Boehm's and Whippet's way): a marker with more than
 * SHARE_MIN entries on its own stack, seeing more markers idle than packets
 * waiting, moves the bottom half of them (at most a packet) to the pool; an
 * idle marker takes a packet. Packets already waiting answer idle markers:
 * a helper still waking up counts as idle for tens of microseconds, and
 * sharing whenever anyone was idle gave away half the stack at every
 * object marked, as tiny packets the markers then passed back and forth
 * under the lock (mt-gcbench 1: 174 packets per parallel mark, 20 since).
 * A marker with an empty stack and no packet to take waits; when every
 * marker waits and the pool is empty, marking is done (nothing can make
 * more work: only a marker scanning an object pushes).
 *
 * While the pool runs, marks are set with a compare-and-swap so that one
 * marker scans each object, and line marks are relaxed atomic stores (two
 * markers may mark the same line with the same value). The collecting
 * thread switches to them as it starts the pool, before it shares any
 * work.
 *
 * Invariants:
 *   P1. pool->hint.idle counts the markers waiting in tracing_pool_take;
 *       marking is over exactly when idle == nmarkers with no full packet.
 *       A marker that fails (no memory for its stack) leaves: nmarkers
 *       goes down.
 *   P2. The collecting thread leaves tracing_mark only after every helper
 *       has left the phase (pool->running == 0), so that no helper touches
 *       the heap while it is swept or the world runs.
 *   P3. A packet is filled only while more markers are idle than packets
 *       wait (both under the lock), so full.count never passes the number
 *       of idle markers (at most nmarkers - 1) by a share.
 */
#include "tracing.h"

#include <pthread.h>

struct packet {
  size_t count;
  uintptr_t entries[PACKET_ENTRIES];
};

struct mark_pool {
  struct gc_collector *c;
  pthread_mutex_t lock;
  pthread_cond_t work_cv;  /* a packet arrived, or marking is over */
  pthread_cond_t phase_cv; /* a phase starts (helpers wait), or ends */
  pthread_t *threads;
  struct marker *helpers; /* one per helper thread */
  uint32_t nhelpers;
  uint32_t nmarkers; /* in the current phase: helpers + 1 */
  /* idle (P1) and waiting (full.count): written under the lock, read
   * without it by drain() as a hint */
  struct mark_pool_hint hint;
  uint32_t most_waiting; /* the most full packets at once (P3), for tests */
  uint32_t running;      /* helpers still in the phase (P2) */
  uint64_t phase;        /* incremented as each phase starts */
  bool shutdown;
  struct packet_list GC_VECTOR(struct packet *) full, empty;
};

/* ---- Packets --------------------------------------------------------------
 */

/* Pool lock held: full.count changed. */
static void note_waiting(struct mark_pool *pool) {
  GC_ATOMIC_STORE(pool->hint.waiting, (uint32_t)pool->full.count);
  if (pool->full.count > pool->most_waiting)
    pool->most_waiting = (uint32_t)pool->full.count;
}

/* Moves the bottom half of m's stack, at most PACKET_ENTRIES entries and
 * never half of an array continuation, into a packet for the pool: the
 * oldest entries, which in a depth-first mark are the largest subgraphs
 * still to do. False if no packet could be had: the work simply stays.
 * Pool lock held. */
static bool fill_packet(struct mark_pool *pool, struct marker *m) {
  struct packet *p;
  if (pool->empty.count) {
    p = pool->empty.items[--pool->empty.count];
  } else {
    /* Every packet is on one of the two lists (or, under the lock, moving
     * between them): each list gets room for all of them first. */
    size_t packets = pool->full.count + 1;
    if (!gc_vector_reserve(&pool->full, packets) ||
        !gc_vector_reserve(&pool->empty, packets) ||
        !(p = gc_sys_malloc(sizeof *p)))
      return false;
  }
  struct mark_stack *stack = m->stack;
  size_t n = stack->count / 2;
  if (n > PACKET_ENTRIES - 1)
    n = PACKET_ENTRIES - 1;
  /* A continuation is the pair (index, array): both go, or neither. */
  if (stack->items[n] & MARK_CONTINUATION)
    n++;
  p->count = n;
  memcpy(p->entries, stack->items, n * sizeof *p->entries);
  memmove(stack->items, &stack->items[n],
          (stack->count - n) * sizeof *stack->items);
  stack->count -= n;
  pool->full.items[pool->full.count++] = p;
  assert(pool->full.count <= pool->hint.idle && "P3");
  note_waiting(pool);
  return true;
}

void tracing_pool_share(struct mark_pool *pool, struct marker *m) {
  pthread_mutex_lock(&pool->lock);
  if (pool->hint.idle > pool->full.count && fill_packet(pool, m))
    pthread_cond_signal(&pool->work_cv);
  pthread_mutex_unlock(&pool->lock);
}

const struct mark_pool_hint *tracing_pool_hint(const struct mark_pool *pool) {
  return &pool->hint;
}

bool tracing_pool_take(struct mark_pool *pool, struct marker *m) {
  pthread_mutex_lock(&pool->lock);
  GC_ATOMIC_STORE(pool->hint.idle, pool->hint.idle + 1);
  while (!pool->full.count && pool->hint.idle < pool->nmarkers)
    pthread_cond_wait(&pool->work_cv, &pool->lock);
  if (!pool->full.count) { /* every marker idle: done (P1) */
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->lock);
    return false;
  }
  GC_ATOMIC_STORE(pool->hint.idle, pool->hint.idle - 1);
  struct packet *p = pool->full.items[--pool->full.count];
  note_waiting(pool);
  bool ok = gc_vector_reserve(m->stack, m->stack->count + p->count);
  if (ok) {
    memcpy(&m->stack->items[m->stack->count], p->entries,
           p->count * sizeof *p->entries);
    m->stack->count += p->count;
    pool->empty.items[pool->empty.count++] = p; /* room: fill_packet */
  } else {
    m->failed = true; /* the collection will be abandoned */
    pool->full.items[pool->full.count++] = p;
    note_waiting(pool);
  }
  pthread_mutex_unlock(&pool->lock);
  return ok;
}

void tracing_pool_leave(struct mark_pool *pool, struct marker *m) {
  m->stack->count = 0; /* the collection is void: the work is dropped */
  pthread_mutex_lock(&pool->lock);
  pool->nmarkers--;
  pthread_cond_broadcast(&pool->work_cv);
  pthread_mutex_unlock(&pool->lock);
}

/* ---- Helper threads -------------------------------------------------------
 */

static void *helper_main(void *arg) {
  struct marker *m = arg;
  struct mark_pool *pool = m->c->pool;
  uint64_t seen = 0;
  for (;;) {
    pthread_mutex_lock(&pool->lock);
    while (pool->phase == seen && !pool->shutdown)
      pthread_cond_wait(&pool->phase_cv, &pool->lock);
    if (pool->shutdown) {
      pthread_mutex_unlock(&pool->lock);
      return NULL;
    }
    seen = pool->phase;
    pthread_mutex_unlock(&pool->lock);
    m->marked_objects = m->marked_bytes = 0;
    m->failed = false;
    m->stack->count = 0;
    while (!m->failed && tracing_pool_take(pool, m))
      tracing_mark_drain(m, pool);
    if (m->failed)
      tracing_pool_leave(pool, m);
    pthread_mutex_lock(&pool->lock);
    pool->running--;
    pthread_cond_broadcast(&pool->phase_cv);
    pthread_mutex_unlock(&pool->lock);
  }
}

/* The pool and its helper threads, made at the first parallel collection.
 * NULL if they cannot be had: marking then goes on alone. */
static struct mark_pool *make_pool(struct gc_collector *c, uint32_t nhelpers) {
  struct mark_pool *pool = gc_sys_calloc(1, sizeof *pool);
  if (!pool)
    return NULL;
  pool->c = c;
  pool->threads = gc_sys_calloc(nhelpers, sizeof *pool->threads);
  pool->helpers = gc_sys_calloc(nhelpers, sizeof *pool->helpers);
  if (!pool->threads || !pool->helpers ||
      pthread_mutex_init(&pool->lock, NULL) ||
      pthread_cond_init(&pool->work_cv, NULL) ||
      pthread_cond_init(&pool->phase_cv, NULL)) {
    gc_sys_free(pool->threads);
    gc_sys_free(pool->helpers);
    gc_sys_free(pool);
    return NULL;
  }
  c->pool = pool;
  for (uint32_t i = 0; i < nhelpers; i++) {
    struct marker *m = &pool->helpers[i];
    m->c = c;
    m->stack = &m->own_stack;
    if (pthread_create(&pool->threads[i], NULL, helper_main, m))
      break;
    pool->nhelpers++;
  }
  return pool;
}

struct mark_pool *tracing_pool_start(struct gc_collector *c,
                                     struct marker *first) {
  uint32_t markers = gc_marker_threads(c->heap);
  if (markers <= 1)
    return NULL;
  struct mark_pool *pool = c->pool ? c->pool : make_pool(c, markers - 1);
  if (!pool || !pool->nhelpers)
    return NULL;
  pthread_mutex_lock(&pool->lock);
  pool->nmarkers = pool->nhelpers + 1;
  pool->hint.idle = 0;
  pool->running = pool->nhelpers;
  pool->phase++;
  pthread_cond_broadcast(&pool->phase_cv);
  pthread_mutex_unlock(&pool->lock);
  return pool;
}

void tracing_pool_finish(struct mark_pool *pool, struct marker *first) {
  pthread_mutex_lock(&pool->lock);
  while (pool->running)
    pthread_cond_wait(&pool->phase_cv, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
  for (uint32_t i = 0; i < pool->nhelpers; i++) {
    struct marker *m = &pool->helpers[i];
    first->marked_objects += m->marked_objects;
    first->marked_bytes += m->marked_bytes;
    first->failed |= m->failed;
    gc_vector_trim(m->stack);
  }
  /* A failed helper may have left packets: the collection is void. */
  while (pool->full.count) {
    first->failed = true;
    pool->empty.items[pool->empty.count++] =
        pool->full.items[--pool->full.count];
  }
  note_waiting(pool);
}

uint32_t tracing_pool_most_waiting(const struct mark_pool *pool) {
  return pool ? pool->most_waiting : 0;
}

void tracing_pool_free(struct gc_collector *c) {
  struct mark_pool *pool = c->pool;
  if (!pool)
    return;
  pthread_mutex_lock(&pool->lock);
  pool->shutdown = true;
  pthread_cond_broadcast(&pool->phase_cv);
  pthread_mutex_unlock(&pool->lock);
  for (uint32_t i = 0; i < pool->nhelpers; i++) {
    pthread_join(pool->threads[i], NULL);
    gc_vector_free(&pool->helpers[i].own_stack);
  }
  for (size_t i = 0; i < pool->empty.count; i++)
    gc_sys_free(pool->empty.items[i]);
  gc_vector_free(&pool->empty);
  gc_vector_free(&pool->full);
  pthread_cond_destroy(&pool->phase_cv);
  pthread_cond_destroy(&pool->work_cv);
  pthread_mutex_destroy(&pool->lock);
  gc_sys_free(pool->threads);
  gc_sys_free(pool->helpers);
  gc_sys_free(pool);
  c->pool = NULL;
}
