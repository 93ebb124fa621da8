/* tracing-parallel.c — marking on several threads (gc-threads=N).
 *
 * The collecting thread marks alone at first (tracing-mark.c): a small heap,
 * and every collection of stress=1, is done before helpers could even wake
 * up. Once it has marked PARALLEL_AFTER objects and still holds more than
 * SHARE_MIN entries of work, it starts the pool: N - 1 helper threads, made at
 * the first parallel collection and kept until the heap is freed, join it.
 *
 * Ownership. Every object belongs to one marker, by the block it lies in
 * (marker_of in tracing.h: a hash of the block's number), and only its
 * owner marks it. A mark is therefore a plain store: no two markers ever
 * race for an object, no object is scanned twice, and the counts of marked
 * objects and bytes are exact. The usual way, a compare-and-swap on each
 * object's mark (this file's until 2026-12-07), made every object wait for
 * a locked instruction: a helper spent two thirds of its marking time on
 * it (perf), and large-live 512's longest pause with two markers was
 * 0.79x that with one, where it is 0.64x with owners (README.md). A line
 * mark is a store by the owner too, as a line lies in one block.
 *
 * A marker that pops a reference to another marker's object forwards it:
 * into its outbox for that marker, a packet that goes to the owner's inbox
 * when it is full, when the owner waits for work (and the outbox holds
 * SHARE_MIN entries), or when the forwarding marker runs out of work. Array
 * continuations belong to no one: whoever pops one scans that slice, as
 * reading elements marks nothing. Balance comes from the ownership: a
 * thread fills consecutive blocks, and the hash spreads consecutive blocks
 * over the markers, so anything larger than a few blocks is split between
 * them as it is marked, without any marker giving work away.
 *
 * Shares. The hash picks one of OWNER_SLOTS slots, and each marker owns a
 * number of slots in proportion to how fast it marked in the marks before
 * (objects per nanosecond of its own, not counting its waits). Equal
 * slots assume equal cores, and the cores of a virtual machine are not:
 * on the 2-core VM these figures come from, binary-trees 18 pinned to one
 * core took 1.5-1.8x the time it took pinned to the other (2026-12-07),
 * and in a parallel mark of large-live the helper marked at 10.5 ns an
 * object while the collecting thread, done with its half at 7, waited for
 * it for a third of the pause. A marker cannot take another's objects
 * (O1), so the faster one gets more of them instead, for the next mark.
 *
 * Invariants:
 *   O1. During a parallel mark only marker_of(obj) sets obj's mark and its
 *       line marks. (Before the pool starts, the collecting thread marks
 *       alone; the helpers see those marks through the pool's lock, which
 *       every packet passes.)
 *   P1. pool->hint.idle_mask has bit i set while marker i waits in
 *       tracing_pool_take. A marker sends all its outboxes before it waits,
 *       and only a marker that does not wait fills one: so marking is over
 *       exactly when every marker waits and no inbox holds a packet.
 *   P2. The collecting thread leaves tracing_mark only after every helper
 *       has left the phase (pool->running == 0), so that no helper touches
 *       the heap while it is swept or the world runs.
 *   P3. A marker that fails (no memory for its stack or a packet) marks the
 *       pool failed: every marker then stops and the collection is void.
 */
#include "tracing.h"
#ifdef GCHEAP_TESTING
#include "gcheap-testing.h"
#endif

#include <pthread.h>
#include <time.h>

struct packet_list GC_VECTOR(struct mark_packet *);

struct mark_pool {
  struct gc_collector *c;
  pthread_mutex_t lock;
  pthread_cond_t work_cv;  /* a packet arrived, or marking is over */
  pthread_cond_t phase_cv; /* a phase starts (helpers wait), or ends */
  pthread_t *threads;
  struct marker *helpers; /* one per helper thread; marker i + 1 */
  uint32_t nhelpers;
  uint32_t nmarkers; /* in the current phase: helpers + 1 */
  bool failed;       /* P3 */
  /* idle_mask (P1), written under the lock, and marker_of's table
   * (Shares), written as each phase starts: read without the lock by the
   * markers as they route and forward */
  struct mark_pool_hint hint;
  uint64_t packets_sent; /* for tests */
  /* Each marker's fraction of the slots (Shares); they sum to 1. */
  double share[MAX_MARKERS];
  uint32_t running; /* helpers still in the phase (P2) */
  uint64_t phase;   /* incremented as each phase starts */
  bool shutdown;
  /* Every packet is in one of these, or a marker's outbox. */
  struct packet_list inbox[MAX_MARKERS], empty;
  size_t queued;   /* packets in the inboxes */
  size_t npackets; /* packets made */
};

/* ---- Packets --------------------------------------------------------------
 */

/* An empty packet, from the pool's list or new. NULL if none can be had.
 * Pool lock held. */
static struct mark_packet *get_packet(struct mark_pool *pool) {
  if (pool->empty.count)
    return pool->empty.items[--pool->empty.count];
  /* Each list gets room for every packet first, so that moving one between
   * lists never needs memory. */
  size_t packets = pool->npackets + 1;
  for (uint32_t i = 0; i < pool->nmarkers; i++)
    if (!gc_vector_reserve(&pool->inbox[i], packets))
      return NULL;
  if (!gc_vector_reserve(&pool->empty, packets))
    return NULL;
  struct mark_packet *p = gc_sys_malloc(sizeof *p);
  if (!p)
    return NULL;
  pool->npackets++;
  p->count = 0;
  return p;
}

/* Pool lock held. */
static void set_failed(struct mark_pool *pool, struct marker *m) {
  m->failed = true;
  pool->failed = true;
  pthread_cond_broadcast(&pool->work_cv);
}

/* Sends m's outbox for marker `to`, if it holds anything, to that marker's
 * inbox. Pool lock held. */
static void send_locked(struct mark_pool *pool, struct marker *m, uint32_t to) {
  struct mark_packet *p = m->outbox[to];
  if (!p || !p->count)
    return;
  pool->inbox[to].items[pool->inbox[to].count++] = p;
  pool->queued++;
  pool->packets_sent++;
  m->outbox[to] = NULL;
  if (pool->hint.idle_mask & (UINT64_C(1) << to))
    pthread_cond_broadcast(&pool->work_cv);
}

void tracing_pool_send(struct mark_pool *pool, struct marker *m, uint32_t to) {
  pthread_mutex_lock(&pool->lock);
  send_locked(pool, m, to);
  if (!m->outbox[to] && !(m->outbox[to] = get_packet(pool)))
    set_failed(pool, m);
  pthread_mutex_unlock(&pool->lock);
}

const struct mark_pool_hint *tracing_pool_hint(const struct mark_pool *pool) {
  return &pool->hint;
}

/* Marking is over (P1), or void (P3). Pool lock held. */
static bool marking_over(const struct mark_pool *pool) {
  return pool->failed || ((uint32_t)__builtin_popcountll(
                              pool->hint.idle_mask) == pool->nmarkers &&
                          !pool->queued);
}

bool tracing_pool_take(struct mark_pool *pool, struct marker *m) {
  uint64_t me = UINT64_C(1) << m->id;
  pthread_mutex_lock(&pool->lock);
  for (uint32_t to = 0; to < pool->nmarkers; to++)
    send_locked(pool, m, to);
  struct packet_list *inbox = &pool->inbox[m->id];
  GC_ATOMIC_STORE(pool->hint.idle_mask, pool->hint.idle_mask | me);
  if (!inbox->count && !marking_over(pool)) {
    uint64_t since = gc_now_ns();
    do
      pthread_cond_wait(&pool->work_cv, &pool->lock);
    while (!inbox->count && !marking_over(pool));
    m->waited_ns += gc_now_ns() - since;
  }
  if (!inbox->count || pool->failed) {
    pthread_cond_broadcast(&pool->work_cv); /* the others see it is over */
    pthread_mutex_unlock(&pool->lock);
    return false;
  }
  GC_ATOMIC_STORE(pool->hint.idle_mask, pool->hint.idle_mask & ~me);
  struct mark_packet *p = inbox->items[--inbox->count];
  pool->queued--;
  if (gc_vector_reserve(m->stack, m->stack->count + p->count)) {
    memcpy(&m->stack->items[m->stack->count], p->entries,
           p->count * sizeof *p->entries);
    m->stack->count += p->count;
  } else {
    set_failed(pool, m);
  }
  p->count = 0;
  pool->empty.items[pool->empty.count++] = p; /* room: get_packet */
  pthread_mutex_unlock(&pool->lock);
  return !m->failed;
}

void tracing_pool_fail(struct mark_pool *pool, struct marker *m) {
  m->stack->count = 0; /* the collection is void: the work is dropped */
  pthread_mutex_lock(&pool->lock);
  set_failed(pool, m);
  pthread_mutex_unlock(&pool->lock);
}

/* m leaves the phase: its outboxes, empty or not, go back to the pool (a
 * marker that does not fail sent them all before it left). Pool lock held. */
static void drop_outboxes(struct mark_pool *pool, struct marker *m) {
  for (uint32_t to = 0; to < MAX_MARKERS; to++) {
    struct mark_packet *p = m->outbox[to];
    if (p) {
      p->count = 0;
      pool->empty.items[pool->empty.count++] = p;
      m->outbox[to] = NULL;
    }
  }
}

/* ---- Shares ---------------------------------------------------------------
 */

/* Marks of fewer objects per marker say little about its speed: cold
 * caches and the wake-up weigh more there than the core. */
#define MEASURED_OBJECTS 16384

static void join_phase(struct marker *m) {
  m->joined_ns = gc_now_ns();
  m->objects_before = m->marked_objects;
  m->waited_ns = 0;
}

/* marker_of's table for the phase that starts: marker i owns a run of
 * slots in proportion to its share, and at least one, so that every
 * marker is measured again. Pool lock held. */
static void deal_slots(struct mark_pool *pool) {
  uint32_t n = pool->nmarkers;
  double cumulative = 0;
  uint32_t slot = 0;
  for (uint32_t i = 0; i < n; i++) {
    cumulative += pool->share[i];
    uint32_t end = (uint32_t)(cumulative * OWNER_SLOTS + 0.5);
    uint32_t least = slot + 1, most = OWNER_SLOTS - (n - 1 - i);
    end = i + 1 == n ? OWNER_SLOTS : end < least ? least : end;
    end = end > most ? most : end;
    for (; slot < end; slot++)
      pool->hint.owner_of_slot[slot] = (uint8_t)i;
  }
}

static void equal_shares(struct mark_pool *pool, uint32_t nmarkers) {
  for (uint32_t i = 0; i < nmarkers; i++)
    pool->share[i] = 1.0 / nmarkers;
}

/* After a phase: each marker's share moves halfway towards its part of
 * the markers' summed speed, if every marker marked enough to tell. No
 * share falls below about a quarter of an equal one (the floor, then the
 * shares scaled back to a sum of 1), so that a marker whose core was busy
 * for a while still marks enough to be measured again. */
static void update_shares(struct mark_pool *pool, struct marker *first) {
  uint32_t n = pool->nmarkers;
  double speed[MAX_MARKERS], total_speed = 0;
  for (uint32_t i = 0; i < n; i++) {
    struct marker *m = i ? &pool->helpers[i - 1] : first;
    uint64_t objects = m->marked_objects - m->objects_before;
    uint64_t span = m->left_ns - m->joined_ns;
    if (objects < MEASURED_OBJECTS || span <= m->waited_ns)
      return;
    speed[i] = (double)objects / (double)(span - m->waited_ns);
    total_speed += speed[i];
  }
  double total_share = 0;
  for (uint32_t i = 0; i < n; i++) {
    double share = (pool->share[i] + speed[i] / total_speed) / 2;
    pool->share[i] = share < 0.25 / n ? 0.25 / n : share;
    total_share += pool->share[i];
  }
  for (uint32_t i = 0; i < n; i++)
    pool->share[i] /= total_share;
}

/* ---- Helper threads -------------------------------------------------------
 */

/* A helper's drain of one packet of work; in the test build, a helper made
 * slow (gc_tracing_test_slow_marker) then sleeps for each object it
 * marked, as if its core were slower. */
static void drain_packet(struct mark_pool *pool, struct marker *m) {
#ifdef GCHEAP_TESTING
  uint64_t objects = m->marked_objects;
  tracing_mark_drain(m, pool);
  if (pool->c->test_slow_marker == m->id) {
    uint64_t ns = pool->c->test_slow_ns * (m->marked_objects - objects);
    nanosleep(&(struct timespec){.tv_sec = (time_t)(ns / 1000000000),
                                 .tv_nsec = (long)(ns % 1000000000)},
              NULL);
  }
#else
  tracing_mark_drain(m, pool);
#endif
}

/* One phase of a helper: marks what the other markers forward to it until
 * marking is over. */
static void help_mark(struct mark_pool *pool, struct marker *m) {
#ifdef GCHEAP_TESTING
  if (pool->c->test_helper_fail_at)
    gc_test_fail_allocation(pool->c->test_helper_fail_at);
#endif
  m->marked_objects = m->marked_bytes = 0;
  m->failed = false;
  m->stack->count = 0;
  join_phase(m);
  while (!m->failed && tracing_pool_take(pool, m))
    drain_packet(pool, m);
  if (m->failed)
    tracing_pool_fail(pool, m);
  m->left_ns = gc_now_ns();
#ifdef GCHEAP_TESTING
  gc_test_allocation_reset();
#endif
}

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
    help_mark(pool, m);
    pthread_mutex_lock(&pool->lock);
    drop_outboxes(pool, m);
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
    m->id = i + 1;
    m->stack = &m->own_stack;
    if (pthread_create(&pool->threads[i], NULL, helper_main, m))
      break;
    pool->nhelpers++;
  }
  equal_shares(pool, pool->nhelpers + 1);
  return pool;
}

struct mark_pool *tracing_pool_start(struct gc_collector *c,
                                     struct marker *first) {
  uint32_t markers = gc_marker_threads(c->heap);
  if (markers <= 1)
    return NULL;
  if (markers > MAX_MARKERS)
    markers = MAX_MARKERS;
  struct mark_pool *pool = c->pool ? c->pool : make_pool(c, markers - 1);
  if (!pool || !pool->nhelpers)
    return NULL;
  pthread_mutex_lock(&pool->lock);
  pool->nmarkers = pool->nhelpers + 1;
  pool->failed = false;
  GC_ATOMIC_STORE(pool->hint.idle_mask, 0);
  deal_slots(pool);
  pool->running = pool->nhelpers;
  pool->phase++;
  pthread_cond_broadcast(&pool->phase_cv);
  pthread_mutex_unlock(&pool->lock);
  first->id = 0;
  join_phase(first);
  return pool;
}

void tracing_pool_finish(struct mark_pool *pool, struct marker *first) {
  first->left_ns = gc_now_ns();
  pthread_mutex_lock(&pool->lock);
  drop_outboxes(pool, first);
  while (pool->running)
    pthread_cond_wait(&pool->phase_cv, &pool->lock);
  /* Packets still queued: only after a failure (P1), whose collection is
   * void. */
  for (uint32_t i = 0; i < pool->nmarkers; i++) {
    struct packet_list *inbox = &pool->inbox[i];
    while (inbox->count) {
      first->failed = true;
      struct mark_packet *p = inbox->items[--inbox->count];
      p->count = 0;
      pool->empty.items[pool->empty.count++] = p;
    }
  }
  pool->queued = 0;
  first->failed |= pool->failed;
  if (!first->failed)
    update_shares(pool, first);
  pthread_mutex_unlock(&pool->lock);
  for (uint32_t i = 0; i < pool->nhelpers; i++) {
    struct marker *m = &pool->helpers[i];
    first->marked_objects += m->marked_objects;
    first->marked_bytes += m->marked_bytes;
    first->failed |= m->failed;
    gc_vector_trim(m->stack);
  }
}

double tracing_pool_share(const struct mark_pool *pool, uint32_t marker) {
  return pool && marker < pool->nhelpers + 1 ? pool->share[marker] : 0;
}

uint64_t tracing_pool_packets_sent(const struct mark_pool *pool) {
  return pool ? pool->packets_sent : 0;
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
  for (uint32_t i = 0; i < MAX_MARKERS; i++)
    gc_vector_free(&pool->inbox[i]);
  pthread_cond_destroy(&pool->phase_cv);
  pthread_cond_destroy(&pool->work_cv);
  pthread_mutex_destroy(&pool->lock);
  gc_sys_free(pool->threads);
  gc_sys_free(pool->helpers);
  gc_sys_free(pool);
  c->pool = NULL;
}
