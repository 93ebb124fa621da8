/* refcount-young.c — young objects are not reference counted (Ulterior
 * reference counting, Blackburn and McKinley, OOPSLA 2003; the young-object
 * treatment of RC Immix and LXR).
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
 *    (count > 0) are traced — depth first, through young objects only,
 *    with an explicit stack, never recursion — and *promoted*: each
 *    reference field of a promoted object is counted now, once, so that
 *    from then on every count is the number of heap references, as for
 *    every old object;
 *  - the young objects the trace did not reach are dead. Their references
 *    were never counted, so nothing is decremented: their cells are freed
 *    from the blocks' young bitmaps a word at a time, without being read.
 *    Only those whose death has an effect are visited, from side lists:
 *    resources (the destructor runs), weak references (unlinked from their
 *    target's list) and weak targets (their weak references cleared).
 *
 * A promoted object whose count stays zero (only roots hold it) goes to the
 * ZCT, as every old object with a zero count does. A cycle among promoted
 * objects was built with plain stores; if only roots hold it, no decrement
 * will ever reveal it, so the depth-first trace makes a candidate of the
 * target of each back edge (every cycle has one; trees and lists have
 * none). A young cycle that dies before its collection point costs
 * nothing at all.
 *
 * Invariant (verify=1, refcount-verify.c): the count of every object, young or
 * old, is the number of references to it from fields of old objects.
 * After a collection point there is no young object left.
 */
#include "refcount.h"

void rc_remember(struct gc_collector *c, struct gc_obj *obj) {
  if (!gc_vector_push(&c->remembered, obj))
    c->remembered_overflowed = true; /* the trace looks at every young cell */
  else
    obj->gc_word |= RC_REMEMBERED;
}

int rc_young_reserve(struct gc_collector *c, size_t cells) {
  size_t need = c->young_cells + cells;
  if (!gc_vector_reserve(&c->young_path, need) ||
      !gc_vector_reserve(&c->young_next, need))
    return -1;
  c->young_cells = need;
  return 0;
}

/* The search's state, in locals while it runs: the path (the gray
 * objects, deepest last) and, for each but the deepest, the index of its
 * next reference slot (the deepest's is a local of promote_from). Both
 * vectors' room was reserved with the young cells (rc_young_reserve), so
 * they never grow here. */
struct promotion {
  const struct gc_type_info *types;
  struct gc_obj **path, **next; /* next: an index, as a pointer */
  size_t depth, room;
  uint64_t objects, bytes; /* promoted: added to the live totals at the end */
};

/* Promotes young obj: it is old from now on, counted in the live totals,
 * and its fields are counted when the search walks them. An object with
 * reference fields enters the search path, gray, and its type is returned,
 * so that the search goes on with it without reading it again; one without
 * is done (NULL). The shapes are decoded here from one read of the type,
 * where gc_object_size, rc_cell_bytes and rc_ref_slot_count would each
 * look it up again: this runs once per promoted object, the largest part
 * of a collection point. */
static inline __attribute__((always_inline)) const struct gc_type_info *
promote(struct promotion *p, struct gc_obj *obj) {
  const struct gc_type_info *t = &p->types[gc_obj_type(obj)];
  uint32_t w = obj->gc_word & ~(RC_YOUNG | RC_REMEMBERED | RC_COLOR_MASK);
  size_t bytes, slots, cell; /* cell: what it takes in the heap */
  if (GC_LIKELY(t->shape == GC_SHAPE_STRUCT)) {
    cell = bytes = t->size;
    slots = t->nrefs;
  } else if (t->shape == GC_SHAPE_ARRAY) {
    uint64_t length = ((struct gc_array *)obj)->length;
    bytes = gc_round8(sizeof(struct gc_array) + length * gc_kind_size(t->elem));
    cell = bytes;
    slots = t->elem == GC_KIND_REF ? length : 0;
  } else {
    bytes = t->size;
    cell = gc_obj_type(obj) == GC_TYPE_WEAK ? sizeof(struct rc_weak) : bytes;
    slots = 0;
  }
  p->objects++;
  p->bytes += bytes;
  if (GC_LIKELY(cell < RC_LARGE_MIN))
    rc_alloc_promote_cell(obj);
  if (!slots) {
    obj->gc_word = w;
    return NULL;
  }
  obj->gc_word = w | RC_GRAY;
  assert(p->depth < p->room);
  p->path[p->depth++] = obj;
  return t;
}

/* Counts the search's reference to child, found in a field of the deepest
 * gray object; child's type if child was young and now is the deepest,
 * else NULL. */
static inline __attribute__((always_inline)) const struct gc_type_info *
count_field(struct gc_collector *c, struct promotion *p, struct gc_obj *child) {
  uint32_t w = child->gc_word;
  rc_increment(c, child); /* clears the colour: test it first */
  if (w & RC_YOUNG)
    return promote(p, child);
  if ((w & RC_COLOR_MASK) == RC_GRAY)
    rc_became_candidate(c, child);
  else if (c->promoting_from_roots &&
           (w & (RC_IN_ZCT | RC_COUNT_MASK)) == RC_IN_ZCT)
    child->gc_word |= RC_NEW_REFERRERS; /* see rc_collect_young */
  return NULL;
}

/* Depth-first, from young obj: promotes every young object it reaches
 * and counts each promoted object's fields. Gray marks the path: a field
 * that refers to a gray object closes a cycle among promoted objects, which
 * no decrement may ever reveal if only roots hold it, so its target becomes
 * a candidate for trial deletion. Every cycle among the promoted objects
 * has such a back edge; trees and lists have none, and cost no candidate.
 * (A cycle through older objects as well runs through one that only roots
 * held and that gains a count here — rc_drain_zct makes it a candidate — or
 * through one referenced from outside, whose removal decrements it.)
 *
 * Each turn scans the deepest gray object's fields from where it stopped
 * until one holds a young object with fields of its own, which becomes the
 * deepest; past its last field, the object is done and leaves the path.
 * The deepest object, its type and its next field stay in locals: going
 * deeper, the search reads neither the path nor the type again. */
static void promote_from(struct gc_collector *c, struct gc_obj *obj) {
  struct promotion p = {.types = c->types->items,
                        .path = c->young_path.items,
                        .next = c->young_next.items,
                        .room = c->young_path.capacity < c->young_next.capacity
                                    ? c->young_path.capacity
                                    : c->young_next.capacity};
  struct gc_obj *parent = obj;
  const struct gc_type_info *t = promote(&p, obj);
  size_t i = 0;
  while (t) {
    const struct gc_type_info *child_type = NULL;
    struct gc_obj *child = NULL;
    if (GC_LIKELY(t->shape == GC_SHAPE_STRUCT)) {
      /* In locals: a count's store could alias the type, for all the
       * compiler knows, and it would read the type again per field. */
      gc_ref *fields = gc_obj_fields(parent);
      const uint32_t *offsets = t->ref_fields;
      size_t nrefs = t->nrefs;
      while (i < nrefs && !child_type) {
        child = fields[offsets[i++]];
        if (child)
          child_type = count_field(c, &p, child);
      }
    } else {
      gc_ref *elems = gc_array_elems(parent);
      size_t length = ((struct gc_array *)parent)->length;
      while (i < length && !child_type) {
        if (i + RC_PREFETCH_DISTANCE < length &&
            elems[i + RC_PREFETCH_DISTANCE])
          __builtin_prefetch(elems[i + RC_PREFETCH_DISTANCE], 1);
        child = elems[i++];
        if (child)
          child_type = count_field(c, &p, child);
      }
    }
    if (child_type) {
      /* The child is the deepest now, its parent just above it. */
      p.next[p.depth - 2] = (struct gc_obj *)(uintptr_t)i;
      parent = child;
      t = child_type;
      i = 0;
      continue;
    }
    if (rc_color(parent) == RC_GRAY)
      rc_set_color(parent, RC_BLACK);
    if (!--p.depth)
      break;
    parent = p.path[p.depth - 1];
    i = (size_t)(uintptr_t)p.next[p.depth - 1];
    t = &p.types[gc_obj_type(parent)];
  }
  c->live_objects += p.objects;
  c->live_bytes += p.bytes;
}

static void promote_root(gc_ref *slot, void *ctx) {
  if ((*slot)->gc_word & RC_YOUNG)
    promote_from(ctx, *slot);
}

static void promote_if_counted(struct gc_collector *c, struct gc_obj *obj) {
  if ((obj->gc_word & RC_YOUNG) && (obj->gc_word & RC_COUNT_MASK))
    promote_from(c, obj);
}

bool rc_for_each_young_object(struct gc_collector *c,
                              bool (*fn)(struct gc_collector *c,
                                         struct gc_obj *obj)) {
  for (struct rc_block *block = c->young_blocks; block;
       block = block->next_young) {
    char *cells = (char *)block + RC_BLOCK_HEADER_BYTES;
    uint32_t nwords = GC_BITMAP_WORDS(block->ncells);
    for (uint32_t w = 0; w < nwords; w++)
      for (uint64_t bits = block->young_bits[w]; bits; bits &= bits - 1) {
        uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
        if (!fn(c, (struct gc_obj *)(cells + (size_t)i * block->cell_bytes)))
          return false;
      }
  }
  for (size_t i = 0; i < c->young_large.count; i++)
    if (!fn(c, c->young_large.items[i]))
      return false;
  return true;
}

/* Without the remembered list (a push failed for lack of memory): every
 * young object with a count is a starting point. */
static bool promote_this_if_counted(struct gc_collector *c,
                                    struct gc_obj *obj) {
  promote_if_counted(c, obj);
  return true;
}

/* Only roots can hold a promoted object whose count is still zero: it
 * waits in the ZCT, as every old object with a zero count does. */
static void queue_uncounted_root(gc_ref *slot, void *ctx) {
  uint32_t w = (*slot)->gc_word;
  if (!(w & (RC_COUNT_MASK | RC_IN_ZCT)))
    rc_became_zero(ctx, *slot);
}

/* The dead young objects whose death has an effect. Their cells are still
 * intact: the sweep comes after. */
static void bury_young(struct gc_collector *c) {
  struct gc_obj_vector *targets = &c->young_weak_targets;
  for (size_t i = 0; i < targets->count; i++) {
    struct gc_obj *target = targets->items[i];
    if ((target->gc_word & (RC_YOUNG | RC_HAS_WEAK)) ==
        (RC_YOUNG | RC_HAS_WEAK)) {
      rc_clear_weaks_of(c, target);
      target->gc_word &= ~RC_HAS_WEAK; /* a second entry skips it */
    }
  }
  targets->count = 0;
  struct gc_obj_vector *weaks = &c->young_weaks;
  for (size_t i = 0; i < weaks->count; i++)
    if (weaks->items[i]->gc_word & RC_YOUNG)
      rc_unlink_weak(c, (struct rc_weak *)weaks->items[i]);
  weaks->count = 0;
  struct gc_obj_vector *resources = &c->young_resources;
  for (size_t i = 0; i < resources->count; i++) {
    struct gc_resource *res = (struct gc_resource *)resources->items[i];
    if ((res->header.gc_word & RC_YOUNG) && !res->destroyed)
      gc_run_destructor(c->heap, res);
  }
  resources->count = 0;
}

/* The search runs from the young objects old ones count first, then from
 * the roots. What the second phase promotes, no old object reaches: a
 * path from one would enter the young objects through a counted one, and
 * the first phase would have promoted everything young along it. So when
 * such an object is an old object's first referrer (it was in the ZCT
 * with a zero count: only roots held it), that reference closes no cycle,
 * and the entry need not become a candidate (rc_drain_zct): a cycle that
 * forms through it later is closed by a store, whose target gains a count
 * from zero (a ZCT entry, a candidate then) or is held by counted
 * references whose removal decrements it. This spares trial deletion the
 * subtrees of a tree built bottom-up across collection points, each of
 * which only a root held until its parent was promoted: binary-trees 21
 * walked half of its long-lived tree, 2 million objects, that way. */
void rc_collect_young(struct gc_collector *c) {
  c->young_path.count = c->young_next.count = 0;
  struct gc_obj_vector *remembered = &c->remembered;
  for (size_t i = 0; i < remembered->count; i++)
    promote_if_counted(c, remembered->items[i]);
  remembered->count = 0;
  if (c->remembered_overflowed) {
    c->remembered_overflowed = false;
    rc_for_each_young_object(c, promote_this_if_counted);
  }
  c->promoting_from_roots = true;
  gc_visit_roots(c->heap, promote_root, c);
  c->promoting_from_roots = false;
  gc_visit_roots(c->heap, queue_uncounted_root, c);
  bury_young(c);
  rc_alloc_sweep_young(c);
  c->young_cells = 0;
}

void rc_young_free(struct gc_collector *c) {
  gc_vector_free(&c->young_path);
  gc_vector_free(&c->young_next);
  gc_vector_free(&c->remembered);
  gc_vector_free(&c->young_resources);
  gc_vector_free(&c->young_weaks);
  gc_vector_free(&c->young_weak_targets);
  gc_vector_free(&c->young_large);
}
