/* heap.c — heap lifetime, collection, statistics and traps. */
#include "heap-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
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

/* Destructors running on this thread, of any heap. While one runs, no trap
 * handler is called: a handler that longjmps would leave the destructor, and
 * with it the collection of its heap, half done. */
static _Thread_local unsigned destructors_running;

/* True while a handler may not be called for heap: it is inside a
 * collection or a destructor, or gc/ holds its traps back for a moment. */
static bool traps_held_back(const gc_heap *heap) {
  return heap->collecting || heap->in_destructor || heap->deferring_traps ||
         destructors_running;
}

static void hold_back_trap(gc_heap *heap, gc_trap kind, const char *msg) {
  const uint32_t slots =
      sizeof heap->pending_traps / sizeof *heap->pending_traps;
  if (heap->npending_traps == slots) {
    heap->pending_traps_dropped++;
    return;
  }
  struct gc_pending_trap *trap = &heap->pending_traps[heap->npending_traps++];
  trap->kind = kind;
  snprintf(trap->msg, sizeof trap->msg, "%.*s", (int)sizeof trap->msg - 1, msg);
}

/* Takes the oldest held-back trap off the queue. The last one names how
 * many more there were, beyond what the queue holds. */
static struct gc_pending_trap take_pending_trap(gc_heap *heap) {
  struct gc_pending_trap trap = heap->pending_traps[0];
  heap->npending_traps--;
  memmove(&heap->pending_traps[0], &heap->pending_traps[1],
          heap->npending_traps * sizeof trap);
  if (heap->npending_traps == 0 && heap->pending_traps_dropped) {
    size_t len = strlen(trap.msg);
    snprintf(trap.msg + len, sizeof trap.msg - len,
             " (and %u more traps, not reported)", heap->pending_traps_dropped);
    heap->pending_traps_dropped = 0;
  }
  return trap;
}

void gc_trap_raise(gc_heap *heap, gc_trap kind, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (traps_held_back(heap)) {
    hold_back_trap(heap, kind, msg);
    return;
  }
  gc_trap_handler fn = heap->trap_fn ? heap->trap_fn : default_trap_handler;
  fn(heap, kind, msg, heap->trap_ud);
}

void gc_raise_pending_traps(gc_heap *heap) {
  /* Each trap leaves the queue before its handler runs: a handler that
   * longjmps leaves the rest for the next call. */
  while (heap->npending_traps && !traps_held_back(heap)) {
    struct gc_pending_trap trap = take_pending_trap(heap);
    gc_trap_handler fn = heap->trap_fn ? heap->trap_fn : default_trap_handler;
    fn(heap, trap.kind, trap.msg, heap->trap_ud);
  }
}

void gc_null_heap(const char *fn) {
  fprintf(stderr,
          "gcheap: %s: the heap is NULL (a gc_heap * from a successful "
          "gc_heap_new is required)\n",
          fn);
  abort();
}

void gc_set_trap_handler(gc_heap *heap, gc_trap_handler fn, void *ud) {
  GC_REQUIRE_HEAP(heap, "gc_set_trap_handler");
  heap->trap_fn = fn;
  heap->trap_ud = ud;
}

/* The largest object gcheap will ask a collector for: 2^44 bytes, or the
 * physical memory plus swap of this machine if that is less. A bigger one
 * could never be backed; a collector would only reserve it (MAP_NORESERVE)
 * and fault later. */
static uint64_t largest_backable_object(void) {
  uint64_t largest = GC_MAX_OBJECT_BYTES;
  struct sysinfo info;
  if (sysinfo(&info) == 0) {
    uint64_t backable =
        ((uint64_t)info.totalram + info.totalswap) * info.mem_unit;
    if (backable && backable < largest)
      largest = backable;
  }
  return largest;
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
  /* One rule for every collector: an initial heap the limit forbids is a
   * contradiction, not something to clamp silently. */
  if (options.max_heap_size && options.heap_size > options.max_heap_size) {
    char initial[32], limit[32];
    snprintf(err, errlen,
             "%s: heap-size=%s is above max-heap-size=%s; the initial heap "
             "must fit the limit",
             ops->name,
             gc_format_size(options.heap_size, initial, sizeof initial),
             gc_format_size(options.max_heap_size, limit, sizeof limit));
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
  heap->max_object_bytes = largest_backable_object();
  if (gc_types_init(heap)) {
    snprintf(err, errlen, "%s: no memory for the type registry", ops->name);
    gc_types_free(heap);
    gc_sys_free(heap);
    return NULL;
  }
  struct gc_collector_env env = {heap, &heap->options, &heap->types};
  heap->collector = ops->create(&env, err, errlen);
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

/* The traps held back while gc_heap_free ran the last destructors: the heap
 * is gone, so the handler gets heap NULL and a message naming the collector. */
static void report_teardown_traps(const char *collector, gc_trap_handler fn,
                                  void *ud, const struct gc_pending_trap *traps,
                                  uint32_t ntraps) {
  for (uint32_t i = 0; i < ntraps; i++) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s heap, in gc_heap_free: %s", collector,
             traps[i].msg);
    (fn ? fn : default_trap_handler)(NULL, traps[i].kind, msg, ud);
  }
}

void gc_heap_free(gc_heap *heap) {
  if (!heap)
    return;
  if (heap->in_destructor) {
    gc_trap_raise(heap, GC_TRAP_MISUSE,
                  "gc_heap_free called from a resource destructor");
    return;
  }
  /* Traps held back from earlier calls first, while the heap is whole: a
   * handler that longjmps leaves a heap that works and still needs freeing. */
  gc_raise_pending_traps(heap);
  /* Root areas are withdrawn while the collector that was told of them
   * still exists; then the collector runs the pending destructors. Their
   * traps are held back until every byte is returned. */
  heap->deferring_traps = 1;
  gc_roots_free(heap);
  heap->ops->destroy(heap->collector);
  heap->collector = NULL;
  if (heap->options.stats)
    print_stats(heap);
  struct gc_pending_trap
      traps[sizeof heap->pending_traps / sizeof *heap->pending_traps];
  uint32_t ntraps = 0;
  heap->deferring_traps = 0;
  while (heap->npending_traps)
    traps[ntraps++] = take_pending_trap(heap);
  const char *collector = heap->ops->name;
  gc_trap_handler fn = heap->trap_fn;
  void *ud = heap->trap_ud;
  gc_types_free(heap);
  gc_sys_free(heap);
  report_teardown_traps(collector, fn, ud, traps, ntraps);
}

const char *gc_collector_name(const gc_heap *heap) {
  return heap ? heap->ops->name : "(no heap)";
}

void gc_stress_collect(gc_heap *heap) {
  heap->stress_countdown = heap->options.stress;
  heap->ops->collect(heap->collector);
}

void gc_collect(gc_heap *heap) {
  GC_REQUIRE_HEAP(heap, "gc_collect");
  if (gc_api_enter(heap, NULL, "gc_collect"))
    return;
  heap->ops->collect(heap->collector);
  if (GC_UNLIKELY(heap->npending_traps))
    gc_raise_pending_traps(heap);
}

void gc_get_stats(gc_heap *heap, gc_stats *stats) {
  GC_REQUIRE_HEAP(heap, "gc_get_stats");
  if (!stats)
    return;
  *stats = heap->stats;
  stats->live_bytes = heap->stats.allocated_bytes - heap->stats.freed_bytes;
}

uint64_t gc_pause_begin(gc_heap *heap) {
  heap->collecting = 1;
  return gc_now_ns();
}

void gc_pause_end(gc_heap *heap, uint64_t start) {
  uint64_t pause = gc_now_ns() - start;
  heap->collecting = 0;
  heap->stats.collections++;
  heap->stats.pause_ns_total += pause;
  if (pause > heap->stats.pause_ns_max)
    heap->stats.pause_ns_max = pause;
}

struct gc_collector *gc_collector_of(gc_heap *heap,
                                     const struct gc_collector_ops *ops) {
  return heap && heap->ops == ops ? heap->collector : NULL;
}

void gc_set_barrier_filter(gc_heap *heap, uint32_t mask, uint32_t value) {
  heap->barrier_mask = mask;
  heap->barrier_value = value;
}

void gc_note_freed_fraction(gc_heap *heap, double fraction) {
  gc_stats *s = &heap->stats;
  uint64_t bytes = (uint64_t)(fraction * (double)s->allocated_bytes);
  uint64_t objects = (uint64_t)(fraction * (double)s->allocated_objects);
  if (bytes > s->freed_bytes)
    s->freed_bytes = bytes;
  if (objects > s->freed_objects)
    s->freed_objects = objects;
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
  destructors_running++;
  res->destroy(res->ptr, res->ud);
  destructors_running--;
  heap->in_destructor = 0;
  heap->slow_checks = heap->verify;
}
