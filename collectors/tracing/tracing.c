/* tracing.c — the tracing collector's table of functions: creation,
 * destruction and the allocation fast path. See tracing.h for the design,
 * tracing-alloc.c, tracing-mark.c and tracing-collect.c for the phases. */
#include "tracing.h"

/* Default first target: the heap collects once this much is taken. */
#define DEFAULT_MIN_TARGET (4u << 20)
#define INITIAL_MARK_STACK 4096

/* The fast path: a bump in the current hole, which is zero (I1) and at most
 * LARGE_THRESHOLD long, so only small and medium objects fit. Resources and
 * weak references (types below GC_FIRST_USER_TYPE) take the slow path,
 * which lists them. With verify=1 the hole is always empty. */
static struct gc_obj *tracing_allocate(struct gc_mutator *m, uint32_t type_word,
                                       size_t bytes) {
  char *p = m->small->cursor;
  if (GC_LIKELY(bytes <= (size_t)(m->small->limit - p) &&
                type_word >= GC_FIRST_USER_TYPE)) {
    m->small->cursor = p + bytes;
    struct gc_obj *obj = (struct gc_obj *)p;
    obj->type_word = type_word;
    return obj;
  }
  return tracing_allocate_slow(m, type_word, bytes);
}

/* ---- The write barrier ----------------------------------------------------
 *
 * Marks are sticky between collections: a marked object is old. When a
 * reference to a young object is stored into an old one, the old object is
 * unmarked (so the next collection scans it again) and remembered (so a
 * minor collection, which does not trace from old objects, finds it). An
 * unmarked object is remembered at most once: when two threads store into
 * it at once, the compare-and-swap lets one of them unmark and remember it
 * (I4). If the thread's list cannot grow, the next collection is a full
 * one, which needs no remembered set. The epoch changes only while the
 * world is stopped. */
static void remember(struct gc_mutator *m, struct gc_obj *obj) {
  uint32_t old = m->c->epoch;
  if (!__atomic_compare_exchange_n(&obj->gc_word, &old, 0, false,
                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    return; /* another thread remembered it */
  if (GC_UNLIKELY(!gc_vector_push(&m->remembered, obj)))
    GC_ATOMIC_STORE(m->c->next_major, true);
}

static inline bool is_old(struct gc_mutator *m, struct gc_obj *obj) {
  return GC_ATOMIC_LOAD(obj->gc_word) == m->c->epoch;
}

static void tracing_write_ref(struct gc_mutator *m, struct gc_obj *obj,
                              gc_ref *slot, gc_ref v) {
  *slot = v;
  if (GC_UNLIKELY(is_old(m, obj)) && v && !is_old(m, v))
    remember(m, obj);
}

static void tracing_copy_refs(struct gc_mutator *m, struct gc_obj *dst_obj,
                              gc_ref *dst, const gc_ref *src, size_t n) {
  memmove(dst, src, n * sizeof *dst);
  if (GC_UNLIKELY(is_old(m, dst_obj)) && n)
    remember(m, dst_obj);
}

static void tracing_fill_refs(struct gc_mutator *m, struct gc_obj *obj,
                              gc_ref *dst, size_t n, gc_ref v) {
  for (size_t i = 0; i < n; i++)
    dst[i] = v;
  if (GC_UNLIKELY(is_old(m, obj)) && v && n && !is_old(m, v))
    remember(m, obj);
}

static struct gc_collector *tracing_create(const struct gc_collector_env *env,
                                           char *err, size_t errlen) {
  gc_heap *heap = env->heap;
  const struct gc_options *options = env->options;
  struct gc_collector *c = gc_sys_calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "tracing: no memory for the collector");
    return NULL;
  }
  c->heap = heap;
  c->options = options;
  c->types = env->types;
  c->verify = options->verify != 0;
  gc_large_space_init(&c->large, heap, c->verify);
  c->quarantine.limit = options->verify_quarantine;
  c->epoch = 1;
  c->line_epoch = 1;
#ifdef GCHEAP_TESTING
  /* The test build calls helpers from 4096 objects on, so that the suite's
   * graphs, far smaller than a heap where helpers pay, are marked in
   * parallel too (gc-threads is the online CPUs by default). */
  c->parallel_after = 4096;
#else
  c->parallel_after = PARALLEL_AFTER;
#endif
  /* gc_set_ref calls the barrier only for stores into old (marked)
   * objects; begin_epochs keeps the value current. */
  gc_set_barrier_filter(heap, UINT32_MAX, c->epoch);
  c->max_bytes = options->max_heap_size;
  c->min_target = options->heap_size ? options->heap_size : DEFAULT_MIN_TARGET;
  if (c->max_bytes && c->min_target > c->max_bytes)
    c->min_target = c->max_bytes;
  c->target_bytes = c->min_target;
  if (!gc_vector_reserve(&c->mark_stack, INITIAL_MARK_STACK)) {
    gc_sys_free(c);
    snprintf(err, errlen, "tracing: no memory for the mark stack");
    return NULL;
  }
  tracing_reset_allocators(c);
  return c;
}

static struct gc_mutator *tracing_attach(struct gc_collector *c,
                                         gc_heap *handle, char *err,
                                         size_t errlen) {
  struct gc_mutator *m = gc_sys_calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "tracing: no memory for a thread's allocator");
    return NULL;
  }
  m->c = c;
  m->id = (uint8_t)(c->mutators_attached++ % 255 + 1);
  m->own_walk_block = FIRST_OBJECT_BLOCK - 1; /* from the first chunk */
  m->handle = handle;
  m->small = &gc_handle_inline(handle)->bump;
  m->next = c->mutators;
  c->mutators = m;
  return m;
}

/* The thread's regions stay taken until the next collection (their unused
 * rest is zero, I1); what it remembered is the heap's now (I4). */
static void tracing_detach(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  for (size_t i = 0; i < m->remembered.count; i++)
    if (!gc_vector_push(&c->remembered, m->remembered.items[i]))
      c->next_major = true;
  gc_vector_free(&m->remembered);
  struct gc_mutator **link = &c->mutators;
  while (*link != m)
    link = &(*link)->next;
  *link = m->next;
  gc_sys_free(m);
}

/* Runs the destructors still pending (I3), then returns every byte. */
static void tracing_destroy(struct gc_collector *c) {
  gc_heap *heap = c->heap;
  for (size_t i = 0; i < c->resources.count; i++)
    gc_run_destructor(heap, (struct gc_resource *)c->resources.items[i]);
  tracing_pool_free(c);
  tracing_quarantine_free(c);
  while (c->chunks)
    tracing_free_chunk(c, c->chunks);
  gc_large_space_free(&c->large);
  gc_vector_free(&c->resources);
  gc_vector_free(&c->weaks);
  gc_vector_free(&c->remembered);
  gc_vector_free(&c->mark_stack);
  gc_sys_free(c);
}

const struct gc_collector_ops gc_tracing_collector = {
    .name = "tracing",
    .create = tracing_create,
    .destroy = tracing_destroy,
    .attach = tracing_attach,
    .detach = tracing_detach,
    .allocate = tracing_allocate,
    .write_ref = tracing_write_ref,
    .copy_refs = tracing_copy_refs,
    .fill_refs = tracing_fill_refs,
    .collect = tracing_collect,
    .check_ref = tracing_check_ref,
    .weak_init = NULL,
    .weak_get = NULL,
    .root_area = NULL,
};
