/* rc-alloc.c — where the refcount collector's objects live.
 *
 * Small objects (< RC_LARGE_MIN bytes) live in 64 KiB blocks, one size class
 * per block, carved from 4 MiB system mappings (chunks) aligned so that a
 * block's address is its cell's address rounded down. Each class has a free
 * list threaded through its free cells; allocation pops it inline
 * (refcount.c). Large objects get a mapping each. Memory goes back to the
 * system at heap teardown; freed cells are reused by their class.
 *
 * A free cell's header type is 0 (or, with verify=1, the whole cell but its
 * link is poisoned, and the poison is checked when the cell is reused). */
#include "refcount.h"

#define CHUNK_MAP_BYTES (RC_CHUNK_BLOCKS * RC_BLOCK_BYTES + RC_BLOCK_BYTES)
#define PAGE_BYTES ((size_t)4096)

static bool over_limit(struct gc_collector *c, size_t more) {
  uint64_t max = c->heap->options.max_heap_size;
  return max && c->heap_bytes + more > max;
}

/* Puts cell on its free list, poisoned with verify=1. */
static void push_free_cell(struct gc_collector *c, unsigned size_class,
                           struct gc_obj *cell, size_t cell_bytes) {
  struct rc_free_cell *free_cell = (struct rc_free_cell *)cell;
  if (c->verify)
    gc_poison(cell, cell_bytes);
  else
    free_cell->header = 0;
  free_cell->next = c->free_lists[size_class];
  c->free_lists[size_class] = free_cell;
}

/* A fresh block for size_class, its cells on the free list; -1 if the heap
 * limit or the system says no. */
static int add_block(struct gc_collector *c, unsigned size_class) {
  if (over_limit(c, RC_BLOCK_BYTES))
    return -1;
  struct rc_chunk *chunk = c->nchunks ? &c->chunks[c->nchunks - 1] : NULL;
  if (!chunk || chunk->nblocks == RC_CHUNK_BLOCKS) {
    if (c->nchunks == c->chunks_capacity) {
      size_t capacity = c->chunks_capacity ? 2 * c->chunks_capacity : 16;
      struct rc_chunk *chunks =
          gc_sys_realloc(c->chunks, capacity * sizeof *chunks);
      if (!chunks)
        return -1;
      c->chunks = chunks;
      c->chunks_capacity = capacity;
    }
    char *map = gc_sys_map(CHUNK_MAP_BYTES);
    if (!map)
      return -1;
    chunk = &c->chunks[c->nchunks++];
    chunk->map = map;
    chunk->map_bytes = CHUNK_MAP_BYTES;
    chunk->blocks = (char *)(((uintptr_t)map + RC_BLOCK_BYTES - 1) &
                             ~(uintptr_t)(RC_BLOCK_BYTES - 1));
    chunk->nblocks = 0;
  }
  struct rc_block *block =
      (struct rc_block *)(chunk->blocks + chunk->nblocks++ * RC_BLOCK_BYTES);
  size_t cell_bytes = rc_class_bytes(size_class);
  block->cell_bytes = (uint32_t)cell_bytes;
  block->size_class = size_class;
  block->ncells =
      (uint32_t)((RC_BLOCK_BYTES - RC_BLOCK_HEADER_BYTES) / cell_bytes);
  block->next = c->blocks;
  c->blocks = block;
  /* Thread the cells last to first so that allocation runs in address
   * order. Fresh mappings are zero: header 0 already means free. */
  char *cells = (char *)block + RC_BLOCK_HEADER_BYTES;
  for (uint32_t i = block->ncells; i-- > 0;)
    push_free_cell(c, size_class, (struct gc_obj *)(cells + i * cell_bytes),
                   cell_bytes);
  c->heap_bytes += RC_BLOCK_BYTES;
  gc_note_heap_bytes(c->heap, c->heap_bytes);
  return 0;
}

static struct gc_obj *allocate_large(struct gc_collector *c,
                                     size_t cell_bytes) {
  size_t map_bytes = (sizeof(struct rc_large) + cell_bytes + PAGE_BYTES - 1) &
                     ~(PAGE_BYTES - 1);
  if (map_bytes < cell_bytes || over_limit(c, map_bytes))
    return NULL;
  if (rc_table_reserve(&c->large_objects, 1))
    return NULL;
  struct rc_large *large = gc_sys_map(map_bytes);
  if (!large)
    return NULL;
  large->map_bytes = map_bytes;
  large->prev = NULL;
  large->next = c->large_list;
  if (large->next)
    large->next->prev = large;
  c->large_list = large;
  struct gc_obj *obj = (struct gc_obj *)(large + 1);
  *rc_table_upsert(&c->large_objects, obj) = 1;
  c->heap_bytes += map_bytes;
  gc_note_heap_bytes(c->heap, c->heap_bytes);
  return obj;
}

/* Pops a free cell, checking its poison with verify=1; NULL if none. */
static struct gc_obj *pop_checked(struct gc_collector *c, unsigned size_class,
                                  size_t cell_bytes) {
  for (;;) {
    struct rc_free_cell *cell = c->free_lists[size_class];
    if (!cell)
      return NULL;
    c->free_lists[size_class] = cell->next;
    if (!c->verify)
      return (struct gc_obj *)cell;
    /* Everything but the link at bytes 8..15 must still be poison. */
    long bad = gc_poison_check(cell, 8);
    if (bad < 0 && cell_bytes > 16) {
      bad = gc_poison_check((char *)cell + 16, cell_bytes - 16);
      if (bad >= 0)
        bad += 16;
    }
    if (bad < 0)
      return (struct gc_obj *)cell;
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%p: freed memory was written after it was freed (byte %ld "
                  "of the free %zu-byte cell is not the poison pattern)",
                  (void *)cell, bad, cell_bytes);
    /* The handler returned: leave the damaged cell out of use. */
  }
}

/* The slow half of allocation: the free list of the class is empty, verify
 * is on, or the object is large. Returns an unzeroed cell whose header the
 * caller sets; NULL after a trap. */
struct gc_obj *rc_allocate_slow(struct gc_collector *c, uint32_t type,
                                size_t cell_bytes) {
  bool large = cell_bytes >= RC_LARGE_MIN;
  unsigned size_class = large ? 0 : rc_size_class(cell_bytes);
  size_t class_bytes = large ? cell_bytes : rc_class_bytes(size_class);
  /* First the free list, then a new block, then a full collection (ZCT and
   * cycles) and both again, then out of memory. */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (large) {
      struct gc_obj *obj = allocate_large(c, cell_bytes);
      if (obj)
        return obj;
    } else {
      struct gc_obj *obj = pop_checked(c, size_class, class_bytes);
      if (obj)
        return obj;
      if (add_block(c, size_class) == 0 &&
          (obj = pop_checked(c, size_class, class_bytes)))
        return obj;
    }
    if (attempt == 0 && !c->in_collection)
      rc_collection_point(c, true);
  }
  char used[32], limit[32];
  gc_trap_raise(
      c->heap, GC_TRAP_OOM,
      "out of memory: %zu bytes requested, heap %s of max-heap-size %s after "
      "a full collection",
      cell_bytes, gc_format_size(c->heap_bytes, used, sizeof used),
      c->heap->options.max_heap_size
          ? gc_format_size(c->heap->options.max_heap_size, limit, sizeof limit)
          : "unlimited (the system refused memory)");
  return NULL;
}

void rc_release_cell(struct gc_collector *c, struct gc_obj *obj) {
  size_t cell_bytes = rc_cell_bytes(c->heap, obj);
  if (cell_bytes < RC_LARGE_MIN) {
    unsigned size_class = rc_size_class(cell_bytes);
    push_free_cell(c, size_class, obj, rc_class_bytes(size_class));
    return;
  }
  struct rc_large *large = (struct rc_large *)obj - 1;
  rc_table_remove(&c->large_objects, obj);
  if (large->prev)
    large->prev->next = large->next;
  else
    c->large_list = large->next;
  if (large->next)
    large->next->prev = large->prev;
  c->heap_bytes -= large->map_bytes;
  gc_sys_unmap(large, large->map_bytes);
  gc_note_heap_bytes(c->heap, c->heap_bytes);
}

void rc_for_each_object(struct gc_collector *c,
                        void (*fn)(struct gc_collector *, struct gc_obj *,
                                   void *),
                        void *ctx) {
  for (struct rc_block *block = c->blocks; block; block = block->next) {
    char *cell = (char *)block + RC_BLOCK_HEADER_BYTES;
    for (uint32_t i = 0; i < block->ncells; i++, cell += block->cell_bytes)
      if (rc_cell_allocated((struct gc_obj *)cell))
        fn(c, (struct gc_obj *)cell, ctx);
  }
  for (struct rc_large *large = c->large_list, *next; large; large = next) {
    next = large->next;
    fn(c, (struct gc_obj *)(large + 1), ctx);
  }
}

int rc_find_cell(struct gc_collector *c, const void *p, char *why,
                 size_t whylen) {
  if (rc_table_find(&c->large_objects, p))
    return 0;
  for (size_t i = 0; i < c->nchunks; i++) {
    struct rc_chunk *chunk = &c->chunks[i];
    const char *at = p;
    if (at < chunk->blocks || at >= chunk->blocks + chunk->nblocks * RC_BLOCK_BYTES)
      continue;
    struct rc_block *block = (struct rc_block *)((uintptr_t)at &
                                                 ~(uintptr_t)(RC_BLOCK_BYTES - 1));
    size_t offset = (size_t)(at - (char *)block);
    if (offset < RC_BLOCK_HEADER_BYTES ||
        (offset - RC_BLOCK_HEADER_BYTES) % block->cell_bytes ||
        (offset - RC_BLOCK_HEADER_BYTES) / block->cell_bytes >= block->ncells) {
      snprintf(why, whylen, "not on an object boundary (inside a block of "
                            "%u-byte cells)", block->cell_bytes);
      return -1;
    }
    return 0;
  }
  snprintf(why, whylen, "not an address of this refcount heap");
  return -1;
}

void rc_alloc_free_all(struct gc_collector *c) {
  for (struct rc_large *large = c->large_list, *next; large; large = next) {
    next = large->next;
    gc_sys_unmap(large, large->map_bytes);
  }
  c->large_list = NULL;
  for (size_t i = 0; i < c->nchunks; i++)
    gc_sys_unmap(c->chunks[i].map, c->chunks[i].map_bytes);
  gc_sys_free(c->chunks);
  c->chunks = NULL;
  c->nchunks = 0;
  c->blocks = NULL;
  rc_table_free(&c->large_objects);
}
