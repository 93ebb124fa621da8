/* rc-young.c — young objects are not reference counted (Ulterior reference
 * counting, Blackburn and McKinley, OOPSLA 2003; the young-object treatment
 * of RC Immix and LXR).
 *
 * Nearly every object dies before the collection point after its birth.
 * Counting it would touch it several times more than a tracing collector
 * does (its ZCT entry, the decrement from its parent, the decrements of its
 * children, its cell's release). So an object allocated since the last
 * collection point is *young* (RC_YOUNG):
 *
 *  - a store into a young object is a plain store: its fields are not
 *    counted;
 *  - a store into an old object counts the new value, young or old (and
 *    lists a young one in c->remembered), and uncounts the old value;
 *  - at the collection point, the young objects reachable from the roots
 *    and from the remembered ones that an old object still references
 *    (count > 0) are traced — through young objects only, with a queue,
 *    never recursion — and *promoted*: each reference field of a promoted
 *    object is counted now, once, so that from then on every count is the
 *    number of heap references, as for every old object;
 *  - the young objects the trace did not reach are dead. Their references
 *    were never counted, so nothing is decremented: their cells are freed
 *    from the blocks' young bitmaps a word at a time, without being read.
 *    Only those whose death has an effect are visited, from side lists:
 *    resources (the destructor runs), weak references (unlinked from their
 *    target's list) and weak targets (their weak references cleared).
 *
 * A promoted object joins the drain exactly as a young object used to: a
 * zero count (only roots hold it) puts it in the ZCT, a nonzero one makes it
 * a survivor for rc-survivors.c's cycle search, because a cycle among young
 * objects that only roots hold will never be decremented. A young cycle
 * that dies before its collection point costs nothing at all.
 *
 * Invariant (verify=1, rc-verify.c): the count of every object, young or
 * old, is the number of references to it from fields of old objects.
 * After a collection point there is no young object left.
 */
#include "refcount.h"

void rc_remember(struct gc_collector *c, struct gc_obj *obj) {
  if (rc_stack_push(&c->remembered, obj))
    c->remembered_overflowed = true; /* the trace looks at every young cell */
  else
    obj->gc_word |= RC_REMEMBERED;
}

/* Marks young obj reached: promoted from now on, its fields counted when the
 * queue reaches it. The queue's room was reserved when obj's cell was. */
static inline void promote(struct gc_collector *c, struct gc_obj *obj) {
  struct rc_stack *queue = &c->young_marks;
  obj->gc_word &= ~(RC_YOUNG | RC_REMEMBERED);
  assert(queue->length < queue->capacity);
  queue->items[queue->length++] = obj;
}

static void promote_root(gc_ref *slot, void *ctx) {
  if ((*slot)->gc_word & RC_YOUNG)
    promote(ctx, *slot);
}

static void promote_if_counted(struct gc_collector *c, struct gc_obj *obj) {
  if ((obj->gc_word & RC_YOUNG) && (obj->gc_word & RC_COUNT_MASK))
    promote(c, obj);
}

/* Without the remembered list (a push failed for lack of memory): every
 * young object with a count is a starting point. */
static void promote_every_counted(struct gc_collector *c) {
  for (struct rc_block *block = c->young_blocks; block;
       block = block->next_young) {
    uint32_t nwords = (block->ncells + 63) / 64;
    for (uint32_t w = 0; w < nwords; w++)
      for (uint64_t bits = block->young_bits[w]; bits; bits &= bits - 1) {
        uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
        promote_if_counted(c, (struct gc_obj *)((char *)block +
                                                RC_BLOCK_HEADER_BYTES +
                                                (size_t)i * block->cell_bytes));
      }
  }
  for (size_t i = 0; i < c->young_large.length; i++)
    promote_if_counted(c, c->young_large.items[i]);
}

/* Counts the fields of every promoted object, promoting the young objects
 * they reach. The queue is its own work list: entry i is scanned when the
 * loop reaches it, and at the end it lists every promoted object. */
static void trace_and_count(struct gc_collector *c) {
  gc_heap *heap = c->heap;
  struct rc_stack *queue = &c->young_marks;
  for (size_t i = 0; i < queue->length; i++) {
    if (i + RC_PREFETCH_DISTANCE < queue->length)
      __builtin_prefetch(queue->items[i + RC_PREFETCH_DISTANCE]);
    struct gc_obj *obj = queue->items[i];
    size_t bytes = gc_object_size(heap, obj);
    c->live_objects++;
    c->live_bytes += bytes;
    if (rc_cell_bytes(heap, obj) < RC_LARGE_MIN)
      rc_alloc_promote_cell(c, obj);
    GC_FOR_EACH_REF_SLOT(heap, obj, slot, {
      struct gc_obj *child = *slot;
      if (child) {
        if (child->gc_word & RC_YOUNG)
          promote(c, child);
        rc_increment(c, child);
      }
    });
  }
}

/* A promoted object enters the drain as young objects always did: only
 * roots may hold a zero count one (it waits in the ZCT); one with a count
 * may be on a cycle that only roots hold (a survivor, searched). */
static void settle_promoted(struct gc_collector *c) {
  struct rc_stack *queue = &c->young_marks;
  for (size_t i = 0; i < queue->length; i++) {
    struct gc_obj *obj = queue->items[i];
    uint32_t w = obj->gc_word;
    if ((w & RC_COUNT_MASK) == 0) {
      rc_became_zero(c, obj);
    } else if (rc_may_cycle(c->heap, obj)) {
      rc_add_survivor(c, obj);
    }
  }
  queue->length = 0;
  /* Now, while the promoted objects are in the cache. */
  rc_search_survivors(c);
}

/* The dead young objects whose death has an effect. Their cells are still
 * intact: the sweep comes after. */
static void bury_young(struct gc_collector *c) {
  struct rc_stack *targets = &c->young_weak_targets;
  for (size_t i = 0; i < targets->length; i++) {
    struct gc_obj *target = targets->items[i];
    if ((target->gc_word & (RC_YOUNG | RC_HAS_WEAK)) ==
        (RC_YOUNG | RC_HAS_WEAK)) {
      rc_clear_weaks_of(c, target);
      target->gc_word &= ~RC_HAS_WEAK; /* a second entry skips it */
    }
  }
  targets->length = 0;
  struct rc_stack *weaks = &c->young_weaks;
  for (size_t i = 0; i < weaks->length; i++)
    if (weaks->items[i]->gc_word & RC_YOUNG)
      rc_unlink_weak(c, (struct rc_weak *)weaks->items[i]);
  weaks->length = 0;
  struct rc_stack *resources = &c->young_resources;
  for (size_t i = 0; i < resources->length; i++) {
    struct gc_resource *res = (struct gc_resource *)resources->items[i];
    if ((res->header.gc_word & RC_YOUNG) && !res->destroyed)
      gc_run_destructor(c->heap, res);
  }
  resources->length = 0;
}

void rc_collect_young(struct gc_collector *c) {
  c->young_marks.length = 0;
  gc_visit_roots(c->heap, promote_root, c);
  struct rc_stack *remembered = &c->remembered;
  for (size_t i = 0; i < remembered->length; i++)
    promote_if_counted(c, remembered->items[i]);
  remembered->length = 0;
  if (c->remembered_overflowed) {
    c->remembered_overflowed = false;
    promote_every_counted(c);
  }
  trace_and_count(c);
  settle_promoted(c);
  bury_young(c);
  rc_alloc_sweep_young(c);
  c->young_cells = 0;
}

void rc_young_free(struct gc_collector *c) {
  gc_sys_free(c->young_marks.items);
  gc_sys_free(c->remembered.items);
  gc_sys_free(c->young_resources.items);
  gc_sys_free(c->young_weaks.items);
  gc_sys_free(c->young_weak_targets.items);
  gc_sys_free(c->young_large.items);
}
