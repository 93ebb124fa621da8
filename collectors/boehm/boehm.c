/* boehm.c — collector=boehm: the gcheap interface on top of Boehm GC.
 *
 * The story of one heap:
 *
 *   create    initialise Boehm once per process, join the list of live heaps
 *             (boehm-process.c), whose root areas Boehm's marker scans;
 *   allocate  objects that may hold references come from GC_MALLOC (scanned,
 *             zeroed by Boehm); everything else (number and byte arrays,
 *             structs without REF fields, resources, weak references) from
 *             GC_MALLOC_ATOMIC (not scanned, so zeroed here). A resource also
 *             gets a Boehm finalizer (boehm-finalize.c). First, though, the
 *             destructors Boehm found due run, at this safe point, with the
 *             heap's other threads stopped;
 *   collect   GC_gcollect: Boehm marks from its own roots (static data, the
 *             stacks, conservatively) and from every live heap's root areas,
 *             clears the weak references whose target died, queues the dead
 *             resources; then their destructors run;
 *   destroy   leave the list (the roots are no longer scanned), run every
 *             pending destructor once, free what gcheap allocated with
 *             malloc. The objects stay in Boehm's heap until its next
 *             collection reclaims them: that memory is Boehm's.
 *
 * No write barrier: Boehm is a non-incremental, non-generational collector
 * here, so every reference store is a plain store.
 *
 * Boehm is one heap per process: all boehm heaps share it, and a collection
 * of one is a collection of all (see README.md).
 */
#include "boehm-internal.h"

#include <stdlib.h>

/* ---- Heaps --------------------------------------------------------------- */

static struct gc_collector *boehm_create(const struct gc_collector_env *env,
                                         char *err, size_t errlen) {
  gc_heap *heap = env->heap;
  const struct gc_options *options = env->options;
  if (boehm_process_init(options, err, errlen))
    return NULL;
  /* heap-size is Boehm's whole heap, unmapped blocks included: they are
   * mapped again before Boehm grows. Counting only the mapped part grew the
   * heap by heap-size at every heap creation once Boehm had unmapped free
   * blocks (4 MB of address space per heap, without bound), and every
   * collection then walked the larger heap. */
  uint64_t initial = options->heap_size;
  uint64_t whole = (uint64_t)GC_get_heap_size() + GC_get_unmapped_bytes();
  if (initial > whole && !GC_expand_hp((size_t)(initial - whole))) {
    char size[32];
    snprintf(err, errlen, "boehm: heap-size=%s: Boehm GC could not grow to it",
             gc_format_size(initial, size, sizeof size));
    return NULL;
  }
  struct gc_collector *c = gc_sys_calloc(1, sizeof *c);
  if (!c || !gc_vector_reserve(&c->areas, 8)) {
    gc_sys_free(c);
    snprintf(err, errlen, "boehm: no memory for a heap");
    return NULL;
  }
  c->heap = heap;
  c->options = options;
  c->types = env->types;
  c->verify = options->verify != 0;
  /* The census reads every live object's header: measured at 0.7 times the
   * cost of the collection itself (2M live objects), so only when asked. */
  c->census = options->verify != 0 || options->stats;
  c->tag = boehm_next_tag();
  boehm_process_link(c);
  gc_note_heap_bytes(heap, GC_get_heap_size());
  return c;
}

/* Small objects that Boehm scans come from free lists in the handle, which
 * gcheap.h's inline allocation pops without a call (cell_lists[0]; cells
 * whose type holds no reference stay out of line, row 1 empty). Each list
 * is one GC_malloc_many batch, about a block's free cells, linked
 * through their first word; an empty one sends the allocation here, which
 * takes the next batch. The lists are a root area of the heap: a
 * collection marks the head from it and the rest through the links, so no
 * cell on a list is reclaimed and handed out again. (An object-free list
 * could not be kept that way: Boehm does not scan its cells, links
 * included.) The thread may allocate without limit between batches, as far
 * as the handle says (cell_budget): Boehm counts a batch as allocated when
 * it hands it out, and collects then if it wants. */
static bool publish_free_lists(struct gc_mutator *m) {
  struct gc_heap_inline *published = gc_handle_inline(m->handle);
  m->lists = published->cell_lists[0];
  published->cell_budget = INT64_MAX;
  published->cell_gc_word = m->c->tag;
  return boehm_area_add(m->c, m->lists,
                        GCHEAP_INLINE_CELL_CLASSES * sizeof *m->lists);
}

static struct gc_mutator *boehm_attach(struct gc_collector *c, gc_heap *handle,
                                       char *err, size_t errlen) {
  struct gc_mutator *m = gc_sys_calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "boehm: no memory for a thread");
    return NULL;
  }
  m->c = c;
  m->handle = handle;
  m->owner = pthread_self();
  if (!publish_free_lists(m)) {
    snprintf(err, errlen, "boehm: no memory for a thread");
    gc_sys_free(m);
    return NULL;
  }
  if (!GC_thread_is_registered()) {
    struct GC_stack_base base;
    if (GC_get_stack_base(&base) != GC_SUCCESS ||
        GC_register_my_thread(&base) != GC_SUCCESS) {
      snprintf(err, errlen, "boehm: Boehm GC cannot register this thread");
      gc_sys_free(m);
      return NULL;
    }
    m->registered = true;
  }
  return m;
}

static void boehm_detach(struct gc_mutator *m) {
  bool was_an_area = boehm_area_remove(m->c, m->lists);
  assert(was_an_area);
  (void)was_an_area;
  if (m->registered)
    GC_unregister_my_thread();
  gc_sys_free(m);
}

static void boehm_destroy(struct gc_collector *c) {
  boehm_process_unlink(c);
  boehm_resources_destroy(c);
  gc_vector_free(&c->areas);
  gc_vector_free(&c->watched);
  gc_sys_free(c);
}

/* gc/ tells us of every area that holds root slots. They are recorded for
 * push_gcheap_roots; if no memory is left to record one, Boehm's own root
 * table takes it (it must be scanned, whatever it costs). gc/ announces every
 * removal before destroy (gc_heap_free). */
static void boehm_root_area(struct gc_collector *c, void *start, size_t bytes,
                            bool adding) {
  char *end = (char *)start + bytes;
  if (adding) {
    assert(c);
    if (!boehm_area_add(c, start, bytes))
      GC_add_roots(start, end);
  } else if (!boehm_area_remove(c, start)) {
    GC_remove_roots(start, end);
  }
}

/* ---- Allocation ---------------------------------------------------------- */

/* Whether Boehm must scan objects of type t for pointers. */
static inline bool holds_refs(const struct gc_type_info *t) {
  switch (t->shape) {
  case GC_SHAPE_STRUCT:
    return t->nrefs > 0;
  case GC_SHAPE_ARRAY:
    return t->elem == GC_KIND_REF;
  case GC_SHAPE_RESOURCE: /* a foreign pointer: not Boehm's to follow */
  case GC_SHAPE_WEAK:     /* the target must stay invisible to the marker */
    return false;
  }
  return true;
}

/* The next cell of the free list for bytes, taken from Boehm when the list
 * is empty; NULL if Boehm has none. */
static inline void *pop_free_list(struct gc_mutator *m, size_t bytes) {
  void **list = &m->lists[bytes / 8 - 2];
  if (!*list)
    *list = GC_malloc_many(bytes); /* rounds bytes up as GC_MALLOC does */
  void *cell = *list;
  if (cell) {
    *list = *(void **)cell;
    *(void **)cell = NULL; /* the rest Boehm cleared */
  }
  return cell;
}

static inline void *boehm_malloc(struct gc_mutator *m,
                                 const struct gc_type_info *t, size_t bytes) {
  if (holds_refs(t))
    return bytes <= GCHEAP_INLINE_CELL_MAX_BYTES
               ? pop_free_list(m, bytes)
               : GC_MALLOC(bytes); /* zeroed by Boehm */
  void *mem = GC_MALLOC_ATOMIC(bytes);
  if (mem)
    memset(mem, 0, bytes); /* Boehm does not clear atomic objects */
  return mem;
}

/* Boehm returned NULL: it may not have run a full collection just before
 * (it collects or grows as its heuristics say), so collect, run what
 * destructors are due, and try once more before trapping. */
static __attribute__((noinline)) void *
allocate_after_collecting(struct gc_mutator *m, const struct gc_type_info *t,
                          size_t bytes) {
  struct gc_collector *c = m->c;
  GC_gcollect();
  boehm_run_destructors_stopped(m, false);
  void *mem = boehm_malloc(m, t, bytes);
  if (mem)
    return mem;
  char limit[32], heap[32];
  uint64_t max = c->options->max_heap_size;
  gc_trap_raise(
      m->handle, GC_TRAP_OOM,
      "out of memory: %zu bytes requested after a full collection; Boehm "
      "heap %s bytes, max-heap-size %s",
      bytes, gc_format_size(GC_get_heap_size(), heap, sizeof heap),
      max ? gc_format_size(max, limit, sizeof limit) : "unlimited");
  return NULL;
}

/* Boehm aborts ("Collecting from unknown thread") when a thread it was
 * not told of allocates or collects: trap MISUSE first. The creating thread
 * passes with one comparison; another one only if Boehm knows it. Out of
 * line, before anything else: the allocation path keeps its shape (a
 * conservative scan is sensitive to which words a frame leaves behind). */
static __attribute__((noinline)) bool unknown_thread_slow(struct gc_mutator *m,
                                                          const char *fn) {
  if (GC_thread_is_registered())
    return false;
  gc_trap_raise(m->handle, GC_TRAP_MISUSE,
                "%s from a thread Boehm GC does not know: each thread uses "
                "the handle gc_heap_new or gc_thread_attach gave it",
                fn);
  return true;
}

/* The owner's test inline: every allocation makes it. */
static inline bool unknown_thread(struct gc_mutator *m, const char *fn) {
  return GC_UNLIKELY(!pthread_equal(pthread_self(), m->owner)) &&
         unknown_thread_slow(m, fn);
}

static struct gc_obj *boehm_allocate(struct gc_mutator *m, uint32_t type_word,
                                     size_t bytes) {
  if (unknown_thread(m, "allocation"))
    return NULL;
  /* Destructors the last Boehm collection found due run first, while this
   * thread holds no new object (running them may wait for the heap lock,
   * and another thread's collection may then count what is live). */
  if (GC_UNLIKELY(boehm_destructors_may_be_due()))
    boehm_run_destructors_stopped(m, false);
  struct gc_collector *c = m->c;
  const struct gc_type_info *t = &c->types->items[gc_type_number(type_word)];
  struct gc_obj *obj = boehm_malloc(m, t, bytes);
  if (GC_UNLIKELY(!obj)) {
    obj = allocate_after_collecting(m, t, bytes);
    if (!obj)
      return NULL;
  }
  obj->type_word = type_word;
  obj->gc_word = c->tag;
  if (GC_UNLIKELY(type_word == GC_TYPE_RESOURCE)) {
    if (boehm_resource_register(c, (struct gc_resource *)obj))
      return NULL; /* trapped; the object is garbage */
  } else if (GC_UNLIKELY(c->verify)) {
    boehm_watch(c, obj);
  }
  return obj;
}

/* ---- Collection ---------------------------------------------------------- */

/* The census (with verify=1 or stats=1): right after a full collection,
 * Boehm's mark bits say exactly which objects survived. Counting this heap's
 * among them (by the tag in their header, or the registry for resources) gives
 * exact live, hence freed, figures. Runs with the allocation lock held, before
 * anything is allocated again in this heap (an allocation would not be marked).
 * Finalizers and destructors in between are fine: they cannot allocate here,
 * and a collection that another heap's allocation triggers leaves a census
 * just as valid. */
struct census {
  struct gc_collector *c;
  uint64_t objects, bytes;
};

static void GC_CALLBACK count_if_ours(void *obj, size_t boehm_bytes,
                                      void *data) {
  struct census *census = data;
  struct gc_collector *c = census->c;
  struct gc_obj *o = obj;
  bool ours = gc_obj_type(o) == GC_TYPE_RESOURCE
                  ? boehm_resource_check(c, (struct gc_resource *)o) == NULL
                  : o->gc_word == c->tag;
  if (!ours || gc_obj_type(o) == GC_TYPE_NONE ||
      gc_obj_type(o) >= c->types->count)
    return; /* another heap's, Boehm's own, or a free cell */
  census->objects++;
  census->bytes += gc_object_size(c->types, o);
}

static void *take_census_locked(void *data) {
  GC_enumerate_reachable_objects_inner(count_if_ours, data);
  return NULL;
}

static void take_census(struct gc_collector *c) {
  struct census census = {c, 0, 0};
  GC_call_with_alloc_lock(take_census_locked, &census);
  gc_note_live(c->heap, census.objects, census.bytes);
}

/* Collection statistics are kept by Boehm's collection events
 * (boehm-process.c), which also see the collections Boehm starts itself;
 * an explicit collection may also take the census. */
static void boehm_collect(struct gc_mutator *m) {
  if (unknown_thread(m, "gc_collect"))
    return;
  struct gc_collector *c = m->c;
  /* gc/ holds the heap lock. The heap's other threads wait at safepoints
   * meanwhile: the destructors run while no thread runs heap code, and the
   * census sees every allocation counted. */
  gc_stop_world(m->handle);
  GC_gcollect();
  /* First the destructors of what this collection found dead, so that the
   * census counts those resources as freed. */
  boehm_run_pending_destructors();
  if (c->census)
    take_census(c);
  gc_restart_world(m->handle);
}

/* ---- The table gc/ dispatches through ------------------------------------ */

const struct gc_collector_ops gc_boehm_collector = {
    .name = "boehm",
    .option_notes = "Boehm GC is one heap per process: heap-size grows it, "
                    "and the smallest max-heap-size of the live heaps "
                    "limits all of them",
    .create = boehm_create,
    .destroy = boehm_destroy,
    .attach = boehm_attach,
    .detach = boehm_detach,
    .allocate = boehm_allocate,
    .write_ref = NULL,
    .copy_refs = NULL,
    .fill_refs = NULL,
    .collect = boehm_collect,
    .check_ref = boehm_check_ref,
    .weak_init = boehm_weak_init,
    .weak_get = boehm_weak_get,
    .root_area = boehm_root_area,
};
