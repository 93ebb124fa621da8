/* tracing-testing.c — the hooks tests/tracing_*.c use to reach inside a
 * tracing heap (tracing-testing.h). Only in gcheap_testing, the library the
 * test suite links; the installed library has none of this. */
#include "tracing.h"
#include "tracing-testing.h"

static struct gc_collector *tracing_of(gc_heap *heap) {
  return gc_collector_of(heap, &gc_tracing_collector);
}

void gc_tracing_test_after_mark(gc_heap *heap,
                                void (*fn)(gc_heap *heap, void *ud), void *ud) {
  struct gc_collector *c = tracing_of(heap);
  if (c) {
    c->after_mark_hook = fn;
    c->after_mark_ud = ud;
  }
}

void gc_tracing_test_unmark(gc_heap *heap, gc_ref obj) {
  if (tracing_of(heap) && obj)
    obj->gc_word = 0;
}

void gc_tracing_test_destroy_now(gc_heap *heap, gc_ref resource) {
  if (tracing_of(heap) && resource && gc_obj_type(resource) == GC_TYPE_RESOURCE)
    gc_run_destructor(heap, (struct gc_resource *)resource);
}

void gc_tracing_test_poison(gc_heap *heap, gc_ref obj) {
  struct gc_collector *c = tracing_of(heap);
  if (c && obj)
    gc_poison(obj, gc_object_size(c->types, obj));
}

bool gc_tracing_test_in_heap(gc_heap *heap, const void *addr) {
  struct gc_collector *c = tracing_of(heap);
  return c && tracing_owns_address(c, addr);
}

const void *gc_tracing_test_block_of(gc_heap *heap, gc_ref obj) {
  if (!tracing_of(heap) || !obj)
    return NULL;
  return (const void *)((uintptr_t)obj & ~(uintptr_t)(BLOCK_SIZE - 1));
}

size_t gc_tracing_test_mapped_bytes(gc_heap *heap) {
  struct gc_collector *c = tracing_of(heap);
  return c ? mapped_bytes(c) : 0;
}

uint64_t gc_tracing_test_large_cached_bytes(gc_heap *heap) {
  struct gc_collector *c = tracing_of(heap);
  return c ? c->large.cache_bytes : 0;
}

uint64_t gc_tracing_test_room(uint64_t live, uint32_t threads,
                              double allocation_rate, double collection_speed,
                              double expansiveness) {
  return tracing_sizing_room(live, threads, allocation_rate, collection_speed,
                             expansiveness);
}

void gc_tracing_test_set_rates(gc_heap *heap, double allocation_rate,
                               double collection_speed) {
  struct gc_collector *c = tracing_of(heap);
  if (!c)
    return;
  c->sizing.allocation_rate = allocation_rate;
  c->sizing.collection_speed = collection_speed;
  c->sizing.frozen = true;
}

uint64_t gc_tracing_test_parallel_marks(gc_heap *heap) {
  struct gc_collector *c = tracing_of(heap);
  return c ? c->parallel_marks : 0;
}

void gc_tracing_test_set_parallel_after(gc_heap *heap, uint64_t objects) {
  struct gc_collector *c = tracing_of(heap);
  if (c)
    c->parallel_after = objects;
}

void gc_tracing_test_slow_marker(gc_heap *heap, uint32_t helper, uint64_t ns) {
  struct gc_collector *c = tracing_of(heap);
  if (c) {
    c->test_slow_marker = helper;
    c->test_slow_ns = ns;
  }
}

void gc_tracing_test_fail_helper_allocations(gc_heap *heap, long nth) {
  struct gc_collector *c = tracing_of(heap);
  if (c)
    c->test_helper_fail_at = nth;
}

double gc_tracing_test_marker_share(gc_heap *heap, uint32_t marker) {
  struct gc_collector *c = tracing_of(heap);
  return c ? tracing_pool_share(c->pool, marker) : 0;
}

uint64_t gc_tracing_test_packets_sent(gc_heap *heap) {
  struct gc_collector *c = tracing_of(heap);
  return c ? tracing_pool_packets_sent(c->pool) : 0;
}

void gc_tracing_test_collect_minor(gc_heap *heap) {
  struct gc_collector *c = tracing_of(heap);
  if (!c)
    return;
  gc_heap_lock(heap); /* as the allocation path does */
  tracing_collect_for_allocation(c);
  gc_heap_unlock(heap);
}
