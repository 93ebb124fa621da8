/* tracing.c — the tracing collector's table of functions: creation,
 * destruction and the allocation fast path. See tracing.h for the design,
 * alloc.c, mark.c and collect.c for the phases. */
#include "tracing.h"

/* Default first target: the heap collects once this much is taken. */
#define DEFAULT_MIN_TARGET (4u << 20)
#define INITIAL_MARK_STACK 4096

/* The fast path: a bump in the current hole, which is zero (I1) and at most
 * LARGE_THRESHOLD long, so only small and medium objects fit. Resources and
 * weak references (types below GC_FIRST_USER_TYPE) take the slow path,
 * which lists them. With verify=1 the hole is always empty. */
static struct gc_obj *tracing_allocate(struct gc_collector *c, uint32_t type,
                                       size_t bytes) {
  char *p = c->small.cursor;
  if (GC_LIKELY(bytes <= (size_t)(c->small.limit - p) &&
                type >= GC_FIRST_USER_TYPE)) {
    c->small.cursor = p + bytes;
    struct gc_obj *obj = (struct gc_obj *)p;
    obj->type = type;
    return obj;
  }
  return tracing_allocate_slow(c, type, bytes);
}

static struct gc_collector *tracing_create(gc_heap *heap, char *err,
                                           size_t errlen) {
  struct gc_collector *c = gc_sys_calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "tracing: no memory for the collector");
    return NULL;
  }
  c->heap = heap;
  c->verify = heap->options.verify != 0;
  c->epoch = 1;
  c->line_epoch = 1;
  c->max_bytes = heap->options.max_heap_size;
  c->min_target = heap->options.heap_size ? heap->options.heap_size
                                          : DEFAULT_MIN_TARGET;
  if (c->max_bytes && c->min_target > c->max_bytes)
    c->min_target = c->max_bytes;
  c->target_bytes = c->min_target;
  c->mark_stack = gc_sys_malloc(INITIAL_MARK_STACK * sizeof *c->mark_stack);
  if (!c->mark_stack) {
    gc_sys_free(c);
    snprintf(err, errlen, "tracing: no memory for the mark stack");
    return NULL;
  }
  c->mark_cap = INITIAL_MARK_STACK;
  tracing_reset_allocators(c);
  return c;
}

/* Runs the destructors still pending (I3), then returns every byte. */
static void tracing_destroy(struct gc_collector *c) {
  gc_heap *heap = c->heap;
  for (size_t i = 0; i < c->resources.count; i++)
    gc_run_destructor(heap, (struct gc_resource *)c->resources.items[i]);
  while (c->chunks)
    tracing_free_chunk(c, c->chunks);
  while (c->large)
    tracing_free_large(c, c->large);
  gc_sys_free(c->resources.items);
  gc_sys_free(c->weaks.items);
  gc_sys_free(c->mark_stack);
  gc_sys_free(c);
}

static void tracing_collect_op(struct gc_collector *c) {
  tracing_collect(c);
}

const struct gc_collector_ops gc_tracing_collector = {
    .name = "tracing",
    .create = tracing_create,
    .destroy = tracing_destroy,
    .allocate = tracing_allocate,
    .write_ref = NULL, /* no barrier: full-heap, stop-the-world collection */
    .copy_refs = NULL,
    .fill_refs = NULL,
    .collect = tracing_collect_op,
    .check_ref = tracing_check_ref,
    .weak_init = NULL,
    .weak_get = NULL,
    .resource_init = NULL,
    .root_area = NULL,
};
