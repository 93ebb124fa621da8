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
 * collection or a destructor, holds the heap lock, or gc/ holds its traps
 * back for a moment. */
static bool traps_held_back(const gc_heap *heap) {
  /* A handler that longjmps must not leave the heap lock held. */
  return heap->shared->collecting || heap->in_destructor ||
         heap->deferring_traps || heap->holds_lock || destructors_running;
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

/* The heap's handler (or the default), called for heap's thread. */
static void call_trap_handler(gc_heap *heap, gc_trap kind, const char *msg) {
  struct gc_heap_shared *shared = heap->shared;
  gc_trap_handler fn = shared->trap_fn ? shared->trap_fn : default_trap_handler;
  fn(heap, kind, msg, shared->trap_ud);
}

void gc_trap_raise(gc_heap *heap, gc_trap kind, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Collectors name any handle of the heap; the trap is the calling
   * thread's. */
  heap = gc_self(heap);
  if (traps_held_back(heap)) {
    hold_back_trap(heap, kind, msg);
    return;
  }
  call_trap_handler(heap, kind, msg);
}

void gc_raise_pending_traps(gc_heap *heap) {
  /* Each trap leaves the queue before its handler runs: a handler that
   * longjmps leaves the rest for the next call. */
  while (heap->npending_traps && !traps_held_back(heap)) {
    struct gc_pending_trap trap = take_pending_trap(heap);
    call_trap_handler(heap, trap.kind, trap.msg);
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
  gc_heap_lock(heap);
  heap->shared->trap_fn = fn;
  heap->shared->trap_ud = ud;
  gc_heap_unlock(heap);
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

/* The shared part of a heap and its creator's handle, or NULL with a
 * reason in err. */
static gc_heap *new_heap(const struct gc_options *options,
                         const struct gc_collector_ops *ops, char *err,
                         size_t errlen) {
  struct gc_heap_shared *shared = gc_sys_calloc(1, sizeof *shared);
  gc_heap *heap = gc_sys_calloc(1, sizeof *heap);
  if (!shared || !heap) {
    snprintf(err, errlen, "%s: no memory for a heap", ops->name);
    goto fail;
  }
  shared->ops = ops;
  shared->options = *options;
  shared->marker_threads = gc_resolve_marker_threads(options->gc_threads);
  shared->verify = (uint8_t)options->verify;
  shared->max_object_bytes = largest_backable_object();
  /* Every store through write_ref, or (mask 0, value 1) none; create() may
   * narrow it. */
  shared->barrier_mask = 0;
  shared->barrier_value = ops->write_ref ? 0 : 1;
  if (gc_types_init(shared)) {
    snprintf(err, errlen, "%s: no memory for the type registry", ops->name);
    goto fail_types; /* it may hold some of its built-in types */
  }
  if (gc_threads_init(shared, err, errlen))
    goto fail_types;
  gc_handle_init(heap, shared);
  struct gc_collector_env env = {heap, &shared->options, &shared->types};
  shared->collector = ops->create(&env, err, errlen);
  if (!shared->collector)
    goto fail_threads;
  heap->collector = shared->collector; /* create set the barrier filter */
  heap->mutator = ops->attach(shared->collector, heap, err, errlen);
  if (!heap->mutator) {
    ops->destroy(shared->collector);
    goto fail_threads;
  }
  shared->handles = heap;
  shared->nhandles = 1;
  return heap;
fail_threads:
  gc_threads_free(shared);
fail_types:
  gc_types_free(shared);
fail:
  gc_sys_free(heap);
  gc_sys_free(shared);
  return NULL;
}

gc_heap *(gc_heap_new)(const gc_config *config, char *err, size_t errlen) {
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
  gc_heap *heap = new_heap(&options, ops, err, errlen);
  if (heap)
    gc_roots_init(heap);
  return heap;
}

int gc_check_inline_layout(uint32_t layout, const char *fn, char *err,
                           size_t errlen) {
  if (layout == GCHEAP_INLINE_LAYOUT)
    return 0;
  snprintf(err, errlen,
           "%s: this program was built against gcheap.h's inline layout %u, "
           "and this library (%s) has layout %u: rebuild the program with "
           "this library's gcheap.h, or with -DGCHEAP_NO_INLINE",
           fn, (unsigned)layout, GC_HEAP_VERSION_STRING,
           (unsigned)GCHEAP_INLINE_LAYOUT);
  return -1;
}

gc_heap *gc_heap_new_for_layout(const gc_config *config, uint32_t layout,
                                char *err, size_t errlen) {
  if (gc_check_inline_layout(layout, "gc_heap_new", err, errlen))
    return NULL;
  return (gc_heap_new)(config, err, errlen);
}

struct gc_heap_inline *gc_handle_inline(gc_heap *handle) {
  return &handle->inl;
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

/* True if heap may be freed now; else false with why. */
static bool freeable(gc_heap *heap, char *why, size_t whylen) {
  struct gc_heap_shared *shared = heap->shared;
  if (heap->in_destructor) {
    snprintf(why, whylen, "called from a resource destructor");
    return false;
  }
  if (heap != shared->handles) {
    snprintf(why, whylen,
             "not the handle gc_heap_new returned (a thread that attached "
             "leaves with gc_thread_detach)");
    return false;
  }
  pthread_mutex_lock(&shared->world_mutex);
  uint32_t others = shared->nhandles - 1;
  pthread_mutex_unlock(&shared->world_mutex);
  if (others) {
    snprintf(why, whylen,
             "%u other threads are still attached; each must "
             "gc_thread_detach first",
             others);
    return false;
  }
  return true;
}

void gc_heap_free(gc_heap *heap) {
  if (!heap)
    return;
  char why[160];
  if (!freeable(heap, why, sizeof why)) {
    gc_trap_raise(heap, GC_TRAP_MISUSE, "gc_heap_free: %s", why);
    return;
  }
  /* Traps held back from earlier calls first, while the heap is whole: a
   * handler that longjmps leaves a heap that works and still needs freeing. */
  gc_raise_pending_traps(heap);
  /* Root areas are withdrawn while the collector that was told of them
   * still exists; then the collector runs the pending destructors. Their
   * traps are held back until every byte is returned. */
  struct gc_heap_shared *shared = heap->shared;
  heap->deferring_traps = 1;
  shared->ops->detach(heap->mutator);
  heap->mutator = NULL;
  gc_roots_free(heap);
  gc_globals_free(heap);
  shared->ops->destroy(shared->collector);
  shared->collector = heap->collector = NULL;
  if (shared->options.stats)
    print_stats(heap);
  struct gc_pending_trap
      traps[sizeof heap->pending_traps / sizeof *heap->pending_traps];
  uint32_t ntraps = 0;
  heap->deferring_traps = 0;
  while (heap->npending_traps)
    traps[ntraps++] = take_pending_trap(heap);
  const char *collector = heap->ops->name;
  gc_trap_handler fn = shared->trap_fn;
  void *ud = shared->trap_ud;
  gc_types_free(shared);
  gc_threads_free(shared);
  gc_sys_free(shared);
  gc_sys_free(heap);
  report_teardown_traps(collector, fn, ud, traps, ntraps);
}

const char *gc_collector_name(const gc_heap *heap) {
  return heap ? heap->ops->name : "(no heap)";
}

/* A full collection by this thread: under the heap lock, which the
 * collector's gc_pause_begin needs to stop the world. */
static void collect(gc_heap *heap) {
  gc_heap_lock(heap);
  heap->ops->collect(heap->mutator);
  gc_heap_unlock(heap);
}

void gc_allocate_interrupted(gc_heap *heap) {
  if (heap->stress_countdown && --heap->stress_countdown == 0) {
    heap->stress_countdown = heap->options->stress;
    collect(heap);
  }
  gc_poll_safepoint(heap);
}

void gc_collect(gc_heap *heap) {
  GC_REQUIRE_HEAP(heap, "gc_collect");
  if (gc_api_enter(heap, NULL, "gc_collect"))
    return;
  gc_poll_safepoint(heap);
  collect(heap);
  if (GC_UNLIKELY(heap->npending_traps))
    gc_raise_pending_traps(heap);
}

void gc_get_stats(gc_heap *heap, gc_stats *stats) {
  GC_REQUIRE_HEAP(heap, "gc_get_stats");
  if (!stats)
    return;
  /* A destructor (or a trap handler inside a collection) may ask: its
   * thread holds the heap lock already. */
  bool lock = !heap->holds_lock;
  if (lock)
    gc_heap_lock(heap);
  *stats = heap->shared->stats;
  gc_sum_allocated(heap, &stats->allocated_bytes, &stats->allocated_objects);
  if (lock)
    gc_heap_unlock(heap);
  if (stats->freed_bytes > stats->allocated_bytes)
    stats->freed_bytes = stats->allocated_bytes; /* boehm's estimate */
  stats->live_bytes = stats->allocated_bytes - stats->freed_bytes;
}

void gc_note_collection(gc_heap *heap, uint64_t start) {
  gc_stats *s = &heap->shared->stats;
  uint64_t pause = gc_now_ns() - start;
  s->collections++;
  s->pause_ns_total += pause;
  if (pause > s->pause_ns_max)
    s->pause_ns_max = pause;
}

struct gc_collector *gc_collector_of(gc_heap *heap,
                                     const struct gc_collector_ops *ops) {
  return heap && heap->ops == ops ? heap->collector : NULL;
}

void gc_set_barrier_filter(gc_heap *heap, uint32_t mask, uint32_t value) {
  struct gc_heap_shared *shared = heap->shared;
  shared->barrier_mask = mask;
  shared->barrier_value = value;
  /* Called by create (one handle, maybe not listed yet) or with the world
   * stopped: no handle's thread reads its copy meanwhile. */
  heap->inl.barrier_mask = mask;
  heap->inl.barrier_value = value;
  for (gc_heap *h = shared->handles; h; h = h->next) {
    h->inl.barrier_mask = mask;
    h->inl.barrier_value = value;
  }
}

void gc_note_freed_fraction(gc_heap *heap, double fraction) {
  gc_stats *s = &heap->shared->stats;
  uint64_t allocated_bytes, allocated_objects;
  gc_sum_allocated(heap, &allocated_bytes, &allocated_objects);
  uint64_t bytes = (uint64_t)(fraction * (double)allocated_bytes);
  uint64_t objects = (uint64_t)(fraction * (double)allocated_objects);
  if (bytes > s->freed_bytes)
    s->freed_bytes = bytes;
  if (objects > s->freed_objects)
    s->freed_objects = objects;
}

void gc_note_live(gc_heap *heap, uint64_t live_objects, uint64_t live_bytes) {
  gc_stats *s = &heap->shared->stats;
  uint64_t allocated_bytes, allocated_objects;
  gc_sum_allocated(heap, &allocated_bytes, &allocated_objects);
  /* gc/ counts every allocation, so live can never exceed it. */
  assert(live_objects <= allocated_objects);
  assert(live_bytes <= allocated_bytes);
  s->freed_objects = allocated_objects - live_objects;
  s->freed_bytes = allocated_bytes - live_bytes;
}

void gc_note_heap_bytes(gc_heap *heap, uint64_t heap_bytes) {
  gc_stats *s = &heap->shared->stats;
  s->heap_bytes = heap_bytes;
  if (heap_bytes > s->peak_heap_bytes)
    s->peak_heap_bytes = heap_bytes;
}

void gc_run_destructor(gc_heap *heap, struct gc_resource *res) {
  heap = gc_self(heap); /* the thread that collects, or frees the heap */
  if (res->destroyed) {
    if (heap->verify)
      gc_trap_raise(
          heap, GC_TRAP_INVARIANT,
          "resource %p: its destructor already ran; it would run twice",
          (void *)res);
    return;
  }
  res->destroyed = 1;
  heap->shared->stats.destructors_run++;
  if (!res->destroy)
    return;
  heap->in_destructor = 1;
  heap->inl.slow = 1;
  destructors_running++;
  res->destroy(res->ptr, res->ud);
  destructors_running--;
  heap->in_destructor = 0;
  heap->inl.slow = heap->verify;
}
