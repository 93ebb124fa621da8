/* boehm-internal.h — what the files of collector=boehm share.
 *
 * collector=boehm puts the gcheap interface on top of Boehm GC (libgc). Boehm
 * is one collector per process, so this collector is in two layers:
 *
 *   boehm-process.c  the process-wide part: initialising Boehm once, the list
 *                    of live gcheap heaps, pushing their root areas when Boehm
 *                    marks, and turning Boehm's collection events into each
 *                    heap's statistics;
 *   boehm.c          one heap: create/destroy, allocation, collection and
 *                    the verify=1 reference check;
 *   boehm-finalize.c resources (Boehm finalizers plus a registry of pending
 *                    destructors) and weak references (disappearing links);
 *   boehm-verify.c   verify=1: the reference check, poisoning dead objects.
 */
#ifndef GC_BOEHM_INTERNAL_H
#define GC_BOEHM_INTERNAL_H

#include <collector-api.h>

/* The thread-aware declarations of gc.h (GC_get_prof_stats_unsafe, thread
 * registration), without redirecting pthread_create in our own files. */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <pthread.h>
#include <gc/gc_mark.h>

/* One memory area of root slots that gc/ told us about (root_area). */
struct boehm_root_area {
  void *start;
  void *end;
};

/* Boehm's process-wide byte counters, in its own units (each object counted
 * at its granule-rounded size). */
struct boehm_counters {
  uint64_t allocated, reclaimed;
};

struct gc_collector {
  gc_heap *heap;
  const struct gc_options *options;
  const struct gc_type_registry *types;

  /* Written into the gc_word of every non-resource object of this heap, so
   * that verify=1 tells this heap's objects from another heap's in the same
   * Boehm heap. Never looks like the upper half of a user-space pointer. */
  uint32_t tag;
  bool verify; /* options->verify, next to the tag for the allocation path */
  bool census; /* count live objects exactly at gc_collect (boehm.c) */

  /* The process-wide list of live heaps (boehm-process.c). Both links, and
   * everything Boehm's marker reads through them (the root areas), change
   * only under Boehm's allocation lock, which the marker holds. */
  struct gc_collector *prev_live, *next_live;

  /* Root slot areas, pushed to Boehm's mark stack at every collection.
   * Memory from gc_sys_malloc, which Boehm does not scan. */
  struct boehm_root_areas GC_VECTOR(struct boehm_root_area) areas;

  /* Resources whose destructor has not run, as hidden pointers (so that
   * this table never keeps one alive, even if Boehm scanned it). A
   * resource's gc_word is its index here. */
  struct boehm_resources GC_VECTOR(GC_hidden_pointer) resources;

  /* verify=1: every object not yet found dead, as hidden pointers, for
   * boehm_poison_dead_locked. */
  struct boehm_watched GC_VECTOR(GC_hidden_pointer) watched;

  /* Boehm's byte counters when this heap was created: its freed estimate
   * is their growth since then (boehm-process.c). */
  struct boehm_counters counters_at_create;
};

/* One attached thread. Boehm stops and scans only the threads it knows:
 * attach registers a thread Boehm does not know yet, detach unregisters
 * it again. */
struct gc_mutator {
  struct gc_collector *c;
  gc_heap *handle;
  /* The thread: the calls that may collect check that they come from it
   * (or from another thread Boehm knows), since Boehm aborts the process
   * when a thread it does not know collects. */
  pthread_t owner;
  bool registered; /* attach registered the thread with Boehm */
  /* The handle's published free lists of scanned cells (cell_lists[0]),
   * one per size class up to 128 bytes, filled from Boehm's
   * GC_malloc_many: gcheap.h pops them inline, as Boehm's own
   * thread-local allocation does (boehm.c, "Allocation"). */
  void **lists;
};

/* ---- boehm-process.c ----------------------------------------------------- */

/* Initialises Boehm once per process (from the first heap's thread, which
 * should be the main thread). 0, or -1 with a reason in err. */
int boehm_process_init(const struct gc_options *options, char *err,
                       size_t errlen);
/* Adds c to / removes c from the heaps whose roots Boehm scans. */
void boehm_process_link(struct gc_collector *c);
void boehm_process_unlink(struct gc_collector *c);
/* Records a root area; false only if no memory could hold it (the area is
 * then registered with GC_add_roots instead, see boehm.c). */
bool boehm_area_add(struct gc_collector *c, void *start, size_t bytes);
/* Forgets a root area; false if it was not recorded. */
bool boehm_area_remove(struct gc_collector *c, void *start);
/* Set at the end of every Boehm collection (only a collection queues
 * finalizers), cleared when the queue is drained: the allocation fast path
 * tests this flag instead of calling into libgc. */
extern bool boehm_collected_since_drain;
static inline bool boehm_destructors_may_be_due(void) {
  return __atomic_load_n(&boehm_collected_since_drain, __ATOMIC_RELAXED);
}
/* A fresh tag for a new heap. */
uint32_t boehm_next_tag(void);
#define BOEHM_TAG_BITS UINT32_C(0xB0E40000)
#define BOEHM_TAG_MASK UINT32_C(0xFFFF0000)

/* ---- boehm-verify.c ---- */

/* verify=1: watches a new object, so that it is poisoned once found dead. */
void boehm_watch(struct gc_collector *c, struct gc_obj *obj);
/* At the end of each collection (lock held): poisons c's newly dead objects. */
void boehm_poison_dead_locked(struct gc_collector *c);
/* ops->check_ref: 0 if ref is one of c's live objects, else -1 with why. */
int boehm_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                    size_t whylen);

/* ---- boehm-finalize.c ---------------------------------------------------- */

/* Registers a just-allocated resource: registry slot plus Boehm finalizer.
 * -1 (after a trap) if memory ran out; the resource is then garbage. */
int boehm_resource_register(struct gc_collector *c, struct gc_resource *res);
/* Runs the destructors Boehm has found unreachable (of every heap: Boehm's
 * finalization queue is process-wide). Called at the safe points: after an
 * allocation and after a collection. */
void boehm_run_pending_destructors(void);
/* boehm_run_pending_destructors with m's world stopped, so that no thread
 * of the heap runs heap code meanwhile; the heap lock is held if locked. */
void boehm_run_destructors_stopped(struct gc_mutator *m, bool locked);
/* Heap teardown: runs every destructor still pending, once. */
void boehm_resources_destroy(struct gc_collector *c);
/* verify=1: is res a pending resource of c? NULL, or what is wrong. */
const char *boehm_resource_check(struct gc_collector *c,
                                 struct gc_resource *res);

void boehm_weak_init(struct gc_mutator *m, struct gc_weak *weak, gc_ref target);
gc_ref boehm_weak_get(struct gc_collector *c, struct gc_weak *weak);

#endif /* GC_BOEHM_INTERNAL_H */
