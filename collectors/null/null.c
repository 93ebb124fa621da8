/* null.c — the null collector: one arena reserved up front, bump allocation,
 * nothing ever freed. It shows what allocation costs with no collection at
 * all, and gives a clean out-of-memory trap when the arena is full. It is
 * not a floor on time: every byte it hands out is fresh memory the kernel
 * must fault in and zero, which is why the arena asks for huge pages.
 *
 * Threads: each thread bumps in a region of its own (REGION_BYTES, or one
 * object's size for a larger object), carved from the arena with one
 * atomic compare-and-swap; the fast path takes no lock.
 *
 * Invariant: the arena is a sequence of regions, each listed in c->regions
 * with its used end; objects lie back to back in [start, used), each a
 * well-formed object whose size gc_object_size gives. So the arena can be
 * walked, which is how heap teardown finds the resources whose destructors
 * must run. With verify=1 a side bitmap (one bit per 8-byte granule, set at
 * allocation) marks where objects start, so that check_ref tells an object
 * from an interior or wild pointer in constant time. Regions are multiples
 * of REGION_ALIGN, so each word of the bitmap belongs to one region, hence
 * to one thread. */
#include "collector-api.h"

#define DEFAULT_ARENA_BYTES (UINT64_C(256) << 20)
#define REGION_BYTES ((size_t)64 << 10)
/* 64 granules: one word of the verify bitmap. */
#define REGION_ALIGN ((size_t)512)

struct region {
  char *start, *used;
};

struct gc_mutator {
  /* The thread's region: the handle's own (gc_handle_inline), so that
   * gcheap.h's inline allocation bumps it too. */
  struct gc_inline_bump *bump;
  struct gc_collector *c;
  gc_heap *handle;
  size_t region; /* its index in c->regions */
};

struct gc_collector {
  gc_heap *heap;
  const struct gc_options *options;
  const struct gc_type_registry *types;
  char *arena;
  char *next;  /* where the next region starts: compare-and-swap */
  char *limit; /* arena + arena_bytes */
  size_t arena_bytes;
  uint64_t *starts; /* verify=1: bit g set if an object starts at granule g */
  size_t starts_bytes;
  /* Every region carved, in any order; under the heap lock. */
  struct region_list GC_VECTOR(struct region) regions;
};

/* An arena of bytes aligned to a huge page, asking the kernel to back it
 * with huge pages after its first (GC_SMALL_PAGES_FIRST): every allocation
 * touches fresh memory, and with 4 KiB pages null spent more time in page
 * faults than tracing spends in total (GCBench: 0.7 s of system time). A
 * hint only: where the kernel has no huge page at hand it falls back to
 * small ones. */
static char *map_arena(size_t bytes) {
  return gc_sys_map_aligned(bytes, GC_HUGE_PAGE_BYTES, GC_SMALL_PAGES_FIRST);
}

static struct gc_collector *null_create(const struct gc_collector_env *env,
                                        char *err, size_t errlen) {
  gc_heap *heap = env->heap;
  const struct gc_options *options = env->options;
  struct gc_collector *c = gc_sys_calloc(1, sizeof *c);
  /* The arena is max-heap-size; without one, 256M or heap-size if larger
   * (the initial heap must fit: gc_heap_new refuses heap-size above a
   * given max-heap-size). */
  uint64_t arena_bytes = options->max_heap_size;
  if (!arena_bytes)
    arena_bytes = options->heap_size > DEFAULT_ARENA_BYTES
                      ? options->heap_size
                      : DEFAULT_ARENA_BYTES;
  size_t bytes = (size_t)arena_bytes;
  bytes = gc_round_to_page(bytes);
  char *arena = c ? map_arena(bytes) : NULL;
  if (!arena) {
    char size[32];
    snprintf(err, errlen, "null: cannot reserve an arena of %s bytes",
             gc_format_size(bytes, size, sizeof size));
    gc_sys_free(c);
    return NULL;
  }
  if (options->verify) {
    /* Reserved, not touched: only the pages of used granules get memory. */
    c->starts_bytes = bytes / 8 / 8;
    c->starts = gc_sys_map(c->starts_bytes);
    if (!c->starts) {
      snprintf(err, errlen, "null: no memory for the verify bitmap");
      gc_sys_unmap(arena, bytes);
      gc_sys_free(c);
      return NULL;
    }
  }
  c->heap = heap;
  c->options = options;
  c->types = env->types;
  c->arena = c->next = arena;
  c->limit = arena + bytes;
  c->arena_bytes = bytes;
  return c;
}

/* Calls fn on every object in the arena, region by region. Every mutator
 * has detached, so each region's used end is final. */
static void for_each_object(struct gc_collector *c,
                            void (*fn)(struct gc_collector *,
                                       struct gc_obj *)) {
  for (size_t r = 0; r < c->regions.count; r++) {
    for (char *p = c->regions.items[r].start; p < c->regions.items[r].used;) {
      struct gc_obj *obj = (struct gc_obj *)p;
      p += gc_object_size(c->types, obj);
      fn(c, obj);
    }
  }
}

static void destroy_if_resource(struct gc_collector *c, struct gc_obj *obj) {
  if (gc_obj_type(obj) == GC_TYPE_RESOURCE)
    gc_run_destructor(c->heap, (struct gc_resource *)obj);
}

static void null_destroy(struct gc_collector *c) {
  for_each_object(c, destroy_if_resource);
  gc_sys_unmap(c->arena, c->arena_bytes);
  gc_sys_unmap(c->starts, c->starts_bytes);
  gc_vector_free(&c->regions);
  gc_sys_free(c);
}

static struct gc_mutator *null_attach(struct gc_collector *c, gc_heap *handle,
                                      char *err, size_t errlen) {
  struct gc_mutator *m = gc_sys_calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "null: no memory for a thread's region");
    return NULL;
  }
  m->c = c;
  m->handle = handle;
  m->bump = &gc_handle_inline(handle)->bump;
  m->region = SIZE_MAX; /* none yet */
  return m;
}

/* The region's used end, final once the thread moves on. Heap lock held. */
static void retire_region(struct gc_mutator *m) {
  if (m->region != SIZE_MAX)
    m->c->regions.items[m->region].used = m->bump->cursor;
  m->region = SIZE_MAX;
  m->bump->cursor = m->bump->limit = NULL;
}

static void null_detach(struct gc_mutator *m) {
  retire_region(m);
  gc_sys_free(m);
}

/* [start, start + bytes) of the arena for one thread, or NULL when it is
 * full. Threads carve at the same time: a compare-and-swap on c->next. */
static char *carve(struct gc_collector *c, size_t bytes) {
  char *start = __atomic_load_n(&c->next, __ATOMIC_RELAXED);
  do {
    if (bytes > (size_t)(c->limit - start))
      return NULL;
  } while (!__atomic_compare_exchange_n(&c->next, &start, start + bytes, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return start;
}

/* obj's header and, with verify=1, its start bit. Atomic: check_ref on
 * another thread may read the word. */
static inline struct gc_obj *place(struct gc_collector *c, char *p,
                                   uint32_t type_word) {
  struct gc_obj *obj = (struct gc_obj *)p;
  obj->type_word = type_word;
  if (GC_UNLIKELY(c->starts != NULL)) {
    size_t granule = (size_t)(p - c->arena) / 8;
    __atomic_fetch_or(&c->starts[granule / 64], UINT64_C(1) << (granule % 64),
                      __ATOMIC_RELAXED);
  }
  return obj;
}

/* Lists a new region of bytes, or returns NULL if the arena is full. An
 * object above a quarter of REGION_BYTES gets a region of its own (used
 * whole at once); a smaller one, a new region for the thread. */
static char *new_region(struct gc_mutator *m, size_t bytes) {
  struct gc_collector *c = m->c;
  bool own = bytes > REGION_BYTES / 4;
  size_t region_bytes =
      own ? (bytes + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1) : REGION_BYTES;
  gc_heap_lock(m->handle);
  char *start = NULL;
  if (gc_vector_reserve(&c->regions, c->regions.count + 1))
    start = carve(c, region_bytes);
  if (start && own) {
    c->regions.items[c->regions.count++] =
        (struct region){start, start + bytes};
  } else if (start) {
    retire_region(m);
    m->region = c->regions.count;
    c->regions.items[c->regions.count++] = (struct region){start, start};
    m->bump->cursor = start;
    m->bump->limit = start + region_bytes;
  }
  if (start)
    gc_note_heap_bytes(c->heap, (uint64_t)(GC_ATOMIC_LOAD(c->next) - c->arena));
  gc_heap_unlock(m->handle);
  /* The arena's first 2 MiB are on small pages (GC_SMALL_PAGES_FIRST): a
   * thread's region there is backed whole in one call, as the thread goes
   * on to fill it, rather than a page fault per page
   * (gc/large-object-space.c: why that matters). 15 pairs each: cycles
   * 0.74x the time, weak 0.88x, resources 0.97x, binary-trees 16 0.99x. Not
   * an object's own region: it holds one object of any size, which may be
   * written only in places. */
  if (start && !own && (size_t)(start - c->arena) < GC_SMALL_PAGES_FIRST)
    gc_sys_populate(start, region_bytes);
  return start;
}

/* A new region, then the allocation; or an OOM trap. */
static __attribute__((noinline)) struct gc_obj *
null_allocate_slow(struct gc_mutator *m, uint32_t type_word, size_t bytes) {
  struct gc_collector *c = m->c;
  char *start = new_region(m, bytes);
  if (start && bytes > REGION_BYTES / 4)
    return place(c, start, type_word);
  if (start) {
    m->bump->cursor += bytes;
    return place(c, start, type_word);
  }
  /* Both figures in bytes: gc_format_size writes a round arena as "256M"
   * and a used count as bytes, which read as different units side by side. */
  char arena[32];
  gc_trap_raise(
      m->handle, GC_TRAP_OOM,
      "out of memory: %zu bytes requested, %llu of the arena's %llu bytes "
      "used (max-heap-size=%s); raise it with -C max-heap-size=SIZE",
      bytes, (unsigned long long)(GC_ATOMIC_LOAD(c->next) - c->arena),
      (unsigned long long)c->arena_bytes,
      gc_format_size(c->arena_bytes, arena, sizeof arena));
  return NULL;
}

/* The fast path: fresh mmap memory is already zero, and nothing is reused. */
static struct gc_obj *null_allocate(struct gc_mutator *m, uint32_t type_word,
                                    size_t bytes) {
  if (GC_UNLIKELY(bytes > (size_t)(m->bump->limit - m->bump->cursor)))
    return null_allocate_slow(m, type_word, bytes);
  char *p = m->bump->cursor;
  m->bump->cursor = p + bytes;
  return place(m->c, p, type_word);
}

static void null_collect(struct gc_mutator *m) {
  gc_pause_end(m->handle, gc_pause_begin(m->handle));
}

static int null_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                          size_t whylen) {
  char *p = (char *)ref;
  if (p < c->arena || p >= GC_ATOMIC_LOAD(c->next)) {
    snprintf(why, whylen, "outside the null collector's allocated arena");
    return -1;
  }
  size_t granule = (size_t)(p - c->arena) / 8;
  if (!(GC_ATOMIC_LOAD(c->starts[granule / 64]) >> (granule % 64) & 1)) {
    snprintf(why, whylen, "not on an object boundary");
    return -1;
  }
  return 0;
}

const struct gc_collector_ops gc_null_collector = {
    .name = "null",
    .option_notes = "max-heap-size is the arena, reserved at once (0: 256M, "
                    "or heap-size if larger); nothing is ever freed",
    .create = null_create,
    .destroy = null_destroy,
    .attach = null_attach,
    .detach = null_detach,
    .allocate = null_allocate,
    .collect = null_collect,
    .check_ref = null_check_ref,
};
