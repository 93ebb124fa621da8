/* refcount-quarantine.c — verify=1: freed cells are kept from reuse for a
 * while.
 *
 * Without it, verify=1's allocator hands out the lowest free cell of a
 * class, so a cell freed at a collection point is usually the next one
 * allocated, and a stale reference to the dead object (one the program
 * forgot to root) silently aliases the new one. With it, a freed cell stays
 * poisoned and out of use — neither free (the allocator skips it) nor
 * allocated (heap walks and check_ref skip it: rc_cell_allocated) — until
 * verify-quarantine more bytes have been freed after it (gc/'s FIFO, struct
 * gc_quarantine). A stale reference into it therefore traps at the first
 * API call that receives it, however many allocations came since.
 *
 * A dead large object's mapping stays too, poisoned, so that no later
 * mapping takes its address while it is quarantined (gc/'s large-object
 * space keeps it); when it is let go, the mapping goes to the reuse cache.
 * Quarantined memory counts in rc_heap_bytes, under max-heap-size; before
 * an OOM trap the quarantine gives everything back (rc_allocate_slow).
 *
 * Invariant: a cell's bit in block->quarantined is set exactly while its
 * address is in c->quarantine; the cell is then poisoned. */
#include "refcount.h"

static size_t release_entry(void *ctx, uintptr_t entry) {
  struct gc_collector *c = ctx;
  if (entry & RC_QUARANTINE_LARGE_TAG)
    return gc_large_leave_quarantine(
        &c->large,
        (struct gc_large_object *)(entry & ~(uintptr_t)RC_QUARANTINE_LARGE_TAG),
        rc_large_cache_limit(c));
  /* A write after free into the cell shows now, and is reported once: the
   * cell is poisoned again for its reuse, which checks again
   * (refcount-alloc.c). */
  char *cell = (char *)entry;
  struct rc_block *block = rc_block_of(cell);
  uint32_t index = rc_cell_index(block, cell);
  gc_quarantine_check_poison(c->heap, cell, block->cell_bytes);
  gc_bit_clear(block->quarantined, index);
  rc_alloc_free_cell(c, block, index);
  return block->cell_bytes;
}

bool rc_quarantine_cell(struct gc_collector *c, struct rc_block *block,
                        uint32_t index) {
  assert(c->verify && block->quarantined);
  char *cell =
      (char *)block + RC_BLOCK_HEADER_BYTES + (size_t)index * block->cell_bytes;
  if (!gc_quarantine_push(&c->quarantine, (uintptr_t)cell, block->cell_bytes))
    return false;
  gc_bit_set(block->quarantined, index);
  return true;
}

void rc_quarantine_trim(struct gc_collector *c) {
  gc_quarantine_trim(&c->quarantine, c->quarantine.limit, release_entry, c);
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
}

bool rc_quarantine_give_way(struct gc_collector *c) {
  if (!c->quarantine.count)
    return false;
  gc_quarantine_trim(&c->quarantine, 0, release_entry, c);
  gc_note_heap_bytes(c->heap, rc_heap_bytes(c));
  return true;
}

void rc_quarantine_free(struct gc_collector *c) {
  gc_quarantine_trim(&c->quarantine, 0, release_entry, c);
  gc_quarantine_free(&c->quarantine);
  for (struct rc_block *block = c->blocks; block; block = block->next) {
    gc_sys_free(block->quarantined);
    block->quarantined = NULL;
  }
}
