/* tracing-quarantine.c — verify=1: freed memory is kept from reuse for a while.
 *
 * Without it, a line freed by a collection is handed out again by the next
 * allocation that fits, and a stale reference into it (an object the
 * program forgot to root) silently aliases the new object: verify=1 could
 * only catch the mistake until the cell was reused, which under stress=1 is
 * the very next allocation. With it, every line that held an object and
 * died stays poisoned and unavailable until verify-quarantine more bytes
 * have been freed after it (gc/'s FIFO, struct gc_quarantine): its objects'
 * start bits are cleared (tracing-collect.c, forget_dead_objects), so check_ref
 * rejects a stale reference into it at the first API call that receives
 * one, however many allocations came since.
 *
 * The unit is the line, the unit the sweep frees. Large objects are
 * quarantined whole by gc/'s large-object space: their mapping stays
 * (poisoned) instead of going to the reuse cache or back to the system,
 * where a later mapping could take its address. Quarantined memory counts in
 * the heap's mapped bytes, so it is under max-heap-size; before an OOM trap the
 * quarantine gives all its room back (tracing_quarantine_give_way).
 *
 * Invariant Q1: a line's quarantined bit is set exactly while its address
 * is in c->quarantine; it is also poisoned (line_poisoned) and holds no
 * object start. */
#include "tracing.h"

static size_t release_entry(void *ctx, uintptr_t entry) {
  struct gc_collector *c = ctx;
  if (entry & QUARANTINE_LARGE_TAG)
    return gc_large_leave_quarantine(
        &c->large,
        (struct gc_large_object *)(entry & ~(uintptr_t)QUARANTINE_LARGE_TAG),
        large_cache_limit(c));
  /* A write after free into the line shows now, and is reported once: the
   * line is poisoned again for its reuse, which checks again (tracing-alloc.c).
   */
  char *line = (char *)entry;
  gc_quarantine_check_poison(c->heap, line, LINE_SIZE);
  gc_bit_clear(chunk_of(line)->line_quarantined, line_index(line));
  return LINE_SIZE;
}

void tracing_quarantine_dead_lines(struct gc_collector *c) {
  assert(c->verify);
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next) {
    for (uint32_t b = FIRST_OBJECT_BLOCK; b < BLOCKS_PER_CHUNK; b++) {
      if (chunk->block_state[b] == BLOCK_UNUSED || chunk->block_pristine[b])
        continue;
      for (size_t line = (size_t)b * LINES_PER_BLOCK;
           line < (size_t)(b + 1) * LINES_PER_BLOCK; line++) {
        /* A line an object was allocated in is no longer poisoned
         * (tracing-alloc.c, verify_fresh_cell): unmarked, it died now. */
        if (chunk->line_mark[line] == c->line_epoch ||
            gc_bit_test(chunk->line_poisoned, line))
          continue;
        char *address = (char *)chunk + line * LINE_SIZE;
        gc_poison(address, LINE_SIZE);
        gc_bit_set(chunk->line_poisoned, line);
        if (gc_quarantine_push(&c->quarantine, (uintptr_t)address, LINE_SIZE))
          gc_bit_set(chunk->line_quarantined, line);
      }
    }
  }
  gc_quarantine_trim(&c->quarantine, c->quarantine.limit, release_entry, c);
}

bool tracing_quarantine_give_way(struct gc_collector *c) {
  if (!c->quarantine.count)
    return false;
  /* A full collection with no room in the quarantine: its sweep releases
   * every entry and sets the block states from what is then free. */
  uint64_t limit = c->quarantine.limit;
  c->quarantine.limit = 0;
  bool collected = tracing_collect_full(c);
  c->quarantine.limit = limit;
  if (!collected)
    gc_quarantine_trim(&c->quarantine, 0, release_entry, c);
  return true;
}

void tracing_quarantine_free(struct gc_collector *c) {
  gc_quarantine_trim(&c->quarantine, 0, release_entry, c);
  gc_quarantine_free(&c->quarantine);
}
