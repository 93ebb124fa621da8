/* refcount-weak.c — weak references in the refcount collector.
 *
 * The weak references of one target form a doubly linked list through their
 * cells (struct rc_weak); weak_heads maps the target to the first. The
 * target's HAS_WEAK bit says whether to look it up when it dies. A young
 * target is also listed in young_weak_targets, so that the sweep, which
 * reads no dead object, clears its weak references if it dies young
 * (refcount-young.c).
 */
#include "refcount.h"

/* Under the heap lock: the lists and the table are shared, and another
 * thread may be logging the target (the HAS_WEAK bit is set atomically). */
void rc_weak_init(struct gc_mutator *m, struct gc_weak *weak, gc_ref target) {
  struct gc_collector *c = m->c;
  struct rc_weak *w = (struct rc_weak *)weak;
  gc_heap_lock(m->handle);
  assert(c->weak_inits_pending > 0);
  c->weak_inits_pending--;
  w->next = w->prev = NULL;
  weak->target = NULL;
  if (target) {
    /* The allocation reserved room for this entry: it cannot fail. */
    uint64_t *head = rc_table_upsert(&c->weak_heads, target);
    assert(head);
    w->next = (struct rc_weak *)(uintptr_t)*head;
    if (w->next)
      w->next->prev = w;
    *head = (uintptr_t)w;
    weak->target = target;
    /* A young target that dies young is not visited by the sweep unless
     * it is listed (the allocation reserved the room). */
    uint32_t word = GC_ATOMIC_LOAD(target->gc_word);
    if ((word & (RC_YOUNG | RC_HAS_WEAK)) == RC_YOUNG) {
      struct gc_obj_vector *targets = &c->young_weak_targets;
      assert(targets->count < targets->capacity);
      targets->items[targets->count++] = target;
    }
    __atomic_fetch_or(&target->gc_word, RC_HAS_WEAK, __ATOMIC_RELAXED);
  }
  gc_heap_unlock(m->handle);
}

void rc_unlink_weak(struct gc_collector *c, struct rc_weak *w) {
  gc_ref target = w->weak.target;
  if (!target)
    return;
  if (w->next)
    w->next->prev = w->prev;
  if (w->prev) {
    w->prev->next = w->next;
  } else if (w->next) {
    *rc_table_find(&c->weak_heads, target) = (uintptr_t)w->next;
  } else {
    rc_table_remove(&c->weak_heads, target);
    target->gc_word &= ~RC_HAS_WEAK;
  }
  w->weak.target = NULL;
  w->next = w->prev = NULL;
}

void rc_clear_weaks_of(struct gc_collector *c, struct gc_obj *target) {
  uint64_t *head = rc_table_find(&c->weak_heads, target);
  assert(head);
  for (struct rc_weak *w = (struct rc_weak *)(uintptr_t)*head, *next; w;
       w = next) {
    next = w->next;
    w->weak.target = NULL;
    w->next = w->prev = NULL;
  }
  rc_table_remove(&c->weak_heads, target);
}
