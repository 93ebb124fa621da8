/* heap-internal.h — what the files of gc/ share among themselves. */
#ifndef GC_HEAP_INTERNAL_H
#define GC_HEAP_INTERNAL_H

#include "config.h"

/* ---- The heap (gc/ only: collectors see struct gc_collector_env) ------ */

struct gc_root_chunk;
struct gc_global_chunk;
struct gc_scope_record;
struct gc_heap {
  /* Hot fields first: read on every API call. allocate and write_ref are
   * ops->allocate and ops->write_ref, copied here to save a load on the two
   * commonest calls. write_ref may be NULL: the barrier filter below then
   * never sends a store to it. */
  const struct gc_collector_ops *ops;
  struct gc_collector *collector;
  struct gc_obj *(*allocate)(struct gc_collector *c, uint32_t type,
                             size_t bytes);
  void (*write_ref)(struct gc_collector *c, struct gc_obj *obj, gc_ref *slot,
                    gc_ref v);
  /* The barrier's filter (gc_set_barrier_filter): gc_set_ref calls write_ref
   * only when (obj->gc_word & barrier_mask) == barrier_value, and stores
   * directly otherwise. */
  uint32_t barrier_mask, barrier_value;
  struct gc_type_registry types;
  /* Nonzero when the API must take its slow checks: verify is on or a
   * destructor is running. One predictable branch on the fast paths. */
  uint8_t slow_checks;
  uint8_t verify;
  uint8_t in_destructor;
  /* Traps held back (gc_trap_raise) until the call that made them can
   * return: nonzero only after a trap inside a collection or a destructor. */
  uint8_t npending_traps;
  uint8_t collecting;        /* between gc_pause_begin and gc_pause_end */
  uint8_t deferring_traps;   /* gc/ holds traps back (gc_new_weak, teardown) */
  uint64_t stress_countdown; /* allocations until the next forced collection */

  /* Roots: a stack of chunks (slots never move) and a scope stack. */
  struct gc_root_chunk *root_first, *root_current;
  uint32_t root_top; /* slots used in root_current */
  struct gc_scope_stack GC_VECTOR(struct gc_scope_record) scopes;
  uint32_t scope_serial;
  struct gc_global_chunk *globals;
  /* Arguments of the call in progress, kept alive while it allocates. */
  gc_ref pinned[2];
  uint32_t npinned;

  /* The largest struct or array gc/ asks a collector for:
   * GC_MAX_OBJECT_BYTES, or less if physical memory plus swap is smaller
   * (gc_heap_new). */
  uint64_t max_object_bytes;
  struct gc_options options;
  gc_stats stats;
  gc_trap_handler trap_fn;
  void *trap_ud;
  /* The traps held back, oldest first (npending_traps of them); any beyond
   * the last slot are counted in pending_traps_dropped. */
  struct gc_pending_trap {
    gc_trap kind;
    char msg[248];
  } pending_traps[4];
  uint32_t pending_traps_dropped;
};

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
  if (GC_UNLIKELY(heap->slow_checks))
    return gc_api_slow_check(heap, maybe_null, fn);
  return 0;
}

/* Entry check for an object that must not be NULL. */
static inline int gc_api_object(gc_heap *heap, gc_ref obj, const char *fn) {
  if (GC_UNLIKELY(heap->slow_checks) && gc_api_slow_check(heap, obj, fn))
    return -1;
  if (GC_UNLIKELY(!obj)) {
    gc_trap_raise(heap, GC_TRAP_NULL, "%s: null object", fn);
    return -1;
  }
  return 0;
}

/* stress=N: the full collection due every N allocations. */
void gc_stress_collect(gc_heap *heap);

/* Calls the handler for each trap held back (see gc_trap_raise), oldest
 * first, unless the heap is still inside a collection or a destructor runs
 * on this thread: then they wait for the next public call that can collect.
 * Called as each such call returns, when the heap is consistent again. */
void gc_raise_pending_traps(gc_heap *heap);

/* Allocation through the collector, with stress collections and stats.
 * Inline: it is on every allocation, and its only call is the collector's. */
static inline struct gc_obj *gc_allocate(gc_heap *heap, uint32_t type,
                                         size_t bytes) {
  if (GC_UNLIKELY(heap->stress_countdown) && --heap->stress_countdown == 0)
    gc_stress_collect(heap);
  struct gc_obj *obj = heap->allocate(heap->collector, type, bytes);
  if (GC_LIKELY(obj != NULL)) {
    heap->stats.allocated_bytes += bytes;
    heap->stats.allocated_objects++;
  }
  if (GC_UNLIKELY(heap->npending_traps))
    gc_raise_pending_traps(heap);
  return obj;
}

/* roots.c */
void gc_roots_init(gc_heap *heap);
void gc_roots_free(gc_heap *heap);

/* types.c */
int gc_types_init(gc_heap *heap);
void gc_types_free(gc_heap *heap);
const char *gc_shape_name(enum gc_shape shape);
const char *gc_kind_name(gc_kind kind); /* "unknown" if not a kind */

#endif
