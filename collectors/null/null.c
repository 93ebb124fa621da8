/* null.c — the null collector: one arena reserved up front, bump allocation,
 * nothing ever freed. It shows what allocation costs with no collection at
 * all, and gives a clean out-of-memory trap when the arena is full. It is
 * not a floor on time: every byte it hands out is fresh memory the kernel
 * must fault in and zero, which is why the arena asks for huge pages.
 *
 * Invariant: objects lie back to back in [arena, next), each a well-formed
 * object whose size gc_object_size gives; so the arena can be walked, which
 * is how heap teardown finds the resources whose destructors must run.
 * With verify=1 a side bitmap (one bit per 8-byte granule, set at
 * allocation) marks where objects start, so that check_ref tells an object
 * from an interior or wild pointer in constant time. */
#include "collector-api.h"

#define DEFAULT_ARENA_BYTES (UINT64_C(256) << 20)

struct gc_collector {
  gc_heap *heap;
  const struct gc_options *options;
  const struct gc_type_registry *types;
  char *arena;
  char *next;  /* the bump pointer */
  char *limit; /* arena + arena_bytes */
  size_t arena_bytes;
  uint64_t *starts; /* verify=1: bit g set if an object starts at granule g */
  size_t starts_bytes;
};

/* An arena of bytes aligned to a huge page, asking the kernel to back it
 * with huge pages: every allocation touches fresh memory, and with 4 KiB
 * pages null spent more time in page faults than tracing spends in total
 * (GCBench: 0.7 s of system time). A hint only: where the kernel has no
 * huge page at hand it falls back to small ones. */
static char *map_arena(size_t bytes) {
  return gc_sys_map_aligned(bytes, GC_HUGE_PAGE_BYTES, true);
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

/* Calls fn on every object in the arena, in allocation order. */
static void for_each_object(struct gc_collector *c,
                            void (*fn)(struct gc_collector *,
                                       struct gc_obj *)) {
  for (char *p = c->arena; p < c->next;) {
    struct gc_obj *obj = (struct gc_obj *)p;
    p += gc_object_size(c->types, obj);
    fn(c, obj);
  }
}

static void destroy_if_resource(struct gc_collector *c, struct gc_obj *obj) {
  if (obj->type == GC_TYPE_RESOURCE)
    gc_run_destructor(c->heap, (struct gc_resource *)obj);
}

static void null_destroy(struct gc_collector *c) {
  for_each_object(c, destroy_if_resource);
  gc_sys_unmap(c->arena, c->arena_bytes);
  gc_sys_unmap(c->starts, c->starts_bytes);
  gc_sys_free(c);
}

static struct gc_obj *null_allocate_slow(struct gc_collector *c, size_t bytes) {
  char arena[32], used[32];
  gc_trap_raise(
      c->heap, GC_TRAP_OOM,
      "out of memory: %zu bytes requested, %s of the %s arena used; raise "
      "it with -C max-heap-size=SIZE",
      bytes, gc_format_size((uint64_t)(c->next - c->arena), used, sizeof used),
      gc_format_size(c->arena_bytes, arena, sizeof arena));
  return NULL;
}

/* The fast path: fresh mmap memory is already zero, and nothing is reused. */
static inline struct gc_obj *null_allocate(struct gc_collector *c,
                                           uint32_t type, size_t bytes) {
  if (GC_UNLIKELY(bytes > (size_t)(c->limit - c->next)))
    return null_allocate_slow(c, bytes);
  struct gc_obj *obj = (struct gc_obj *)c->next;
  c->next += bytes;
  obj->type = type;
  if (GC_UNLIKELY(c->starts != NULL)) {
    size_t granule = (size_t)((char *)obj - c->arena) / 8;
    gc_bit_set(c->starts, granule);
  }
  gc_note_heap_bytes(c->heap, (uint64_t)(c->next - c->arena));
  return obj;
}

static void null_collect(struct gc_collector *c) {
  gc_pause_end(c->heap, gc_pause_begin(c->heap));
}

static int null_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                          size_t whylen) {
  char *p = (char *)ref;
  if (p < c->arena || p >= c->next) {
    snprintf(why, whylen, "outside the null collector's allocated arena");
    return -1;
  }
  size_t granule = (size_t)(p - c->arena) / 8;
  if (!gc_bit_test(c->starts, granule)) {
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
    .allocate = null_allocate,
    .collect = null_collect,
    .check_ref = null_check_ref,
};
