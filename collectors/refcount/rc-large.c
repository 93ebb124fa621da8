/* rc-large.c — large objects (RC_LARGE_MIN bytes and more): a mapping each.
 *
 * A large object's mapping holds a struct rc_large (the links of
 * c->large_list, every large object, for heap walks) and then the object;
 * c->large_objects lets check_ref recognise one.
 *
 * When a large object dies its mapping is not unmapped at once: it waits
 * in a cache until the end of the next collection point, in case a new
 * large object of about its size comes (a program that replaces its big
 * arrays: array-copy made 860 mmap/munmap pairs, and on this kind of VM a
 * fresh mapping's page faults cost more than zeroing a reused one). The
 * cache holds at most one allocation budget of mappings, counts in
 * heap_bytes (so under max-heap-size, where it is the first to give up its
 * room), and what no allocation reused by the next collection point goes
 * back to the system then. With verify=1 a dead large object goes to the
 * quarantine first (rc-quarantine.c), which hands its mapping to the cache
 * when it lets go (`array-copy 2000` with verify=1 made 3975 mmap / 3963
 * munmap calls when the quarantine unmapped them, 1075 / 1063 since). */
#include "refcount.h"

static void link_large(struct rc_large **list, struct rc_large *large) {
  large->prev = NULL;
  large->next = *list;
  if (large->next)
    large->next->prev = large;
  *list = large;
}

static void unlink_large(struct rc_large **list, struct rc_large *large) {
  if (large->prev)
    large->prev->next = large->next;
  else
    *list = large->next;
  if (large->next)
    large->next->prev = large->prev;
}

static void unmap_large(struct gc_collector *c, struct rc_large *large) {
  c->heap_bytes -= large->map_bytes;
  gc_sys_unmap(large, large->map_bytes);
}

/* A cached mapping of map_bytes to a quarter more, off the cache, or NULL. */
static struct rc_large *take_cached(struct gc_collector *c, size_t map_bytes) {
  for (struct rc_large *large = c->large_cache; large; large = large->next) {
    if (large->map_bytes < map_bytes ||
        large->map_bytes - map_bytes > map_bytes / 4)
      continue;
    unlink_large(&c->large_cache, large);
    c->large_cache_bytes -= large->map_bytes;
    return large;
  }
  return NULL;
}

bool rc_large_release_cache(struct gc_collector *c) {
  bool released = c->large_cache != NULL;
  while (c->large_cache) {
    struct rc_large *large = c->large_cache;
    unlink_large(&c->large_cache, large);
    c->large_cache_bytes -= large->map_bytes;
    unmap_large(c, large);
  }
  gc_note_heap_bytes(c->heap, c->heap_bytes);
  return released;
}

struct gc_obj *rc_large_allocate(struct gc_collector *c, size_t cell_bytes) {
  size_t map_bytes = gc_round_to_page(sizeof(struct rc_large) + cell_bytes);
  if (map_bytes < cell_bytes)
    return NULL;
  if (rc_table_reserve(&c->large_objects, 1) ||
      !gc_vector_reserve(&c->young_large, c->young_large.count + 1) ||
      rc_young_reserve(c, 1))
    return NULL;
  struct rc_large *large = take_cached(c, map_bytes);
  if (large) {
    memset(large + 1, 0, cell_bytes); /* the caller expects zero */
  } else {
    if (rc_over_limit(c, map_bytes)) {
      rc_large_release_cache(c);
      if (rc_over_limit(c, map_bytes))
        return NULL;
    }
    large = gc_sys_map(map_bytes);
    if (!large)
      return NULL;
    large->map_bytes = map_bytes;
    c->heap_bytes += map_bytes;
  }
  link_large(&c->large_list, large);
  struct gc_obj *obj = (struct gc_obj *)(large + 1);
  *rc_table_upsert(&c->large_objects, obj) = 1;
  c->young_large.items[c->young_large.count++] = obj; /* reserved above */
  gc_note_heap_bytes(c->heap, c->heap_bytes);
  return obj;
}

void rc_alloc_unlink_large(struct gc_collector *c, struct rc_large *large) {
  rc_table_remove(&c->large_objects, large + 1);
  unlink_large(&c->large_list, large);
}

void rc_large_release(struct gc_collector *c, struct gc_obj *obj) {
  struct rc_large *large = (struct rc_large *)obj - 1;
  rc_alloc_unlink_large(c, large);
  if (c->verify && rc_quarantine_large(c, large))
    return;
  if (!rc_large_cache_mapping(c, large)) {
    unmap_large(c, large);
    gc_note_heap_bytes(c->heap, c->heap_bytes);
  }
}

bool rc_large_cache_mapping(struct gc_collector *c, struct rc_large *large) {
  if (c->large_cache_bytes + large->map_bytes > (uint64_t)c->budget_reset)
    return false;
  link_large(&c->large_cache, large);
  c->large_cache_bytes += large->map_bytes;
  return true;
}

void rc_large_collection_point_begins(struct gc_collector *c) {
  rc_large_release_cache(c); /* what no allocation reused since the last */
}

void rc_large_free_all(struct gc_collector *c) {
  rc_large_release_cache(c);
  while (c->large_list) {
    struct rc_large *large = c->large_list;
    unlink_large(&c->large_list, large);
    unmap_large(c, large);
  }
  rc_table_free(&c->large_objects);
}
