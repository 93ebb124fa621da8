/* refcount-testing.c — the hooks tests/refcount_*.c use to reach inside a
 * refcount heap (refcount-testing.h). Only in gcheap_testing, the library
 * the test suite links; the installed library has none of this. */
#include "refcount.h"
#include "refcount-testing.h"

static struct gc_collector *refcount_of(gc_heap *heap, const char *fn) {
  struct gc_collector *c = gc_collector_of(heap, &gc_refcount_collector);
  if (!c)
    gc_trap_raise(heap, GC_TRAP_MISUSE, "%s: not a refcount heap", fn);
  return c;
}

uint64_t gc_refcount_test_count(gc_heap *heap, gc_ref obj) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c && obj ? rc_count(c, obj) : 0;
}

void gc_refcount_test_set_count(gc_heap *heap, gc_ref obj, uint32_t count) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c && obj && count < c->count_limit &&
      (obj->gc_word & RC_COUNT_MASK) < c->count_limit)
    obj->gc_word = (obj->gc_word & ~RC_COUNT_MASK) | count;
}

size_t gc_refcount_test_log_words(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  struct gc_heap_inline *published = gc_handle_inline(heap);
  for (struct gc_mutator *m = c ? c->mutators : NULL; m; m = m->next)
    if (gc_handle_inline(m->handle) == published)
      return m->log.count;
  return 0;
}

void gc_refcount_test_drain_pause(gc_heap *heap, uint64_t max_frees) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (!c)
    return;
  gc_heap_lock(heap); /* as the allocation path does */
  if (!c->in_collection) /* not from a destructor a collection runs */
    rc_drain_pause(c, max_frees);
  gc_heap_unlock(heap);
}

uint64_t gc_refcount_test_drain_pauses(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->drain_pauses : 0;
}

uint64_t gc_refcount_test_old_objects(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->live_objects : 0;
}

uint64_t gc_refcount_test_blocks_released(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->blocks_released : 0;
}

uint64_t gc_refcount_test_resident_bytes(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? rc_heap_bytes(c) - c->released_bytes : 0;
}

size_t gc_refcount_test_zct_length(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->zct.count : 0;
}

size_t gc_refcount_test_candidates(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->candidates.count : 0;
}

void gc_refcount_test_set_cycle_budget(gc_heap *heap, size_t objects) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c)
    c->cycle_work_budget = objects;
}

uint64_t gc_refcount_test_cycle_runs_cut(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->cycle_runs_cut : 0;
}

void gc_refcount_test_set_drain_budget(gc_heap *heap, uint64_t objects) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c)
    c->drain_work_budget = objects;
}

uint64_t gc_refcount_test_cycle_runs_before_drained(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->cycle_runs_before_drained : 0;
}

void gc_refcount_test_end_budget(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c)
    rc_request_collection_point(c);
}

bool gc_refcount_test_new_referrers(gc_heap *heap, gc_ref obj) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c && obj &&
         (obj->gc_word & (RC_YOUNG | RC_IN_ZCT | RC_NEW_REFERRERS)) ==
             (RC_IN_ZCT | RC_NEW_REFERRERS);
}

void gc_refcount_test_decrement_first(gc_heap *heap, bool on) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c)
    c->test_decrement_first = on;
}

void gc_refcount_test_set_count_limit(gc_heap *heap, uint32_t limit) {
  struct gc_collector *c = refcount_of(heap, __func__);
  if (c && limit >= 2 && limit <= RC_COUNT_MASK)
    c->count_limit = limit;
}

bool gc_refcount_test_overflowed(gc_heap *heap, gc_ref obj) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c && obj && (obj->gc_word & RC_COUNT_MASK) == c->count_limit;
}

uint64_t gc_refcount_test_large_cached_bytes(gc_heap *heap) {
  struct gc_collector *c = refcount_of(heap, __func__);
  return c ? c->large.cache_bytes : 0;
}
