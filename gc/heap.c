/* heap.c — heap lifetime, collection, statistics and traps. */
#include "heap-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

uint64_t gc_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *gc_format_size(uint64_t bytes, char *buf, size_t buflen) {
  static const char suffix[] = "KMGT";
  if (bytes < 1024 || bytes % 1024) {
    snprintf(buf, buflen, "%llu", (unsigned long long)bytes);
    return buf;
  }
  int unit = -1;
  while (bytes >= 1024 && bytes % 1024 == 0 && unit < 3) {
    bytes /= 1024;
    unit++;
  }
  snprintf(buf, buflen, "%llu%c", (unsigned long long)bytes, suffix[unit]);
  return buf;
}

const char *gc_trap_name(gc_trap trap) {
  switch (trap) {
  case GC_TRAP_OOM:
    return "oom";
  case GC_TRAP_NULL:
    return "null";
  case GC_TRAP_BOUNDS:
    return "bounds";
  case GC_TRAP_TYPE:
    return "type";
  case GC_TRAP_MISUSE:
    return "misuse";
  case GC_TRAP_INVARIANT:
    return "invariant";
  }
  return "unknown";
}

static void default_trap_handler(gc_heap *heap, gc_trap trap, const char *msg,
                                 void *ud) {
  fprintf(stderr, "gcheap: %s: %s\n", gc_collector_name(heap), msg);
  abort();
}

void gc_trap_raise(gc_heap *heap, gc_trap kind, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gc_trap_handler fn = heap->trap_fn ? heap->trap_fn : default_trap_handler;
  fn(heap, kind, msg, heap->trap_ud);
}

void gc_set_trap_handler(gc_heap *heap, gc_trap_handler fn, void *ud) {
  heap->trap_fn = fn;
  heap->trap_ud = ud;
}

gc_heap *gc_heap_new(const gc_config *config, char *err, size_t errlen) {
  struct gc_options options;
  if (config)
    options = *gc_config_options(config);
  else
    gc_options_defaults(&options);
  const struct gc_collector_ops *ops =
      gc_collector_ops_at((int)options.collector);
  if (!ops) {
    snprintf(err, errlen, "collector #%llu: not in this build; accepted: %s",
             (unsigned long long)options.collector, gc_collector_names());
    return NULL;
  }
  gc_heap *heap = gc_sys_calloc(1, sizeof *heap);
  if (!heap) {
    snprintf(err, errlen, "%s: no memory for a heap", ops->name);
    return NULL;
  }
  heap->ops = ops;
  heap->allocate = ops->allocate;
  heap->write_ref = ops->write_ref;
  /* Every store through write_ref, or (mask 0, value 1) none; create() may
   * narrow it. */
  gc_set_barrier_filter(heap, 0, ops->write_ref ? 0 : 1);
  heap->options = options;
  heap->verify = (uint8_t)options.verify;
  heap->slow_checks = heap->verify;
  heap->stress_countdown = options.stress;
  if (gc_types_init(heap)) {
    snprintf(err, errlen, "%s: no memory for the type registry", ops->name);
    gc_types_free(heap);
    gc_sys_free(heap);
    return NULL;
  }
  heap->collector = ops->create(heap, err, errlen);
  if (!heap->collector) {
    gc_types_free(heap);
    gc_sys_free(heap);
    return NULL;
  }
  gc_roots_init(heap);
  return heap;
}

static void print_stats(gc_heap *heap) {
  gc_stats s;
  gc_get_stats(heap, &s);
  fprintf(stderr,
          "gcheap: %s: %llu collections, %llu objects (%llu bytes) "
          "allocated, %llu objects freed, %llu bytes live, heap %llu bytes "
          "(peak %llu), pauses %.3f ms total / %.3f ms max, %llu destructors "
          "run\n",
          gc_collector_name(heap), (unsigned long long)s.collections,
          (unsigned long long)s.allocated_objects,
          (unsigned long long)s.allocated_bytes,
          (unsigned long long)s.freed_objects, (unsigned long long)s.live_bytes,
          (unsigned long long)s.heap_bytes,
          (unsigned long long)s.peak_heap_bytes, s.pause_ns_total / 1e6,
          s.pause_ns_max / 1e6, (unsigned long long)s.destructors_run);
}

void gc_heap_free(gc_heap *heap) {
  if (!heap)
    return;
  if (heap->in_destructor) {
    gc_trap_raise(heap, GC_TRAP_MISUSE,
                  "gc_heap_free called from a resource destructor");
    return;
  }
  /* Root areas are withdrawn while the collector that was told of them
   * still exists; then the collector runs the pending destructors. */
  gc_roots_free(heap);
  heap->ops->destroy(heap->collector);
  heap->collector = NULL;
  if (heap->options.stats)
    print_stats(heap);
  gc_types_free(heap);
  gc_sys_free(heap);
}

const char *gc_collector_name(const gc_heap *heap) {
  return heap ? heap->ops->name : "(no heap)";
}

void gc_stress_collect(gc_heap *heap) {
  heap->stress_countdown = heap->options.stress;
  heap->ops->collect(heap->collector);
}

void gc_collect(gc_heap *heap) {
  if (gc_api_enter(heap, NULL, "gc_collect"))
    return;
  heap->ops->collect(heap->collector);
}

void gc_get_stats(gc_heap *heap, gc_stats *stats) {
  if (!stats)
    return;
  *stats = heap->stats;
  stats->live_bytes = heap->stats.allocated_bytes - heap->stats.freed_bytes;
}

uint64_t gc_pause_begin(gc_heap *heap) {
  return gc_now_ns();
}

void gc_pause_end(gc_heap *heap, uint64_t start) {
  uint64_t pause = gc_now_ns() - start;
  heap->stats.collections++;
  heap->stats.pause_ns_total += pause;
  if (pause > heap->stats.pause_ns_max)
    heap->stats.pause_ns_max = pause;
}

void gc_note_freed(gc_heap *heap, size_t bytes) {
  heap->stats.freed_objects++;
  heap->stats.freed_bytes += bytes;
}

void gc_note_live(gc_heap *heap, uint64_t live_objects, uint64_t live_bytes) {
  gc_stats *s = &heap->stats;
  /* gc/ counts every allocation, so live can never exceed it. */
  assert(live_objects <= s->allocated_objects);
  assert(live_bytes <= s->allocated_bytes);
  s->freed_objects = s->allocated_objects - live_objects;
  s->freed_bytes = s->allocated_bytes - live_bytes;
}

void gc_note_heap_bytes(gc_heap *heap, uint64_t heap_bytes) {
  heap->stats.heap_bytes = heap_bytes;
  if (heap_bytes > heap->stats.peak_heap_bytes)
    heap->stats.peak_heap_bytes = heap_bytes;
}

void gc_run_destructor(gc_heap *heap, struct gc_resource *res) {
  if (res->destroyed) {
    if (heap->verify)
      gc_trap_raise(
          heap, GC_TRAP_INVARIANT,
          "resource %p: its destructor already ran; it would run twice",
          (void *)res);
    return;
  }
  res->destroyed = 1;
  heap->stats.destructors_run++;
  if (!res->destroy)
    return;
  heap->in_destructor = 1;
  heap->slow_checks = 1;
  res->destroy(res->ptr, res->ud);
  heap->in_destructor = 0;
  heap->slow_checks = heap->verify;
}
