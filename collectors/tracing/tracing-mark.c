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
 * ARRAY_SLICE a continuation of two words: the next index (tagged
 * MARK_INDEX), then the array pointer (tagged MARK_CONTINUATION). So the
 * stack stays small for a 10-million-node list (depth 1) and a
 * 10-million-element array (one slice at a time), and a packet of work
 * (tracing-parallel.c) can tell where a continuation starts.
 *
 * With gc-threads above 1, a large mark goes parallel: see
 * tracing-parallel.c. Each marker (struct marker) has its own stack and
 * counts, and marks only the objects it owns (O1): no mark and no line
 * mark is ever written by two markers. */
#include "tracing.h"

#define ARRAY_SLICE 1024
/* A power of two. A miss to memory outlasts marking 8 objects: 32 in
 * flight took large-live 512's longest pause from 135 to 97 ms with two
 * markers and from 217 to 158 ms alone; 64 was slower again. */
#define PREFETCH_DISTANCE 32

static bool grow_mark_stack(struct marker *m, size_t need) {
  if (gc_vector_reserve(m->stack, m->stack->count + need))
    return true;
  m->failed = true; /* the collection will be abandoned */
  return false;
}

static inline void push(struct marker *m, uintptr_t entry) {
  struct mark_stack *stack = m->stack;
  if (GC_UNLIKELY(stack->count == stack->capacity) && !grow_mark_stack(m, 1))
    return;
  stack->items[stack->count++] = entry;
}

/* Queues a reference found in a root; it is marked when it comes out of
 * the FIFO. */
static inline void push_ref(struct marker *m, struct gc_obj *obj) {
  if (obj)
    push(m, (uintptr_t)obj);
}

/* Room for n more entries on m's stack; false if it cannot grow (the
 * collection is then abandoned). */
static inline bool reserve_stack(struct marker *m, size_t n) {
  struct mark_stack *stack = m->stack;
  return GC_LIKELY(stack->capacity - stack->count >= n) ||
         grow_mark_stack(m, n);
}

/* Queues a reference found in a field, into room reserve_stack made, and
 * returns the new count. The entry is written either way and the count
 * moves only past a reference: no branch, where in a tree whether a child
 * is null is as good as random (half the nodes are leaves). The callers
 * keep the count and the items in registers, which push() reloads after
 * each store (the store may alias them). With both, paired with the build
 * before: pause total 0.95x on gcbench, 0.93x on binary-trees 18, 0.96x
 * and 0.91x on mt-gcbench 1 and 2, 0.80x on array-copy. */
static inline size_t push_field(uintptr_t *items, size_t count, gc_ref ref) {
  items[count] = (uintptr_t)ref;
  return count + (ref != NULL);
}

static void visit_root(gc_ref *slot, void *ctx) {
  struct marker *m = ctx;
  struct gc_collector *c = m->c;
  struct gc_obj *obj = *slot;
  if (GC_UNLIKELY(c->verify) && obj && !tracing_is_object(c, obj)) {
    gc_trap_raise(
        c->heap, GC_TRAP_INVARIANT,
        "root slot %p holds %p, which is not a live object of this heap",
        (void *)slot, (void *)obj);
    return;
  }
  push_ref(m, obj);
}

/* Marks every line that [obj, obj + size) touches. Block objects never
 * cross a block, so never a chunk, and a block's lines have one owner in
 * a parallel mark (O1): plain stores. The first and the last
 * line are stored unconditionally (the same byte twice when they are one):
 * whether a small object crosses a line boundary is as good as random,
 * and a loop over one or two lines mispredicted its exit on those. */
static inline void mark_lines(struct gc_obj *obj, size_t size,
                              uint8_t line_epoch) {
  struct chunk *chunk = chunk_of(obj);
  size_t first = line_index(obj);
  size_t last = line_index((char *)obj + size - 1);
  chunk->line_mark[first] = line_epoch;
  chunk->line_mark[last] = line_epoch;
  for (size_t l = first + 1; l < last; l++)
    chunk->line_mark[l] = line_epoch;
}

/* Scans elements [from, min(from + ARRAY_SLICE, length)) of a reference
 * array, leaving a continuation for the rest. */
static void scan_array_slice(struct marker *m, struct gc_obj *arr,
                             uint64_t from) {
  uint64_t length = ((struct gc_array *)arr)->length;
  uint64_t to = length - from > ARRAY_SLICE ? from + ARRAY_SLICE : length;
  if (!reserve_stack(m, (to < length ? 2 : 0) + (to - from)))
    return;
  struct mark_stack *stack = m->stack;
  uintptr_t *items = stack->items;
  size_t count = stack->count;
  if (to < length) {
    items[count++] = (uintptr_t)to << 2 | MARK_INDEX;
    items[count++] = (uintptr_t)arr | MARK_CONTINUATION;
  }
  gc_ref *elems = gc_array_elems(arr);
  for (uint64_t i = from; i < to; i++)
    count = push_field(items, count, elems[i]);
  stack->count = count;
}

/* Scans one popped object: its lines, then its strong references. The
 * collector's fields it needs come as arguments: read from struct
 * gc_collector on every object, they shared a cache line with the mark
 * stack the collecting thread writes, and two markers ran at the speed of
 * one. Always inlined: left to itself, gcc made it a call per object once
 * it grew, and marking took 1.05x the time. */
static inline __attribute__((always_inline)) void
scan_object(struct marker *m, const struct gc_type_info *types,
            uint8_t line_epoch, struct gc_obj *obj) {
  const struct gc_type_info *t = &types[gc_obj_type(obj)];
  size_t size;
  if (GC_LIKELY(t->shape == GC_SHAPE_STRUCT)) {
    size = t->size;
    uint32_t n = t->nrefs;
    if (reserve_stack(m, n)) {
      gc_ref *fields = gc_obj_fields(obj);
      const uint32_t *refs = t->ref_fields;
      struct mark_stack *stack = m->stack;
      uintptr_t *items = stack->items;
      size_t count = stack->count;
      for (uint32_t i = 0; i < n; i++)
        count = push_field(items, count, fields[refs[i]]);
      stack->count = count;
    }
  } else if (t->shape == GC_SHAPE_ARRAY) {
    uint64_t length = ((struct gc_array *)obj)->length;
    size = gc_round8(sizeof(struct gc_array) + length * gc_kind_size(t->elem));
    if (t->elem == GC_KIND_REF)
      scan_array_slice(m, obj, 0);
  } else {
    size = t->size; /* resources hold no references; weak targets are not
                       traced */
  }
  if (size <= LARGE_THRESHOLD)
    mark_lines(obj, size, line_epoch);
  m->marked_objects++;
  m->marked_bytes += size;
}

/* Sets obj's mark; false if it was marked already. A plain store, also
 * when markers run in parallel: only obj's owner marks it (O1). */
static inline bool set_mark(struct gc_obj *obj, uint32_t epoch) {
  if (obj->gc_word == epoch)
    return false;
  obj->gc_word = epoch;
  return true;
}

/* A reference to another marker's object goes into m's outbox for it; the
 * outbox goes to its owner when full, or early when the owner waits for
 * work. */
static inline void forward(struct mark_pool *pool, struct marker *m,
                           const struct mark_pool_hint *hint, uint32_t owner,
                           uintptr_t entry) {
  struct mark_packet *p = m->outbox[owner];
  if (GC_UNLIKELY(!p)) {
    tracing_pool_send(pool, m, owner);
    if (!(p = m->outbox[owner]))
      return; /* no packet: the collection is void (P3) */
  }
  p->entries[p->count++] = entry;
  if (p->count == PACKET_ENTRIES ||
      (p->count >= SHARE_MIN && (GC_ATOMIC_LOAD(hint->idle_mask) >> owner & 1)))
    tracing_pool_send(pool, m, owner);
}

/* The collecting thread, marking alone, calls helpers once the mark turns
 * out large (see tracing-parallel.c). */
static inline bool time_for_helpers(struct marker *m, uint64_t after) {
  return m->marked_objects >= after && m->stack->count > SHARE_MIN;
}

/* Marks from m's stack until it is empty, or (alone, may_start) until
 * the mark turns out large enough for helpers: then returns true, and the
 * caller goes on in parallel. In parallel, a reference to another
 * marker's object is forwarded to it as it leaves the stack. parallel is a
 * constant in each caller, so that marking alone pays no test for it per
 * object. */
static inline __attribute__((always_inline)) bool drain(struct marker *m,
                                                        struct mark_pool *pool,
                                                        const bool parallel,
                                                        bool may_start) {
  struct gc_collector *c = m->c;
  struct mark_stack *stack = m->stack;
  const struct gc_type_info *types = c->types->items;
  const uint32_t epoch = c->epoch;
  const uint8_t line_epoch = c->line_epoch;
  const struct mark_pool_hint *hint = parallel ? tracing_pool_hint(pool) : NULL;
  const uint8_t *owner_of_slot = parallel ? hint->owner_of_slot : NULL;
  const uint64_t parallel_after = c->parallel_after;
  const bool check_owner = parallel && c->verify;
  struct gc_obj *fifo[PREFETCH_DISTANCE];
  unsigned head = 0, queued = 0;
  for (;;) {
    if (!parallel && GC_UNLIKELY(may_start) &&
        time_for_helpers(m, parallel_after)) {
      /* Put back what the FIFO holds: unmarked, so nothing is lost. */
      while (queued) {
        push(m, (uintptr_t)fifo[head]);
        head = (head + 1) % PREFETCH_DISTANCE;
        queued--;
      }
      return true;
    }
    /* Refill the FIFO from the stack, prefetching what goes in. */
    while (queued < PREFETCH_DISTANCE && stack->count) {
      uintptr_t entry = stack->items[--stack->count];
      if (entry & MARK_CONTINUATION) {
        uint64_t from = stack->items[--stack->count] >> 2;
        scan_array_slice(m, (struct gc_obj *)(entry & ~(uintptr_t)3), from);
        continue;
      }
      if (parallel) {
        uint32_t owner = marker_of(entry, owner_of_slot);
        if (owner != m->id) {
          forward(pool, m, hint, owner, entry);
          continue;
        }
      }
      __builtin_prefetch((void *)entry, 1);
      fifo[(head + queued++) % PREFETCH_DISTANCE] = (struct gc_obj *)entry;
    }
    if (!queued)
      return false;
    struct gc_obj *obj = fifo[head];
    head = (head + 1) % PREFETCH_DISTANCE;
    queued--;
    /* The routing above keeps O1; verify=1 checks it again per object. */
    assert(
        (!check_owner || marker_of((uintptr_t)obj, owner_of_slot) == m->id) &&
        "O1");
    if (set_mark(obj, epoch))
      scan_object(m, types, line_epoch, obj);
  }
}

void tracing_mark_drain(struct marker *m, struct mark_pool *pool) {
  drain(m, pool, true, false);
}

/* The collecting thread's mark: alone, then, if it grows large and
 * gc-threads allows, with helpers until every marker is out of work. */
static void mark_from_stack(struct gc_collector *c, struct marker *first) {
  if (!drain(first, NULL, false, gc_marker_threads(c->heap) > 1))
    return;
  struct mark_pool *pool = tracing_pool_start(c, first);
  if (!pool) {
    drain(first, NULL, false, false);
    return;
  }
  c->parallel_marks++;
  do
    drain(first, pool, true, false);
  while (!first->failed && tracing_pool_take(pool, first));
  if (first->failed)
    tracing_pool_fail(pool, first);
  tracing_pool_finish(pool, first);
}

/* A minor collection traces from the remembered old objects; a full one
 * traces everything anyway. Either way the list is empty after. */
static void take_remembered(struct marker *m, struct gc_obj_vector *remembered,
                            bool major) {
  struct gc_collector *c = m->c;
  if (!major) {
    for (size_t i = 0; i < remembered->count; i++) {
      struct gc_obj *obj = remembered->items[i];
      c->remembered_objects++;
      c->remembered_bytes += gc_object_size(c->types, obj);
      push(m, (uintptr_t)obj);
    }
  }
  remembered->count = 0;
}

/* Marks from the roots and, in a minor collection, from the remembered old
 * objects (which the write barrier unmarked, so they are scanned again). */
bool tracing_mark(struct gc_collector *c, bool major) {
  struct marker first = {.c = c, .stack = &c->mark_stack};
  c->mark_stack.count = 0;
  c->remembered_objects = c->remembered_bytes = 0;
  take_remembered(&first, &c->remembered, major);
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    take_remembered(&first, &m->remembered, major);
  gc_visit_roots(c->heap, visit_root, &first);
  mark_from_stack(c, &first);
  c->marked_objects = first.marked_objects;
  c->marked_bytes = first.marked_bytes;
  return !first.failed;
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
  if (ok && gc_obj_type(obj) == GC_TYPE_RESOURCE &&
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
static bool verify_if_marked(struct gc_collector *c, struct chunk *chunk,
                             size_t granule, void *ctx) {
  (void)ctx;
  struct gc_obj *obj = (struct gc_obj *)((char *)chunk + granule * 8);
  return obj->gc_word != c->epoch || verify_marked_object(c, obj);
}

bool tracing_verify_marks(struct gc_collector *c) {
  if (!tracing_for_each_started_object(c, verify_if_marked, NULL))
    return false;
  for (struct gc_large_object *l = c->large.live; l; l = l->next) {
    struct gc_obj *obj = gc_large_object(l);
    if (obj->gc_word == c->epoch && !verify_marked_object(c, obj))
      return false;
  }
  return true;
}
