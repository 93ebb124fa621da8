/* refcount.h — what the files of the refcount collector share.
 *
 * The collector is deferred reference counting (Deutsch–Bobrow) of old
 * objects, with young objects traced instead of counted (Ulterior reference
 * counting, Blackburn–McKinley 2003) and synchronous cycle collection by
 * trial deletion (Bacon–Rajan 2001):
 *
 *   refcount.c             the story: barriers, collection points, the ZCT
 *   refcount-young.c       young objects: the trace, promotion, bulk sweep
 *   refcount-drain.c       the ZCT drain, at points and in drain pauses
 *   refcount-alloc.c       memory: size-classed blocks with bitmaps
 *   refcount-large.c       large objects, in gc/'s large-object space
 *   refcount-weak.c        weak references: per-target lists
 *   refcount-cycles.c      trial deletion over the candidate buffer
 *   refcount-threads.c     each thread's part, budgets, logging on and off
 *   refcount-stores.c      the barriers; with several threads, stores logged
 *   refcount-verify.c      verify=1: counts recomputed from scratch
 *   refcount-quarantine.c  verify=1: freed cells kept from reuse a while
 *   refcount-table.c       an open-addressing pointer map for side tables
 *   refcount-testing.c     hooks for the tests (gcheap_testing only)
 *
 * and two headers: refcount-block.h (blocks, size classes, cells) and
 * refcount-table.h (the map's interface).
 *
 * Invariant (between collection points, verify=1 checks it): the count of
 * every live object, young or old, equals the number of fields of *old*
 * objects that refer to it, with each LOGGED object's fields taken as its
 * log holds them (refcount-stores.c); young objects' fields are not counted.
 * Root slots are not counted; an old object whose count is zero is in the zero
 * count table (ZCT), where the next collection point frees it unless a root
 * slot holds it. Right after a collection point every object is old, so
 * every count is then the number of heap references to the object.
 */
#ifndef GC_REFCOUNT_H
#define GC_REFCOUNT_H

#include "collector-api.h"
#include "large-object-space.h"
#include "refcount-block.h"
#include "refcount-table.h"

#include <assert.h>

/* ---- The gc_word of every object ----------------------------------------
 *
 *   bits  0..20  the count; the value count_limit means "the count is in the
 *                overflow table" (exact, 64-bit), so counts never wrap
 *   bit  21      LOGGED: with several threads, a store into this old object
 *                since the last collection point copied its fields into a
 *                thread's log first (rc_log_object); later stores are plain
 *   bit  22      YOUNG: allocated since the last collection point, not yet
 *                promoted; its own fields are not counted (refcount-young.c)
 *   bit  23      REMEMBERED: young, and listed in c->remembered because a
 *                store into an old object counted it. On an old object in
 *                the ZCT, NEW_REFERRERS: its count comes only from objects
 *                promoted from the roots at this collection point, so it is
 *                on no cycle (rc_collect_young); the drain drops the entry
 *                without making it a candidate
 *   bits 24..25  the trial-deletion colour
 *   bit  26      BUFFERED: in the candidate buffer
 *   bit  27      IN_ZCT: in the zero count table
 *   bit  28      ROOTED: a root slot holds it (set during a collection only)
 *   bit  29      HAS_WEAK: weak references target it (see weak_heads)
 *   bit  30      ZOMBIE: freed while listed in the candidate buffer; the
 *                buffer's filter releases the cell
 *   bit  31      STICKY: the overflow table could not grow; the count field
 *                stays at count_limit, frozen, and the object is immortal
 *                (the documented fallback; it needs 2^21 references to one
 *                object and a failed malloc)
 */
#define RC_COUNT_BITS 21
#define RC_COUNT_MASK ((UINT32_C(1) << RC_COUNT_BITS) - 1)
#define RC_LOGGED (UINT32_C(1) << 21)
#define RC_YOUNG (UINT32_C(1) << 22)
#define RC_REMEMBERED (UINT32_C(1) << 23)
#define RC_NEW_REFERRERS RC_REMEMBERED /* old objects in the ZCT only */
#define RC_COLOR_SHIFT 24
#define RC_COLOR_MASK (UINT32_C(3) << RC_COLOR_SHIFT)
#define RC_BLACK (UINT32_C(0) << RC_COLOR_SHIFT) /* in use or free */
#define RC_GRAY                                                                \
  (UINT32_C(1) << RC_COLOR_SHIFT) /* possible member of a cycle                \
                                   */
#define RC_WHITE                                                               \
  (UINT32_C(2) << RC_COLOR_SHIFT) /* member of a garbage cycle                 \
                                   */
#define RC_PURPLE                                                              \
  (UINT32_C(3) << RC_COLOR_SHIFT) /* possible root of a cycle                  \
                                   */
#define RC_BUFFERED (UINT32_C(1) << 26)
#define RC_IN_ZCT (UINT32_C(1) << 27)
#define RC_ROOTED (UINT32_C(1) << 28)
#define RC_HAS_WEAK (UINT32_C(1) << 29)
#define RC_ZOMBIE (UINT32_C(1) << 30)
#define RC_STICKY (UINT32_C(1) << 31)

/* How far ahead loops over the ZCT and the candidate buffer prefetch. */
#define RC_PREFETCH_DISTANCE 32

/* The fewest candidates that start a cycle collection on their own. */
#define RC_MIN_CANDIDATES 10000
/* Cycles are also collected once this much has been allocated since the
 * last time with candidates waiting, so that a few candidates are not kept
 * forever; or more after an expensive run: this many bytes per object it
 * visited (rc_collect_cycles). */
#define RC_CYCLE_BYTES ((uint64_t)32 << 20)
#define RC_CYCLE_BYTES_PER_VISIT 64
/* Trial deletion at an allocation's collection point starts no new
 * candidate once it has visited this many objects (a few milliseconds);
 * the rest of the buffer waits for the next point. gc_collect takes the
 * whole buffer. */
#define RC_CYCLE_WORK_BUDGET ((size_t)1 << 18)

/* ---- The collector ------------------------------------------------------- */

/* One attached thread's part of the collector. Its allocators and budget
 * are its own; everything else it reaches under the heap lock. */
struct gc_mutator {
  struct gc_collector *c;
  gc_heap *handle;
  struct rc_allocator alloc[RC_NCLASSES];
  /* Bytes the thread may allocate before it asks the heap for more: the
   * handle's published cell_budget, which gcheap.h's inline allocation
   * takes from too. */
  int64_t *budget;
  /* With several threads: the old objects this thread logged since the
   * last collection point, each followed by the values of its reference
   * fields before the first store (rc_log_object). */
  struct gc_obj_vector log;
  /* A large object the thread allocated under the heap lock, its header
   * set, that gc_large_prepare must make ready once the lock is let go
   * (rc_allocate_slow, allocate_slow). */
  struct gc_obj *unready_large;
  struct gc_mutator *next; /* in c->mutators */
};

/* verify=1's scratch (refcount-verify.c), kept from one collection point
 * to the next so that it is not allocated again each time: one number per
 * cell of every block, the blocks in chunk order (the true count, and when
 * a wrong one is reported, the visited mark of the walk from the roots),
 * and a table for the large objects, which are few. */
struct rc_verify_scratch {
  struct GC_VECTOR(size_t) chunk_first; /* per chunk: its first block's index */
  struct GC_VECTOR(size_t) block_first; /* per block: its first cell's index */
  struct GC_VECTOR(uint32_t) cells;
  struct rc_table large;
};

struct gc_collector {
  gc_heap *heap;
  const struct gc_options *options;
  const struct gc_type_registry *types;
  struct rc_class classes[RC_NCLASSES];
  /* The attached threads, under the heap lock. */
  struct gc_mutator *mutators;
  uint32_t nmutators;
  /* Stores into old objects are logged, not counted at once: set while
   * several threads are attached, and changed only with the world stopped
   * (rc_attach, rc_collection_point). */
  bool logging;
  /* A thread's log could not grow: the store went ahead unlogged, and the
   * next collection point recounts every object (rc_recount_all). */
  bool log_overflowed;
  /* Logs of threads that detached since the last collection point. */
  struct gc_obj_vector orphan_log;
  /* One thread: a bulk copy or fill logged cards of a large array since
   * the last collection point, so a store into an old large array looks
   * at its card's bit (refcount-stores.c). */
  bool cards_logged_alone;

  /* Allocation bytes the heap may still hand to its threads' budgets
   * before the next collection point (under the heap lock). */
  int64_t budget_left;
  int64_t budget_reset; /* per thread: the allocation between points */
  int64_t budget_total; /* budget_left as the last collection point set it */
  /* Drain pauses still due before the next collection point (refcount.c):
   * one comes each time budget_left runs out and hands it a share of the
   * budget held back; each frees at most drain_pause_owed objects. */
  uint32_t drain_pauses_due;
  int64_t budget_held;
  uint64_t drain_pause_owed;
  uint64_t drain_pauses; /* for tests */
  /* During a drain pause: the old objects young ones refer to, marked
   * RC_ROOTED. */
  struct gc_obj_vector young_held;
  /* Weak references allocated whose weak_init has not run yet: their
   * room in the weak side tables is reserved. */
  size_t weak_inits_pending;
  /* The stored count value that means "see the overflow table". */
  uint32_t count_limit;
  bool verify;

  /* Zero count table: objects whose count fell to (or started at) zero.
   * An entry may have gained a count since; the collection point drops it
   * then. zct_overflowed: a push failed for lack of memory, so the next
   * collection point scans the heap for zero counts instead. */
  struct gc_obj_vector zct;
  struct gc_obj_vector zct_kept; /* scratch: entries a root slot holds */
  /* rc_drain_zct: references of freed objects, each a decrement not yet made
   * (an allocation's collection point may stop with some left). */
  struct gc_obj_vector dead_children;
  bool zct_overflowed;
  /* Objects an allocation's collection point or a drain pause frees at
   * most, if a test set it (else the bound its caller gives rc_drain_zct). */
  uint64_t drain_work_budget;

  /* Candidate buffer of trial deletion: objects decremented to nonzero. */
  struct gc_obj_vector candidates;
  bool candidates_overflowed; /* a push failed: scan the heap for purple */
  size_t candidates_filtered; /* buffer length after the last full filter */
  size_t candidate_limit;     /* this many candidates run the cycle collector */
  uint64_t bytes_since_cycles;
  uint64_t cycle_bytes;     /* so much allocation runs it with any candidate */
  size_t cycle_work_budget; /* RC_CYCLE_WORK_BUDGET (tests set it lower) */
  /* A pass over the buffer stopped at the budget: the next collection
   * point goes on with it, and cycle_pass_visited adds up its work. */
  bool cycles_pending;
  size_t cycle_pass_visited;
  uint64_t cycle_runs_cut; /* runs that stopped at the budget, for tests */
  uint64_t cycle_runs_before_drained; /* runs with a drain unfinished, same */
  /* Scratch stack of the cycle collector and verify. */
  struct gc_obj_vector work;

  /* Side tables. */
  struct rc_table overflow_counts; /* obj -> exact count beyond the field */
  struct rc_table weak_heads;      /* target -> first weak object */
  struct rc_table large_objects;   /* obj -> 1: lets check_ref find them */
  struct rc_verify_scratch verify_scratch; /* verify=1 (refcount-verify.c) */
  /* Objects of RC_LARGE_MIN bytes and more, their reuse cache and (verify=1)
   * their quarantine: gc/'s large-object space (refcount-large.c). */
  struct gc_large_space large;
  /* verify=1: freed cells and large objects kept from reuse
   * (refcount-quarantine.c). */
  struct gc_quarantine quarantine;

  /* Young objects (refcount-young.c): allocated since the last collection
   * point. young_path, young_next: the promotion search's path and the next
   * field of each object on it, their capacity kept at least young_cells (cells
   * claimed plus large objects since then) by rc_young_reserve, so that the
   * search never runs out of room. remembered: young objects that a store
   * into an old object counted. The side lists name the young objects
   * whose death needs more than a free bit. */
  struct gc_obj_vector young_path, young_next;
  bool promoting_from_roots; /* the search's second phase (NEW_REFERRERS) */
  size_t young_cells;
  struct gc_obj_vector remembered;
  bool remembered_overflowed; /* a push failed: scan every young cell */
  struct gc_obj_vector young_resources;
  bool resources_allocated; /* teardown looks for destructors to run */
  struct gc_obj_vector young_weaks;
  struct gc_obj_vector young_weak_targets;
  struct gc_obj_vector young_large;
  struct rc_block *young_blocks; /* linked through next_young */

  /* Memory. */
  struct rc_block *blocks;
  struct rc_chunks GC_VECTOR(struct rc_chunk) chunks;
  uint64_t block_bytes; /* carved blocks (rc_heap_bytes adds large ones) */
  /* Of block_bytes, the pages of RC_BLOCK_RELEASED blocks (not resident);
   * and how many times a block was released, for the tests. */
  uint64_t released_bytes, blocks_released;
  /* Old (promoted) objects and their bytes; young ones are counted by
   * gc/ as allocated, and at each collection point these become the live
   * totals (gc_note_live). */
  uint64_t live_objects, live_bytes;
  bool in_collection;

#ifdef GCHEAP_TESTING
  bool test_decrement_first; /* refcount-testing.c */
#endif
};

/* A weak reference's cell: the public struct gc_weak, then this collector's
 * links among the weak references of the same target. */
struct rc_weak {
  struct gc_weak weak;
  struct rc_weak *next, *prev;
};

/* ---- Counts -------------------------------------------------------------- */

void rc_increment_slow(struct gc_collector *c, struct gc_obj *obj);
void rc_decrement_slow(struct gc_collector *c, struct gc_obj *obj);
void rc_became_zero(struct gc_collector *c, struct gc_obj *obj);
void rc_became_candidate(struct gc_collector *c, struct gc_obj *obj);

/* One more heap reference to obj. Clears the colour to black, as trial
 * deletion requires of every increment. */
static inline void rc_increment(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t w = obj->gc_word;
  if (GC_LIKELY((w & RC_COUNT_MASK) + 1 < c->count_limit)) {
    obj->gc_word = (w + 1) & ~RC_COLOR_MASK;
    return;
  }
  rc_increment_slow(c, obj);
}

/* obj's count has just reached zero (w: its gc_word now). An old object
 * goes into the ZCT; one already there loses the NEW_REFERRERS mark, since
 * the referrers it promised about are gone. A young obj is left to the
 * next collection point's trace. */
static inline void rc_count_reached_zero(struct gc_collector *c,
                                         struct gc_obj *obj, uint32_t w) {
  if (!(w & (RC_IN_ZCT | RC_YOUNG)))
    rc_became_zero(c, obj);
  else if (!(w & RC_YOUNG))
    obj->gc_word = w & ~RC_NEW_REFERRERS;
}

/* One heap reference to obj fewer: a zero count queues obj in the ZCT, a
 * nonzero one makes obj a candidate root of a garbage cycle. A young obj
 * is neither: the next collection point's trace decides its fate. */
static inline void rc_decrement(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t w = obj->gc_word;
  uint32_t count = w & RC_COUNT_MASK;
  if (GC_UNLIKELY(count == c->count_limit)) { /* overflowed or sticky */
    rc_decrement_slow(c, obj);
    return;
  }
  assert(count > 0);
  w--;
  obj->gc_word = w;
  if (count == 1) {
    rc_count_reached_zero(c, obj, w);
  } else if ((w & RC_COLOR_MASK) != RC_PURPLE) {
    rc_became_candidate(c, obj);
  }
}

/* The exact count (reading the overflow table if need be). */
uint64_t rc_count(struct gc_collector *c, struct gc_obj *obj);
/* Adds delta (+1 or -1) to the count of obj without any other effect: the
 * cycle collector's trial decrements and their undoing. */
void rc_trial_adjust(struct gc_collector *c, struct gc_obj *obj, int delta);

static inline uint32_t rc_color(struct gc_obj *obj) {
  return obj->gc_word & RC_COLOR_MASK;
}
static inline void rc_set_color(struct gc_obj *obj, uint32_t color) {
  obj->gc_word = (obj->gc_word & ~RC_COLOR_MASK) | color;
}

/* The reference fields of obj, as GC_FOR_EACH_REF_SLOT visits them. */
static inline size_t rc_ref_slot_count(const struct gc_type_registry *types,
                                       struct gc_obj *obj) {
  const struct gc_type_info *t = gc_type_info_of(types, obj);
  if (t->shape == GC_SHAPE_STRUCT)
    return t->nrefs;
  if (t->shape == GC_SHAPE_ARRAY && t->elem == GC_KIND_REF)
    return ((struct gc_array *)obj)->length;
  return 0;
}

/* False for objects that cannot be part of a cycle: no reference fields. */
static inline bool rc_may_cycle(const struct gc_type_registry *types,
                                struct gc_obj *obj) {
  const struct gc_type_info *t = gc_type_info_of(types, obj);
  return t->shape == GC_SHAPE_STRUCT
             ? t->nrefs != 0
             : t->shape == GC_SHAPE_ARRAY && t->elem == GC_KIND_REF;
}

/* ---- Between the files --------------------------------------------------- */

/* The heap's mapped bytes: blocks and large objects (live, cached and
 * quarantined), under max-heap-size. */
static inline uint64_t rc_heap_bytes(const struct gc_collector *c) {
  return c->block_bytes + gc_large_mapped_bytes(&c->large);
}

/* refcount-alloc.c */
void rc_alloc_free_all(struct gc_collector *c);
/* gc_collect: gives back the pages of the blocks that stayed wholly free
 * since the last gc_collect, while the resident heap is well over its
 * target (they stay mapped, and read as zero). */
void rc_alloc_release_empty_blocks(struct gc_collector *c);
/* Gives back the unused rest of every thread's bump runs, so that every
 * claimed cell holds an object (the heap walks and the sweep rely on it).
 * World stopped (or one thread). */
void rc_alloc_retire_runs(struct gc_collector *c);
/* m's thread detaches (heap lock held): its runs go back, its current
 * blocks to their classes' partial lists. */
void rc_alloc_detach(struct gc_mutator *m);
/* Frees every cell still marked young (dead: the trace did not reach it),
 * a bitmap word at a time; returns how many. */
uint64_t rc_alloc_sweep_young(struct gc_collector *c);
/* A cell from m's allocators, a new block or a large mapping, after a full
 * collection if need be; heap lock held. NULL after an OOM trap. For an
 * object of a user type the lock may be let go and taken again meanwhile
 * (fault_in_next_block); for a resource or weak reference it is kept, as
 * the caller made room in the shared lists for it (reserve_builtin). */
struct gc_obj *rc_allocate_slow(struct gc_mutator *m, uint32_t type_word,
                                size_t cell_bytes);
/* The size classes' cell sizes, once per heap. */
void rc_alloc_init(struct gc_collector *c);
/* A new thread's allocators: its runs are its handle's published ones. */
void rc_alloc_init_mutator(struct gc_mutator *m);
/* Bytes of obj's cell: its size, plus the links of a weak reference. */
static inline size_t rc_cell_bytes(const struct gc_type_registry *types,
                                   struct gc_obj *obj) {
  size_t bytes = gc_object_size(types, obj);
  return gc_obj_type(obj) == GC_TYPE_WEAK ? sizeof(struct rc_weak) : bytes;
}
/* Returns the cell of a dead object to its free list or to the system. */
void rc_release_cell(struct gc_collector *c, struct gc_obj *obj);
/* Returns cell index of block to the free set (and its class's partial
 * list): the cell is poisoned with verify=1, else its header type is 0. */
void rc_alloc_free_cell(struct gc_collector *c, struct rc_block *block,
                        uint32_t index);
/* True if max-heap-size leaves no room for more bytes. */
bool rc_over_limit(struct gc_collector *c, size_t more);

/* refcount-large.c */
/* A large object's cell, reused from the cache or freshly mapped, listed
 * as young; its header is zero, and gc_large_prepare makes the rest ready.
 * NULL if the limit, memory or the system says no. */
struct gc_obj *rc_large_allocate(struct gc_collector *c, size_t cell_bytes);
/* A dead large object: to the quarantine (verify=1), the cache, or the
 * system. */
void rc_large_release(struct gc_collector *c, struct gc_obj *obj);
/* Unmaps every cached mapping; false if there was none. */
bool rc_large_release_cache(struct gc_collector *c);
/* At each collection point's start: unmaps what the cache kept unused for
 * GC_LARGE_CACHE_MAX_IDLE points. */
void rc_large_collection_point_begins(struct gc_collector *c);
/* How much of the large-object cache refcount keeps: what the threads may
 * allocate between two collection points (one budget per attached thread),
 * no less (gc/large-object-space.h), in mappings: the budget counts an
 * object's bytes, and its mapping rounds them up to whole pages, by up to
 * half for the smallest large objects (8200 bytes, 12 KiB). With the budget
 * alone, 128 KiB arrays (132 KiB mappings) did not fit, and 3 % of them
 * were unmapped and mapped again (large-arrays 1 took 4x the time). */
static inline uint64_t rc_large_cache_limit(const struct gc_collector *c) {
  return (uint64_t)c->budget_total + (uint64_t)c->budget_total / 2;
}
/* Teardown: unmaps every large object and the cache. */
void rc_large_free_all(struct gc_collector *c);
/* Calls fn on every allocated object (zombies included). fn may free the
 * object it is given. */
void rc_for_each_object(struct gc_collector *c,
                        void (*fn)(struct gc_collector *, struct gc_obj *,
                                   void *),
                        void *ctx);
/* Where an object may start at p: RC_AT_CELL (on a cell boundary of a
 * block; whether the cell is allocated is the caller's question) or
 * RC_AT_LARGE (a live large object); else -1 with why filled. */
enum { RC_AT_CELL = 0, RC_AT_LARGE = 1 };
int rc_find_cell(struct gc_collector *c, const void *p, char *why,
                 size_t whylen);
/* The index in c->chunks of the chunk whose blocks hold p, or -1. Inline:
 * verify=1 asks it for every reference it checks. */
static inline long rc_chunk_index(const struct gc_collector *c, const void *p) {
  const char *at = p;
  for (size_t i = 0; i < c->chunks.count; i++) {
    const struct rc_chunk *chunk = &c->chunks.items[i];
    if (at >= chunk->blocks &&
        at < chunk->blocks + chunk->nblocks * RC_BLOCK_BYTES)
      return (long)i;
  }
  return -1;
}

/* refcount-weak.c */
/* gc/'s weak_init: links weak into target's list. */
void rc_weak_init(struct gc_mutator *m, struct gc_weak *weak, gc_ref target);
/* Unlinks a weak reference from its target's list; clears every weak
 * reference to target (which is dying). */
void rc_unlink_weak(struct gc_collector *c, struct rc_weak *w);
void rc_clear_weaks_of(struct gc_collector *c, struct gc_obj *target);

/* refcount.c */
extern const struct gc_collector_ops gc_refcount_collector;
enum rc_free_mode { RC_FREE_DECREMENT_CHILDREN, RC_FREE_KEEP_CHILDREN };
void rc_free_object(struct gc_collector *c, struct gc_obj *obj,
                    enum rc_free_mode mode);
void rc_collection_point(struct gc_collector *c, bool run_cycles);

/* refcount-cycles.c */
/* Trial deletion from the buffered candidates: all of them if complete,
 * else as many as RC_CYCLE_WORK_BUDGET allows (at least one). */
void rc_collect_cycles(struct gc_collector *c, bool complete);
/* Filters the buffer entries from index from on: releases zombies, drops
 * objects no longer purple. */
void rc_filter_candidates(struct gc_collector *c, size_t from);

/* refcount-young.c */
/* Room for the promotion search to reach cells more young objects; -1 if
 * memory ran out (the allocation fails). */
int rc_young_reserve(struct gc_collector *c, size_t cells);
/* A store into an old object counted young obj: list it, so that the next
 * collection point's trace starts from it if its count is still nonzero. */
void rc_remember(struct gc_collector *c, struct gc_obj *obj);
/* The count of a reference stored into an old object. */
static inline void rc_increment_stored(struct gc_collector *c,
                                       struct gc_obj *obj) {
  if (GC_UNLIKELY((obj->gc_word & (RC_YOUNG | RC_REMEMBERED)) == RC_YOUNG))
    rc_remember(c, obj);
  rc_increment(c, obj);
}
/* The young objects' part of a collection point: traces them from the
 * roots and from the remembered ones, promotes what it reaches (counting
 * its fields, making a candidate of each cycle among them, listing those
 * only roots hold in the ZCT) and frees the rest in bulk. */
void rc_collect_young(struct gc_collector *c);
/* Calls fn on every young cell, live or dead (the cells of the threads'
 * runs given back first), until fn returns false; false if it did. */
bool rc_for_each_young_object(struct gc_collector *c,
                              bool (*fn)(struct gc_collector *c,
                                         struct gc_obj *obj));
/* Releases the young side lists at teardown. */
void rc_young_free(struct gc_collector *c);

/* refcount-quarantine.c (verify=1) */
/* Quarantine entries: a cell's address, or a large object's header address
 * with this tag. */
#define RC_QUARANTINE_LARGE_TAG 1
/* Holds a dead small object's poisoned cell, or a dead large object's
 * mapping, away from reuse; false if the quarantine has no room for it
 * (the caller frees it at once). */
bool rc_quarantine_cell(struct gc_collector *c, struct rc_block *block,
                        uint32_t index);
/* Releases the oldest entries until the quarantine is within its limit;
 * at the end of every collection point. */
void rc_quarantine_trim(struct gc_collector *c);
/* Releases every entry: before an OOM trap. False if it was empty. */
bool rc_quarantine_give_way(struct gc_collector *c);
/* Teardown: releases every entry and frees the ring and the bitmaps. */
void rc_quarantine_free(struct gc_collector *c);

/* refcount-verify.c */
int rc_verify_heap(struct gc_collector *c, const char *when);
/* Teardown: frees verify=1's scratch. */
void rc_verify_free(struct gc_collector *c);
int rc_check_ref(struct gc_collector *c, gc_ref ref, char *why, size_t whylen);

/* refcount-threads.c */
/* Asks for a collection point at the next allocation of any thread: with
 * the world stopped, or from the only thread. */
void rc_request_collection_point(struct gc_collector *c);
/* What the threads may allocate until the next collection point:
 * budget_reset per attached thread. */
void rc_reset_budget(struct gc_collector *c);
/* refcount-drain.c */
/* gc_visit_roots visitors: RC_ROOTED on and off each root slot's object. */
void rc_mark_rooted(gc_ref *slot, void *ctx);
void rc_clear_rooted(gc_ref *slot, void *ctx);
/* Frees the ZCT's dead entries and what they alone held, all of them
 * (full) or at most max_frees; true if nothing is left but entries a root
 * holds. Roots are marked (rc_mark_rooted). */
bool rc_drain_zct(struct gc_collector *c, bool full, uint64_t max_frees);
/* A pause that only drains, at most max_frees objects, while young
 * objects exist (refcount.c: when), and hands the threads the next share
 * of the budget held back. Heap lock held. */
void rc_drain_pause(struct gc_collector *c, uint64_t max_frees);
/* Heap lock held: m's thread takes a slice of what the heap may still
 * allocate before the next collection point; its budget stays negative if
 * nothing is left. */
void rc_take_budget(struct gc_mutator *m);
/* What the threads allocated since the last collection point (world
 * stopped). */
uint64_t rc_budget_spent(struct gc_collector *c);
/* At a collection point, logs applied: with one thread left, stores count
 * at once again. */
void rc_stop_logging_if_alone(struct gc_collector *c);
struct gc_mutator *rc_attach(struct gc_collector *c, gc_heap *handle, char *err,
                             size_t errlen);
void rc_detach(struct gc_mutator *m);

/* refcount-stores.c: the barriers (gc/'s write_ref, copy_refs, fill_refs) */
void rc_write_ref(struct gc_mutator *m, struct gc_obj *obj, gc_ref *slot,
                  gc_ref v);
void rc_copy_refs(struct gc_mutator *m, struct gc_obj *dst_obj, gc_ref *dst,
                  const gc_ref *src, size_t n);
void rc_fill_refs(struct gc_mutator *m, struct gc_obj *obj, gc_ref *dst,
                  size_t n, gc_ref v);
/* Before the first store into slots [first, first + n) of old obj since the
 * last collection point, from m's thread: copies obj's reference fields
 * into m's log and sets LOGGED; for a large reference array, only the
 * cards the slots lie in, each marked in the array's card bits. */
void rc_log_slots(struct gc_mutator *m, struct gc_obj *obj, gc_ref *first,
                  size_t n);

/* A reference array of RC_LARGE_MIN bytes or more is logged by cards of
 * RC_CARD_ELEMENTS elements, not whole: a store into one element of a
 * million-element array would otherwise copy all of it, and count two
 * million values at the collection point. Its card bits (one per card, set
 * while the card is logged) follow its elements in its mapping; it is
 * never LOGGED, so every store into it comes to the barrier. */
#define RC_CARD_ELEMENTS 128
/* True for an object of type t and bytes bytes (its cell, without the card
 * bits): a large reference array. */
static inline bool rc_type_has_cards(const struct gc_type_info *t,
                                     size_t bytes) {
  return t->shape == GC_SHAPE_ARRAY && t->elem == GC_KIND_REF &&
         bytes >= RC_LARGE_MIN;
}
static inline bool rc_has_cards(const struct gc_type_registry *types,
                                struct gc_obj *obj) {
  return rc_type_has_cards(gc_type_info_of(types, obj),
                           gc_object_size(types, obj));
}
/* Bytes of card bits for an array of length elements (whole words). */
static inline size_t rc_card_bytes(uint64_t length) {
  uint64_t cards = (length + RC_CARD_ELEMENTS - 1) / RC_CARD_ELEMENTS;
  return (size_t)((cards + 63) / 64 * 8);
}
static inline uint64_t *rc_card_bits(const struct gc_type_registry *types,
                                     struct gc_obj *obj) {
  return (uint64_t *)((char *)obj + gc_object_size(types, obj));
}
/* At a collection point, world stopped: every logged object's fields are
 * counted, its logged values uncounted (increments first), and LOGGED
 * cleared; or, after a log overflowed, every count is recomputed. */
void rc_apply_logs(struct gc_collector *c);

#endif /* GC_REFCOUNT_H */
