/* heap-internal.h — what the files of gc/ share among themselves. */
#ifndef GC_HEAP_INTERNAL_H
#define GC_HEAP_INTERNAL_H

#include "config.h"

#include <pthread.h>

/* ---- The heap and its handles (gc/ only) --------------------------------
 *
 * A heap is shared by the threads attached to it; each holds its own handle
 * (the gc_heap * of the API), made by gc_heap_new for the creating thread
 * and by gc_thread_attach for the others (threads.c). What all threads
 * share is struct gc_heap_shared; a handle carries what its thread uses
 * alone (roots, scopes, allocation counters, held-back traps) and copies of
 * the shared values the fast paths read, so that they read one struct.
 *
 * Locking (threads.c):
 *   - shared->lock, the heap lock: the collectors' shared slow paths, type
 *     registration, globals, attach and detach, statistics. Only its holder
 *     may stop the world; a thread waiting for it counts as blocked.
 *   - shared->world_mutex with world_cv: each handle's thread state and the
 *     stop-the-world handshake.
 *   - nothing else: everything a handle holds is its own thread's, and a
 *     collection reads every handle only while the world is stopped. */

enum gc_thread_state {
  GC_THREAD_RUNNING,  /* may touch the heap: holds up a collection */
  GC_THREAD_PARKED,   /* at a safepoint, waiting for a collection to end */
  GC_THREAD_BLOCKING, /* between gc_blocking_begin and gc_blocking_end, or
                         waiting for the heap lock */
};

struct gc_root_chunk;
struct gc_global_chunk;
struct gc_scope_record;
struct gc_heap_shared {
  const struct gc_collector_ops *ops;
  struct gc_collector *collector;
  struct gc_type_registry types;
  /* gcheap.h's table of what the fast paths know of each type, indexed
   * like types (types.c). */
  struct gc_inline_type *inline_types;
  struct gc_options options;
  /* gc-threads resolved once, at gc_heap_new (0: the online CPUs then, at
   * most 8): asking the system at every collection read a file under
   * /sys each time (three system calls). */
  uint32_t marker_threads;
  uint64_t max_object_bytes;
  uint32_t barrier_mask, barrier_value; /* gc_set_barrier_filter's */
  uint8_t verify;
  uint8_t collecting; /* between gc_pause_begin and gc_pause_end */

  pthread_mutex_t lock;       /* the heap lock */
  pthread_mutex_t check_lock; /* gc_check_lock */
  pthread_mutex_t world_mutex;
  pthread_cond_t world_cv;
  gc_heap *handles;  /* every attached handle, the creator's first */
  gc_heap *stopper;  /* the handle that stopped the world, or NULL */
  uint32_t nhandles; /* attached handles, the creator's included */

  /* Statistics; allocated_* count only the detached handles' allocations
   * (each handle counts its own until it detaches). */
  gc_stats stats;
  struct gc_global_chunk *globals;
  gc_trap_handler trap_fn;
  void *trap_ud;
#ifdef GCHEAP_TESTING
  void (*while_unlocked_fn)(gc_heap *heap, void *ud); /* gcheap-testing.h */
  void *while_unlocked_ud;
#endif
};

struct gc_heap {
  /* First, at a documented place: what gcheap.h's inline fast paths read
   * (layout GCHEAP_INLINE_LAYOUT). inl.slow is nonzero when the API must
   * take its slow checks: verify is on or a destructor is running (one
   * predictable branch on the fast paths). inl.barrier_mask/value are the
   * barrier's filter (gc_set_barrier_filter): gc_set_ref calls write_ref
   * only when (obj->gc_word & barrier_mask) == barrier_value; a copy of the
   * shared one, changed only while the world is stopped. inl.alloc_interrupt
   * is nonzero when an allocation must take gc_allocate_interrupted: a
   * safepoint is requested, or stress=N counts allocations. inl.bump and
   * inl.cells are the region or cell table a collector publishes
   * (gc_handle_inline). inl.allocated_* count what this handle allocated,
   * with plain adds by its thread only. */
  struct gc_heap_inline inl;
  /* Hot fields next: read on every API call. allocate and write_ref are
   * ops->allocate and ops->write_ref, copied here to save a load on the two
   * commonest calls. write_ref may be NULL: the barrier filter then never
   * sends a store to it. */
  const struct gc_collector_ops *ops;
  struct gc_mutator *mutator; /* this thread's part of the collector */
  struct gc_obj *(*allocate)(struct gc_mutator *m, uint32_t type_word,
                             size_t bytes);
  void (*write_ref)(struct gc_mutator *m, struct gc_obj *obj, gc_ref *slot,
                    gc_ref v);
  struct gc_type_registry *types; /* &shared->types */
  /* shared->types.items, which never moves: one load less on every
   * accessor than through types. */
  const struct gc_type_info *type_items;
  uint8_t verify;
  uint8_t in_destructor;
  /* Traps held back (gc_trap_raise) until the call that made them can
   * return: nonzero only after a trap inside a collection or a destructor. */
  uint8_t npending_traps;
  uint8_t deferring_traps; /* gc/ holds traps back (gc_new_weak, teardown) */
  /* Set by a thread that stops the world: this thread parks at its next
   * safepoint. Read with relaxed loads: the world_mutex orders the rest. */
  uint8_t safepoint_requested;
  uint8_t state;      /* enum gc_thread_state, under shared->world_mutex */
  uint8_t holds_lock; /* this thread holds shared->lock */
  uint64_t stress_countdown; /* allocations until the next forced collection */
  /* A copy of inl.allocated_* other threads read (relaxed atomics),
   * refreshed whenever the thread parks, blocks or detaches, so that a
   * collection, which runs while every other thread is parked or blocked,
   * sums exact figures (gc_sum_allocated). */
  uint64_t published_bytes, published_objects;
  struct gc_collector *collector; /* shared->collector */
  struct gc_heap_shared *shared;

  /* Roots: a stack of chunks (slots never move) and a scope stack. */
  struct gc_root_chunk *root_first, *root_current;
  uint32_t root_top; /* slots used in root_current */
  struct gc_scope_stack GC_VECTOR(struct gc_scope_record) scopes;
  uint32_t scope_serial;
  /* Arguments of the call in progress, kept alive while it allocates. */
  gc_ref pinned[2];
  uint32_t npinned;

  /* The largest struct or array gc/ asks a collector for:
   * GC_MAX_OBJECT_BYTES, or less if physical memory plus swap is smaller
   * (gc_heap_new). */
  uint64_t max_object_bytes;
  const struct gc_options *options; /* &shared->options */
  pthread_t owner;                  /* the thread this handle belongs to */
  gc_heap *next;                    /* in shared->handles */
  /* The traps held back, oldest first (npending_traps of them); any beyond
   * the last slot are counted in pending_traps_dropped. */
  struct gc_pending_trap {
    gc_trap kind;
    char msg[248];
  } pending_traps[4];
  uint32_t pending_traps_dropped;
};

/* threads.c */
/* Parks the calling thread while another one has the world stopped. */
void gc_safepoint_slow(gc_heap *heap);
/* A safepoint: parks if another thread asked to stop the world. */
static inline void gc_poll_safepoint(gc_heap *heap) {
  if (GC_UNLIKELY(GC_ATOMIC_LOAD(heap->safepoint_requested)))
    gc_safepoint_slow(heap);
}
/* The handle of this heap that belongs to the calling thread, or any if
 * the thread has none (a marker thread of a parallel collection). */
gc_heap *gc_self(gc_heap *any);
int gc_threads_init(struct gc_heap_shared *shared, char *err, size_t errlen);
void gc_threads_free(struct gc_heap_shared *shared);
/* A handle's fields that copy the shared ones, and its thread. */
void gc_handle_init(gc_heap *handle, struct gc_heap_shared *shared);
/* The allocations of every handle, attached or gone: exact for the calling
 * thread and for every thread parked or blocked (so, in a collection, for
 * all); for another running thread, as of its last safepoint wait or
 * blocking call. */
void gc_sum_allocated(gc_heap *heap, uint64_t *bytes, uint64_t *objects);
/* The option gc-threads as marker threads: 0 becomes the online CPUs, at
 * most 8. */
uint32_t gc_resolve_marker_threads(uint64_t gc_threads);

/* verify=1: traps unless ref is a live object of this heap. */
int gc_verify_ref(gc_heap *heap, gc_ref ref, const char *fn);
/* The slow half of every API entry: traps MISUSE inside a destructor, and
 * with verify=1 checks ref (if not NULL). 0 if the call may go on. */
int gc_api_slow_check(gc_heap *heap, gc_ref ref, const char *fn);

/* A NULL gc_heap * (a heap gc_heap_new failed to make, used anyway): the
 * calls a program makes first, to set a heap up, abort with a message
 * instead of a segmentation fault; the per-object calls do not check (see
 * gcheap.h). */
__attribute__((noreturn, cold)) void gc_null_heap(const char *fn);
#define GC_REQUIRE_HEAP(heap, fn)                                              \
  do {                                                                         \
    if (GC_UNLIKELY(!(heap)))                                                  \
      gc_null_heap(fn);                                                        \
  } while (0)

/* Entry check for a call that takes no object (or one that may be NULL). */
static inline int gc_api_enter(gc_heap *heap, gc_ref maybe_null,
                               const char *fn) {
  if (GC_UNLIKELY(heap->inl.slow))
    return gc_api_slow_check(heap, maybe_null, fn);
  return 0;
}

/* Entry check for an object that must not be NULL. */
static inline int gc_api_object(gc_heap *heap, gc_ref obj, const char *fn) {
  if (GC_UNLIKELY(heap->inl.slow) && gc_api_slow_check(heap, obj, fn))
    return -1;
  if (GC_UNLIKELY(!obj)) {
    gc_trap_raise(heap, GC_TRAP_NULL, "%s: null object", fn);
    return -1;
  }
  return 0;
}

/* An allocation's detour (alloc_interrupt): the full collection stress=N
 * makes due every N allocations, and the safepoint another thread asks
 * for. */
void gc_allocate_interrupted(gc_heap *heap);

/* Calls the handler for each trap held back (see gc_trap_raise), oldest
 * first, unless the heap is still inside a collection or a destructor runs
 * on this thread: then they wait for the next public call that can collect.
 * Called as each such call returns, when the heap is consistent again. */
void gc_raise_pending_traps(gc_heap *heap);

/* Allocation through the collector, with stress collections and stats.
 * Inline: it is on every allocation, and its only call is the collector's. */
static inline struct gc_obj *gc_allocate(gc_heap *heap, uint32_t type_word,
                                         size_t bytes) {
  if (GC_UNLIKELY(GC_ATOMIC_LOAD(heap->inl.alloc_interrupt)))
    gc_allocate_interrupted(heap);
  struct gc_obj *obj = heap->allocate(heap->mutator, type_word, bytes);
  if (GC_LIKELY(obj != NULL)) {
    heap->inl.allocated_bytes += bytes;
    heap->inl.allocated_objects++;
  }
  if (GC_UNLIKELY(heap->npending_traps))
    gc_raise_pending_traps(heap);
  return obj;
}

/* roots.c */
void gc_roots_init(gc_heap *heap);
/* A handle's scope chunks; gc_globals_free, the heap's globals. */
void gc_roots_free(gc_heap *heap);
void gc_globals_free(gc_heap *heap);

/* heap.c: 0 if a program built against gcheap.h's inline layout can use
 * this library, else -1 with the reason in err. */
int gc_check_inline_layout(uint32_t layout, const char *fn, char *err,
                           size_t errlen);

/* types.c */
int gc_types_init(struct gc_heap_shared *shared);
void gc_types_free(struct gc_heap_shared *shared);
const char *gc_shape_name(enum gc_shape shape);
const char *gc_kind_name(gc_kind kind); /* "unknown" if not a kind */

#endif
