/* refcount-alloc.c — where the refcount collector's objects live.
 *
 * Small objects (< RC_LARGE_MIN bytes) live in 64 KiB blocks, one size class
 * per block, carved from 4 MiB system mappings (chunks, huge-page aligned
 * and hinted: map_chunk) so that a cell's block is its address rounded down. A
 * block's header keeps a bitmap of its free cells. Each class allocates by
 * bumping a cursor through a run of consecutive free cells (refcount.c, and
 * for classes up to 128 bytes gcheap.h's inline path too: their runs and the
 * allocation budget are the handle's published cell table, rc_alloc_init);
 * when the run ends, the next run of the current block is claimed,
 * then the next block with free cells. Freeing sets the cell's bit and lists
 * its block if need be. Allocating in address order, not in the random order in
 * which reference counting frees, keeps objects made together close together: a
 * tree's nodes share cache lines and the hardware prefetcher follows them.
 * Large objects get a mapping each (refcount-large.c, which reuses dead ones'
 * mappings); the pages of blocks that stayed wholly free across gc_collect
 * calls go back while the heap is well over its target
 * (rc_alloc_release_empty_blocks), the mappings at heap teardown.
 *
 * A free cell's header type is 0; with verify=1 a freed cell is poisoned
 * instead (a never-used one is still zero: high_water), and checked when it
 * is allocated again. */
#include "refcount.h"

#include <sys/mman.h>

#define CHUNK_BYTES (RC_CHUNK_BLOCKS * RC_BLOCK_BYTES)

/* A chunk aligned to a huge page, with the hint to back it with huge pages
 * (a hint only: the system may refuse, and then the chunk simply has small
 * pages), but for the first huge page of the heap's first chunk
 * (GC_SMALL_PAGES_FIRST). Blocks are carved from a chunk in order and filled
 * before the next one is taken, so a huge page is mostly used once touched;
 * without it, every 4 KiB of a fresh allocation budget was a page fault: 2268
 * of them in the 25 ms of `cycles`, a third of its time, in the kernel. A block
 * given back with MADV_DONTNEED splits its huge page, and the hint is withdrawn
 * around it (stop_huge_pages_around). */
static char *map_chunk(bool first) {
  return gc_sys_map_aligned(CHUNK_BYTES, GC_HUGE_PAGE_BYTES,
                            first ? GC_SMALL_PAGES_FIRST : 0);
}

bool rc_over_limit(struct gc_collector *c, size_t more) {
  uint64_t max = c->options->max_heap_size;
  return max && rc_heap_bytes(c) + more > max;
}

void rc_alloc_init(struct gc_collector *c) {
  for (unsigned k = 0; k < RC_NCLASSES; k++)
    c->classes[k].cell_bytes = rc_class_bytes(k);
}

/* The small classes' runs and the budget are the thread's handle's,
 * published for gcheap.h's inline allocation. */
void rc_alloc_init_mutator(struct gc_mutator *m) {
  struct gc_heap_inline *published = gc_handle_inline(m->handle);
  for (unsigned k = 0; k < RC_NCLASSES; k++) {
    struct rc_allocator *a = &m->alloc[k];
    a->run = m->c->classes[k].cell_bytes <= GCHEAP_INLINE_CELL_MAX_BYTES
                 ? &published->cells[k]
                 : &a->own_run;
    a->run->cursor = a->run->limit = NULL;
    a->current = NULL;
  }
  published->cell_gc_word = RC_YOUNG;
  m->budget = &published->cell_budget;
  *m->budget = 0;
}

/* With verify=1, another thread may run check_ref at any time (under the
 * check lock), reading the free bits, the block headers, the chunks and
 * the large objects' table: the allocation path changes them under the
 * same lock. Without verify there is no reader. */
static void checking_begins(struct gc_collector *c) {
  if (c->verify)
    gc_check_lock(c->heap);
}

static void checking_ends(struct gc_collector *c) {
  if (c->verify)
    gc_check_unlock(c->heap);
}

/* The chunk the next block comes from: the last one, or a new one if it is
 * full. NULL if the system refused. */
static struct rc_chunk *chunk_with_room(struct gc_collector *c) {
  struct rc_chunk *chunk =
      c->chunks.count ? &c->chunks.items[c->chunks.count - 1] : NULL;
  if (chunk && chunk->nblocks < RC_CHUNK_BLOCKS)
    return chunk;
  if (!gc_vector_reserve(&c->chunks, c->chunks.count + 1))
    return NULL;
  char *map = map_chunk(c->chunks.count == 0);
  if (!map)
    return NULL;
  chunk = &c->chunks.items[c->chunks.count++];
  chunk->map = map;
  chunk->map_bytes = CHUNK_BYTES;
  chunk->blocks = map; /* aligned to a huge page, so to a block too */
  chunk->nblocks = 0;
  return chunk;
}

static void *populate_huge_page(void *page) {
  gc_sys_populate(page, GC_HUGE_PAGE_BYTES);
  return NULL;
}

/* add_block writes the header of the next block of the last chunk. When
 * that block starts a huge page, the write faults in all 2 MiB of it: on
 * memory no process had touched lately, on this project's VM, 3.5 ms,
 * during which every other thread that needed a block waited for the heap
 * lock (mt-gcbench 2: about 11 such pages, 41 ms in all). So the page is
 * faulted in first, with the lock let go (gc_heap_run_unlocked). Harmless
 * if another thread takes the block meanwhile: MADV_POPULATE_WRITE leaves
 * what the memory holds. Heap lock held; not the check lock. */
static void fault_in_next_block(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  if (rc_over_limit(c, RC_BLOCK_BYTES))
    return; /* add_block will not take it */
  checking_begins(c);
  struct rc_chunk *chunk = chunk_with_room(c);
  checking_ends(c);
  if (!chunk)
    return; /* add_block fails the same way */
  size_t offset = (size_t)chunk->nblocks * RC_BLOCK_BYTES;
  bool small_pages = chunk == &c->chunks.items[0] &&
                     offset < GC_SMALL_PAGES_FIRST; /* see map_chunk */
  if (offset % GC_HUGE_PAGE_BYTES == 0 && !small_pages)
    gc_heap_run_unlocked(m->handle, populate_huge_page, chunk->blocks + offset);
}

/* A fresh block for size_class, all free, on the class's partial list; -1
 * if the heap limit or the system says no. */
static int add_block(struct gc_collector *c, unsigned size_class) {
  if (rc_over_limit(c, RC_BLOCK_BYTES)) {
    rc_large_release_cache(c); /* cached mappings give their room first */
    if (rc_over_limit(c, RC_BLOCK_BYTES))
      return -1;
  }
  struct rc_chunk *chunk = chunk_with_room(c);
  if (!chunk)
    return -1;
  /* Fresh mappings are zero: every cell's header type 0 means free. */
  struct rc_block *block =
      (struct rc_block *)(chunk->blocks + chunk->nblocks * RC_BLOCK_BYTES);
  /* On the small pages of the heap's first 2 MiB, each page of the block
   * would take a page fault as cells are first written: the system backs
   * it whole in one call instead (gc/large-object-space.c: why that
   * matters). At most that 2 MiB, which a huge page would have taken
   * whole. 15 pairs each: cycles 0.80x the time, weak 0.92x, resources
   * 0.98x, binary-trees 16 0.98x, GCBench 0.99x. */
  if (c->chunks.count == 1 &&
      (chunk->nblocks + 1) * RC_BLOCK_BYTES <= GC_SMALL_PAGES_FIRST)
    gc_sys_populate(block, RC_BLOCK_BYTES);
  if (c->verify) {
    block->quarantined =
        gc_sys_calloc(GC_BITMAP_WORDS(RC_MAX_CELLS), sizeof(uint64_t));
    if (!block->quarantined)
      return -1;
  }
  chunk->nblocks++;
  struct rc_class *k = &c->classes[size_class];
  block->cell_bytes = (uint32_t)k->cell_bytes;
  block->size_class = size_class;
  block->inverse = ((UINT64_C(1) << 32) + k->cell_bytes - 1) / k->cell_bytes;
  block->ncells =
      (uint32_t)((RC_BLOCK_BYTES - RC_BLOCK_HEADER_BYTES) / k->cell_bytes);
  for (uint32_t i = 0; i < block->ncells; i++)
    gc_bit_set(block->free_bits, i);
  block->free_cells = block->ncells;
  block->high_water = 0; /* every cell fresh: zero, not poisoned */
  block->next = c->blocks;
  c->blocks = block;
  block->listed = 1;
  block->next_partial = k->partial;
  k->partial = block;
  c->block_bytes += RC_BLOCK_BYTES;
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
  return 0;
}

/* The first free cell of block at or after index from, or ncells. */
static uint32_t next_free(const struct rc_block *block, uint32_t from) {
  uint32_t word = from / 64;
  uint64_t bits = block->free_bits[word] & (~UINT64_C(0) << (from % 64));
  while (!bits) {
    if (++word * 64 >= block->ncells)
      return block->ncells;
    bits = block->free_bits[word];
  }
  uint32_t index = word * 64 + (uint32_t)__builtin_ctzll(bits);
  return index < block->ncells ? index : block->ncells;
}

/* The end of the run of free cells that starts at start. */
static uint32_t run_end(const struct rc_block *block, uint32_t start) {
  uint32_t word = start / 64;
  uint64_t taken = ~block->free_bits[word] & (~UINT64_C(0) << (start % 64));
  while (!taken) {
    if (++word * 64 >= block->ncells)
      return block->ncells;
    taken = ~block->free_bits[word];
  }
  uint32_t end = word * 64 + (uint32_t)__builtin_ctzll(taken);
  return end < block->ncells ? end : block->ncells;
}

/* The bits of word w that lie in [start, end). */
static uint64_t range_mask(uint32_t w, uint32_t start, uint32_t end) {
  uint32_t lo = start > w * 64 ? start - w * 64 : 0;
  uint32_t hi = end < w * 64 + 64 ? end - w * 64 : 64;
  uint64_t upto = hi == 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1;
  return upto & (~UINT64_C(0) << lo);
}

/* Cells [start, end) leave the free set and become young. */
static void claim_cells(struct rc_block *block, uint32_t start, uint32_t end) {
  for (uint32_t w = start / 64; w * 64 < end; w++) {
    uint64_t mask = range_mask(w, start, end);
    block->free_bits[w] &= ~mask;
    block->young_bits[w] |= mask;
  }
}

/* Cells [start, end), young and never handed out, become free again. */
static void unclaim_cells(struct rc_block *block, uint32_t start,
                          uint32_t end) {
  for (uint32_t w = start / 64; w * 64 < end; w++) {
    uint64_t mask = range_mask(w, start, end);
    block->free_bits[w] |= mask;
    block->young_bits[w] &= ~mask;
  }
}

/* Claims the next run of free cells of the class as the thread's bump
 * region [cursor, limit); false if no block of the class has a free cell.
 * Heap lock held: the partial lists, the young lists and the statistics
 * are shared. */
static bool claim_run(struct gc_mutator *m, unsigned size_class) {
  struct gc_collector *c = m->c;
  struct rc_class *k = &c->classes[size_class];
  struct rc_allocator *a = &m->alloc[size_class];
  for (;;) {
    struct rc_block *block = a->current;
    if (!block) {
      block = k->partial;
      if (!block)
        return false;
      k->partial = block->next_partial;
      block->scan = 0;
      a->current = block;
    }
    /* verify=1 takes one cell at a time, the lowest free one: a freed cell
     * is soon reused, so a write after free is soon caught. */
    uint32_t start = next_free(block, c->verify ? 0 : block->scan);
    if (start == block->ncells) {
      /* Cells freed behind the scan since: scan the block again. */
      if (block->free_cells && block->scan) {
        block->scan = 0;
        continue;
      }
      block->listed = 0;
      a->current = NULL;
      continue;
    }
    uint32_t end = c->verify ? start + 1 : run_end(block, start);
    /* Every cell of the run may hold a young object the next trace
     * promotes: keep room for it in the promotion queue, so that the trace
     * itself never needs memory. */
    if (rc_young_reserve(c, end - start))
      return false;
    checking_begins(c);
    claim_cells(block, start, end);
    checking_ends(c);
    if (!block->young_listed) {
      block->young_listed = 1;
      block->next_young = c->young_blocks;
      c->young_blocks = block;
    }
    block->free_cells -= end - start;
    if (block->idle == RC_BLOCK_RELEASED)
      c->released_bytes -= RC_BLOCK_BYTES - GC_PAGE_BYTES;
    block->idle = RC_BLOCK_IN_USE;
    block->scan = end;
    char *cells = (char *)block + RC_BLOCK_HEADER_BYTES;
    a->run->cursor = cells + (size_t)start * k->cell_bytes;
    a->run->limit = cells + (size_t)end * k->cell_bytes;
    return true;
  }
}

/* The next cell of the class's bump region (claiming a run if need be),
 * its poison checked with verify=1; NULL if the class has no free cell. */
static struct gc_obj *take_cell(struct gc_mutator *m, unsigned size_class) {
  struct gc_collector *c = m->c;
  struct rc_class *k = &c->classes[size_class];
  struct gc_inline_bump *run = m->alloc[size_class].run;
  for (;;) {
    if (run->cursor >= run->limit && !claim_run(m, size_class))
      return NULL;
    struct gc_obj *cell = (struct gc_obj *)run->cursor;
    run->cursor += k->cell_bytes;
    if (!c->verify)
      return cell;
    /* verify=1 hands out one cell at a time: a fresh one has no poison to
     * check (nothing freed it), a reused one must still be poisoned. */
    struct rc_block *block = rc_block_of(cell);
    uint32_t index = rc_cell_index(block, cell);
    if (index >= block->high_water) {
      block->high_water = index + 1;
      return cell;
    }
    long bad = gc_poison_check(cell, k->cell_bytes);
    if (bad < 0)
      return cell;
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%p: freed memory was written after it was freed (byte %ld "
                  "of the free %zu-byte cell is not the poison pattern)",
                  (void *)cell, bad, k->cell_bytes);
    /* The handler returned: leave the damaged cell out of use. */
  }
}

/* The slow half of allocation: the free list of the class is empty, verify
 * is on, or the object is large. Returns an unzeroed cell whose header the
 * caller sets (a large object's header is zero, and the rest is made ready
 * once the heap lock is let go: m->unready_large); NULL after a trap. */
struct gc_obj *rc_allocate_slow(struct gc_mutator *m, uint32_t type_word,
                                size_t cell_bytes) {
  struct gc_collector *c = m->c;
  bool large = cell_bytes >= RC_LARGE_MIN;
  unsigned size_class = large ? 0 : rc_size_class(cell_bytes);
  bool may_unlock = type_word >= GC_FIRST_USER_TYPE && !c->in_collection;
  /* First the free list, then a new block, then a full collection (ZCT and
   * cycles) and both again, then out of memory. */
  for (int attempt = 0; attempt < 3; attempt++) {
    /* verify=1: other threads' check_ref reads the chunks, the block
     * headers and the large objects' table while these change. */
    if (large) {
      checking_begins(c);
      struct gc_obj *obj = rc_large_allocate(c, cell_bytes);
      checking_ends(c);
      if (obj) {
        assert(!m->unready_large);
        m->unready_large = obj;
        return obj;
      }
    } else {
      struct gc_obj *obj = take_cell(m, size_class);
      if (obj)
        return obj;
      if (may_unlock)
        fault_in_next_block(m);
      checking_begins(c);
      int added = add_block(c, size_class);
      checking_ends(c);
      if (added == 0 && (obj = take_cell(m, size_class)))
        return obj;
    }
    if (attempt == 0 && !c->in_collection)
      rc_collection_point(c, true);
    /* verify=1 never changes which programs run out of memory. */
    if (attempt == 1 && !rc_quarantine_give_way(c))
      break;
  }
  char used[32], limit[32];
  gc_trap_raise(
      c->heap, GC_TRAP_OOM,
      "out of memory: %zu bytes requested, heap %s of max-heap-size %s after "
      "a full collection",
      cell_bytes, gc_format_size(rc_heap_bytes(c), used, sizeof used),
      c->options->max_heap_size
          ? gc_format_size(c->options->max_heap_size, limit, sizeof limit)
          : "unlimited (the system refused memory)");
  return NULL;
}

/* Puts block on its class's partial list, if it is not listed already. */
static void list_partial(struct gc_collector *c, struct rc_block *block) {
  if (!block->listed) {
    struct rc_class *k = &c->classes[block->size_class];
    block->listed = 1;
    block->next_partial = k->partial;
    k->partial = block;
  }
}

void rc_alloc_free_cell(struct gc_collector *c, struct rc_block *block,
                        uint32_t index) {
  gc_bit_set(block->free_bits, index);
  block->free_cells++;
  list_partial(c, block);
}

void rc_release_cell(struct gc_collector *c, struct gc_obj *obj) {
  size_t cell_bytes = rc_cell_bytes(c->types, obj);
  if (cell_bytes < RC_LARGE_MIN) {
    struct rc_block *block = rc_block_of(obj);
    uint32_t index = rc_cell_index(block, obj);
    if (c->verify) {
      gc_poison(obj, block->cell_bytes);
      if (rc_quarantine_cell(c, block, index))
        return;
    } else {
      obj->type_word = GC_TYPE_NONE;
    }
    rc_alloc_free_cell(c, block, index);
    return;
  }
  rc_large_release(c, obj);
}

static void retire_mutator_runs(struct gc_mutator *m) {
  for (unsigned i = 0; i < RC_NCLASSES; i++) {
    struct rc_allocator *a = &m->alloc[i];
    struct gc_inline_bump *run = a->run;
    if (run->cursor >= run->limit) {
      run->cursor = run->limit = NULL;
      continue;
    }
    struct rc_block *block = rc_block_of(run->cursor);
    uint32_t start = rc_cell_index(block, run->cursor);
    uint32_t end = rc_cell_index(block, run->limit - 1) + 1;
    unclaim_cells(block, start, end);
    block->free_cells += end - start;
    /* The next run of this block starts where this one stopped. */
    if (block == a->current && block->scan > start)
      block->scan = start;
    run->cursor = run->limit = NULL;
  }
}

void rc_alloc_retire_runs(struct gc_collector *c) {
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    retire_mutator_runs(m);
}

void rc_alloc_detach(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  checking_begins(c);
  retire_mutator_runs(m);
  checking_ends(c);
  for (unsigned i = 0; i < RC_NCLASSES; i++) {
    struct rc_block *block = m->alloc[i].current;
    m->alloc[i].current = NULL;
    if (!block)
      continue;
    /* listed stays set while the block is on the partial list. */
    if (block->free_cells) {
      block->next_partial = c->classes[i].partial;
      c->classes[i].partial = block;
    } else {
      block->listed = 0;
    }
  }
}

/* Frees the young cells of block that the trace did not promote. */
static uint64_t sweep_block(struct gc_collector *c, struct rc_block *block) {
  uint64_t freed = 0;
  uint32_t nwords = GC_BITMAP_WORDS(block->ncells);
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t dead = block->young_bits[w];
    if (!dead)
      continue;
    block->young_bits[w] = 0;
    freed += (uint64_t)__builtin_popcountll(dead);
    if (!c->verify) {
      block->free_bits[w] |= dead;
      block->free_cells += (uint32_t)__builtin_popcountll(dead);
      continue;
    }
    /* verify=1 poisons what it frees, to catch a write after free, and
     * holds it in quarantine, to catch a stale reference after reuse. */
    for (; dead; dead &= dead - 1) {
      uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(dead);
      gc_poison((char *)block + RC_BLOCK_HEADER_BYTES +
                    (size_t)i * block->cell_bytes,
                block->cell_bytes);
      if (!rc_quarantine_cell(c, block, i)) {
        block->free_bits[w] |= UINT64_C(1) << (i % 64);
        block->free_cells++;
      }
    }
  }
  if (freed)
    list_partial(c, block);
  return freed;
}

uint64_t rc_alloc_sweep_young(struct gc_collector *c) {
  uint64_t freed = 0;
  for (struct rc_block *block = c->young_blocks, *next; block; block = next) {
    next = block->next_young;
    block->young_listed = 0;
    block->next_young = NULL;
    freed += sweep_block(c, block);
  }
  c->young_blocks = NULL;
  /* Large young objects: the trace cleared the YOUNG bit of those it
   * promoted. */
  struct gc_obj_vector *large = &c->young_large;
  for (size_t i = 0; i < large->count; i++)
    if (large->items[i]->gc_word & RC_YOUNG) {
      rc_large_release(c, large->items[i]);
      freed++;
    }
  large->count = 0;
  return freed;
}

void rc_for_each_object(struct gc_collector *c,
                        void (*fn)(struct gc_collector *, struct gc_obj *,
                                   void *),
                        void *ctx) {
  /* A bitmap word at a time: verify=1 walks the heap twice per collection
   * point, and most cells of a small heap's blocks are free. fn frees at
   * most the object it is given, so a snapshot of the word is enough. */
  for (struct rc_block *block = c->blocks; block; block = block->next) {
    if (block->free_cells == block->ncells)
      continue;
    char *cells = (char *)block + RC_BLOCK_HEADER_BYTES;
    for (uint32_t w = 0; w * 64 < block->ncells; w++) {
      uint64_t allocated =
          ~block->free_bits[w] & range_mask(w, 0, block->ncells);
      if (block->quarantined)
        allocated &= ~block->quarantined[w];
      for (; allocated; allocated &= allocated - 1) {
        uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(allocated);
        fn(c, (struct gc_obj *)(cells + (size_t)i * block->cell_bytes), ctx);
      }
    }
  }
  for (struct gc_large_object *large = c->large.live, *next; large;
       large = next) {
    next = large->next;
    fn(c, gc_large_object(large), ctx);
  }
}

int rc_find_cell(struct gc_collector *c, const void *p, char *why,
                 size_t whylen) {
  /* The chunks first: they are few, and most references are to cells. */
  if (rc_chunk_index(c, p) >= 0) {
    const struct rc_block *block = rc_block_of(p);
    uint32_t cell;
    if (!rc_on_cell_boundary(block, p, &cell)) {
      snprintf(why, whylen,
               "not on an object boundary (inside a block of "
               "%u-byte cells)",
               block->cell_bytes);
      return -1;
    }
    return RC_AT_CELL;
  }
  if (rc_table_find(&c->large_objects, p))
    return RC_AT_LARGE;
  snprintf(why, whylen, "not an address of this refcount heap");
  return -1;
}

/* The chunk's huge-page hint is withdrawn from the 2 MiB around a block
 * given back. With it, khugepaged (which collapses a range into a huge page
 * when as few as one of its 512 pages is present: max_ptes_none = 511, and
 * each block keeps its header page) filled every given-back page in again:
 * a dropped 128 MB list went from 13 MB resident back to 126 MB within 90
 * seconds. The range's blocks still in use keep their pages, as small
 * ones. */
static void stop_huge_pages_around(struct rc_block *block) {
  uintptr_t region = (uintptr_t)block & ~(uintptr_t)(GC_HUGE_PAGE_BYTES - 1);
  madvise((void *)region, GC_HUGE_PAGE_BYTES, MADV_NOHUGEPAGE);
}

/* Only at gc_collect, not at the allocation path's collection points, and
 * with hysteresis: a block emptied and refilled between two calls would pay
 * its page faults again each time (a program that called gc_collect after
 * every 200 KB of garbage spent three quarters of its time in the kernel),
 * and on this kind of VM a page fault costs more than the allocations it
 * serves. So a block goes back only if it was wholly free at the previous
 * gc_collect too and nothing claimed a cell since, and only while the
 * resident heap is over 1.5 times the target — twice the live bytes plus
 * one allocation budget, the room the program uses between two collection
 * points (tracing's rule). The block's first page (its header) stays. A
 * given-back page reads as zero, as a free cell must; with verify=1 the
 * free cells keep their poison instead (checked on reuse), so nothing is
 * given back. */
void rc_alloc_release_empty_blocks(struct gc_collector *c) {
  if (c->verify)
    return;
  uint64_t target = 2 * c->live_bytes + (uint64_t)c->budget_reset;
  uint64_t keep = target + target / 2;
  for (struct rc_block *block = c->blocks; block; block = block->next) {
    if (block->free_cells != block->ncells || block->idle == RC_BLOCK_RELEASED)
      continue;
    if (block->idle == RC_BLOCK_IN_USE) {
      block->idle = RC_BLOCK_SEEN_FREE; /* free now: released next time */
      continue;
    }
    if (rc_heap_bytes(c) - c->released_bytes <= keep)
      continue;
    /* A hint: if the system refuses, the pages simply stay. */
    madvise((char *)block + GC_PAGE_BYTES, RC_BLOCK_BYTES - GC_PAGE_BYTES,
            MADV_DONTNEED);
    stop_huge_pages_around(block);
    block->idle = RC_BLOCK_RELEASED;
    c->released_bytes += RC_BLOCK_BYTES - GC_PAGE_BYTES;
    c->blocks_released++;
  }
}

void rc_alloc_free_all(struct gc_collector *c) {
  rc_quarantine_free(c);
  rc_large_free_all(c);
  for (size_t i = 0; i < c->chunks.count; i++)
    gc_sys_unmap(c->chunks.items[i].map, c->chunks.items[i].map_bytes);
  gc_vector_free(&c->chunks);
  c->blocks = NULL;
}
