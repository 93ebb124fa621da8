/* refcount-threads.c — the threads of a refcount heap: each attached
 * thread's part of the collector (its allocators, its allocation budget,
 * its log), and the switch between counting stores at once (one thread)
 * and logging them (several, refcount-stores.c).
 *
 * What a thread owns needs no lock: its runs of cells and its current block
 * per size class (refcount-alloc.c), its budget, its log. Everything else —
 * the partial lists, the young lists, the side tables, the ZCT and the
 * candidates — changes under the heap lock (the allocation slow path) or
 * with the world stopped (collection points); with several threads, counts
 * change only at collection points.
 */
#include "refcount.h"

/* ---- Budgets -------------------------------------------------------------
 *
 * A collection point comes after budget_reset bytes of allocation per
 * attached thread, by all threads together, so that each thread has about
 * one budget's worth of young objects, as when it is alone. A budget shared
 * by all made points twice as frequent for each of two threads, which then
 * caught more of GCBench's temporary trees half built: promoted, only to be
 * freed through the ZCT at the next point (two threads doing twice the work
 * paused 6 times as long as one). Per thread, paired on mt-gcbench 2: wall
 * time 0.81x (0.67-0.85), pause total 0.75x, peak heap 1.04x. Each thread
 * takes its budget from the heap's in slices (the whole rest when it is
 * alone), under the heap lock, so that the inline allocation counts down a
 * budget of its own. */

/* The slice a thread takes when its budget runs out, among several. */
#define RC_THREAD_BUDGET_FRACTION 16

/* Heap lock held: m's thread takes a slice of what the heap may still
 * allocate; its budget stays negative if nothing is left. */
void rc_take_budget(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  int64_t slice = c->budget_left;
  if (c->nmutators > 1 && slice > c->budget_reset / RC_THREAD_BUDGET_FRACTION)
    slice = c->budget_reset / RC_THREAD_BUDGET_FRACTION;
  c->budget_left -= slice;
  *m->budget += slice;
}

void rc_reset_budget(struct gc_collector *c) {
  uint32_t threads = c->nmutators ? c->nmutators : 1;
  c->budget_total = c->budget_reset * (int64_t)threads;
  c->budget_left = c->budget_total;
}

void rc_request_collection_point(struct gc_collector *c) {
  c->budget_left = 0;
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    *m->budget = 0;
}

/* What the threads allocated since the last collection point. World
 * stopped. */
uint64_t rc_budget_spent(struct gc_collector *c) {
  int64_t unspent = c->budget_left + c->budget_held;
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    if (*m->budget > 0)
      unspent += *m->budget;
  return unspent < c->budget_total ? (uint64_t)(c->budget_total - unspent) : 0;
}

/* With one thread again, stores count at once, as before any other thread
 * came (world stopped, logs applied). */
void rc_stop_logging_if_alone(struct gc_collector *c) {
  if (c->logging && c->nmutators <= 1) {
    c->logging = false;
    gc_set_barrier_filter(c->heap, RC_YOUNG, 0);
  }
}

/* A thread's part: its allocators, its budget, its log. Heap lock held.
 * The second thread turns logging on, with the world stopped, so that no
 * store of the first is half counted when it changes. */
struct gc_mutator *rc_attach(struct gc_collector *c, gc_heap *handle, char *err,
                             size_t errlen) {
  struct gc_mutator *m = gc_sys_calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "refcount: no memory for a thread's allocators");
    return NULL;
  }
  m->c = c;
  m->handle = handle;
  rc_alloc_init_mutator(m);
  bool stop = c->mutators != NULL;
  if (stop)
    gc_stop_world(handle);
  m->next = c->mutators;
  c->mutators = m;
  c->nmutators++;
  if (c->nmutators > 1 && !c->logging) {
    c->logging = true;
    gc_set_barrier_filter(c->heap, RC_YOUNG | RC_LOGGED, 0);
  }
  if (stop)
    gc_restart_world(handle);
  return m;
}

/* The thread leaves (heap lock held): its runs and blocks go back, its
 * budget to the heap, its log to the next collection point. Logging stays
 * on until that point has applied the logs. */
void rc_detach(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  rc_alloc_detach(m);
  if (*m->budget > 0)
    c->budget_left += *m->budget;
  *m->budget = 0;
  if (m->log.count) {
    if (gc_vector_reserve(&c->orphan_log, c->orphan_log.count + m->log.count)) {
      memcpy(c->orphan_log.items + c->orphan_log.count, m->log.items,
             m->log.count * sizeof *m->log.items);
      c->orphan_log.count += m->log.count;
    } else {
      c->log_overflowed = true; /* the next point recounts everything */
    }
  }
  gc_vector_free(&m->log);
  struct gc_mutator **link = &c->mutators;
  while (*link != m)
    link = &(*link)->next;
  *link = m->next;
  c->nmutators--;
  gc_sys_free(m);
}
