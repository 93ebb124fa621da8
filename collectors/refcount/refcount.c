/* refcount.c — the refcount collector: deferred reference counting of old
 * objects, young objects traced (Ulterior reference counting), synchronous
 * cycle collection.
 *
 * The story, in the order things happen:
 *
 * 1. Allocation bumps through a run of free cells (refcount-alloc.c). A new
 *    object is *young*: nothing counts its fields, and it is in no table.
 * 2. Barriers (refcount-stores.c). A store into a young object is a plain
 *    store. A store into an old object increments the new value's count
 *    (listing a young value as remembered), then decrements the old
 *    value's (increment first, so an object stored over itself never
 *    passes through zero — the Wasmtime self-copy bug). With several
 *    threads attached, stores are logged instead and counted at the next
 *    collection point. Root slots are not counted (Deutsch–Bobrow): the
 *    mutator writes them freely. An old object whose count falls to zero
 *    goes into the zero count table (ZCT); one that falls to nonzero
 *    becomes a candidate root of a garbage cycle (Bacon–Rajan's "purple").
 * 3. A collection point (an allocation budget spent, gc_collect, heap
 *    teardown with verify=1) flags every object a root slot holds, then
 *    traces the young objects from the remembered ones still counted, then
 *    from the roots, promotes what it reaches (counting its fields now) and
 *    frees the rest in bulk from the blocks' young bitmaps (refcount-young.c).
 *    Then it drains the ZCT: an entry whose count is still zero and that no
 *    root holds is freed. A freed object's children go on a stack and are
 *    decremented from it, freed in turn when they reach zero: no C stack,
 *    and time in proportion to the garbage only (refcount-drain.c). An
 *    allocation's collection point frees within a bound that it shares
 *    with promotion (bounded pauses); what it could not free, drain
 *    pauses through the next budget free (more than the point promoted,
 *    so the backlog shrinks), holding what young objects refer to as
 *    they hold what roots do. The promotion search makes a candidate
 *    of every cycle among promoted objects (only roots may hold it); ZCT
 *    entries that gained a count become candidates, unless only objects
 *    promoted from the roots count them (those close no cycle).
 * 4. When the candidate buffer is full, or on gc_collect, trial deletion
 *    (refcount-cycles.c) finds the cycles among the candidates that nothing
 *    outside holds, and frees them; an allocation's collection point takes
 *    candidates within a work budget and leaves the rest to the next.
 * 5. A freed resource runs its destructor; a freed object's weak references
 *    are cleared; the cell goes back to its block's free bitmap.
 */
#include "refcount.h"

/* Allocation between collection points: the pause is proportional to it. */
#define RC_DEFAULT_BUDGET ((int64_t)8 << 20)
/* The work of an allocation's pause is bounded, counted in objects freed:
 * one per RC_BUDGET_BYTES_PER_WORK bytes of budget (the number of the
 * smallest, 16-byte objects the budget holds: 524,288 for 8 MiB, about
 * 7 ms here). Promoting an object costs RC_PROMOTION_WORK of them
 * (binary-trees 21: 24 ns against 14 for a free), and a collection point's
 * drain frees what its promotion left of the bound. Over each budget the
 * drain must still free what the point promoted plus one object per
 * RC_BUDGET_BYTES_PER_FREE bytes (an object dies old only after its
 * promotion, so the backlog shrinks): what the point could not, drain
 * pauses through the next budget free (rc_drain_pause), RC_DRAIN_PAUSES of
 * them, each a share: one would take longer than the point (binary-trees
 * 21: 8.2 ms, where a point promoting a whole budget takes 7). */
#define RC_BUDGET_BYTES_PER_WORK 16
#define RC_PROMOTION_WORK 2
#define RC_BUDGET_BYTES_PER_FREE 64
#define RC_DRAIN_PAUSES 2

/* ---- Counts: the slow paths ---------------------------------------------- */

uint64_t rc_count(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t field = obj->gc_word & RC_COUNT_MASK;
  if (field != c->count_limit || (obj->gc_word & RC_STICKY))
    return field;
  uint64_t *exact = rc_table_find(&c->overflow_counts, obj);
  assert(exact);
  return *exact;
}

/* The count field reaches count_limit: move the count to the overflow
 * table, or freeze it if the table cannot grow. */
void rc_increment_slow(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t w = obj->gc_word & ~RC_COLOR_MASK;
  if (w & RC_STICKY) {
    obj->gc_word = w;
    return;
  }
  uint32_t field = w & RC_COUNT_MASK;
  if (field == c->count_limit) {
    ++*rc_table_find(&c->overflow_counts, obj);
  } else {
    uint64_t *exact = rc_table_upsert(&c->overflow_counts, obj);
    if (exact)
      *exact = (uint64_t)field + 1;
    else
      w |= RC_STICKY; /* immortal from now on: never freed, never wrong */
  }
  obj->gc_word = (w & ~RC_COUNT_MASK) | c->count_limit;
}

void rc_decrement_slow(struct gc_collector *c, struct gc_obj *obj) {
  uint32_t w = obj->gc_word;
  if (w & RC_STICKY)
    return;
  uint64_t *exact = rc_table_find(&c->overflow_counts, obj);
  assert(exact && *exact >= c->count_limit);
  uint64_t count = --*exact;
  if (count < c->count_limit) {
    rc_table_remove(&c->overflow_counts, obj);
    w = (w & ~RC_COUNT_MASK) | (uint32_t)count;
    obj->gc_word = w;
  }
  if (count == 0) {
    rc_count_reached_zero(c, obj, w);
  } else if ((w & RC_COLOR_MASK) != RC_PURPLE) {
    rc_became_candidate(c, obj);
  }
}

void rc_trial_adjust(struct gc_collector *c, struct gc_obj *obj, int delta) {
  uint32_t w = obj->gc_word;
  if ((w & RC_COUNT_MASK) != c->count_limit) {
    assert(delta > 0 || (w & RC_COUNT_MASK) > 0);
    obj->gc_word = w + (uint32_t)delta;
  } else if (!(w & RC_STICKY)) {
    *rc_table_find(&c->overflow_counts, obj) += (uint64_t)(int64_t)delta;
  }
}

/* Queues obj in the ZCT. Without memory for the entry, the next collection
 * point scans the heap for zero counts instead. */
void rc_became_zero(struct gc_collector *c, struct gc_obj *obj) {
  if (gc_vector_push(&c->zct, obj))
    obj->gc_word |= RC_IN_ZCT;
  else
    c->zct_overflowed = true;
}

/* Colours obj purple and buffers it, unless it has no reference fields and
 * so cannot be part of a cycle. A full buffer asks the next allocation
 * for a collection point, which will run the cycle collector; no memory for
 * the entry makes the cycle collector scan the heap for purple objects. */
void rc_became_candidate(struct gc_collector *c, struct gc_obj *obj) {
  /* A young object is not a candidate: if something still counts it at
   * the collection point, it is promoted, and its cycles are searched for
   * then. */
  if ((obj->gc_word & RC_YOUNG) || !rc_may_cycle(c->types, obj))
    return;
  rc_set_color(obj, RC_PURPLE);
  if (obj->gc_word & RC_BUFFERED)
    return;
  if (!gc_vector_push(&c->candidates, obj)) {
    c->candidates_overflowed = true;
    rc_request_collection_point(c);
    return;
  }
  obj->gc_word |= RC_BUFFERED;
  if (GC_UNLIKELY(c->candidates.count >= c->candidate_limit))
    rc_request_collection_point(c);
}

/* ---- Freeing ------------------------------------------------------------- */

/* Frees obj, which nothing references: runs its destructor, clears its weak
 * references, decrements its children (unless trial deletion already
 * accounted for them), and releases its cell — or, if the candidate buffer
 * still points at it, leaves it a zombie for rc_filter_candidates. The
 * drain frees a plain struct itself (free_plain_struct in refcount-drain.c):
 * a step added here for structs must be added there. */
void rc_free_object(struct gc_collector *c, struct gc_obj *obj,
                    enum rc_free_mode mode) {
  gc_heap *heap = c->heap;
  uint32_t w = obj->gc_word;
  assert(!(w & (RC_IN_ZCT | RC_ZOMBIE | RC_STICKY)));
  if (gc_obj_type(obj) == GC_TYPE_RESOURCE) {
    struct gc_resource *res = (struct gc_resource *)obj;
    if (!res->destroyed)
      gc_run_destructor(heap, res);
  } else if (gc_obj_type(obj) == GC_TYPE_WEAK) {
    rc_unlink_weak(c, (struct rc_weak *)obj);
  }
  if (w & RC_HAS_WEAK)
    rc_clear_weaks_of(c, obj);
  if ((w & RC_COUNT_MASK) == c->count_limit)
    rc_table_remove(&c->overflow_counts, obj);
  if (mode == RC_FREE_DECREMENT_CHILDREN) {
    /* Stacked, not decremented here: rc_drain_zct decrements them, fetching
     * ahead, since a dead child is rarely in cache. */
    GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
      struct gc_obj *child = *slot;
      if (child && !gc_vector_push(&c->dead_children, child))
        rc_decrement(c, child); /* no memory to stack it: now, then */
    });
  }
  c->live_bytes -= gc_object_size(c->types, obj);
  c->live_objects--;
  /* Still listed in the candidate buffer: its filter releases the cell. */
  if (w & RC_BUFFERED) {
    obj->gc_word = (w & (RC_BUFFERED | RC_COLOR_MASK)) | RC_ZOMBIE;
    return;
  }
  rc_release_cell(c, obj);
}

/* ---- Collection points --------------------------------------------------- */

static bool cycles_due(struct gc_collector *c) {
  if (c->cycles_pending || c->candidates_overflowed ||
      c->candidates.count >= c->candidate_limit)
    return true;
  return c->candidates.count && c->bytes_since_cycles >= c->cycle_bytes;
}

/* The work bound of an allocation's pause, in objects freed. */
static uint64_t pause_work(const struct gc_collector *c) {
  return (uint64_t)c->budget_reset / RC_BUDGET_BYTES_PER_WORK;
}

/* What an allocation's collection point may drain after promoting
 * `promoted` objects (RC_BUDGET_BYTES_PER_WORK). */
static uint64_t point_drain_bound(const struct gc_collector *c,
                                  uint64_t promoted) {
  uint64_t work = pause_work(c);
  uint64_t promotion = RC_PROMOTION_WORK * promoted;
  return promotion < work ? work - promotion : 0;
}

/* After a point whose drain stopped at its bound: the budget in
 * RC_DRAIN_PAUSES + 1 equal shares, the first now and each of the others
 * after a drain pause. Together the pauses free what the point owed
 * (RC_BUDGET_BYTES_PER_FREE), and never less than a point's bound. */
static void schedule_drain_pauses(struct gc_collector *c, uint64_t promoted,
                                  uint64_t freed) {
  uint64_t owed =
      promoted + (uint64_t)c->budget_reset / RC_BUDGET_BYTES_PER_FREE;
  uint64_t work = pause_work(c);
  owed = owed > freed ? owed - freed : 0;
  if (owed < work)
    owed = work;
  c->drain_pause_owed = (owed + RC_DRAIN_PAUSES - 1) / RC_DRAIN_PAUSES;
  c->budget_held = c->budget_left / (RC_DRAIN_PAUSES + 1) * RC_DRAIN_PAUSES;
  c->budget_left -= c->budget_held;
  c->drain_pauses_due = RC_DRAIN_PAUSES;
}

void rc_collection_point(struct gc_collector *c, bool run_cycles) {
  if (c->in_collection)
    return;
  if (c->drain_pauses_due && !run_cycles) {
    rc_drain_pause(c, c->drain_pause_owed);
    return;
  }
  gc_heap *heap = c->heap;
  c->in_collection = true;
  uint64_t start = gc_pause_begin(heap);
  c->bytes_since_cycles += rc_budget_spent(c); /* budget_held unspent */
  c->drain_pauses_due = 0;
  c->budget_held = 0;
  rc_large_collection_point_begins(c);
  rc_alloc_retire_runs(c);
  /* Counts are complete once the threads' logs are in. */
  rc_apply_logs(c);
  rc_stop_logging_if_alone(c);
  gc_visit_roots(heap, rc_mark_rooted, NULL);
  bool cycles_ran = false, drained = true;
  uint64_t promoted = 0, freed = 0;
  /* A heap that fails verification is not collected: freeing on wrong
   * counts would turn a reported bug into a use after free. */
  if (!c->verify || rc_verify_heap(c, "before collecting") == 0) {
    /* An allocation's collection point frees a bounded amount, and runs
     * trial deletion within a bounded amount of work, so that its pause
     * stays short; the rest waits for a drain pause or the next point. A
     * full one drains it all. Trial deletion does not need a complete
     * drain: what the drain left is dead objects in the ZCT, which scan
     * keeps (they are freed later, by the drain), and decrements on the
     * stack not yet made, whose counts are only too high (an object that a
     * freed one still counts in is never white). The young objects go
     * first: after them every object is old, and its fields are counted. */
    uint64_t old_objects = c->live_objects;
    rc_collect_young(c);
    promoted = c->live_objects - old_objects;
    cycles_ran = run_cycles || cycles_due(c);
    uint64_t before_drain = c->live_objects;
    drained = rc_drain_zct(c, run_cycles, point_drain_bound(c, promoted));
    freed = before_drain - c->live_objects;
    if (cycles_ran) {
      c->cycle_runs_before_drained += !drained;
      rc_collect_cycles(c, run_cycles);
    }
    if (c->verify)
      rc_verify_heap(c, "after collecting");
    /* Every live object is old now, and counted in these totals. */
    gc_note_live(heap, c->live_objects, c->live_bytes);
  }
  gc_visit_roots(heap, rc_clear_rooted, NULL);
  /* Each thread takes its next budget at its next allocation. The
   * promotion search or the drain made cycles due: the next allocation
   * starts a collection point with a complete drain and trial deletion. */
  rc_request_collection_point(c);
  if (cycles_ran || !cycles_due(c)) {
    rc_reset_budget(c);
    if (!drained)
      schedule_drain_pauses(c, promoted, freed);
  }
  if (c->verify)
    rc_quarantine_trim(c);
  gc_note_heap_bytes(heap, rc_heap_bytes(c));
  gc_pause_end(heap, start);
  c->in_collection = false;
}

/* ---- The operations gc/ calls -------------------------------------------- */

/* Small objects are a few words: plain stores, inline, beat a call to
 * memset. (The empty asm keeps gcc from turning the loop back into one; an
 * optimize attribute instead would keep the function from being inlined.) */
static inline __attribute__((always_inline)) void zero_words(uint64_t *words,
                                                             size_t n) {
  for (size_t i = 0; i < n; i++) {
    words[i] = 0;
    __asm__("" : "+r"(i));
  }
}

/* The largest object the fast path allocates, zeroing it inline. */
#define RC_INLINE_BYTES ((size_t)33 * 8)

/* Room in the young side lists for an object of a built-in type (a
 * resource or a weak reference), so that listing it cannot fail later; -1
 * after an OOM trap. */
static int reserve_builtin(struct gc_collector *c, uint32_t type) {
  if (type == GC_TYPE_RESOURCE &&
      gc_vector_reserve(&c->young_resources, c->young_resources.count + 1))
    return 0;
  /* A weak reference's target is linked by weak_init after the heap lock
   * was let go: room for every weak reference not linked yet. */
  size_t pending = c->weak_inits_pending + 1;
  if (type == GC_TYPE_WEAK && rc_table_reserve(&c->weak_heads, pending) == 0 &&
      gc_vector_reserve(&c->young_weaks, c->young_weaks.count + 1) &&
      gc_vector_reserve(&c->young_weak_targets,
                        c->young_weak_targets.count + pending))
    return 0;
  if (type != GC_TYPE_RESOURCE && type != GC_TYPE_WEAK)
    return 0;
  gc_trap_raise(c->heap, GC_TRAP_OOM,
                "out of memory for the refcount collector's young %s list",
                type == GC_TYPE_WEAK ? "weak reference" : "resource");
  return -1;
}

/* A new object's header: young, not in the ZCT, not counted; the next
 * collection point decides (refcount-young.c). */
static inline __attribute__((always_inline)) void
init_header(struct gc_obj *obj, uint32_t type_word) {
  obj->type_word = type_word;
  obj->gc_word = RC_YOUNG;
}

/* The next cell of the thread's run of size_class, unzeroed; NULL if the
 * run is used up. */
static inline __attribute__((always_inline)) struct gc_obj *
take_from_run(struct gc_mutator *m, unsigned size_class) {
  struct gc_inline_bump *run = m->alloc[size_class].run;
  if (GC_UNLIKELY(run->cursor >= run->limit))
    return NULL;
  struct gc_obj *obj = (struct gc_obj *)run->cursor;
  run->cursor += m->c->classes[size_class].cell_bytes;
  return obj;
}

/* Everything but a bump, with the heap lock held: a budget to take or a
 * collection point due, a class out of cells, a large object, verify=1, a
 * resource or a weak reference. */
static struct gc_obj *allocate_locked(struct gc_mutator *m, uint32_t type_word,
                                      size_t bytes) {
  struct gc_collector *c = m->c;
  size_t cell_bytes =
      type_word == GC_TYPE_WEAK ? sizeof(struct rc_weak) : bytes;
  *m->budget -= (int64_t)cell_bytes;
  if (*m->budget < 0)
    rc_take_budget(m);
  if (*m->budget < 0) {
    rc_collection_point(c, false);
    rc_take_budget(m);
  }
  if (type_word < GC_FIRST_USER_TYPE && reserve_builtin(c, type_word))
    return NULL;
  /* A large reference array's card bits follow it (zeroed with it). */
  size_t card_bytes = 0;
  if (rc_type_has_cards(&c->types->items[gc_type_number(type_word)],
                        cell_bytes))
    card_bytes =
        rc_card_bytes((cell_bytes - sizeof(struct gc_array)) / sizeof(gc_ref));
  struct gc_obj *obj = cell_bytes < RC_LARGE_MIN
                           ? take_from_run(m, rc_size_class(cell_bytes))
                           : NULL;
  if (!obj && !(obj = rc_allocate_slow(m, type_word, cell_bytes + card_bytes)))
    return NULL;
  /* Fresh large mappings are zero already; reused cells are not. */
  if (cell_bytes <= RC_INLINE_BYTES)
    zero_words((uint64_t *)obj + 1, cell_bytes / 8 - 1);
  else if (cell_bytes < RC_LARGE_MIN)
    memset(obj + 1, 0, cell_bytes - sizeof *obj);
  init_header(obj, type_word);
  if (type_word == GC_TYPE_RESOURCE) {
    c->resources_allocated = true;
    c->young_resources.items[c->young_resources.count++] = obj;
  } else if (type_word == GC_TYPE_WEAK) {
    c->young_weaks.items[c->young_weaks.count++] = obj;
    c->weak_inits_pending++;
  }
  return obj; /* reserve_builtin made room in the lists */
}

static __attribute__((noinline)) struct gc_obj *
allocate_slow(struct gc_mutator *m, uint32_t type_word, size_t bytes) {
  /* An object too big to zero inline, from the thread's own run: no lock
   * needed. */
  if (type_word >= GC_FIRST_USER_TYPE && bytes < RC_LARGE_MIN &&
      *m->budget >= (int64_t)bytes) {
    struct gc_obj *obj = take_from_run(m, rc_size_class(bytes));
    if (obj) {
      *m->budget -= (int64_t)bytes;
      memset(obj + 1, 0, bytes - sizeof *obj);
      init_header(obj, type_word);
      return obj;
    }
  }
  gc_heap_lock(m->handle);
  struct gc_obj *obj = allocate_locked(m, type_word, bytes);
  gc_heap_unlock(m->handle);
  /* With the lock let go: two threads replacing 128 KiB arrays
   * (large-arrays 2) waited for each other's memset. */
  if (m->unready_large) {
    gc_large_prepare(m->unready_large);
    m->unready_large = NULL;
  }
  return obj;
}

/* The fast path, a leaf: bump the class's cursor. (With verify=1 the
 * cursor always equals the limit: refcount-alloc.c hands out one cell at a time
 * there, to check its poison.) */
static struct gc_obj *rc_allocate(struct gc_mutator *m, uint32_t type_word,
                                  size_t bytes) {
  /* Larger objects are zeroed by memset, in allocate_slow, so that this
   * path calls nothing and saves no register. */
  if (GC_LIKELY(bytes <= RC_INLINE_BYTES && type_word >= GC_FIRST_USER_TYPE &&
                *m->budget >= (int64_t)bytes)) {
    struct gc_obj *obj = take_from_run(m, rc_size_class(bytes));
    if (GC_LIKELY(obj != NULL)) {
      *m->budget -= (int64_t)bytes;
      zero_words((uint64_t *)obj + 1, bytes / 8 - 1);
      init_header(obj, type_word);
      return obj;
    }
  }
  return allocate_slow(m, type_word, bytes);
}

/* Stacks that a burst grew (a 2-million-object list dying at once leaves a
 * 16 MB ZCT) give back what they no longer use. */
static void trim_stacks(struct gc_collector *c) {
  struct gc_obj_vector *stacks[] = {
      &c->zct,        &c->zct_kept,   &c->dead_children,
      &c->candidates, &c->young_path, &c->young_held,
      &c->young_next, &c->remembered, &c->young_large};
  for (size_t i = 0; i < sizeof stacks / sizeof *stacks; i++)
    gc_vector_trim(stacks[i]);
  /* The cycle collector reserves room for 2 x live objects + 16 entries of
   * work before each run (rc_collect_cycles), and trial deletion leaves it
   * empty: trimmed below that, the room was mapped again at the next
   * gc_collect (collect-often: a 4 MiB map and unmap at every call). So
   * it goes back only once the live objects need less than a quarter. */
  if (c->work.capacity / 4 > 2 * c->live_objects + 16)
    gc_vector_trim(&c->work);
}

/* gc_collect: a full collection point, after which the pages of wholly
 * free blocks and of grown stacks go back to the system. */
static void rc_collect(struct gc_mutator *m) {
  struct gc_collector *c = m->c;
  rc_collection_point(c, true);
  if (!c->in_collection) {
    rc_alloc_release_empty_blocks(c);
    trim_stacks(c);
  }
}

static struct gc_collector *rc_create(const struct gc_collector_env *env,
                                      char *err, size_t errlen) {
  gc_heap *heap = env->heap;
  const struct gc_options *options = env->options;
  struct gc_collector *c = gc_sys_calloc(1, sizeof *c);
  if (!c || !gc_vector_reserve(&c->zct, 4096) ||
      !gc_vector_reserve(&c->zct_kept, 4096)) {
    snprintf(err, errlen, "refcount: no memory for the collector");
    if (c) {
      gc_vector_free(&c->zct);
      gc_sys_free(c);
    }
    return NULL;
  }
  c->heap = heap;
  c->options = options;
  c->types = env->types;
  c->verify = options->verify != 0;
  gc_large_space_init(&c->large, heap, c->verify);
  c->quarantine.limit = options->verify_quarantine;
  /* Stores into young objects are not counted: gc_set_ref makes them
   * itself, without calling rc_write_ref. */
  gc_set_barrier_filter(heap, RC_YOUNG, 0);
  c->count_limit = RC_COUNT_MASK;
  c->candidate_limit = RC_MIN_CANDIDATES;
  c->cycle_bytes = RC_CYCLE_BYTES;
  c->cycle_work_budget = RC_CYCLE_WORK_BUDGET;
  rc_alloc_init(c);
  /* heap-size scales the allocation between collection points. */
  uint64_t budget = options->heap_size / 4;
  c->budget_reset = budget > (uint64_t)RC_DEFAULT_BUDGET ? (int64_t)budget
                                                         : RC_DEFAULT_BUDGET;
  rc_reset_budget(c);
  return c;
}

static void destroy_if_resource(struct gc_collector *c, struct gc_obj *obj,
                                void *ctx) {
  if (gc_obj_type(obj) == GC_TYPE_RESOURCE && !(obj->gc_word & RC_ZOMBIE)) {
    struct gc_resource *res = (struct gc_resource *)obj;
    if (!res->destroyed)
      gc_run_destructor(c->heap, res);
  }
}

static void rc_destroy(struct gc_collector *c) {
  /* With verify=1 the last collection checks the counts one more time. */
  if (c->verify)
    rc_collection_point(c, true);
  /* The heap walk takes every claimed cell for an object. */
  rc_alloc_retire_runs(c);
  if (c->resources_allocated)
    rc_for_each_object(c, destroy_if_resource, NULL);
  rc_alloc_free_all(c);
  rc_table_free(&c->overflow_counts);
  rc_table_free(&c->weak_heads);
  rc_verify_free(c);
  gc_vector_free(&c->zct);
  gc_vector_free(&c->zct_kept);
  gc_vector_free(&c->candidates);
  gc_vector_free(&c->dead_children);
  gc_vector_free(&c->work);
  gc_vector_free(&c->young_held);
  gc_vector_free(&c->orphan_log);
  rc_young_free(c);
  gc_sys_free(c);
}

const struct gc_collector_ops gc_refcount_collector = {
    .name = "refcount",
    .create = rc_create,
    .destroy = rc_destroy,
    .attach = rc_attach,
    .detach = rc_detach,
    .allocate = rc_allocate,
    .write_ref = rc_write_ref,
    .copy_refs = rc_copy_refs,
    .fill_refs = rc_fill_refs,
    .collect = rc_collect,
    .check_ref = rc_check_ref,
    .weak_init = rc_weak_init,
};
