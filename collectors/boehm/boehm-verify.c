/* boehm-verify.c — verify=1 for collector=boehm: the reference check, and
 * the poisoning of dead objects.
 *
 * Boehm sweeps lazily: a dead object keeps its header until its block is
 * next allocated from, so a stale reference to it would look live. With
 * verify on, each heap watches its objects (hidden pointers, in memory Boehm
 * does not scan). At the end of every collection, while the mark bits are
 * those of the collection and nothing has been swept since, a watched object
 * whose mark bit is clear is dead: it is poisoned (GC_POISON_BYTE) and no
 * longer watched. Boehm's sweep later overwrites its first word with a
 * free-list link (and zeroes the rest of a scanned object); either way its
 * header no longer names a type, which check_ref rejects.
 *
 * Why this is safe: objects on Boehm's free lists at that moment are either
 * marked (thread-local lists: Boehm marks them) or on the global lists,
 * which Boehm empties at every collection; and an object is unwatched the
 * first time it is found dead, before any sweep could hand its memory out.
 * A block that was wholly dead is already returned to Boehm (GC_base is
 * then NULL or another object's): it is left alone.
 */
#include "boehm-internal.h"

#include <gc/gc_mark.h>

struct watch_change {
  struct gc_collector *c;
  struct gc_obj *obj;
};

/* Under Boehm's allocation lock: a collection on another thread reads the
 * list (boehm_poison_dead_locked). */
static void *watch_locked(void *arg) {
  struct watch_change *ch = arg;
  /* Best effort: without memory this object is simply not poisoned. */
  (void)gc_vector_push(&ch->c->watched, GC_HIDE_POINTER(ch->obj));
  return NULL;
}

void boehm_watch(struct gc_collector *c, struct gc_obj *obj) {
  struct watch_change ch = {c, obj};
  GC_call_with_alloc_lock(watch_locked, &ch);
}

void boehm_poison_dead_locked(struct gc_collector *c) {
  size_t kept = 0;
  for (size_t i = 0; i < c->watched.count; i++) {
    void *obj = GC_REVEAL_POINTER(c->watched.items[i]);
    if (GC_base(obj) != obj)
      continue; /* its block went back to Boehm whole */
    if (!GC_is_marked(obj)) {
      gc_poison(obj, GC_size(obj));
      continue;
    }
    c->watched.items[kept++] = c->watched.items[i];
  }
  c->watched.count = kept;
}

/* The registry changes under Boehm's allocation lock (other threads add
 * resources, finalizers remove them): read it under the lock too. */
struct resource_check {
  struct gc_collector *c;
  struct gc_resource *res;
  const char *why;
};

static void *resource_check_locked(void *arg) {
  struct resource_check *check = arg;
  check->why = boehm_resource_check(check->c, check->res);
  return NULL;
}

int boehm_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                    size_t whylen) {
  /* GC_base looks the address up in Boehm's block table without reading
   * it: safe on a wild pointer. */
  void *base = GC_base(ref);
  if (!base) {
    snprintf(why, whylen, "not in Boehm GC's heap");
    return -1;
  }
  if (base != (void *)ref) {
    snprintf(why, whylen, "inside the Boehm object at %p, not at its start",
             base);
    return -1;
  }
  /* A reclaimed object holds Boehm's free-list link in its first word: its
   * type and gc_word are then a pointer's halves, which fail these checks. */
  uint32_t type = gc_obj_type(ref);
  if (type == GC_TYPE_NONE || type >= gc_type_count(c->types)) {
    snprintf(why, whylen, "bad type %u in its header (freed by Boehm?)", type);
    return -1;
  }
  if (type == GC_TYPE_RESOURCE) {
    struct resource_check check = {c, (struct gc_resource *)ref, NULL};
    GC_call_with_alloc_lock(resource_check_locked, &check);
    const char *bad = check.why;
    if (bad) {
      snprintf(why, whylen, "%s", bad);
      return -1;
    }
  } else if (ref->gc_word != c->tag) {
    snprintf(why, whylen, "%s",
             (ref->gc_word & BOEHM_TAG_MASK) == BOEHM_TAG_BITS
                 ? "an object of another boehm heap"
                 : "no gcheap object header (freed by Boehm?)");
    return -1;
  }
  size_t need = gc_object_size(c->types, ref), have = GC_size(base);
  if (have < need) {
    snprintf(why, whylen,
             "its header claims %zu bytes but Boehm's object has %zu", need,
             have);
    return -1;
  }
  return 0;
}
