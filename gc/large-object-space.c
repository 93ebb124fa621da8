/* large-object-space.c — see large-object-space.h. */
#include "large-object-space.h"

#include <stdlib.h>

static void link_into(struct gc_large_object **list,
                      struct gc_large_object *large) {
  large->prev = NULL;
  large->next = *list;
  if (large->next)
    large->next->prev = large;
  *list = large;
}

static void unlink_from(struct gc_large_object **list,
                        struct gc_large_object *large) {
  if (large->prev)
    large->prev->next = large->next;
  else
    *list = large->next;
  if (large->next)
    large->next->prev = large->prev;
}

static char *object_area(struct gc_large_object *large) {
  return (char *)gc_large_object(large);
}

void gc_large_space_init(struct gc_large_space *s, gc_heap *heap, bool verify) {
  memset(s, 0, sizeof *s);
  s->heap = heap;
  s->verify = verify;
}

size_t gc_large_mapping_bytes(size_t object_bytes) {
  if (object_bytes > SIZE_MAX - sizeof(struct gc_large_object) - GC_PAGE_BYTES)
    return 0;
  return gc_round_to_page(sizeof(struct gc_large_object) + object_bytes);
}

static struct gc_obj *make_live(struct gc_large_space *s,
                                struct gc_large_object *large,
                                size_t object_bytes, bool reused) {
  large->object_bytes = object_bytes;
  large->reused = reused;
  link_into(&s->live, large);
  s->live_bytes += large->map_bytes;
  return gc_large_object(large);
}

/* verify=1: a cached mapping must still hold its poison. */
static bool poison_intact(struct gc_large_space *s,
                          struct gc_large_object *large) {
  long bad = gc_poison_check(object_area(large), large->object_bytes);
  if (bad < 0)
    return true;
  gc_trap_raise(s->heap, GC_TRAP_INVARIANT,
                "%p: freed large object of %zu bytes was written after it was "
                "freed (poison broken at byte %ld) before its mapping was "
                "reused",
                (void *)object_area(large), large->object_bytes, bad);
  return false;
}

struct gc_obj *gc_large_reuse(struct gc_large_space *s, size_t object_bytes) {
  size_t map_bytes = gc_large_mapping_bytes(object_bytes);
  for (struct gc_large_object *large = s->cache; large; large = large->next) {
    if (large->map_bytes < map_bytes ||
        large->map_bytes - map_bytes > map_bytes / 4)
      continue;
    if (s->verify && !poison_intact(s, large))
      continue; /* left in the cache, reported once: unmapped with it */
    unlink_from(&s->cache, large);
    s->cache_bytes -= large->map_bytes;
    memset(object_area(large), 0, sizeof(struct gc_obj));
    return make_live(s, large, object_bytes, true);
  }
  return NULL;
}

/* Fresh mappings up to this size are backed at once (gc_sys_populate, in
 * gc_large_prepare).
 * A program writes most of the objects it makes, and each 4 KiB page it
 * first writes costs a page fault, on this project's virtual machine more
 * than ten microseconds: faults were a third of refcount's array-copy
 * samples (perf), 1,764 of its 4,450 in fresh arrays. One call per mapping
 * instead: array-copy (arrays of 36 KiB) took 0.87x the time with tracing
 * and 0.86x with refcount (21 pairs, every one below 1), at the same peak
 * RSS; with arrays of 9 KiB and of 132 KiB, 0.83-0.95x; collect-often,
 * which writes every buffer it makes, 0.95x and 1.01x.
 * Larger objects keep the faults: a big array written only in places (a
 * sparse table, spare capacity) then costs only the pages written, where
 * backing it whole would commit all of it. */
#define POPULATE_UP_TO_BYTES ((size_t)256 << 10)

struct gc_obj *gc_large_map(struct gc_large_space *s, size_t object_bytes) {
  size_t map_bytes = gc_large_mapping_bytes(object_bytes);
  struct gc_large_object *large = map_bytes ? gc_sys_map(map_bytes) : NULL;
  if (!large)
    return NULL;
  large->map_bytes = map_bytes;
  return make_live(s, large, object_bytes, false);
}

void gc_large_prepare(struct gc_obj *obj) {
  struct gc_large_object *large = gc_large_header(obj);
  if (large->reused)
    memset(obj + 1, 0, large->object_bytes - sizeof *obj);
  else if (large->map_bytes <= POPULATE_UP_TO_BYTES)
    gc_sys_populate(large, large->map_bytes);
}

/* An unlinked dead mapping: to the cache if it fits under cache_limit,
 * else unmapped. */
static void cache_or_unmap(struct gc_large_space *s,
                           struct gc_large_object *large,
                           uint64_t cache_limit) {
  if (s->cache_bytes + large->map_bytes > cache_limit) {
    gc_sys_unmap(large, large->map_bytes);
    return;
  }
  if (s->verify)
    gc_poison(object_area(large), large->object_bytes);
  large->idle = 0;
  link_into(&s->cache, large);
  s->cache_bytes += large->map_bytes;
}

void gc_large_retire(struct gc_large_space *s, struct gc_obj *obj,
                     struct gc_quarantine *quarantine, uintptr_t tag,
                     uint64_t cache_limit) {
  struct gc_large_object *large = gc_large_header(obj);
  unlink_from(&s->live, large);
  s->live_bytes -= large->map_bytes;
  if (s->verify && quarantine &&
      gc_quarantine_push(quarantine, (uintptr_t)large | tag,
                         large->map_bytes)) {
    gc_poison(object_area(large), large->object_bytes);
    link_into(&s->quarantined, large);
    s->quarantined_bytes += large->map_bytes;
    return;
  }
  cache_or_unmap(s, large, cache_limit);
}

size_t gc_large_leave_quarantine(struct gc_large_space *s,
                                 struct gc_large_object *large,
                                 uint64_t cache_limit) {
  size_t bytes = large->map_bytes;
  gc_quarantine_check_poison(s->heap, object_area(large), large->object_bytes);
  unlink_from(&s->quarantined, large);
  s->quarantined_bytes -= bytes;
  cache_or_unmap(s, large, cache_limit);
  return bytes;
}

static void unmap_list(struct gc_large_object **list) {
  while (*list) {
    struct gc_large_object *large = *list;
    *list = large->next;
    gc_sys_unmap(large, large->map_bytes);
  }
}

static int by_address(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (struct gc_large_object *const *)a;
  uintptr_t y = (uintptr_t) * (struct gc_large_object *const *)b;
  return (x > y) - (x < y);
}

/* Unmaps every mapping on the lists and empties them. One munmap per
 * mapping was most of what tearing a heap of large objects down cost: on
 * this project's virtual machine each call took tens of microseconds (its
 * TLB flush), and refcount's array-copy ended with 271 of them. The kernel
 * tends to place consecutive mappings side by side, so sorted by address
 * the mappings form a few runs, each given back in one call (271 mappings
 * in 8 there). Without memory for the sort, one call each. */
static void unmap_lists(struct gc_large_object **lists[], size_t nlists) {
  size_t n = 0;
  for (size_t k = 0; k < nlists; k++)
    for (struct gc_large_object *l = *lists[k]; l; l = l->next)
      n++;
  struct gc_large_object **sorted =
      n > 1 ? gc_sys_malloc(n * sizeof *sorted) : NULL;
  if (!sorted) {
    for (size_t k = 0; k < nlists; k++)
      unmap_list(lists[k]);
    return;
  }
  size_t i = 0;
  for (size_t k = 0; k < nlists; k++) {
    for (struct gc_large_object *l = *lists[k]; l; l = l->next)
      sorted[i++] = l;
    *lists[k] = NULL;
  }
  qsort(sorted, n, sizeof *sorted, by_address);
  for (i = 0; i < n;) {
    char *start = (char *)sorted[i];
    size_t bytes = 0;
    do /* each header is read before its run is unmapped */
      bytes += sorted[i++]->map_bytes;
    while (i < n && (char *)sorted[i] == start + bytes);
    gc_sys_unmap(start, bytes);
  }
  gc_sys_free(sorted);
}

bool gc_large_release_cache(struct gc_large_space *s) {
  bool released = s->cache != NULL;
  unmap_lists((struct gc_large_object **[]){&s->cache}, 1);
  s->cache_bytes = 0;
  return released;
}

void gc_large_age_cache(struct gc_large_space *s, uint64_t max_idle) {
  struct gc_large_object *idle = NULL;
  for (struct gc_large_object *large = s->cache, *next; large; large = next) {
    next = large->next;
    if (++large->idle <= max_idle)
      continue;
    unlink_from(&s->cache, large);
    s->cache_bytes -= large->map_bytes;
    link_into(&idle, large);
  }
  unmap_lists((struct gc_large_object **[]){&idle}, 1);
}

void gc_large_space_free(struct gc_large_space *s) {
  unmap_lists(
      (struct gc_large_object **[]){&s->live, &s->cache, &s->quarantined}, 3);
  s->live_bytes = s->cache_bytes = s->quarantined_bytes = 0;
}

static bool inside(const struct gc_large_object *large, const void *addr) {
  return (const char *)addr >= (const char *)large &&
         (const char *)addr < (const char *)large + large->map_bytes;
}

struct gc_large_object *gc_large_find(const struct gc_large_space *s,
                                      const void *addr, bool exact) {
  for (struct gc_large_object *large = s->live; large; large = large->next)
    if (exact ? addr == (const void *)gc_large_object(large)
              : inside(large, addr))
      return large;
  return NULL;
}

const char *gc_large_quarantined_reason(const struct gc_large_space *s,
                                        const void *addr) {
  for (struct gc_large_object *large = s->quarantined; large;
       large = large->next)
    if (inside(large, addr))
      return addr == (const void *)gc_large_object(large)
                 ? "a freed large object (poisoned, held in quarantine)"
                 : "inside a freed large object (held in quarantine)";
  return NULL;
}
