/* refcount-large.c — large objects (RC_LARGE_MIN bytes and more): a mapping
 * each, in gc/'s large-object space (gc/large-object-space.h), which also keeps
 * dead objects' mappings for reuse and, with verify=1, quarantines them.
 *
 * What is refcount's own: c->large_objects lets check_ref and rc_find_cell
 * recognise a large object in constant time; a new one is young like any
 * other (c->young_large); the reuse cache holds at most what the threads
 * may allocate between two points (rc_large_cache_limit), and what no
 * allocation reused in GC_LARGE_CACHE_MAX_IDLE points goes back to the
 * system (a program that replaces its big arrays: array-copy made 860
 * mmap/munmap pairs before the cache). The space's bytes count in
 * rc_heap_bytes, so the cache and the quarantine are under max-heap-size,
 * where the cache is the first to give up its room. */
#include "refcount.h"

bool rc_large_release_cache(struct gc_collector *c) {
  bool released = gc_large_release_cache(&c->large);
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
  return released;
}

struct gc_obj *rc_large_allocate(struct gc_collector *c, size_t cell_bytes) {
  size_t map_bytes = gc_large_mapping_bytes(cell_bytes);
  if (!map_bytes)
    return NULL;
  if (rc_table_reserve(&c->large_objects, 1) ||
      !gc_vector_reserve(&c->young_large, c->young_large.count + 1) ||
      rc_young_reserve(c, 1))
    return NULL;
  /* A cached mapping is already counted in the heap's bytes. */
  struct gc_obj *obj = gc_large_reuse(&c->large, cell_bytes);
  if (!obj) {
    if (rc_over_limit(c, map_bytes)) {
      rc_large_release_cache(c);
      if (rc_over_limit(c, map_bytes))
        return NULL;
    }
    obj = gc_large_map(&c->large, cell_bytes);
    if (!obj)
      return NULL;
  }
  *rc_table_upsert(&c->large_objects, obj) = 1;
  c->young_large.items[c->young_large.count++] = obj; /* reserved above */
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
  return obj;
}

void rc_large_release(struct gc_collector *c, struct gc_obj *obj) {
  rc_table_remove(&c->large_objects, obj);
  gc_large_retire(&c->large, obj, &c->quarantine, RC_QUARANTINE_LARGE_TAG,
                  rc_large_cache_limit(c));
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
}

void rc_large_collection_point_begins(struct gc_collector *c) {
  gc_large_age_cache(&c->large, GC_LARGE_CACHE_MAX_IDLE);
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
}

void rc_large_free_all(struct gc_collector *c) {
  gc_large_space_free(&c->large);
  rc_table_free(&c->large_objects);
}
