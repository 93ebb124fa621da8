/* refcount-block.h — where refcount's small objects live: blocks of one
 * size class each, carved from chunks, their cells found by index and
 * tracked in bitmaps (free, young, quarantined). The geometry only: what
 * allocates and frees cells is refcount-alloc.c, declared in refcount.h.
 */
#ifndef GC_REFCOUNT_BLOCK_H
#define GC_REFCOUNT_BLOCK_H

#include "bitmap.h"

#include <gcheap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RC_BLOCK_BYTES ((size_t)64 << 10) /* one size class per block */
#define RC_CHUNK_BLOCKS 64                /* blocks per system mapping */
#define RC_BLOCK_HEADER_BYTES 1088        /* first cell's offset in a block */
#define RC_LARGE_MIN ((size_t)8192 + 8)   /* objects this big: own mapping */
#define RC_NCLASSES 39
#define RC_MAX_CELLS ((RC_BLOCK_BYTES - RC_BLOCK_HEADER_BYTES) / 16)

enum { RC_BLOCK_IN_USE, RC_BLOCK_SEEN_FREE, RC_BLOCK_RELEASED };

/* A block's header, at its start. Free cells are the set bits of free_bits;
 * the allocator claims runs of consecutive free cells and bumps through
 * them, so that objects allocated together lie together. */
struct rc_block {
  struct rc_block *next;         /* every block of the heap, newest first */
  struct rc_block *next_partial; /* the class's blocks with free cells */
  uint32_t cell_bytes;
  uint32_t ncells;
  uint32_t size_class;
  uint32_t free_cells; /* set bits in free_bits */
  /* What gc_collect has seen of the block (rc_alloc_release_empty_blocks):
   * RC_BLOCK_IN_USE; RC_BLOCK_SEEN_FREE, wholly free at one gc_collect;
   * RC_BLOCK_RELEASED, still free at a later one and its pages given back.
   * Back to RC_BLOCK_IN_USE when cells are claimed. */
  uint32_t idle;
  uint32_t scan; /* the allocator looks for free runs from here on */
  /* verify=1: cells at or past this index were never allocated, so they
   * are still zero from the system, not poisoned (poisoning whole fresh
   * blocks made every new block fault all its pages in at once). */
  uint32_t high_water;
  /* On its class's partial list or its current block: a free need not
   * list it again. */
  uint32_t listed;
  /* On c->young_blocks: some young_bits are set. */
  uint32_t young_listed;
  struct rc_block *next_young;
  /* ceil(2^32 / cell_bytes): a cell's index is (offset * inverse) >> 32,
   * exact for offsets within a block, without a division. */
  uint64_t inverse;
  uint64_t free_bits[GC_BITMAP_WORDS(RC_MAX_CELLS)];
  /* Cells claimed for allocation since the last collection point and not
   * promoted by it: what its sweep frees, a word at a time (refcount-young.c).
   */
  uint64_t young_bits[GC_BITMAP_WORDS(RC_MAX_CELLS)];
  /* verify=1 only (NULL otherwise): cells freed and held in the quarantine
   * (refcount-quarantine.c): neither free nor allocated. */
  uint64_t *quarantined;
};
_Static_assert(sizeof(struct rc_block) <= RC_BLOCK_HEADER_BYTES,
               "block header too big");

static inline struct rc_block *rc_block_of(const void *cell) {
  return (struct rc_block *)((uintptr_t)cell &
                             ~(uintptr_t)(RC_BLOCK_BYTES - 1));
}

/* A size class: its blocks with free cells, shared by the threads (under
 * the heap lock). */
struct rc_class {
  size_t cell_bytes;
  struct rc_block *partial;
};

/* Where one thread allocates in one size class: a run of free cells
 * [cursor, limit) in its current block, which no other thread takes runs
 * from, then the next block of the class's partial list. The run of a
 * class up to GCHEAP_INLINE_CELL_MAX_BYTES is the handle's published one
 * (gcheap.h's cell table), so that the inline allocation takes its cells
 * too; a larger class keeps its run in own_run. */
struct rc_allocator {
  struct gc_inline_bump *run;
  struct gc_inline_bump own_run;
  struct rc_block *current;
};

struct rc_chunk {
  char *map;        /* what gc_sys_map returned */
  size_t map_bytes; /* what was mapped */
  char *blocks;     /* the first block (aligned to RC_BLOCK_BYTES) */
  uint32_t nblocks; /* blocks carved so far */
};

/* Size classes: every 8 bytes from 16 to 128, then four per doubling up to
 * 8192 (at most 25% internal waste). bytes: a multiple of 8, < RC_LARGE_MIN.*/
static inline unsigned rc_size_class(size_t bytes) {
  if (bytes <= 128)
    return (unsigned)(bytes >> 3) - 2;
  size_t b = bytes - 1;
  unsigned lg = 63 - (unsigned)__builtin_clzll(b);
  return 15 + 4 * (lg - 7) + (unsigned)((b >> (lg - 2)) & 3);
}
static inline size_t rc_class_bytes(unsigned size_class) {
  if (size_class < 15)
    return 16 + 8 * (size_t)size_class;
  unsigned k = size_class - 15, lg = 7 + k / 4;
  return ((size_t)1 << lg) + (size_t)(k % 4 + 1) * ((size_t)1 << (lg - 2));
}

/* A small object's cell index in its block. */
static inline uint32_t rc_cell_index(const struct rc_block *block,
                                     const void *cell) {
  uint64_t offset = (uint64_t)((const char *)cell - (const char *)block) -
                    RC_BLOCK_HEADER_BYTES;
  return (uint32_t)((offset * block->inverse) >> 32);
}
/* Clears obj's young bit: the trace promoted it. */
static inline void rc_alloc_promote_cell(struct gc_obj *obj) {
  struct rc_block *block = rc_block_of(obj);
  gc_bit_clear(block->young_bits, rc_cell_index(block, obj));
}
/* True if p, in block, is where one of its cells starts; its index in
 * *cell. (No division: the index from rc_cell_index, then the product
 * back.) */
static inline bool rc_on_cell_boundary(const struct rc_block *block,
                                       const void *p, uint32_t *cell) {
  size_t offset = (size_t)((const char *)p - (const char *)block);
  *cell = rc_cell_index(block, p);
  return offset >= RC_BLOCK_HEADER_BYTES && *cell < block->ncells &&
         RC_BLOCK_HEADER_BYTES + (size_t)*cell * block->cell_bytes == offset;
}
/* True if the cell at obj (in a block) holds an allocated object, zombies
 * included. The free bit says so, not the header: the sweep frees young
 * cells without writing them. (Cells of a bump run not yet handed out
 * count as allocated until rc_alloc_retire_runs gives them back.) */
static inline bool rc_cell_allocated(struct gc_obj *obj) {
  const struct rc_block *block = rc_block_of(obj);
  uint32_t i = rc_cell_index(block, obj);
  if (gc_bit_test(block->free_bits, i))
    return false;
  return !block->quarantined || !gc_bit_test(block->quarantined, i);
}

#endif /* GC_REFCOUNT_BLOCK_H */
