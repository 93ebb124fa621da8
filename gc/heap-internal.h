/* heap-internal.h — what the files of gc/ share among themselves. */
#ifndef GC_HEAP_INTERNAL_H
#define GC_HEAP_INTERNAL_H

#include "config.h"

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
