/* large-object-space.h — objects too big for a collector's blocks, each in
 * a mapping of its own, shared by the collectors that have such objects
 * (tracing, refcount); Whippet's large-object space is the model.
 *
 * A large object is never moved or copied. The space keeps three lists:
 *   live        the objects the program may still reach; the collector
 *               decides which die (tracing by its marks, refcount by its
 *               counts) and retires them;
 *   cache       dead objects' mappings, kept in case a new object of about
 *               the same size comes: a program that replaces its big arrays
 *               then reuses mappings instead of paying mmap, munmap and a
 *               page fault per 4 KiB each time (array-copy made 860
 *               mmap/munmap pairs before the cache). The collector bounds
 *               it by what the program may allocate between two
 *               collections, no less, and gives back what stayed unused for
 *               a few collections (gc_large_age_cache) or everything
 *               (gc_large_release_cache): a mapping given back too soon is
 *               one the program maps again, and each munmap flushes the TLB
 *               of every core the process runs on;
 *   quarantined verify=1 only: dead objects held poisoned, so that a stale
 *               reference to one is reported (gc/verify.c's quarantine).
 * A fresh mapping of up to 256 KiB is backed by the system at once, in one
 * call rather than a page fault per 4 KiB, and a reused one is zeroed: both
 * in gc_large_prepare, which the allocating thread calls with the heap lock
 * let go (zeroing 128 KiB under it, two threads replacing big arrays
 * spent most of their time waiting for each other).
 * All three count in gc_large_mapped_bytes, which a collector adds to its
 * heap size, so the cache and the quarantine are under max-heap-size; the
 * collector empties the cache (and the quarantine) before it traps OOM.
 * The released cache and, at teardown, every list go back to the system in
 * runs of adjacent mappings, one munmap each.
 *
 * With verify=1 a cached mapping's object area is poisoned, and the poison
 * is checked when the mapping is reused: a write after free traps
 * INVARIANT. */
#ifndef GC_LARGE_OBJECT_SPACE_H
#define GC_LARGE_OBJECT_SPACE_H

#include "collector-api.h"

/* A large object's mapping: this header, then the object. */
struct gc_large_object {
  struct gc_large_object *prev, *next;
  size_t map_bytes;    /* the whole mapping */
  size_t object_bytes; /* the object's, as allocated */
  uint32_t idle;       /* cached: collections since it was cached */
  bool reused; /* live: its mapping came from the cache (gc_large_prepare) */
};

struct gc_large_space {
  gc_heap *heap; /* for INVARIANT traps */
  bool verify;
  struct gc_large_object *live, *cache, *quarantined;
  uint64_t live_bytes, cache_bytes, quarantined_bytes; /* mapping bytes */
};

static inline struct gc_obj *gc_large_object(struct gc_large_object *large) {
  return (struct gc_obj *)(large + 1);
}
static inline struct gc_large_object *gc_large_header(struct gc_obj *obj) {
  return (struct gc_large_object *)obj - 1;
}
static inline uint64_t gc_large_mapped_bytes(const struct gc_large_space *s) {
  return s->live_bytes + s->cache_bytes + s->quarantined_bytes;
}

void gc_large_space_init(struct gc_large_space *s, gc_heap *heap, bool verify);
/* The mapping an object of object_bytes needs; 0 if that overflows. */
size_t gc_large_mapping_bytes(size_t object_bytes);
/* An object of object_bytes, now live, in a cached mapping of its size to
 * a quarter more, or NULL if there is none. Its header is zero, the rest
 * is what the dead object left: gc_large_prepare zeroes it. */
struct gc_obj *gc_large_reuse(struct gc_large_space *s, size_t object_bytes);
/* The same in a fresh mapping, all zero (gc_large_prepare backs it);
 * NULL if the system refuses it. */
struct gc_obj *gc_large_map(struct gc_large_space *s, size_t object_bytes);
/* Makes the rest of a new object from gc_large_reuse or gc_large_map
 * ready for use, before the allocation returns it: zeroes a reused
 * mapping, backs a fresh one. Needs no lock, and its thread calls it with
 * the heap lock let go: no other thread has the object, and no collection
 * can look into it before its thread next reaches a safepoint, after the
 * object is ready. */
void gc_large_prepare(struct gc_obj *obj);
/* A dead object leaves the live list: into the quarantine (verify=1, while
 * it has room), else the cache while the cache stays within cache_limit
 * bytes, else back to the system. */
void gc_large_retire(struct gc_large_space *s, struct gc_obj *obj,
                     struct gc_quarantine *quarantine, uintptr_t tag,
                     uint64_t cache_limit);
/* The quarantine lets a retired object go (its entry, tag removed): the
 * poison is checked, then the mapping goes to the cache or the system as
 * in gc_large_retire. Returns its mapping bytes. */
size_t gc_large_leave_quarantine(struct gc_large_space *s,
                                 struct gc_large_object *large,
                                 uint64_t cache_limit);
/* Unmaps every cached mapping; true if there was one. */
bool gc_large_release_cache(struct gc_large_space *s);
/* At each collection: unmaps the cached mappings that no allocation
 * reused in the last max_idle collections. The collectors pass
 * GC_LARGE_CACHE_MAX_IDLE. */
#define GC_LARGE_CACHE_MAX_IDLE 4
void gc_large_age_cache(struct gc_large_space *s, uint64_t max_idle);
/* Teardown: unmaps everything (the quarantine's ring is the caller's). */
void gc_large_space_free(struct gc_large_space *s);

/* verify=1 lookups (linear in the number of large objects). The live
 * object at addr (exact) or containing it, or NULL. */
struct gc_large_object *gc_large_find(const struct gc_large_space *s,
                                      const void *addr, bool exact);
/* What check_ref says of an address in a quarantined object, or NULL. */
const char *gc_large_quarantined_reason(const struct gc_large_space *s,
                                        const void *addr);

#endif /* GC_LARGE_OBJECT_SPACE_H */
