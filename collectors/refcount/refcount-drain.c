/* refcount-drain.c — freeing what the counts say is dead: the ZCT drain,
 * at collection points and in drain pauses of their own.
 *
 * An old object whose count fell to zero waits in the ZCT until the drain
 * finds that no root slot holds it (RC_ROOTED, set for the drain's
 * duration) and frees it; its children are decremented from a stack, and
 * freed at once when they reach zero. A collection point drains after its
 * young collection, when every object is old; a drain pause drains while
 * young objects exist (refcount.c says when each runs).
 */
#include "refcount.h"

void rc_mark_rooted(gc_ref *slot, void *ctx) {
  (*slot)->gc_word |= RC_ROOTED;
}

void rc_clear_rooted(gc_ref *slot, void *ctx) {
  (*slot)->gc_word &= ~RC_ROOTED;
}

static void queue_if_zero(struct gc_collector *c, struct gc_obj *obj,
                          void *ctx) {
  /* Young objects exist during a drain pause; their fate is the next
   * point's. */
  if (!(obj->gc_word & (RC_ZOMBIE | RC_IN_ZCT | RC_YOUNG)) &&
      rc_count(c, obj) == 0)
    rc_became_zero(c, obj);
}

/* rc_free_object for the usual death, a small struct with nothing but its
 * children to let go (no weak reference, no overflowed count, no candidate
 * entry): its type read once and its cell freed here, where rc_free_object,
 * rc_release_cell and gc_object_size each looked it up (binary-trees 18:
 * pause total 0.90x). It must do what rc_free_object does in that case,
 * and runs with verify=1 too, where only the cell goes through
 * rc_release_cell (poisoned and quarantined), so that the suite's count
 * checks cover it. false: nothing done, rc_free_object's case. */
static inline bool free_plain_struct(struct gc_collector *c, struct gc_obj *obj,
                                     uint32_t w) {
  assert(!(w & (RC_IN_ZCT | RC_ZOMBIE | RC_STICKY)));
  const struct gc_type_info *t = &c->types->items[gc_obj_type(obj)];
  if (t->shape != GC_SHAPE_STRUCT || t->size >= RC_LARGE_MIN ||
      (w & (RC_HAS_WEAK | RC_BUFFERED)) ||
      (w & RC_COUNT_MASK) == c->count_limit)
    return false;
  struct gc_obj_vector *dead = &c->dead_children;
  gc_ref *fields = gc_obj_fields(obj);
  if (!gc_vector_reserve(dead, dead->count + t->nrefs))
    return false;
  for (uint32_t i = 0; i < t->nrefs; i++) {
    struct gc_obj *child = fields[t->ref_fields[i]];
    if (child)
      dead->items[dead->count++] = child;
  }
  c->live_bytes -= t->size;
  c->live_objects--;
  if (GC_UNLIKELY(c->verify)) {
    rc_release_cell(c, obj);
    return true;
  }
  struct rc_block *block = rc_block_of(obj);
  obj->type_word = GC_TYPE_NONE;
  rc_alloc_free_cell(c, block, rc_cell_index(block, obj));
  return true;
}

static void free_object(struct gc_collector *c, struct gc_obj *obj,
                        uint32_t w) {
  if (!free_plain_struct(c, obj, w))
    rc_free_object(c, obj, RC_FREE_DECREMENT_CHILDREN);
}

/* A reference held by a freed object goes away during rc_drain_zct, where it
 * is known which objects root slots hold: a zero count that is not waiting
 * in the ZCT frees the object at once (its own children join the stack). */
static void decrement_dead_child(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t w = obj->gc_word;
  if (GC_UNLIKELY((w & RC_COUNT_MASK) == c->count_limit) ||
      (w & RC_COUNT_MASK) != 1 || (w & (RC_ROOTED | RC_IN_ZCT | RC_YOUNG))) {
    rc_decrement(c, obj); /* queues zero counts in the ZCT as usual */
    return;
  }
  obj->gc_word = w - 1;
  free_object(c, obj, w - 1);
}

/* The references of freed objects wait on a stack (c->dead_children), so
 * that a dying tree is taken depth first: the stack stays as short as the
 * garbage is deep, where a first-in, first-out queue grew to half a tree's
 * nodes (16 MB for a 4-million-node tree, whose page faults made one
 * collection point 10 times as long as the next ones), and a tree built
 * bottom-up is met in about the order it was allocated. Each entry taken
 * from the stack is fetched and waits RC_PREFETCH_DISTANCE steps in this
 * ring before it is decremented, so that the fetch has arrived. */
struct dead_ring {
  struct gc_obj *items[RC_PREFETCH_DISTANCE];
  unsigned head, count;
};

/* The next reference to decrement, or NULL when stack and ring are empty. */
static struct gc_obj *next_dead_child(struct gc_obj_vector *dead,
                                      struct dead_ring *ring) {
  while (dead->count && ring->count < RC_PREFETCH_DISTANCE) {
    struct gc_obj *next = dead->items[--dead->count];
    __builtin_prefetch(next, 1);
    ring->items[(ring->head + ring->count++) % RC_PREFETCH_DISTANCE] = next;
  }
  if (!ring->count)
    return NULL;
  struct gc_obj *child = ring->items[ring->head];
  ring->head = (ring->head + 1) % RC_PREFETCH_DISTANCE;
  ring->count--;
  return child;
}

/* A bounded drain stops with entries in the ring: back on the stack, which
 * held them a moment ago (so it has the room). */
static void return_dead_ring(struct gc_obj_vector *dead,
                             struct dead_ring *ring) {
  assert(dead->count + ring->count <= dead->capacity);
  for (; ring->count; ring->count--) {
    dead->items[dead->count++] = ring->items[ring->head];
    ring->head = (ring->head + 1) % RC_PREFETCH_DISTANCE;
  }
}

/* Frees every ZCT entry whose count is zero and that no root slot holds
 * (nor, in a drain pause, a young object: RC_ROOTED marks both), and
 * everything that frees in turn; rooted zero-count entries stay for the
 * next collection point. With full false, stops once it has freed
 * max_frees objects (RC_BUDGET_BYTES_PER_WORK explains the bound); the ZCT
 * and the stack keep the rest. True if nothing is left but the rooted
 * entries.
 *
 * An entry whose count is nonzero leaves the table and becomes a candidate
 * root of a garbage cycle: root slots are not counted, so when the roots
 * that held it go away nothing is decremented, and a cycle it belongs to
 * would never be found otherwise. Every entry is an old object: the cycle
 * may run through old objects that are not in the table (o3 -> o -> young
 * y -> x -> o3, where only o3 was root-held with a zero count), so only
 * trial deletion, which follows every reference, is sure to find it; a
 * search restricted to the table's entries missed it. Acyclic objects (no
 * reference fields) are exempt. */
bool rc_drain_zct(struct gc_collector *c, bool full, uint64_t max_frees) {
  if (c->drain_work_budget)
    max_frees = c->drain_work_budget;
  uint64_t stop_below =
      full || c->live_objects < max_frees ? 0 : c->live_objects - max_frees;
  if (c->zct_overflowed) {
    c->zct_overflowed = false;
    rc_for_each_object(c, queue_if_zero, NULL);
  }
  struct gc_obj_vector *zct = &c->zct, *kept = &c->zct_kept;
  size_t first_new_candidate = c->candidates.count;
  kept->count = 0;
  /* Last in, first out: a tree built bottom-up has its root on top, and
   * freeing the root makes its children's entries free on their turn. */
  struct gc_obj_vector *dead = &c->dead_children;
  struct dead_ring ring = {.count = 0};
  for (;;) {
    /* First the references that freed objects held. A bounded drain keeps
     * the rest for the next collection point. */
    struct gc_obj *child = next_dead_child(dead, &ring);
    if (child) {
      decrement_dead_child(c, child);
      if (c->live_objects < stop_below) {
        return_dead_ring(dead, &ring);
        break;
      }
      continue;
    }
    if (!zct->count || c->live_objects < stop_below)
      break;
    /* The entries were queued long ago; fetch a few ahead. */
    if (zct->count > RC_PREFETCH_DISTANCE)
      __builtin_prefetch(zct->items[zct->count - RC_PREFETCH_DISTANCE], 1);
    struct gc_obj *obj = zct->items[--zct->count];
    uint32_t w = obj->gc_word;
    assert(w & RC_IN_ZCT);
    if ((w & RC_COUNT_MASK) != 0) {
      /* An old object that only roots held has gained a count: see above.
       * (Cycles among the objects this collection point promoted were
       * found by the promotion search, and a count from new objects alone
       * closes none: rc_collect_young.) */
      obj->gc_word = w & ~(RC_IN_ZCT | RC_NEW_REFERRERS);
      if ((w & RC_COLOR_MASK) != RC_PURPLE && !(w & RC_NEW_REFERRERS))
        rc_became_candidate(c, obj);
    } else if (w & RC_ROOTED) {
      if (!gc_vector_push(kept, obj)) {
        obj->gc_word = w & ~RC_IN_ZCT;
        c->zct_overflowed = true;
      }
    } else {
      w &= ~(RC_IN_ZCT | RC_NEW_REFERRERS);
      obj->gc_word = w;
      free_object(c, obj, w);
    }
  }
  bool finished = !zct->count && !dead->count;
  if (!finished) {
    /* Stopped early: the rooted entries go back with the unexamined ones. */
    for (size_t i = 0; i < kept->count; i++)
      if (!gc_vector_push(zct, kept->items[i])) {
        kept->items[i]->gc_word &= ~RC_IN_ZCT;
        c->zct_overflowed = true;
      }
    kept->count = 0;
  } else {
    struct gc_obj_vector swap = *zct;
    *zct = *kept;
    *kept = swap;
  }
  /* A candidate may have died later in the same drain (a tree built top
   * down: its leaves are met before its root). Release those zombies now;
   * the older part of the buffer is filtered when it has doubled. */
  if (c->candidates.count >= 2 * c->candidates_filtered + RC_MIN_CANDIDATES)
    first_new_candidate = 0;
  rc_filter_candidates(c, first_new_candidate);
  return finished;
}

/* ---- Drain pauses ---------------------------------------------------------
 *
 * A collection point that promoted much leaves most of its drain to
 * pauses of their own, spread through the next budget (refcount.c:
 * RC_DRAIN_PAUSES): each then takes less time than the point (binary-trees
 * 21: a point that promotes a whole budget of new tree nodes takes 7 ms,
 * and freeing the tree before it as many objects again took 6 ms more; one
 * drain pause for all of it took 8).
 * A drain pause collects no young object, and that is what it must
 * account for: their fields are not counted, so an old object with a zero
 * count may still be referenced by one. Every young object's referents are
 * marked RC_ROOTED before the drain, as root slots' are, the dead young
 * objects' too (they are freed by the next point, which then drains what
 * only they held); those cells' contents are intact, and the unused rest
 * of the threads' runs, whose cells are not objects, is given back first.
 * A child of a freed object that is young is decremented, never freed. */

/* Marks young's old referents RC_ROOTED, each listed once in young_held. */
static bool hold_referents_of(struct gc_collector *c, struct gc_obj *young) {
  bool ok = true;
  GC_FOR_EACH_REF_SLOT(c->types, young, slot, {
    struct gc_obj *referent = *slot;
    if (ok && referent && !(referent->gc_word & (RC_YOUNG | RC_ROOTED))) {
      ok = gc_vector_push(&c->young_held, referent);
      if (ok)
        referent->gc_word |= RC_ROOTED;
    }
  });
  return ok;
}

/* Marks the old objects that young ones refer to RC_ROOTED and lists them
 * in c->young_held; false if the list cannot grow (no memory: the drain is
 * skipped, the next point does it). */
static bool hold_young_referents(struct gc_collector *c) {
  c->young_held.count = 0;
  return rc_for_each_young_object(c, hold_referents_of);
}

static void release_young_referents(struct gc_collector *c) {
  for (size_t i = 0; i < c->young_held.count; i++)
    c->young_held.items[i]->gc_word &= ~RC_ROOTED;
  c->young_held.count = 0;
}

/* The next share of the budget held back, or all of it after the last
 * pause due or one that drained the ZCT: no other pause would free
 * anything. */
static void release_held_budget(struct gc_collector *c, bool drained) {
  int64_t share = c->budget_held;
  if (!drained && c->drain_pauses_due > 1)
    share /= c->drain_pauses_due--;
  else
    c->drain_pauses_due = 0;
  c->budget_held -= share;
  c->budget_left += share;
}

void rc_drain_pause(struct gc_collector *c, uint64_t max_frees) {
  gc_heap *heap = c->heap;
  c->in_collection = true;
  uint64_t start = gc_pause_begin(heap);
  c->drain_pauses++;
  bool drained = false;
  rc_alloc_retire_runs(c);
  rc_apply_logs(c);
  rc_stop_logging_if_alone(c);
  gc_visit_roots(heap, rc_mark_rooted, NULL);
  if (hold_young_referents(c) &&
      (!c->verify || rc_verify_heap(c, "before a drain pause") == 0)) {
    drained = rc_drain_zct(c, false, max_frees);
    if (c->verify)
      rc_verify_heap(c, "after a drain pause");
  }
  release_young_referents(c);
  gc_visit_roots(heap, rc_clear_rooted, NULL);
  release_held_budget(c, drained);
  gc_note_heap_bytes(heap, rc_heap_bytes(c));
  gc_pause_end(heap, start);
  c->in_collection = false;
}
