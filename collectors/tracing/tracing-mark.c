/* tracing-mark.c — precise marking with an explicit stack, and its
 * verification.
 *
 * Marking is bound by cache and TLB misses on the objects it reaches, so
 * it hides them with prefetching: a reference found in a field is pushed
 * unmarked and unread; when it is popped it is prefetched and joins a
 * small FIFO, and only after PREFETCH_DISTANCE more objects have been
 * taken from the FIFO is its header read, its mark tested and set
 * (gc_word = epoch), and its fields scanned. An object reachable twice may
 * be pushed twice; the mark test drops the second copy.
 *
 * The stack holds object pointers, and for reference arrays longer than
 * ARRAY_SLICE a continuation of two words: the next index, then the array
 * pointer with bit 0 set. So the stack stays small for a 10-million-node
 * list (depth 1) and a 10-million-element array (one slice at a time). */
#include "tracing.h"

#define ARRAY_SLICE 1024
#define CONTINUATION 1

static bool grow_mark_stack(struct gc_collector *c, size_t need) {
  if (gc_vector_reserve(&c->mark_stack, c->mark_stack.count + need))
    return true;
  c->mark_failed = true; /* the collection will be abandoned */
  return false;
}

static inline void push(struct gc_collector *c, uintptr_t entry) {
  if (GC_UNLIKELY(c->mark_stack.count == c->mark_stack.capacity) &&
      !grow_mark_stack(c, 1))
    return;
  c->mark_stack.items[c->mark_stack.count++] = entry;
}

/* Queues a reference found in a field or a root; it is marked when it
 * comes out of the FIFO. */
static inline void push_ref(struct gc_collector *c, struct gc_obj *obj) {
  if (obj)
    push(c, (uintptr_t)obj);
}

static void visit_root(gc_ref *slot, void *ctx) {
  struct gc_collector *c = ctx;
  struct gc_obj *obj = *slot;
  if (GC_UNLIKELY(c->verify) && obj && !tracing_is_object(c, obj)) {
    gc_trap_raise(
        c->heap, GC_TRAP_INVARIANT,
        "root slot %p holds %p, which is not a live object of this heap",
        (void *)slot, (void *)obj);
    return;
  }
  push_ref(c, obj);
}

/* Marks every line that [obj, obj + size) touches. Block objects never
 * cross a block, so never a chunk. */
static inline void mark_lines(struct gc_collector *c, struct gc_obj *obj,
                              size_t size) {
  struct chunk *chunk = chunk_of(obj);
  size_t first = line_index(obj);
  size_t last = line_index((char *)obj + size - 1);
  for (size_t l = first; l <= last; l++)
    chunk->line_mark[l] = c->line_epoch;
}

/* Scans elements [from, min(from + ARRAY_SLICE, length)) of a reference
 * array, leaving a continuation for the rest. */
static void scan_array_slice(struct gc_collector *c, struct gc_obj *arr,
                             uint64_t from) {
  uint64_t length = ((struct gc_array *)arr)->length;
  uint64_t to = length - from > ARRAY_SLICE ? from + ARRAY_SLICE : length;
  if (to < length) {
    if (c->mark_stack.count + 2 > c->mark_stack.capacity &&
        !grow_mark_stack(c, 2))
      return;
    c->mark_stack.items[c->mark_stack.count++] = (uintptr_t)to;
    c->mark_stack.items[c->mark_stack.count++] = (uintptr_t)arr | CONTINUATION;
  }
  gc_ref *elems = gc_array_elems(arr);
  for (uint64_t i = from; i < to; i++)
    push_ref(c, elems[i]);
}

/* Scans one popped object: its lines, then its strong references. */
static inline void scan_object(struct gc_collector *c,
                               const struct gc_type_info *types,
                               struct gc_obj *obj) {
  const struct gc_type_info *t = &types[obj->type];
  size_t size;
  if (GC_LIKELY(t->shape == GC_SHAPE_STRUCT)) {
    size = t->size;
    gc_ref *fields = gc_obj_fields(obj);
    const uint32_t *refs = t->ref_fields;
    for (uint32_t i = 0, n = t->nrefs; i < n; i++)
      push_ref(c, fields[refs[i]]);
  } else if (t->shape == GC_SHAPE_ARRAY) {
    uint64_t length = ((struct gc_array *)obj)->length;
    size = gc_round8(sizeof(struct gc_array) + length * gc_kind_size(t->elem));
    if (t->elem == GC_KIND_REF)
      scan_array_slice(c, obj, 0);
  } else {
    size = t->size; /* resources hold no references; weak targets are not
                       traced */
  }
  if (size <= LARGE_THRESHOLD)
    mark_lines(c, obj, size);
  c->marked_objects++;
  c->marked_bytes += size;
}

#define PREFETCH_DISTANCE 8 /* a power of two */

/* A minor collection traces from the remembered old objects; a full one
 * traces everything anyway. Either way the list is empty after. */
static void take_remembered(struct gc_collector *c,
                            struct gc_obj_vector *remembered, bool major) {
  if (!major) {
    for (size_t i = 0; i < remembered->count; i++) {
      struct gc_obj *obj = remembered->items[i];
      c->remembered_objects++;
      c->remembered_bytes += gc_object_size(c->types, obj);
      push(c, (uintptr_t)obj);
    }
  }
  remembered->count = 0;
}

/* Marks from the roots and, in a minor collection, from the remembered old
 * objects (which the write barrier unmarked, so they are scanned again). */
bool tracing_mark(struct gc_collector *c, bool major) {
  gc_heap *heap = c->heap;
  c->mark_stack.count = 0;
  c->mark_failed = false;
  c->marked_objects = c->marked_bytes = 0;
  c->remembered_objects = c->remembered_bytes = 0;
  take_remembered(c, &c->remembered, major);
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    take_remembered(c, &m->remembered, major);
  gc_visit_roots(heap, visit_root, c);
  const struct gc_type_info *types = c->types->items;
  struct gc_obj *fifo[PREFETCH_DISTANCE];
  unsigned head = 0, queued = 0;
  for (;;) {
    /* Refill the FIFO from the stack, prefetching what goes in. */
    while (queued < PREFETCH_DISTANCE && c->mark_stack.count) {
      uintptr_t entry = c->mark_stack.items[--c->mark_stack.count];
      if (entry & CONTINUATION) {
        uint64_t from = c->mark_stack.items[--c->mark_stack.count];
        scan_array_slice(c, (struct gc_obj *)(entry & ~(uintptr_t)CONTINUATION),
                         from);
        continue;
      }
      __builtin_prefetch((void *)entry, 1);
      fifo[(head + queued++) % PREFETCH_DISTANCE] = (struct gc_obj *)entry;
    }
    if (!queued)
      break;
    struct gc_obj *obj = fifo[head];
    head = (head + 1) % PREFETCH_DISTANCE;
    queued--;
    if (obj->gc_word == c->epoch)
      continue;
    obj->gc_word = c->epoch;
    scan_object(c, types, obj);
  }
  return !c->mark_failed;
}

/* ---- verify=1 ------------------------------------------------------------ */

/* Checks one marked object: every strong reference field points to a marked
 * object of this heap. False after trapping. */
static bool verify_marked_object(struct gc_collector *c, struct gc_obj *obj) {
  gc_heap *heap = c->heap;
  bool ok = true;
  gc_ref *base = gc_type_info_of(c->types, obj)->shape == GC_SHAPE_ARRAY
                     ? (gc_ref *)gc_array_elems(obj)
                     : (gc_ref *)gc_obj_fields(obj);
  GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
    struct gc_obj *child = *slot;
    if (ok && child) {
      size_t field = (size_t)(slot - base);
      if (!tracing_is_object(c, child)) {
        gc_trap_raise(heap, GC_TRAP_INVARIANT,
                      "%p (marked) field %zu points to %p which is not a live "
                      "object of this heap",
                      (void *)obj, field, (void *)child);
        ok = false;
      } else if (child->gc_word != c->epoch) {
        gc_trap_raise(heap, GC_TRAP_INVARIANT,
                      "%p (marked) field %zu points to %p which is not marked",
                      (void *)obj, field, (void *)child);
        ok = false;
      }
    }
  });
  if (ok && obj->type == GC_TYPE_RESOURCE &&
      ((struct gc_resource *)obj)->destroyed) {
    gc_trap_raise(heap, GC_TRAP_INVARIANT,
                  "resource %p is reachable but its destructor has already run",
                  (void *)obj);
    ok = false;
  }
  return ok;
}

/* After marking, with verify=1: every reference field of every marked
 * object points to a marked, live object. Walks the object-start bitmaps
 * and the large objects. False (after a trap) if the invariant is broken:
 * the collection must then free nothing. */
bool tracing_verify_marks(struct gc_collector *c) {
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next) {
    for (size_t w = 0; w < GRANULES_PER_CHUNK / 64; w++) {
      for (uint64_t bits = chunk->object_start[w]; bits; bits &= bits - 1) {
        size_t granule = w * 64 + (size_t)__builtin_ctzll(bits);
        struct gc_obj *obj = (struct gc_obj *)((char *)chunk + granule * 8);
        if (obj->gc_word == c->epoch && !verify_marked_object(c, obj))
          return false;
      }
    }
  }
  for (struct gc_large_object *l = c->large.live; l; l = l->next) {
    struct gc_obj *obj = gc_large_object(l);
    if (obj->gc_word == c->epoch && !verify_marked_object(c, obj))
      return false;
  }
  return true;
}
