/* tracing-collect.c — one collection, phase by phase.
 *
 * Two kinds: a full (major) collection starts a new epoch, so every object
 * is unmarked, and traces from the roots. A minor collection keeps the
 * epoch: objects marked before are old and are not traced again; it traces
 * from the roots and the remembered set (old objects the write barrier saw
 * receive a young reference, tracing.c). Old objects that died wait for the
 * next full collection. gc_collect() and stress collections are full;
 * collections on the allocation path are minor unless one is due.
 *
 *   1. begin:     full: new epochs. The allocators drop their regions.
 *   2. mark:      from the roots (and minor: the remembered set;
 * tracing-mark.c).
 *   3. verify:    verify=1 only: marked objects point only to marked ones.
 *   4. finalize:  destructors of unmarked resources; weak references to
 *                 unmarked targets cleared. Nothing has been freed yet, so
 *                 these reads are of intact objects.
 *   5. sweep:     block states from line marks; large objects unmapped.
 *   6. size:      the heap policy sets the next target; free chunks go back
 *                 to the system when the heap is well below its peak.
 *
 * Heap policy (tracing-sizing.c): after a collection, live = bytes of
 * marked lines + live large objects. The next collection comes when the
 * space taken since then brings the total to the target, which a full
 * collection sets to live + a room that grows with the square root of live
 * (MemBalancer); a minor one keeps it, and asks for a full one when old
 * objects have taken half the room. The heap grows (new chunks) only when
 * the existing blocks cannot hold the target. */
#include "tracing.h"

static void begin_epochs(struct gc_collector *c) {
  if (++c->epoch == 0)
    c->epoch = 1; /* gc_word 0 is a fresh object: never a mark */
  gc_set_barrier_filter(c->heap, UINT32_MAX, c->epoch); /* old objects only */
  if (++c->line_epoch == 0) {
    /* The byte wrapped: old marks could look current. Clear them all. */
    for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next)
      memset(chunk->line_mark, 0, sizeof chunk->line_mark);
    c->line_epoch = 1;
  }
}

/* A failed mark leaves partial line marks: reuse no block that held
 * anything until the next complete collection (only pristine blocks stay
 * free). Nothing is freed. */
static void abandon_collection(struct gc_collector *c) {
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next)
    for (uint32_t b = FIRST_OBJECT_BLOCK; b < BLOCKS_PER_CHUNK; b++)
      if (!chunk->block_pristine[b])
        chunk->block_state[b] = BLOCK_FULL;
}

/* Unmarked resources: run their destructors (exactly once: they leave the
 * list). Marked or not, weak references are dropped from their list when
 * they die, and cleared when their target dies. */
static void finalize(struct gc_collector *c) {
  gc_heap *heap = c->heap;
  struct gc_obj_vector *res = &c->resources;
  for (size_t i = 0; i < res->count;) {
    struct gc_resource *r = (struct gc_resource *)res->items[i];
    if (c->verify && r->header.type_word == (uint32_t)GC_POISON_WORD) {
      gc_trap_raise(
          heap, GC_TRAP_INVARIANT,
          "resource %p was freed before its destructor ran (the sweep "
          "would read freed memory)",
          (void *)r);
      res->items[i] = res->items[--res->count];
      continue;
    }
    if (r->header.gc_word == c->epoch) {
      i++;
      continue;
    }
    res->items[i] = res->items[--res->count];
    gc_run_destructor(heap, r);
  }
  struct gc_obj_vector *weaks = &c->weaks;
  for (size_t i = 0; i < weaks->count;) {
    struct gc_weak *w = (struct gc_weak *)weaks->items[i];
    if (w->header.gc_word != c->epoch) {
      weaks->items[i] = weaks->items[--weaks->count];
      continue;
    }
    if (w->target && w->target->gc_word != c->epoch)
      w->target = NULL;
    i++;
  }
}

static bool forget_if_dead(struct gc_collector *c, struct chunk *chunk,
                           size_t granule, void *ctx) {
  (void)ctx;
  struct gc_obj *obj = (struct gc_obj *)((char *)chunk + granule * 8);
  if (obj->gc_word != c->epoch)
    gc_bit_clear(chunk->object_start, granule);
  return true;
}

/* verify=1: dead objects lose their start bit, so check_ref rejects them.
 * Runs before the sweep poisons and quarantines their lines. */
static void forget_dead_objects(struct gc_collector *c) {
  tracing_for_each_started_object(c, forget_if_dead, NULL);
}

/* Sets each block's state from its line marks and (verify=1) the lines its
 * quarantine holds, after quarantining the lines that died now. Returns
 * the bytes of marked lines. */
static uint64_t sweep_blocks(struct gc_collector *c) {
  if (c->verify)
    tracing_quarantine_dead_lines(c);
  uint64_t live_lines = 0;
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next) {
    for (uint32_t b = FIRST_OBJECT_BLOCK; b < BLOCKS_PER_CHUNK; b++) {
      if (chunk->block_state[b] == BLOCK_UNUSED)
        continue;
      if (chunk->block_pristine[b]) {
        chunk->block_state[b] = BLOCK_FREE;
        continue;
      }
      size_t first = (size_t)b * LINES_PER_BLOCK;
      uint32_t live =
          count_marked_lines(&chunk->line_mark[first], c->line_epoch);
      /* With verify=1, the quarantined lines too. */
      uint32_t held = c->verify ? count_held_lines(c, chunk, b) : live;
      chunk->block_state[b] = held == 0                 ? BLOCK_FREE
                              : held == LINES_PER_BLOCK ? BLOCK_FULL
                                                        : BLOCK_RECYCLABLE;
      live_lines += live;
    }
  }
  return live_lines * LINE_SIZE;
}

/* Retires unmarked large objects (tracing-alloc.c) into the reuse cache,
 * after unmapping what it kept for GC_LARGE_CACHE_MAX_IDLE collections and
 * no allocation reused. Returns the bytes of the live ones. */
static uint64_t sweep_large(struct gc_collector *c) {
  gc_large_age_cache(&c->large, GC_LARGE_CACHE_MAX_IDLE);
  uint64_t live = 0;
  for (struct gc_large_object *l = c->large.live, *next; l; l = next) {
    next = l->next;
    struct gc_obj *obj = gc_large_object(l);
    if (obj->gc_word == c->epoch)
      live += l->map_bytes;
    else
      tracing_retire_large(c, obj);
  }
  return live;
}

/* Stats: the objects that were not marked are the ones reclaimed. gc/
 * counts what it allocated, so reporting what is live (gc_note_live) is
 * exact without visiting a dead object, where counting each one would cost a
 * call per dead object (15M in GCBench). */
static void note_reclaimed(struct gc_collector *c, bool major) {
  /* Live now: what this collection marked, plus in a minor collection the
   * old objects, less the remembered ones it marked again. */
  if (major) {
    c->old_objects = c->old_bytes = 0;
  } else {
    c->old_objects -= c->remembered_objects;
    c->old_bytes -= c->remembered_bytes;
  }
  c->old_objects += c->marked_objects;
  c->old_bytes += c->marked_bytes;
  gc_note_live(c->heap, c->old_objects, c->old_bytes);
}

bool tracing_chunk_all_free(const struct chunk *chunk) {
  for (uint32_t b = FIRST_OBJECT_BLOCK; b < BLOCKS_PER_CHUNK; b++)
    if (chunk->block_state[b] != BLOCK_FREE &&
        chunk->block_state[b] != BLOCK_UNUSED)
      return false;
  return true;
}

static bool collect(struct gc_collector *c, bool major) {
  if (c->collecting)
    return false;
  c->collecting = true;
  major = major || c->next_major;
  c->next_major = false;
  uint64_t start = gc_pause_begin(c->heap);
  tracing_sizing_collection_begins(c, start);
  tracing_reset_allocators(c);
  if (major)
    begin_epochs(c);
  bool ok = tracing_mark(c, major);
  if (!ok) {
    gc_trap_raise(
        c->heap, GC_TRAP_OOM,
        "collection abandoned: no memory to grow the mark stack or for a "
        "packet of marking work; nothing was freed");
  } else {
#ifdef GCHEAP_TESTING
    if (c->after_mark_hook)
      c->after_mark_hook(c->heap, c->after_mark_ud);
#endif
    if (c->verify)
      ok = tracing_verify_marks(c);
  }
  if (!ok) {
    abandon_collection(c);
    c->next_major = true; /* partial marks must not pass for old objects */
  } else {
    finalize(c);
    note_reclaimed(c, major);
    if (c->verify)
      forget_dead_objects(c);
    /* Large first: the blocks' sweep trims the quarantine, which holds
     * dead large objects too. */
    uint64_t live = sweep_large(c);
    live += sweep_blocks(c);
    uint64_t end = gc_now_ns();
    tracing_size_heap(c, live, major, end - start, end);
  }
  tracing_reset_allocators(c);
  gc_pause_end(c->heap, start);
  c->collecting = false;
  return ok;
}

/* A full collection that also returns every cached large mapping and what
 * a deep graph grew the mark stack to: what the program dropped goes back to
 * the system now (gc_collect), or makes room under max-heap-size (the last
 * resort before an OOM trap). */
bool tracing_collect_full(struct gc_collector *c) {
  bool ok = collect(c, true);
  gc_vector_trim(&c->mark_stack);
  if (ok && gc_large_release_cache(&c->large)) {
    gc_note_heap_bytes(c->heap, mapped_bytes(c));
  }
  return ok;
}

void tracing_collect(struct gc_mutator *m) {
  tracing_collect_full(m->c);
}

bool tracing_collect_for_allocation(struct gc_collector *c) {
  return collect(c, false);
}
