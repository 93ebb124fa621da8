/* refcount-cycles.c — synchronous cycle collection by trial deletion (Bacon and
 * Rajan, "Concurrent Cycle Collection in Reference Counted Systems", 2001,
 * section 3).
 *
 * A garbage cycle keeps its own counts above zero. Its members were once
 * decremented to a nonzero count (that is how the last outside reference
 * went away), so they sit in the candidate buffer, coloured purple. From
 * each candidate:
 *
 *   mark gray     subtract every reference that comes from inside the
 *                 subgraph reachable from the candidates (trial deletion);
 *   scan          an object still counted (referenced from outside), or held
 *                 by a root slot, is live: it and everything it reaches turn
 *                 black again, their counts restored; the rest turn white;
 *   collect white gather the white objects from every candidate, then
 *                 free them all. Their references were already subtracted,
 *                 so freeing them does not decrement again; gathering first
 *                 means no phase reads an object another candidate freed.
 *
 * Root slots are not counted (deferred reference counting), so an object a
 * root holds counts as referenced from outside: the ROOTED bit that the
 * collection point set.
 *
 * At an allocation's collection point one run takes candidates from the
 * front of the buffer until it has visited RC_CYCLE_WORK_BUDGET objects,
 * and leaves the rest for the next point, so that its pause is bounded by
 * the budget plus one candidate's subgraph. That is sound: trial deletion
 * from any subset of candidates frees only what that subset's subgraph
 * shows to be referenced from nowhere else; an entry left in the buffer
 * that the run freed (it was reached from an earlier one) stays a zombie
 * until the buffer is filtered. gc_collect takes the whole buffer.
 *
 * Every phase is a loop over an explicit stack (c->work), never recursion.
 * Each phase colours an object when it pushes it, so an object is pushed at
 * most once per colour change (twice in scan): the stack, reserved up front
 * at 2 * live objects, never needs to grow in the middle of a phase.
 */
#include "refcount.h"

#define BLACK_TAG ((uintptr_t)1) /* scan: an item whose children to restore */

static inline void push_reserved(struct gc_obj_vector *s, struct gc_obj *obj) {
  assert(s->count < s->capacity);
  s->items[s->count++] = obj;
}

static inline void push_tagged(struct gc_obj_vector *s, struct gc_obj *obj,
                               uintptr_t tag) {
  push_reserved(s, (struct gc_obj *)((uintptr_t)obj | tag));
}

/* The references an object makes wait in this ring, each fetched as it
 * enters, RC_PREFETCH_DISTANCE references ahead of the one whose count is
 * adjusted: the objects trial deletion walks are rarely in cache (it ran
 * at 60 ns an object without it). A tag bit says which phase the
 * reference came from (scan: from a black object or a white one). */
struct edge_ring {
  uintptr_t items[RC_PREFETCH_DISTANCE];
  unsigned head, count;
};

static inline void ring_put(struct edge_ring *ring, struct gc_obj *child,
                            uintptr_t tag) {
  assert(ring->count < RC_PREFETCH_DISTANCE);
  __builtin_prefetch(child, 1);
  ring->items[(ring->head + ring->count++) % RC_PREFETCH_DISTANCE] =
      (uintptr_t)child | tag;
}

static inline uintptr_t ring_take(struct edge_ring *ring) {
  assert(ring->count > 0);
  uintptr_t item = ring->items[ring->head];
  ring->head = (ring->head + 1) % RC_PREFETCH_DISTANCE;
  ring->count--;
  return item;
}

/* mark gray, one reference: subtract it; a child met first turns gray and
 * waits on the stack for its own references. */
static inline void gray_edge(struct gc_collector *c, struct gc_obj *child) {
  rc_trial_adjust(c, child, -1);
  if (rc_color(child) != RC_GRAY) {
    rc_set_color(child, RC_GRAY);
    push_reserved(&c->work, child);
  }
}

/* Subtracts the internal references of everything reachable from s. The
 * stack holds gray objects whose references are still to be subtracted,
 * each pushed once, when it turned gray. */
static size_t mark_gray(struct gc_collector *c, struct gc_obj *s) {
  struct gc_obj_vector *work = &c->work;
  struct edge_ring ring = {.count = 0};
  size_t visited = 0;
  rc_set_color(s, RC_GRAY);
  push_reserved(work, s);
  for (;;) {
    if (work->count) {
      struct gc_obj *obj = work->items[--work->count];
      visited++;
      GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
        struct gc_obj *child = *slot;
        if (child) {
          if (ring.count == RC_PREFETCH_DISTANCE)
            gray_edge(c, (struct gc_obj *)ring_take(&ring));
          ring_put(&ring, child, 0);
        }
      });
    } else if (ring.count) {
      gray_edge(c, (struct gc_obj *)ring_take(&ring));
    } else {
      return visited;
    }
  }
}

/* A gray object met by scan: live (black, children restored later) if it
 * is still counted or rooted, else provisionally white. */
static void scan_enter(struct gc_collector *c, struct gc_obj *obj) {
  /* An object in the ZCT is kept: a rooted one is live, and an unrooted
   * one, which a bounded drain left, is freed by a later drain (which
   * decrements its children), never here while the ZCT points at it. */
  if (rc_count(c, obj) > 0 || (obj->gc_word & (RC_ROOTED | RC_IN_ZCT))) {
    rc_set_color(obj, RC_BLACK);
    push_tagged(&c->work, obj, BLACK_TAG);
    /* Only root slots may hold it now: it must wait in the ZCT. (If a
     * restored reference raises the count later, the entry is dropped.) */
    if (rc_count(c, obj) == 0 && !(obj->gc_word & RC_IN_ZCT))
      rc_became_zero(c, obj);
  } else {
    rc_set_color(obj, RC_WHITE);
    push_tagged(&c->work, obj, 0);
  }
}

/* scan, one reference: from a black object (tagged), restore it, and what
 * it reaches is live; from a white one, a gray child is judged in turn.
 * The order in which references are taken does not change the outcome:
 * an object judged white while its count was zero turns black when a
 * restored reference reaches it. */
static inline void scan_edge(struct gc_collector *c, uintptr_t item) {
  struct gc_obj *child = (struct gc_obj *)(item & ~BLACK_TAG);
  if (item & BLACK_TAG) {
    rc_trial_adjust(c, child, +1);
    if (rc_color(child) != RC_BLACK) {
      rc_set_color(child, RC_BLACK);
      push_tagged(&c->work, child, BLACK_TAG);
    }
  } else if (rc_color(child) == RC_GRAY) {
    scan_enter(c, child);
  }
}

static void scan(struct gc_collector *c, struct gc_obj *s) {
  struct gc_obj_vector *work = &c->work;
  struct edge_ring ring = {.count = 0};
  if (rc_color(s) != RC_GRAY)
    return;
  scan_enter(c, s);
  for (;;) {
    if (work->count) {
      uintptr_t item = (uintptr_t)work->items[--work->count];
      struct gc_obj *obj = (struct gc_obj *)(item & ~BLACK_TAG);
      /* A white item blackened since: its black item did the work. */
      if (!(item & BLACK_TAG) && rc_color(obj) != RC_WHITE)
        continue;
      GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
        struct gc_obj *child = *slot;
        if (child) {
          if (ring.count == RC_PREFETCH_DISTANCE)
            scan_edge(c, ring_take(&ring));
          ring_put(&ring, child, item & BLACK_TAG);
        }
      });
    } else if (ring.count) {
      scan_edge(c, ring_take(&ring));
    } else {
      return;
    }
  }
}

/* Gathers the white objects reachable from s onto `garbage`, colouring
 * each black as it is gathered so that it is gathered once. Nothing is
 * freed here: a white object may be reachable from several candidates (a
 * child's entry can come before its parent's), so every candidate is
 * gathered from before anything is freed, and no phase ever reads a freed
 * object. The list is its own work queue: entry i's children are examined
 * when the scan of the list reaches i. */
static void gather_white(struct gc_collector *c, struct gc_obj *s,
                         struct gc_obj_vector *garbage) {
  if (rc_color(s) != RC_WHITE)
    return;
  size_t next = garbage->count;
  rc_set_color(s, RC_BLACK);
  push_reserved(garbage, s);
  while (next < garbage->count) {
    struct gc_obj *obj = garbage->items[next++];
    GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
      struct gc_obj *child = *slot;
      if (child && rc_color(child) == RC_WHITE) {
        rc_set_color(child, RC_BLACK);
        push_reserved(garbage, child);
      }
    });
  }
}

/* Frees the gathered garbage. mark_gray already subtracted every reference
 * a white object makes (to other garbage and to live objects alike), and
 * scan restored only those that black objects make, so the children are
 * not decremented again (RC_FREE_KEEP_CHILDREN), and no freed object's
 * fields are read. One still BUFFERED is an entry this run did not start
 * from (it was reached from one it did): it becomes a zombie. */
static void free_gathered(struct gc_collector *c,
                          struct gc_obj_vector *garbage) {
  for (size_t i = 0; i < garbage->count; i++) {
    if (i + RC_PREFETCH_DISTANCE < garbage->count)
      __builtin_prefetch(garbage->items[i + RC_PREFETCH_DISTANCE], 1);
    struct gc_obj *obj = garbage->items[i];
    assert(rc_color(obj) == RC_BLACK);
    rc_free_object(c, obj, RC_FREE_KEEP_CHILDREN);
  }
  garbage->count = 0;
}

static void buffer_if_purple(struct gc_collector *c, struct gc_obj *obj,
                             void *ctx) {
  uint32_t w = obj->gc_word;
  if ((w & RC_COLOR_MASK) == RC_PURPLE && !(w & (RC_BUFFERED | RC_ZOMBIE)) &&
      gc_vector_push(&c->candidates, obj))
    obj->gc_word |= RC_BUFFERED;
  else if ((w & RC_COLOR_MASK) == RC_PURPLE && !(w & (RC_BUFFERED | RC_ZOMBIE)))
    c->candidates_overflowed = true;
}

static void buffer_rooted(gc_ref *slot, void *ctx) {
  struct gc_collector *c = ctx;
  struct gc_obj *obj = *slot;
  if (rc_color(obj) != RC_PURPLE && rc_count(c, obj) > 0 &&
      rc_may_cycle(c->types, obj))
    rc_became_candidate(c, obj);
}

/* Releases zombies (objects freed while buffered) and keeps every other
 * entry, purple or not, until the cycle collector has examined it.
 *
 * Why not drop an entry that an increment blackened (as Bacon and Rajan
 * do): with uncounted roots that increment may come from inside a cycle
 * that only a root holds (a[2] = a, after a's count fell to 1). When the
 * root goes, nothing is decremented; if the entry had been dropped, no
 * decrement would ever make it a candidate again and the cycle would leak.
 * Kept, it is examined by the next cycle collection (which then rebuffers
 * it if a root still holds it, see buffer_rooted). */
void rc_filter_candidates(struct gc_collector *c, size_t from) {
  struct gc_obj_vector *buffer = &c->candidates;
  size_t kept = from;
  for (size_t i = from; i < buffer->count; i++) {
    if (i + RC_PREFETCH_DISTANCE < buffer->count)
      __builtin_prefetch(buffer->items[i + RC_PREFETCH_DISTANCE], 1);
    struct gc_obj *obj = buffer->items[i];
    uint32_t w = obj->gc_word;
    if (w & RC_ZOMBIE) {
      obj->gc_word = 0;
      rc_release_cell(c, obj);
    } else {
      buffer->items[kept++] = obj;
    }
  }
  buffer->count = kept;
  if (from == 0)
    c->candidates_filtered = kept;
}

void rc_collect_cycles(struct gc_collector *c, bool complete) {
  if (c->candidates_overflowed) {
    c->candidates_overflowed = false;
    rc_for_each_object(c, buffer_if_purple, NULL);
  }
  rc_filter_candidates(c, 0);
  struct gc_obj_vector *buffer = &c->candidates;
  /* Without the stack, leave the candidates for a later collection. */
  if (!gc_vector_reserve(&c->work, 2 * c->live_objects + 16))
    return;
  c->work.count = 0;

  size_t visited = 0, starts = 0;
  /* Every entry is a starting point, purple or blackened since (see
   * rc_filter_candidates); trial deletion is sound from any set of
   * objects. Gray ones were reached from an earlier entry already. */
  for (; starts < buffer->count; starts++) {
    if (!complete && starts > 0 && visited >= c->cycle_work_budget)
      break;
    struct gc_obj *s = buffer->items[starts];
    assert(rc_color(s) == RC_PURPLE || rc_color(s) == RC_BLACK ||
           rc_color(s) == RC_GRAY);
    if (rc_color(s) != RC_GRAY)
      visited += mark_gray(c, s);
  }
  /* Every gray object was reached from one of the starts, so scanning and
   * gathering from them settles all. */
  for (size_t i = 0; i < starts; i++)
    scan(c, buffer->items[i]);
  /* The starts leave the buffer before anything is freed, so that no freed
   * object is left BUFFERED but as a zombie (free_gathered). */
  for (size_t i = 0; i < starts; i++)
    buffer->items[i]->gc_word &= ~RC_BUFFERED;
  assert(c->work.count == 0);
  for (size_t i = 0; i < starts; i++)
    gather_white(c, buffer->items[i], &c->work);
  size_t left = buffer->count - starts;
  if (left) /* not with an empty buffer: its items may be NULL */
    memmove(buffer->items, buffer->items + starts,
            left * sizeof *buffer->items);
  buffer->count = left;
  free_gathered(c, &c->work);
  c->candidates_filtered = left;
  c->cycle_pass_visited += visited;
  c->cycles_pending = left > 0;
  if (c->cycles_pending) {
    c->cycle_runs_cut++;
    return; /* the next collection point goes on */
  }
  visited = c->cycle_pass_visited;
  c->cycle_pass_visited = 0;
  c->bytes_since_cycles = 0;
  /* An object a root slot holds was black only thanks to the root, which
   * may go away without a decrement: examine it again next time. */
  gc_visit_roots(c->heap, buffer_rooted, c);
  /* Trial deletion costs what it visits, and many candidates die before it
   * runs, as zombies that cost nothing to filter out. So the
   * next run waits for as many candidates as this one visited objects, or
   * as half the live objects: the work per candidate stays bounded, and the
   * candidates that reach trial deletion are mostly the long-lived ones. */
  size_t limit = visited > c->live_objects / 2 ? visited : c->live_objects / 2;
  c->candidate_limit = limit > RC_MIN_CANDIDATES ? limit : RC_MIN_CANDIDATES;
  /* Candidates waiting for allocation to reach the byte threshold: after a
   * run that visited much, wait for allocation in proportion, so that trial
   * deletion costs a bounded share of the time; after a cheap run, come
   * back soon, so that a published structure (stored into the heap after
   * only roots held it: a candidate, see rc_drain_zct) is examined in small
   * batches, not all at once in one long pause. */
  uint64_t bytes = (uint64_t)visited * RC_CYCLE_BYTES_PER_VISIT;
  c->cycle_bytes = bytes > RC_CYCLE_BYTES ? bytes : RC_CYCLE_BYTES;
}
