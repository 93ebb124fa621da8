/* rc-survivors.c — which objects promoted by a collection point may be on
 * a cycle that only roots hold.
 *
 * Root slots are not counted, so when the last root of a cycle goes away
 * nothing is decremented and trial deletion would never hear of it. A cycle
 * among young objects (rc-young.c) is built with plain stores; if a root
 * holds it at the collection point, it is promoted with nonzero counts and
 * nothing will ever decrement them. Those promoted objects with a count
 * are the *survivors*. (A cycle that runs through an old object as well
 * passes through an old object that only roots held and that gains a count
 * from a promoted one — drain_zct makes that one a candidate — or through
 * one with a reference from outside the cycle, whose removal decrements it.)
 *
 * So instead of making every survivor a candidate (most are tree nodes that
 * can never be on a cycle, and die soon), rc-young.c lists them here and a
 * depth-first search over the survivors finds the cycles among them: the
 * target of every back edge lies on a cycle and becomes a candidate; the
 * rest are left alone. The search visits each survivor once.
 *
 * The search runs right after the promotion trace, while the survivors are
 * still in the cache and before anything is freed. While listed, a survivor
 * is coloured white (unvisited).
 */
#include "refcount.h"

void rc_add_survivor(struct gc_collector *c, struct gc_obj *obj) {
  if (rc_stack_push(&c->survivors, obj))
    rc_became_candidate(c, obj); /* no memory: the conservative answer */
  else
    rc_set_color(obj, RC_WHITE);
}

static size_t ref_slot_count(gc_heap *heap, struct gc_obj *obj) {
  const struct gc_type_info *t = gc_type_info_of(heap, obj);
  if (t->shape == GC_SHAPE_STRUCT)
    return t->nrefs;
  if (t->shape == GC_SHAPE_ARRAY && t->elem == GC_KIND_REF)
    return ((struct gc_array *)obj)->length;
  return 0;
}

static struct gc_obj *ref_slot(gc_heap *heap, struct gc_obj *obj, size_t i) {
  const struct gc_type_info *t = gc_type_info_of(heap, obj);
  if (t->shape == GC_SHAPE_STRUCT)
    return ((gc_ref *)gc_obj_fields(obj))[t->ref_fields[i]];
  return ((gc_ref *)gc_array_elems(obj))[i];
}

/* Fetches the headers of obj's children: the search looks at each soon. */
static void prefetch_children(gc_heap *heap, struct gc_obj *obj) {
  GC_FOR_EACH_REF_SLOT(heap, obj, slot, {
    if (*slot)
      __builtin_prefetch(*slot);
  });
}

/* Depth-first search from s over white survivors: gray while on the path,
 * black when done. An edge to a gray object closes a cycle. */
static void find_cycles_from(struct gc_collector *c, struct gc_obj *s) {
  struct rc_stack *path = &c->work, *next = &c->work_index;
  rc_set_color(s, RC_GRAY);
  prefetch_children(c->heap, s);
  path->items[path->length++] = s;
  next->items[next->length++] = 0;
  while (path->length) {
    struct gc_obj *obj = path->items[path->length - 1];
    size_t i = (size_t)(uintptr_t)next->items[next->length - 1];
    if (i == ref_slot_count(c->heap, obj)) {
      if (rc_color(obj) == RC_GRAY)
        rc_set_color(obj, RC_BLACK);
      path->length--;
      next->length--;
      continue;
    }
    next->items[next->length - 1] = (struct gc_obj *)(uintptr_t)(i + 1);
    struct gc_obj *child = ref_slot(c->heap, obj, i);
    if (!child)
      continue;
    uint32_t color = rc_color(child);
    if (color == RC_WHITE && !(child->gc_word & RC_ZOMBIE)) {
      assert(path->length < path->capacity);
      rc_set_color(child, RC_GRAY);
      prefetch_children(c->heap, child);
      path->items[path->length++] = child;
      next->items[next->length++] = 0;
    } else if (color == RC_GRAY) {
      rc_became_candidate(c, child); /* on a cycle: purple from now on */
    }
  }
}

void rc_search_survivors(struct gc_collector *c) {
  struct rc_stack *survivors = &c->survivors;
  size_t n = survivors->length;
  if (rc_stack_grow(&c->work, n + 1) || rc_stack_grow(&c->work_index, n + 1)) {
    for (size_t i = 0; i < n; i++) {
      rc_set_color(survivors->items[i], RC_BLACK);
      rc_became_candidate(c, survivors->items[i]);
    }
  } else {
    c->work.length = c->work_index.length = 0;
    for (size_t i = 0; i < n; i++)
      if (rc_color(survivors->items[i]) == RC_WHITE)
        find_cycles_from(c, survivors->items[i]);
  }
  survivors->length = 0;
}
