/* tracing.h — the tracing collector's internal story, shared by its files.
 *
 * Design: a non-moving mark-region collector in the style of Immix, with
 * generations by sticky mark bits (see tracing-collect.c and the write barrier
 * in tracing.c).
 *
 *   - Memory comes from the system in CHUNKs (2 MiB, CHUNK-aligned). The
 *     first blocks of each chunk hold its metadata: one mark byte per LINE,
 *     the block states, and (verify=1 only) an object-start bitmap and a
 *     poisoned-line bitmap. The other blocks hold objects.
 *   - A BLOCK (32 KiB) is 256 LINEs of 128 bytes. Objects are bump-allocated
 *     into "holes": runs of lines that held no live object at the last
 *     collection. Objects larger than a line that do not fit the current
 *     hole go to a separate bump region in a wholly free block ("medium"),
 *     and objects larger than LARGE_THRESHOLD get their own mapping (the
 *     large-object space, LOS), so huge arrays are never copied or scanned
 *     for holes.
 *   - Threads: each attached thread allocates in regions of its own
 *     (struct gc_mutator): its current hole, medium block and block, taken
 *     under the heap lock (a block it filled before the last collection
 *     first, then one of the shared walk's), then bumped without one.
 *     Its write barrier keeps its own remembered list. A collection stops
 *     the world (gc_pause_begin) and drops every thread's regions.
 *   - Marking is precise, from gc_visit_roots, with an explicit mark stack.
 *     An object's mark is its header's gc_word == the current epoch, so
 *     marks never need clearing; a full collection starts a new epoch, a
 *     minor one keeps it (marked objects are old and not traced again). Marking
 * an object also marks every line it spans (line mark byte == the line epoch).
 * Reference arrays are scanned in slices so that a 10-million-element array
 * needs a small stack.
 *   - Sweeping is per line, not per object: a block's free lines are the
 *     ones whose mark is stale. Dead objects are never read again, except
 *     the resources and weak references, which live on side lists and are
 *     processed right after marking, before any memory can be reused.
 *
 * Invariants:
 *   I1. Between collections, every byte of a hole the allocator has not yet
 *       handed out is zero (verify=1: poisoned instead, checked on reuse).
 *   I2. A line holding any part of a live object is marked at every
 *       collection that finds the object live; so a hole never overlaps a
 *       live object.
 *   I3. Every resource whose destructor has not run is on c->resources;
 *       every weak reference object not known dead is on c->weaks.
 *   I4. Between collections, a marked (old) object holds no reference to
 *       an unmarked (young) object: the write barrier unmarks an old object
 *       that receives one and puts it on its thread's remembered list (or
 *       c->remembered, once that thread detached), which a minor collection
 *       traces from (if a list cannot grow, c->next_major). Two threads may
 *       store into the same old object at once: the unmarking is a
 *       compare-and-swap, so exactly one of them remembers it.
 *   I5. A block in state BLOCK_TAKEN belongs to one thread's region until
 *       the next collection; only that thread reads or writes its holes.
 */
#ifndef GC_TRACING_H
#define GC_TRACING_H

#include "collector-api.h"
#include "large-object-space.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define LINE_BITS 7
#define LINE_SIZE (1u << LINE_BITS)
#define BLOCK_BITS 15
#define BLOCK_SIZE (1u << BLOCK_BITS)
#define CHUNK_BITS 21
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define LINES_PER_BLOCK (BLOCK_SIZE / LINE_SIZE)
#define LINES_PER_CHUNK (CHUNK_SIZE / LINE_SIZE)
#define BLOCKS_PER_CHUNK (CHUNK_SIZE / BLOCK_SIZE)
/* Objects above this size live in the large-object space. */
#define LARGE_THRESHOLD (BLOCK_SIZE / 4)
/* verify=1 object-start bitmap: one bit per 8-byte granule. */
#define GRANULES_PER_CHUNK (CHUNK_SIZE / 8)

enum block_state {
  BLOCK_FREE,       /* no marked line: wholly reusable */
  BLOCK_RECYCLABLE, /* some free lines */
  BLOCK_FULL,       /* no free line (or too few to bother) */
  BLOCK_TAKEN,      /* an allocator is filling it until the next collection */
  BLOCK_UNUSED,     /* past max-heap-size when the chunk was mapped: never
                       touched, not counted in the heap */
};

struct chunk {
  /* Line marks of the whole chunk (those of block 0 are unused). */
  uint8_t line_mark[LINES_PER_CHUNK];
  uint8_t block_state[BLOCKS_PER_CHUNK];
  /* 1 while a block is as the system gave it: zero, never touched. */
  uint8_t block_pristine[BLOCKS_PER_CHUNK];
  /* The id of the thread (struct gc_mutator) that last took the block for
   * small objects, 0 for none: a thread looks for holes in its own blocks
   * first (tracing-alloc.c, next_hole). */
  uint8_t block_owner[BLOCKS_PER_CHUNK];
  struct chunk *next;
  uint32_t enabled_blocks; /* object blocks not BLOCK_UNUSED */
  bool small_pages;        /* mapped without the huge-page hint */
  /* verify=1 only: which granules start an object (allocated and not found
   * dead), and which lines are poisoned and not handed out since. */
  uint64_t object_start[GC_BITMAP_WORDS(GRANULES_PER_CHUNK)];
  uint64_t line_poisoned[GC_BITMAP_WORDS(LINES_PER_CHUNK)];
  /* verify=1 only: freed lines held in the quarantine (tracing-quarantine.c);
   * the allocators treat them as marked. */
  uint64_t line_quarantined[GC_BITMAP_WORDS(LINES_PER_CHUNK)];
};
/* The first blocks of every chunk hold its metadata. */
#define FIRST_OBJECT_BLOCK                                                     \
  ((uint32_t)((sizeof(struct chunk) + BLOCK_SIZE - 1) / BLOCK_SIZE))
#define USABLE_CHUNK_BYTES                                                     \
  ((BLOCKS_PER_CHUNK - FIRST_OBJECT_BLOCK) * BLOCK_SIZE)

/* The mark stack's entries (tracing-mark.c): an object pointer, or an
 * array continuation of two words, the index where it goes on (shifted,
 * tagged MARK_INDEX) below the array (tagged MARK_CONTINUATION). */
#define MARK_CONTINUATION 1
#define MARK_INDEX 2
struct mark_stack GC_VECTOR(uintptr_t);
/* What a parallel mark moves between markers (tracing-parallel.c): the
 * references one marker found to another's objects. */
#define PACKET_ENTRIES 512
struct mark_packet {
  size_t count;
  uintptr_t entries[PACKET_ENTRIES];
};
/* The collecting thread calls helpers only while it holds more entries
 * than this; an outbox goes to a waiting owner once it holds this many. */
#define SHARE_MIN 16
/* gc-threads' largest value. */
#define MAX_MARKERS 64
/* Objects the collecting thread marks alone before it calls helpers
 * (c->parallel_after; the test build's default is 4096). Helpers pay only on
 * large marks: they take tens of microseconds to wake, and each time one runs
 * out of work it sleeps and is woken again. On this machine (2 cores), with
 * helpers from 4096 objects on, two markers took 1.2x the time per object
 * of one alone on GCBench's marks of 131,000 to 330,000 objects (6.4-6.9
 * ns against 5.4-5.6), and 0.55-0.75x on large-live's of 1 to 8 million
 * (4.0-4.7 ns against 6.0-7.2). */
#define PARALLEL_AFTER (UINT64_C(1) << 18)

/* One thread's marking: the collecting thread's, or a helper's. */
struct marker {
  struct gc_collector *c;
  struct mark_stack *stack; /* the collector's, or own_stack */
  struct mark_stack own_stack;
  uint64_t marked_objects, marked_bytes;
  bool failed; /* the stack could not grow: the collection is void */
  /* In a parallel mark: this marker's number (the collecting thread's is
   * 0), and for each other marker the packet of references to its objects
   * being filled (NULL until the first). */
  uint32_t id;
  struct mark_packet *outbox[MAX_MARKERS];
  /* In a parallel mark: when this marker joined it, the objects it had
   * marked then, and the time it has waited for work since (Shares). */
  uint64_t joined_ns, left_ns, objects_before, waited_ns;
};

/* A parallel mark divides the heap between its markers in this many
 * slots, by a hash of each block's number (marker_of). */
#define OWNER_SLOTS 256

/* The marker that owns the object at addr in a parallel mark
 * (tracing-parallel.c, O1): the owner of its block's slot, by a hash of the
 * block's number, so that consecutive blocks go to different markers. A
 * large object's block is that of its address too. owner_of_slot gives
 * each marker a number of slots in proportion to its speed in the marks
 * before (tracing-parallel.c, "Shares"). */
static inline uint32_t marker_of(uintptr_t addr,
                                 const uint8_t owner_of_slot[OWNER_SLOTS]) {
  uint32_t hash = (uint32_t)(addr >> BLOCK_BITS) * UINT32_C(0x9e3779b9);
  return owner_of_slot[hash >> 24];
}
struct mark_pool;

/* One thread's allocation regions and barrier buffer. */
struct gc_mutator {
  /* The small-object region: the handle's own (gc_handle_inline), so that
   * gcheap.h's inline allocation bumps it too. */
  struct gc_inline_bump *small;
  struct gc_collector *c;
  gc_heap *handle;
  struct gc_inline_bump medium;
  struct gc_inline_bump verify_small; /* verify=1: small objects, one by one */
  /* The block small holes come from (I5); small_line is the next line to
   * examine in it. NULL: none. */
  struct chunk *small_chunk;
  uint32_t small_block, small_line;
  /* 1..255 (ids repeat past 255 threads: they only steer where a thread
   * looks first), and its walk of the blocks it owns, under the heap lock. */
  uint8_t id;
  struct chunk *own_walk_chunk;
  uint32_t own_walk_block;
  /* A hole or medium block taken under the heap lock and not yet zeroed
   * (or poisoned): tracing-alloc.c prepares it once the lock is dropped. */
  struct {
    char *start, *end;
    bool pristine;
  } claimed;
  /* Old objects this thread's stores unmarked (I4). */
  struct gc_obj_vector remembered;
  struct gc_mutator *next; /* in c->mutators */
};

struct gc_collector {
  gc_heap *heap;
  const struct gc_type_registry *types; /* read by every mark */
  const struct gc_options *options;
  bool verify;
  struct gc_mutator *mutators; /* attached threads; under the heap lock */
  uint32_t mutators_attached;  /* ever, for their ids */

  /* Where the allocators look for their next block: the shared walks,
   * under the heap lock. */
  struct chunk *small_chunk, *medium_chunk;
  uint32_t small_block, medium_block;

  struct chunk *chunks;
  uint64_t block_bytes; /* enabled object blocks of all chunks */
  /* Objects above LARGE_THRESHOLD, their reuse cache and (verify=1) their
   * quarantine: gc/'s large-object space. */
  struct gc_large_space large;
  /* verify=1: freed lines and large objects kept from reuse
   * (tracing-quarantine.c). */
  struct gc_quarantine quarantine;

  /* Marking. */
  uint32_t epoch;     /* object mark: gc_word == epoch */
  uint8_t line_epoch; /* line mark: line_mark == line_epoch (1..255) */
  struct mark_stack mark_stack; /* the collecting thread's */
  struct mark_pool *pool;       /* gc-threads > 1, once needed */
  uint64_t parallel_marks;      /* collections whose mark had helpers */
  uint64_t parallel_after;      /* PARALLEL_AFTER, or a test's value */
  uint64_t marked_objects, marked_bytes;

  /* Heap sizing, in bytes of object space (the policy: tracing-sizing.c). */
  uint64_t used_bytes;         /* live at the last collection + taken since:
                                  a thread adds a block's free lines when it
                                  takes the block, not each hole (a shared
                                  counter per hole bounced its cache line
                                  between two threads' cores) */
  uint64_t target_bytes;       /* collect when used_bytes would pass this */
  struct heap_sizing {         /* tracing-sizing.c */
    double allocation_rate;    /* bytes per second of mutator time */
    double collection_speed;   /* live bytes per second of a full pause */
    uint64_t live_after_major; /* L: what the last full collection kept */
    uint64_t used_after;       /* used_bytes as the last collection left it */
    uint64_t last_end_ns;      /* when it ended */
    bool frozen; /* tests: the rates are gc_tracing_test_set_rates's */
  } sizing;
  uint64_t min_target; /* heap-size option or the default */
  uint64_t max_bytes;  /* max-heap-size, 0 = none */
  uint64_t peak_mapped;
  bool collecting;

  struct gc_obj_vector resources, weaks;

  /* Generations by sticky marks (tracing-collect.c): a marked object stays
   * marked between collections, so it is old; a minor collection keeps the
   * epoch and traces only from the roots and the remembered set. */
  struct gc_obj_vector
      remembered;  /* remembered by threads that detached since */
  bool next_major; /* the next collection must be full */
  uint64_t old_objects, old_bytes; /* marked objects, for the stats */
  uint64_t remembered_objects, remembered_bytes; /* of this collection */

  /* Test-only hooks (tracing-testing.h). */
#ifdef GCHEAP_TESTING
  void (*after_mark_hook)(gc_heap *heap, void *ud);
  void *after_mark_ud;
  uint32_t test_slow_marker; /* a helper's id, 0 for none */
  uint64_t test_slow_ns;     /* per object it marks */
  long test_helper_fail_at;  /* gc_tracing_test_fail_helper_allocations */
#endif
};

static inline struct chunk *chunk_of(const void *addr) {
  return (struct chunk *)((uintptr_t)addr & ~(uintptr_t)(CHUNK_SIZE - 1));
}
static inline size_t line_index(const void *addr) {
  return ((uintptr_t)addr & (CHUNK_SIZE - 1)) >> LINE_BITS;
}
static inline char *block_address(struct chunk *chunk, uint32_t block) {
  return (char *)chunk + (size_t)block * BLOCK_SIZE;
}
static inline uint64_t mapped_bytes(const struct gc_collector *c) {
  return c->block_bytes + gc_large_mapped_bytes(&c->large);
}
static inline size_t granule_index(const void *addr) {
  return ((uintptr_t)addr & (CHUNK_SIZE - 1)) >> 3;
}

/* tracing.c */
extern const struct gc_collector_ops gc_tracing_collector;

/* tracing-verify.c: true if addr is inside one of c's chunks or large objects.
 */
bool tracing_owns_address(struct gc_collector *c, const void *addr);

/* tracing-alloc.c */
struct gc_obj *tracing_allocate_slow(struct gc_mutator *m, uint32_t type_word,
                                     size_t bytes);
/* Drops every thread's regions and restarts the walks: the world is
 * stopped, or every thread's mutator is gone. */
void tracing_reset_allocators(struct gc_collector *c);
void tracing_free_chunk(struct gc_collector *c, struct chunk *chunk);
/* A dead large object: to the quarantine (verify=1), the reuse cache (at
 * most the heap target) or the system. */
void tracing_retire_large(struct gc_collector *c, struct gc_obj *obj);
/* How much of the large-object cache a collection may fill: what a cycle
 * may allocate, no less (gc/large-object-space.h). No cycle takes more
 * than the target. */
static inline uint64_t large_cache_limit(const struct gc_collector *c) {
  return c->target_bytes;
}

/* tracing-sizing.c: the heap policy. */
void tracing_sizing_collection_begins(struct gc_collector *c,
                                      uint64_t start_ns);
void tracing_size_heap(struct gc_collector *c, uint64_t live, bool major,
                       uint64_t pause_ns, uint64_t end_ns);
/* The room a full collection that kept live bytes gives the heap of this
 * many attached threads, at these rates (bytes per second; 0: not measured
 * yet) and heap-expansiveness. */
uint64_t tracing_sizing_room(uint64_t live, uint32_t threads,
                             double allocation_rate, double collection_speed,
                             double expansiveness);

/* tracing-mark.c */
bool tracing_mark(struct gc_collector *c, bool major);
bool tracing_verify_marks(struct gc_collector *c);
/* Marks from m's stack until it is empty, forwarding the references to
 * other markers' objects through pool. */
void tracing_mark_drain(struct marker *m, struct mark_pool *pool);

/* tracing-parallel.c */
/* Starts the helpers of a parallel mark, first being the collecting
 * thread's marker; NULL if gc-threads is 1 or no helper can run. */
struct mark_pool *tracing_pool_start(struct gc_collector *c,
                                     struct marker *first);
/* What a marker reads of the pool as it forwards, without the pool's lock. */
struct mark_pool_hint {
  uint64_t idle_mask; /* bit i: marker i waits for work (P1) */
  /* marker_of's table, set as each phase starts: read by every marker for
   * every object, so never on idle_mask's cache line, which the markers
   * write as they wait. */
  char apart[64 - sizeof(uint64_t)];
  uint8_t owner_of_slot[OWNER_SLOTS];
};
const struct mark_pool_hint *tracing_pool_hint(const struct mark_pool *pool);
/* Sends m's outbox for marker `to` to its inbox (if it holds anything),
 * and gives m an empty one. */
void tracing_pool_send(struct mark_pool *pool, struct marker *m, uint32_t to);
/* Sends m's outboxes, then gives m a packet of work from its inbox; false
 * once marking is over (or void). */
bool tracing_pool_take(struct mark_pool *pool, struct marker *m);
/* m failed: it drops its work, and every marker stops (P3). */
void tracing_pool_fail(struct mark_pool *pool, struct marker *m);
/* Marker i's share of the heap in the next parallel mark (for tests; 0
 * before the first). */
double tracing_pool_share(const struct mark_pool *pool, uint32_t marker);
/* Packets sent between markers over the heap's life (for tests). */
uint64_t tracing_pool_packets_sent(const struct mark_pool *pool);
/* Waits for the helpers to leave the phase, then adds their counts and
 * failures to first's. */
void tracing_pool_finish(struct mark_pool *pool, struct marker *first);
/* Stops and joins the helper threads (heap teardown). */
void tracing_pool_free(struct gc_collector *c);

/* tracing-collect.c */
void tracing_collect(struct gc_mutator *m);
bool tracing_chunk_all_free(const struct chunk *chunk);
/* A collection on the allocation slow path (minor unless one is due);
 * false if it could not run. */
bool tracing_collect_for_allocation(struct gc_collector *c);
/* A full collection that also gives back every cached large mapping and
 * what the mark stack grew to: gc_collect, and the last resort before
 * GC_TRAP_OOM; false if it could not run. */
bool tracing_collect_full(struct gc_collector *c);

/* Eight line marks (one little-endian word): the top bit of each byte that
 * equals epoch, and no other bit. A byte of x is zero exactly where the mark
 * is epoch; no carry crosses a byte. */
static inline uint64_t line_marks_equal(uint64_t marks, uint8_t epoch) {
  const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
  uint64_t x = marks ^ (UINT64_C(0x0101010101010101) * epoch);
  return ~(((x & low7) + low7) | x | low7);
}

/* How many of a block's line marks equal epoch, eight at a time: the sweep
 * reads every line mark of the heap at each collection. */
static inline uint32_t count_marked_lines(const uint8_t *marks, uint8_t epoch) {
  uint32_t count = 0;
  for (size_t i = 0; i < LINES_PER_BLOCK; i += 8) {
    uint64_t word;
    memcpy(&word, marks + i, sizeof word);
    /* One bit per byte: the multiplication sums them into the top byte. */
    uint64_t equal = line_marks_equal(word, epoch) >> 7;
    count += (uint32_t)((equal * UINT64_C(0x0101010101010101)) >> 56);
  }
  return count;
}

/* tracing-quarantine.c (verify=1) */
/* Quarantine entries: a line's address (LINE_SIZE-aligned), or a large
 * object's header address with this tag. */
#define QUARANTINE_LARGE_TAG 1
/* A line marked at this collection, or held in the quarantine: not free. */
static inline bool line_held(const struct gc_collector *c,
                             const struct chunk *chunk, size_t line) {
  return chunk->line_mark[line] == c->line_epoch ||
         (c->verify && gc_bit_test(chunk->line_quarantined, line));
}
/* How many of a block's lines are held (line_held), eight marks at a time
 * when verify is off: the sweep sets the block's state from it, and a
 * thread taking the block counts the others as taken (tracing-alloc.c). */
static inline uint32_t count_held_lines(const struct gc_collector *c,
                                        const struct chunk *chunk,
                                        uint32_t block) {
  size_t first = (size_t)block * LINES_PER_BLOCK;
  if (!c->verify)
    return count_marked_lines(&chunk->line_mark[first], c->line_epoch);
  uint32_t held = 0;
  for (size_t l = first; l < first + LINES_PER_BLOCK; l++)
    held += line_held(c, chunk, l);
  return held;
}
/* The sweep's first step: each line that held an object and died at this
 * collection is poisoned and quarantined; then the oldest entries leave
 * the quarantine until it is within its limit. */
void tracing_quarantine_dead_lines(struct gc_collector *c);
/* The last resort before an OOM trap: a full collection that empties the
 * quarantine, so that verify=1 never changes which programs run out of
 * memory. False if the quarantine was empty already. */
bool tracing_quarantine_give_way(struct gc_collector *c);
/* Teardown: unmaps the quarantined large objects, frees the ring. */
void tracing_quarantine_free(struct gc_collector *c);

/* tracing-verify.c */
int tracing_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                      size_t whylen);
bool tracing_is_object(struct gc_collector *c, const void *addr);
/* verify=1: calls visit for every object of the blocks whose start bit is
 * set (granule: its index in chunk), in address order; stops and returns
 * false as soon as visit does. visit may clear the object's own bit. */
typedef bool (*tracing_object_visitor)(struct gc_collector *c,
                                       struct chunk *chunk, size_t granule,
                                       void *ctx);
bool tracing_for_each_started_object(struct gc_collector *c,
                                     tracing_object_visitor visit, void *ctx);

#endif
