/* tracing-alloc.c — where objects go: holes of free lines, medium blocks, the
 * large-object space, and the chunks they all come from.
 *
 * The fast path (tracing.c, and gcheap.h's inline one) bumps
 * m->small->cursor inside the thread's current hole. Everything else is
 * here, out of line: finding the next hole, the medium and large paths,
 * verify=1 allocation, heap growth, the decision to collect, and the
 * large-object cache. Order when space runs out: collect (if the heap has
 * reached its target), then grow (if max-heap-size allows), then a full
 * collection (once: a minor one does not reclaim old objects that died), then
 * GC_TRAP_OOM.
 *
 * Threads: the next hole in the thread's own block and its medium block
 * need no lock (I5); everything that takes a block, grows the heap or
 * collects runs under the heap lock, and what check_ref reads (the chunk
 * list, the large objects, the verify bitmaps) changes under the check
 * lock as well. */
#include "tracing.h"

/* ---- Chunks -------------------------------------------------------------- */

/* A chunk being added (add_chunk). */
struct chunk_request {
  uint32_t blocks; /* its object blocks to enable */
  bool huge;
};

/* Maps a chunk and writes its header: its first `blocks` object blocks
 * free and pristine, the rest unused. NULL if the system refused. The
 * header is the chunk's first touch, which faults its first page in. */
static void *map_chunk(void *arg) {
  const struct chunk_request *r = arg;
  struct chunk *chunk =
      gc_sys_map_aligned(CHUNK_SIZE, CHUNK_SIZE, r->huge ? 0 : CHUNK_SIZE);
  if (!chunk)
    return NULL;
  for (uint32_t b = 0; b < BLOCKS_PER_CHUNK; b++) {
    chunk->block_state[b] = b < FIRST_OBJECT_BLOCK               ? BLOCK_FULL
                            : b < FIRST_OBJECT_BLOCK + r->blocks ? BLOCK_FREE
                                                                 : BLOCK_UNUSED;
    chunk->block_pristine[b] = 1;
  }
  chunk->enabled_blocks = r->blocks;
  chunk->small_pages = !r->huge;
  chunk->next = NULL;
  return chunk;
}

/* Appends a fresh chunk to the chunk list; the walks that reached the end
 * of the list continue into it. Heap lock held.
 *
 * With may_unlock the lock is let go while the chunk is mapped, the
 * thread counting as blocked: a chunk of huge pages is zeroed whole at its
 * first touch, and where the system must first find the memory (a VM's
 * memory not touched lately) that took 3.5 ms, during which every other
 * thread that needed a block waited for the lock (mt-gcbench 2: 14 chunks,
 * 10-30 ms of waits in a run). Its blocks count as mapped meanwhile,
 * so that threads growing the heap at once stay under max-heap-size. */
static struct chunk *add_chunk(struct gc_mutator *m, uint32_t blocks,
                               bool may_unlock) {
  struct gc_collector *c = m->c;
  /* Huge pages: marking and the mutator are bound by TLB misses on a
   * large heap; only for chunks that will be used whole, and not for the
   * heap's first (GC_SMALL_PAGES_FIRST: a chunk is one huge page). */
  struct chunk_request request = {
      .blocks = blocks,
      .huge = c->chunks && blocks == BLOCKS_PER_CHUNK - FIRST_OBJECT_BLOCK};
  assert(!(may_unlock && m->claimed.start) &&
         "a collection meanwhile would find the region unprepared");
  c->block_bytes += (uint64_t)blocks * BLOCK_SIZE;
  struct chunk *chunk =
      may_unlock ? gc_heap_run_unlocked(m->handle, map_chunk, &request)
                 : map_chunk(&request);
  if (!chunk) {
    c->block_bytes -= (uint64_t)blocks * BLOCK_SIZE;
    return NULL;
  }
  struct chunk **link = &c->chunks;
  while (*link)
    link = &(*link)->next;
  gc_check_lock(c->heap);
  *link = chunk;
  gc_check_unlock(c->heap);
  if (mapped_bytes(c) > c->peak_mapped)
    c->peak_mapped = mapped_bytes(c);
  gc_note_heap_bytes(c->heap, mapped_bytes(c));
  return chunk;
}

void tracing_free_chunk(struct gc_collector *c, struct chunk *chunk) {
  struct chunk **link = &c->chunks;
  while (*link != chunk)
    link = &(*link)->next;
  gc_check_lock(c->heap);
  *link = chunk->next;
  gc_check_unlock(c->heap);
  c->block_bytes -= (uint64_t)chunk->enabled_blocks * BLOCK_SIZE;
  gc_sys_unmap(chunk, CHUNK_SIZE);
}

/* True if max-heap-size leaves room for `more` bytes. */
static bool may_grow(struct gc_collector *c, uint64_t more) {
  return !c->max_bytes || mapped_bytes(c) + more <= c->max_bytes;
}

/* ---- Block walks --------------------------------------------------------- */

/* Both allocators walk the chunk list in order, block by block, from the
 * start after every collection. A walk position is (chunk, block); block ==
 * BLOCKS_PER_CHUNK on the last chunk means "at the end". */
static void reset_walks(struct gc_collector *c) {
  c->small_chunk = c->medium_chunk = c->chunks;
  c->small_block = c->medium_block = FIRST_OBJECT_BLOCK - 1;
  for (struct gc_mutator *m = c->mutators; m; m = m->next) {
    m->own_walk_chunk = c->chunks;
    m->own_walk_block = FIRST_OBJECT_BLOCK - 1;
  }
}

void tracing_reset_allocators(struct gc_collector *c) {
  reset_walks(c);
  for (struct gc_mutator *m = c->mutators; m; m = m->next) {
    assert(!m->claimed.start && "a thread stopped with its region unprepared");
    m->small->cursor = m->small->limit = NULL;
    m->medium = m->verify_small = *m->small;
    m->small_chunk = NULL;
  }
}

/* Counts space a thread takes towards the next collection: a block's free
 * lines when the thread takes the block (next_hole), a medium block, a
 * large object. Heap lock held, as by every reader of used_bytes. */
static void take_bytes(struct gc_collector *c, uint64_t bytes) {
  c->used_bytes += bytes;
}

static uint64_t used_bytes(struct gc_collector *c) {
  return c->used_bytes;
}

/* Advances a walk to the next block whose state is acceptable (FREE, or
 * also RECYCLABLE when any_free_line) and, unless owner is 0, that thread
 * owner last took; takes it. False at the end. */
static bool walk_take_block(struct gc_collector *c, struct chunk **chunk,
                            uint32_t *block, bool any_free_line,
                            uint8_t owner) {
  if (!*chunk)
    *chunk = c->chunks;
  while (*chunk) {
    while (++*block < BLOCKS_PER_CHUNK) {
      uint8_t state = (*chunk)->block_state[*block];
      if ((state == BLOCK_FREE ||
           (any_free_line && state == BLOCK_RECYCLABLE)) &&
          (!owner || (*chunk)->block_owner[*block] == owner)) {
        (*chunk)->block_state[*block] = BLOCK_TAKEN;
        return true;
      }
    }
    if (!(*chunk)->next) {
      *block = BLOCKS_PER_CHUNK; /* stay at the end, ready for a new chunk */
      return false;
    }
    *chunk = (*chunk)->next;
    *block = FIRST_OBJECT_BLOCK - 1;
  }
  return false;
}

/* Makes [start, end) ready for bump allocation: zero (I1), or with verify=1
 * poisoned (pristine memory is poisoned once; reused lines already are).
 *
 * A pristine block is zero already. On small pages (the first chunk, and
 * chunks enabled in part) its first hole has the system back the whole
 * block in one call, for the thread goes on to fill it, rather than take a
 * page fault per page (gc/large-object-space.c: why that matters). 15 pairs
 * each: cycles 0.77x the time, weak 0.90x, resources 0.95x, GCBench and
 * binary-trees 16 0.97x; binary-trees 18 and mt-gcbench 2 unchanged. */
static void prepare_region(struct gc_collector *c, char *start, char *end,
                           bool pristine) {
  if (c->verify) {
    struct chunk *chunk = chunk_of(start);
    gc_check_lock(c->heap);
    for (size_t l = line_index(start); l <= line_index(end - 1); l++) {
      if (!gc_bit_test(chunk->line_poisoned, l)) {
        gc_poison((char *)chunk + l * LINE_SIZE, LINE_SIZE);
        gc_bit_set(chunk->line_poisoned, l);
      }
    }
    gc_check_unlock(c->heap);
  } else if (!pristine) {
    memset(start, 0, (size_t)(end - start));
  } else if (chunk_of(start)->small_pages) {
    gc_sys_populate((void *)((uintptr_t)start & ~(uintptr_t)(BLOCK_SIZE - 1)),
                    BLOCK_SIZE);
  }
}

/* Records [start, end) of the thread's block as its claimed region: taken,
 * not yet prepared. prepare_claimed_region zeroes it before the first
 * object in it is handed out, so that a caller holding the heap lock can
 * do that after dropping it: zeroing up to 32 KiB under the lock made the
 * other threads wait for it (with the zeroing out of the lock, mt-gcbench
 * with 2 and 4 threads ran in 0.95-0.96x the time). */
static void claim_region(struct gc_mutator *m, char *start, char *end,
                         struct chunk *chunk, uint32_t block) {
  assert(!m->claimed.start && "a claimed region was never prepared");
  m->claimed.start = start;
  m->claimed.end = end;
  m->claimed.pristine = chunk->block_pristine[block];
  /* Written only when it changes: the chunk's 64 pristine flags share one
   * cache line, and a store at every hole took it from the other thread's
   * core at every hole that thread claimed. */
  if (m->claimed.pristine)
    chunk->block_pristine[block] = 0;
}

/* Zeroes (or poisons) the claimed region, if any. No lock needed (I5). */
static void prepare_claimed_region(struct gc_mutator *m) {
  if (!m->claimed.start)
    return;
  prepare_region(m->c, m->claimed.start, m->claimed.end, m->claimed.pristine);
  m->claimed.start = m->claimed.end = NULL;
}

/* A hole is at most LARGE_THRESHOLD long, so that the fast path can never
 * place a large object in a block: the line after the longest hole from
 * line l, within the block. */
static inline uint32_t hole_limit(uint32_t l) {
  uint32_t max_end = l + LARGE_THRESHOLD / LINE_SIZE;
  return max_end < LINES_PER_BLOCK ? max_end : LINES_PER_BLOCK;
}

/* The first line in [from, to) of a block whose mark is (marked) or is not
 * (!marked) epoch; to if none. Eight marks at a time: byte by byte, the
 * search mispredicted the end of every run of lines. Reads only aligned
 * words of the block's own marks (LINES_PER_BLOCK is a multiple of 8). */
static uint32_t find_line(const uint8_t *marks, uint32_t from, uint32_t to,
                          uint8_t epoch, bool marked) {
  const uint64_t top_bits = UINT64_C(0x8080808080808080);
  uint32_t word_start = from & ~7u;
  uint64_t below_from = (UINT64_C(1) << (8 * (from - word_start))) - 1;
  for (uint32_t w = word_start; w < to; w += 8) {
    uint64_t word;
    memcpy(&word, marks + w, sizeof word);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap64(word); /* the first line in the lowest byte */
#endif
    uint64_t equal = line_marks_equal(word, epoch);
    uint64_t found = (marked ? equal : ~equal) & top_bits;
    if (w == word_start)
      found &= ~below_from;
    if (found) {
      uint32_t line = w + (uint32_t)__builtin_ctzll(found) / 8;
      return line < to ? line : to;
    }
  }
  return to;
}

/* Makes the next hole of the thread's block its small region, claimed
 * (claim_region). False when the block has no more. Needs no lock: the
 * block is the thread's (I5). */
static bool claim_hole_in_block(struct gc_mutator *m,
                                struct gc_inline_bump *region) {
  struct gc_collector *c = m->c;
  struct chunk *chunk = m->small_chunk;
  if (!chunk)
    return false;
  uint32_t l = m->small_line;
  size_t first = (size_t)m->small_block * LINES_PER_BLOCK;
  uint32_t end;
  if (GC_LIKELY(!c->verify)) {
    const uint8_t *marks = &chunk->line_mark[first];
    l = find_line(marks, l, LINES_PER_BLOCK, c->line_epoch, false);
    if (l == LINES_PER_BLOCK)
      return false;
    end = find_line(marks, l, hole_limit(l), c->line_epoch, true);
  } else {
    while (l < LINES_PER_BLOCK && line_held(c, chunk, first + l))
      l++;
    if (l == LINES_PER_BLOCK)
      return false;
    end = l;
    while (end < hole_limit(l) && !line_held(c, chunk, first + end))
      end++;
  }
  m->small_line = end;
  char *block = block_address(chunk, m->small_block);
  region->cursor = block + (size_t)l * LINE_SIZE;
  region->limit = block + (size_t)end * LINE_SIZE;
  claim_region(m, region->cursor, region->limit, chunk, m->small_block);
  return true;
}

static bool hole_in_block(struct gc_mutator *m, struct gc_inline_bump *region) {
  if (!claim_hole_in_block(m, region))
    return false;
  prepare_claimed_region(m);
  return true;
}

/* Finds the next hole for small objects: in the thread's block, else in
 * the next block it takes: one it took before the last collection, else
 * any from the small walk. The hole is claimed (claim_region). False when
 * both walks are at their end. Heap lock held.
 *
 * Why a thread's own blocks first: zeroing a hole and filling it move its
 * cache lines to the core that does it, and a block that the other thread
 * filled last is likely still in that thread's core's cache. With the
 * shared walk alone, two threads swapped blocks at every collection;
 * taking their own back, mt-gcbench 2 ran in 0.91x (0.81-0.95, 11 pairs)
 * the time and two threads took 1.30x one thread's time instead of 1.47x
 * (bench/scaling.sh 9). */
static bool next_hole(struct gc_mutator *m, struct gc_inline_bump *region) {
  struct gc_collector *c = m->c;
  while (!claim_hole_in_block(m, region)) {
    if (walk_take_block(c, &m->own_walk_chunk, &m->own_walk_block, true,
                        m->id)) {
      m->small_chunk = m->own_walk_chunk;
      m->small_block = m->own_walk_block;
    } else if (walk_take_block(c, &c->small_chunk, &c->small_block, true, 0)) {
      m->small_chunk = c->small_chunk;
      m->small_block = c->small_block;
      m->small_chunk->block_owner[m->small_block] = m->id;
    } else {
      return false;
    }
    m->small_line = 0;
    /* The block's line marks (4 cache lines) were written last by a
     * marker, often on the other core: fetched together now, not one miss
     * at a time as holes are claimed. With two threads the hole search
     * spent most of its time on those loads (58 % in one profile); this
     * cut its samples by 40 % (perf, mt-gcbench 2). */
    const uint8_t *marks =
        m->small_chunk->line_mark + (size_t)m->small_block * LINES_PER_BLOCK;
    for (size_t b = 0; b < LINES_PER_BLOCK; b += 64 /* a cache line */)
      __builtin_prefetch(marks + b);
    /* Its holes count towards the next collection now, all at once, not
     * one by one as they are claimed: the collection is only ever due
     * here, when a thread needs another block, and a shared count updated
     * at each hole moved its cache line from core to core (with two
     * threads, 3 % of mt-gcbench's samples were on that one atomic add). */
    uint32_t held = count_held_lines(c, m->small_chunk, m->small_block);
    take_bytes(c, (uint64_t)(LINES_PER_BLOCK - held) * LINE_SIZE);
  }
  return true;
}

/* Takes a wholly free block for medium objects, claimed (claim_region).
 * Heap lock held. */
static bool next_medium_block(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  if (!walk_take_block(c, &c->medium_chunk, &c->medium_block, false, 0))
    return false;
  struct chunk *chunk = c->medium_chunk;
  char *block = block_address(chunk, c->medium_block);
  m->medium.cursor = block;
  m->medium.limit = block + BLOCK_SIZE;
  take_bytes(c, BLOCK_SIZE);
  claim_region(m, block, block + BLOCK_SIZE, chunk, c->medium_block);
  return true;
}

/* No wholly free block is left for a medium object: the next hole of the
 * small walk that fits it, before the heap grows. Without this, survivors
 * scattered one per block (nothing moves them) left no block wholly free,
 * and every medium object grew the heap by a block until the next
 * collection: 37 MB of heap for 1 MB live. The holes skipped on the way
 * count as taken, so the next collection comes sooner instead. */
static bool medium_in_hole(struct gc_mutator *m, struct gc_inline_bump *small,
                           size_t bytes) {
  while (next_hole(m, small)) {
    prepare_claimed_region(m);
    if (bytes <= (size_t)(small->limit - small->cursor))
      return true;
  }
  return false;
}

/* ---- Running out of space ----------------------------------------------- */

static void trap_oom(struct gc_collector *c, size_t bytes, const char *why) {
  char need[32], heap[32], max[32], live[32];
  gc_trap_raise(
      c->heap, GC_TRAP_OOM,
      "out of memory: cannot allocate %s (%s); heap %s, max-heap-size %s, "
      "%s live after a full collection",
      gc_format_size(bytes, need, sizeof need), why,
      gc_format_size(mapped_bytes(c), heap, sizeof heap),
      c->max_bytes ? gc_format_size(c->max_bytes, max, sizeof max)
                   : "unlimited",
      gc_format_size(used_bytes(c), live, sizeof live));
}

/* What one allocation has done so far to find room. */
struct attempt {
  bool collected; /* a collection ran (minor or full) */
  bool full;      /* a full collection ran: only then may it trap OOM */
};

/* The last resort before GC_TRAP_OOM: a full collection, once per
 * allocation. A minor one is not enough: old objects that died wait for a
 * full collection. True if it ran (try again). */
static bool collect_fully_once(struct gc_collector *c, struct attempt *a) {
  if (a->full)
    return false;
  a->collected = a->full = true;
  return tracing_collect_full(c);
}

/* What to do when the walks found no space. True: try again. False: OOM
 * (trapped). may_unlock: as for add_chunk. */
static bool make_room(struct gc_mutator *m, size_t bytes, struct attempt *a,
                      bool may_unlock) {
  struct gc_collector *c = m->c;
  if (!a->collected && used_bytes(c) >= c->target_bytes) {
    a->collected = true;
    if (tracing_collect_for_allocation(c))
      return true;
  }
  if (may_grow(c, BLOCK_SIZE)) {
    /* A whole chunk, or as many blocks as max-heap-size still allows. */
    uint64_t blocks = BLOCKS_PER_CHUNK - FIRST_OBJECT_BLOCK;
    if (c->max_bytes && (c->max_bytes - mapped_bytes(c)) / BLOCK_SIZE < blocks)
      blocks = (c->max_bytes - mapped_bytes(c)) / BLOCK_SIZE;
    if (add_chunk(m, (uint32_t)blocks, may_unlock))
      return true;
    if (collect_fully_once(c, a) || tracing_quarantine_give_way(c))
      return true;
    trap_oom(c, bytes, "the system refused a new chunk");
    return false;
  }
  if (collect_fully_once(c, a) || tracing_quarantine_give_way(c))
    return true;
  trap_oom(c, bytes, "max-heap-size reached");
  return false;
}

/* Collects first if the heap has reached its target: called before taking
 * more space, so that a heap grows only when live data needs it. */
static void collect_if_due(struct gc_collector *c, struct attempt *a) {
  if (!a->collected && used_bytes(c) >= c->target_bytes) {
    a->collected = true;
    tracing_collect_for_allocation(c);
  }
}

/* ---- The paths ----------------------------------------------------------- */

/* Where the thread's small objects go: the fast path's hole, or with
 * verify=1 the region it allocates from one object at a time. */
static inline struct gc_inline_bump *small_region(struct gc_mutator *m) {
  return m->c->verify ? &m->verify_small : m->small;
}

static inline char *bump(struct gc_inline_bump *region, size_t bytes) {
  if (bytes > (size_t)(region->limit - region->cursor))
    return NULL;
  char *p = region->cursor;
  region->cursor = p + bytes;
  return p;
}

/* allocate_in_blocks with the heap lock held: a new hole or block, a
 * collection, or a larger heap. A new hole or medium block is only
 * claimed: the caller prepares it (prepare_claimed_region), after dropping
 * the lock if it can. With may_unlock, the lock may be let go and taken
 * again while the heap grows (add_chunk); a caller that keeps something
 * under the lock across this call passes false. */
static char *allocate_in_blocks_locked(struct gc_mutator *m,
                                       struct gc_inline_bump *small,
                                       size_t bytes, bool may_unlock) {
  struct gc_collector *c = m->c;
  struct attempt attempt = {false, false};
  for (;;) {
    char *p = bump(small, bytes);
    if (p)
      return p;
    if (bytes > LINE_SIZE) {
      /* Medium: do not waste the current hole on an object that does not
       * fit it; use a wholly free block. */
      if ((p = bump(&m->medium, bytes)))
        return p;
      collect_if_due(c, &attempt);
      if (bytes <= (size_t)(m->medium.limit - m->medium.cursor))
        continue;
      if (next_medium_block(m) || medium_in_hole(m, small, bytes))
        continue;
    } else {
      collect_if_due(c, &attempt);
      if (bytes <= (size_t)(small->limit - small->cursor))
        continue;
      if (next_hole(m, small))
        continue;
    }
    if (!make_room(m, bytes, &attempt, may_unlock))
      return NULL;
  }
}

/* Space for a block object (bytes <= LARGE_THRESHOLD), uninitialised except
 * as I1 says. NULL after an OOM trap. The thread's own regions first,
 * without the lock (I5). */
static char *allocate_in_blocks(struct gc_mutator *m, size_t bytes) {
  struct gc_collector *c = m->c;
  struct gc_inline_bump *small = small_region(m);
  char *p = bump(small, bytes);
  if (!p && bytes > LINE_SIZE)
    p = bump(&m->medium, bytes);
  else if (!p && !c->verify && hole_in_block(m, small))
    p = bump(small, bytes); /* a hole is at least a line */
  if (p)
    return p;
  gc_heap_lock(m->handle);
  p = allocate_in_blocks_locked(m, small, bytes, true);
  gc_heap_unlock(m->handle);
  return p;
}

/* verify=1: the cell must still be poisoned (nothing wrote to it since it
 * was freed); then it is zeroed and recorded as an object start. */
static bool verify_fresh_cell(struct gc_collector *c, char *p, size_t bytes) {
  long bad = gc_poison_check(p, bytes);
  if (bad >= 0) {
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%p: freed cell of %zu bytes was written after it was freed "
                  "(poison broken at byte %ld, address %p) before its reuse",
                  (void *)p, bytes, bad, (void *)(p + bad));
    return false;
  }
  memset(p, 0, bytes);
  struct chunk *chunk = chunk_of(p);
  gc_check_lock(c->heap);
  for (size_t l = line_index(p); l <= line_index(p + bytes - 1); l++)
    gc_bit_clear(chunk->line_poisoned, l);
  gc_bit_set(chunk->object_start, granule_index(p));
  gc_check_unlock(c->heap);
  return true;
}

/* ---- Large objects (gc/large-object-space.h) ------------------------ */

void tracing_retire_large(struct gc_collector *c, struct gc_obj *obj) {
  gc_large_retire(&c->large, obj, &c->quarantine, QUARANTINE_LARGE_TAG,
                  large_cache_limit(c));
}

/* Heap lock held. The object's header is set; gc_large_prepare makes the
 * rest ready. */
static struct gc_obj *allocate_large(struct gc_collector *c, uint32_t type_word,
                                     size_t bytes) {
  struct attempt attempt = {false, false};
  size_t map_bytes = gc_large_mapping_bytes(bytes);
  if (!map_bytes) {
    trap_oom(c, bytes, "size overflows");
    return NULL;
  }
  if (used_bytes(c) + map_bytes > c->target_bytes) {
    attempt.collected = true;
    tracing_collect_for_allocation(c);
  }
  /* A cached mapping is already counted in the mapped bytes. */
  gc_check_lock(c->heap);
  struct gc_obj *obj = gc_large_reuse(&c->large, bytes);
  gc_check_unlock(c->heap);
  if (!obj && !may_grow(c, map_bytes)) {
    /* Under max-heap-size: a full collection, then cached mappings and
     * empty chunks give their room to the object. */
    collect_fully_once(c, &attempt);
    if (!may_grow(c, map_bytes))
      tracing_quarantine_give_way(c);
    gc_check_lock(c->heap);
    gc_large_release_cache(&c->large);
    gc_check_unlock(c->heap);
    /* An empty chunk holds no thread's block (I5): only the walks may
     * point into it. */
    for (struct chunk *chunk = c->chunks, *next;
         chunk && !may_grow(c, map_bytes); chunk = next) {
      next = chunk->next;
      if (tracing_chunk_all_free(chunk))
        tracing_free_chunk(c, chunk);
    }
    reset_walks(c);
    if (!may_grow(c, map_bytes)) {
      trap_oom(c, bytes, "max-heap-size reached");
      return NULL;
    }
  }
  if (!obj) {
    gc_check_lock(c->heap);
    obj = gc_large_map(&c->large, bytes);
    gc_check_unlock(c->heap);
  }
  if (!obj) {
    trap_oom(c, bytes, "the system refused the mapping");
    return NULL;
  }
  /* A reused mapping may be up to a quarter larger: all of it counts. */
  take_bytes(c, gc_large_header(obj)->map_bytes);
  if (mapped_bytes(c) > c->peak_mapped)
    c->peak_mapped = mapped_bytes(c);
  gc_note_heap_bytes(c->heap, mapped_bytes(c));
  obj->type_word = type_word;
  return obj;
}

/* A block or large object, initialised; the heap lock is held if locked. */
static struct gc_obj *allocate_plain(struct gc_mutator *m, uint32_t type_word,
                                     size_t bytes, bool locked) {
  struct gc_collector *c = m->c;
  assert(bytes >= 16 && bytes % 8 == 0);
  if (bytes > LARGE_THRESHOLD) {
    if (!locked)
      gc_heap_lock(m->handle);
    struct gc_obj *obj = allocate_large(c, type_word, bytes);
    if (!locked)
      gc_heap_unlock(m->handle);
    /* With the lock let go: two threads replacing 128 KiB arrays
     * (large-arrays 2) waited for each other's memset. */
    if (obj)
      gc_large_prepare(obj);
    return obj;
  }
  char *p = locked ? allocate_in_blocks_locked(m, small_region(m), bytes, false)
                   : allocate_in_blocks(m, bytes);
  prepare_claimed_region(m);
  if (!p)
    return NULL;
  if (c->verify && !verify_fresh_cell(c, p, bytes))
    return NULL;
  struct gc_obj *obj = (struct gc_obj *)p;
  obj->type_word = type_word;
  obj->gc_word = 0;
  return obj;
}

/* Resources and weak references also go on their side lists (I3), under
 * the heap lock, which is held throughout so that the room made on the
 * list first is still there: a failure leaves nothing half done. */
static struct gc_obj *allocate_special(struct gc_mutator *m, uint32_t type_word,
                                       size_t bytes) {
  struct gc_collector *c = m->c;
  struct gc_obj_vector *vec = type_word == GC_TYPE_RESOURCE ? &c->resources
                              : type_word == GC_TYPE_WEAK   ? &c->weaks
                                                            : NULL;
  gc_heap_lock(m->handle);
  struct gc_obj *obj = NULL;
  if (vec && !gc_vector_reserve(vec, vec->count + 1))
    trap_oom(c, bytes, "no memory to register a resource or weak reference");
  else
    obj = allocate_plain(m, type_word, bytes, true);
  if (obj && vec)
    vec->items[vec->count++] = obj;
  gc_heap_unlock(m->handle);
  return obj;
}

struct gc_obj *tracing_allocate_slow(struct gc_mutator *m, uint32_t type_word,
                                     size_t bytes) {
  if (type_word < GC_FIRST_USER_TYPE)
    return allocate_special(m, type_word, bytes);
  return allocate_plain(m, type_word, bytes, false);
}
