/* refcount-stores.c — the write barriers, and counting the stores of several
 * threads: Levanoni–Petrank coalescing, as LXR does it.
 *
 * With one thread, a store into an old object counts at once (below).
 * With several, two threads storing into the same object would race on
 * the counts of its old and new values, and a lock or an atomic add per
 * store would serialise them. Instead, between collection points no count
 * changes: the first store into an old object since the last collection
 * point *logs* it — the thread copies the object's reference fields into
 * its own log, then sets LOGGED in the header with a compare-and-swap — and
 * every later store into it, by any thread, is a plain store (the barrier
 * filter is YOUNG | LOGGED, so gcheap.h makes those inline). At the
 * collection point, with the world stopped, each logged object's current
 * fields are incremented and its logged values decremented: its count
 * changes are exactly those of going from the fields it had at the last
 * collection point to the fields it has now, whatever the interleaving of
 * the stores in between, and values stored and overwritten in between are
 * never counted at all.
 *
 * Invariants:
 *   L1. No thread stores into an old object that is not LOGGED: the
 *       barrier logs it first (or, when the log cannot grow, marks the
 *       heap for a recount, L3). So a log's copy is the object's fields as
 *       of the last collection point.
 *   L2. Of two threads logging one object, the one whose compare-and-swap
 *       sets LOGGED keeps its copy; the other drops its own. A copy is
 *       complete before LOGGED is set, and no thread stores before it sees
 *       LOGGED or sets it, so the kept copy holds no value of this epoch.
 *   L3. A log that cannot grow does not fail the store: LOGGED is set
 *       without a copy and log_overflowed tells the next collection point
 *       to recompute every count from the heap instead (rc_recount_all).
 *   L4. All increments are applied before any decrement, so an object
 *       stored over itself never passes through zero on the way.
 *
 * A large reference array (rc_has_cards) is logged the same way a card of
 * RC_CARD_ELEMENTS elements at a time, its card bit in place of LOGGED
 * (L1 and L2 hold per card); it is never LOGGED itself, so every store
 * into it comes here to find its card's bit.
 *
 * One thread logs too, for one case: gc_array_copy and gc_array_fill_ref
 * into an old large array log the cards they write (while the log stays
 * under ALONE_LOG_MAX) instead of counting every element at once. A
 * program that copies within an array again and again (shifting a queue,
 * moving elements up and down) then counts each card once per collection
 * point, not every element of every copy: array-copy, 400 rounds of
 * copies within 64 old arrays of 4096 elements and 4 collection points,
 * took 0.56x the time. A single store into an old large array then checks
 * its card's bit: a logged card takes plain stores (L1).
 *
 * A log is a sequence of entries: an object followed by the values of its
 * reference fields, or, for a card, the array's address with bit 0 set,
 * the card's index, then the card's values.
 */
#include "refcount.h"

static const uint64_t *alone_card_bits(struct gc_collector *c,
                                       struct gc_obj *obj);
static bool slot_card_logged(const uint64_t *bits, struct gc_obj *obj,
                             const gc_ref *slot);
static bool log_cards_alone(struct gc_mutator *m, struct gc_obj *obj,
                            gc_ref *first, size_t n);

/* ---- Barriers ------------------------------------------------------------
 *
 * One thread: a store into an old object counts at once. Several threads:
 * the first store into an old object since the last collection point logs
 * the object (below), and every store after it is plain; the
 * collection point counts the difference. A young object's fields are not
 * counted (refcount-young.c): a plain store either way. c->logging changes
 * only with the world stopped, so a barrier never sees it change. */

/* *slot = v inside an old object, counted at once (one thread). */
static inline void store_counted(struct gc_collector *c, gc_ref *slot,
                                 gc_ref v) {
  gc_ref old = *slot;
  if (v)
    rc_increment_stored(c, v);
  *slot = v;
  if (old)
    rc_decrement(c, old);
}

void rc_write_ref(struct gc_mutator *m, struct gc_obj *obj, gc_ref *slot,
                  gc_ref v) {
  struct gc_collector *c = m->c;
  uint32_t w = GC_ATOMIC_LOAD(obj->gc_word);
  if (w & RC_YOUNG) {
    *slot = v;
    return;
  }
  if (c->logging) {
    if (!(w & RC_LOGGED))
      rc_log_slots(m, obj, slot, 1);
    *slot = v;
    return;
  }
  const uint64_t *bits = alone_card_bits(c, obj);
  if (GC_UNLIKELY(bits != NULL) && slot_card_logged(bits, obj, slot)) {
    *slot = v; /* the collection point counts the card (L1) */
    return;
  }
  store_counted(c, slot, v);
}

/* dst[k] = src[k] for k < n, with memmove semantics. Counting at once, the
 * loop runs in the direction that reads every source before it is
 * overwritten, and each step increments the new value before decrementing
 * the old one, so an element copied onto itself (dst == src) never has a
 * transient zero count. */
void rc_copy_refs(struct gc_mutator *m, struct gc_obj *dst_obj, gc_ref *dst,
                  const gc_ref *src, size_t n) {
  struct gc_collector *c = m->c;
  uint32_t w = GC_ATOMIC_LOAD(dst_obj->gc_word);
  if ((w & RC_YOUNG) || c->logging) {
    if (!(w & (RC_YOUNG | RC_LOGGED)) && n)
      rc_log_slots(m, dst_obj, dst, n);
    memmove(dst, src, n * sizeof *dst);
    return;
  }
  if (log_cards_alone(m, dst_obj, dst, n)) {
    memmove(dst, src, n * sizeof *dst);
    return;
  }
  /* Cards logged by an earlier copy take plain stores (L1). */
  const uint64_t *bits = alone_card_bits(c, dst_obj);
#ifdef GCHEAP_TESTING
  /* The Wasmtime bug (old value first), for the test that it is caught. */
  bool decrement_first = GC_UNLIKELY(c->test_decrement_first);
#else
  const bool decrement_first = false;
#endif
  bool forward = dst <= src;
  for (size_t step = 0; step < n; step++) {
    size_t k = forward ? step : n - 1 - step;
    gc_ref v = src[k], old = dst[k];
    if (bits && slot_card_logged(bits, dst_obj, &dst[k])) {
      dst[k] = v;
      continue;
    }
    if (decrement_first && old)
      rc_decrement(c, old);
    if (v)
      rc_increment_stored(c, v);
    dst[k] = v;
    if (!decrement_first && old)
      rc_decrement(c, old);
  }
}

void rc_fill_refs(struct gc_mutator *m, struct gc_obj *obj, gc_ref *dst,
                  size_t n, gc_ref v) {
  struct gc_collector *c = m->c;
  uint32_t w = GC_ATOMIC_LOAD(obj->gc_word);
  bool plain = true;
  if ((w & RC_YOUNG) || c->logging) {
    if (!(w & (RC_YOUNG | RC_LOGGED)) && n)
      rc_log_slots(m, obj, dst, n);
  } else {
    plain = log_cards_alone(m, obj, dst, n);
  }
  if (plain) {
    for (size_t k = 0; k < n; k++)
      dst[k] = v;
    return;
  }
  const uint64_t *bits = alone_card_bits(c, obj);
  for (size_t k = 0; k < n; k++) {
    if (bits && slot_card_logged(bits, obj, &dst[k]))
      dst[k] = v; /* L1 */
    else
      store_counted(c, &dst[k], v);
  }
}

/* ---- Logging ------------------------------------------------------------- */

#define CARD_TAG ((uintptr_t)1)

/* The elements of card of array obj: [*first, *first + return value). */
static size_t card_span(struct gc_obj *obj, uint64_t card, uint64_t *first) {
  uint64_t length = ((struct gc_array *)obj)->length;
  *first = card * RC_CARD_ELEMENTS;
  uint64_t n = length - *first;
  return n < RC_CARD_ELEMENTS ? (size_t)n : RC_CARD_ELEMENTS;
}

static void log_card(struct gc_mutator *m, struct gc_obj *obj, uint64_t card) {
  struct gc_collector *c = m->c;
  uint64_t *word = &rc_card_bits(c->types, obj)[card / 64];
  uint64_t bit = UINT64_C(1) << (card % 64);
  uint64_t bits = GC_ATOMIC_LOAD(*word);
  if (bits & bit)
    return;
  struct gc_obj_vector *log = &m->log;
  uint64_t first;
  size_t start = log->count, n = card_span(obj, card, &first);
  bool copied = gc_vector_reserve(log, start + 2 + n);
  if (copied) {
    log->items[start] = (struct gc_obj *)((uintptr_t)obj | CARD_TAG);
    log->items[start + 1] = (struct gc_obj *)(uintptr_t)card;
    memcpy(&log->items[start + 2], (gc_ref *)gc_array_elems(obj) + first,
           n * sizeof(gc_ref));
  }
  do {
    if (bits & bit)
      return; /* another thread logged the card first (L2) */
  } while (!__atomic_compare_exchange_n(word, &bits, bits | bit, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  if (copied)
    log->count = start + 2 + n;
  else
    GC_ATOMIC_STORE(c->log_overflowed, true); /* L3 */
}

static void log_object(struct gc_mutator *m, struct gc_obj *obj) {
  struct gc_collector *c = m->c;
  struct gc_obj_vector *log = &m->log;
  size_t start = log->count, n = rc_ref_slot_count(c->types, obj);
  bool copied = gc_vector_reserve(log, start + 1 + n);
  if (copied) {
    struct gc_obj **entry = &log->items[start];
    *entry++ = obj;
    GC_FOR_EACH_REF_SLOT(c->types, obj, slot, *entry++ = *slot);
  }
  uint32_t w = GC_ATOMIC_LOAD(obj->gc_word);
  do {
    if (w & RC_LOGGED)
      return; /* another thread logged it first: its copy counts (L2) */
  } while (!__atomic_compare_exchange_n(&obj->gc_word, &w, w | RC_LOGGED, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  if (copied)
    log->count = start + 1 + n;
  else
    GC_ATOMIC_STORE(c->log_overflowed, true); /* L3 */
}

void rc_log_slots(struct gc_mutator *m, struct gc_obj *obj, gc_ref *first,
                  size_t n) {
  if (!rc_has_cards(m->c->types, obj)) {
    log_object(m, obj);
    return;
  }
  uint64_t index = (uint64_t)(first - (gc_ref *)gc_array_elems(obj));
  uint64_t last = index + n - 1;
  for (uint64_t card = index / RC_CARD_ELEMENTS;
       card <= last / RC_CARD_ELEMENTS; card++)
    log_card(m, obj, card);
}

/* One thread: most entries its log may hold for bulk copies and fills;
 * past it they count at once. 4 MiB, which bounds what the log adds to
 * the memory and to the collection point that counts it (array-copy's
 * log of 2 MiB took its longest pause from 2.3 to 3.5 ms). */
#define ALONE_LOG_MAX ((size_t)1 << 19)

/* One thread: obj's card bits if it is a large array and a bulk copy or
 * fill logged cards since the last collection point (of this array or
 * another); NULL otherwise, when no card of obj can be logged. Looked up
 * once per call, not per element. */
static const uint64_t *alone_card_bits(struct gc_collector *c,
                                       struct gc_obj *obj) {
  if (!c->cards_logged_alone || !rc_has_cards(c->types, obj))
    return NULL;
  return rc_card_bits(c->types, obj);
}

/* True if the card of slot, an element of obj whose card bits are bits,
 * is logged. */
static bool slot_card_logged(const uint64_t *bits, struct gc_obj *obj,
                             const gc_ref *slot) {
  uint64_t card =
      (uint64_t)(slot - (gc_ref *)gc_array_elems(obj)) / RC_CARD_ELEMENTS;
  return (bits[card / 64] >> (card % 64)) & 1;
}

/* One thread, an old object: logs the cards of [first, first + n) if obj
 * is a large array and the log has room for all of them; false (nothing
 * logged) otherwise. */
static bool log_cards_alone(struct gc_mutator *m, struct gc_obj *obj,
                            gc_ref *first, size_t n) {
  struct gc_collector *c = m->c;
  if (n == 0 || !rc_has_cards(c->types, obj))
    return false;
  size_t cards = n / RC_CARD_ELEMENTS + 2; /* at most */
  if (m->log.count + cards * (2 + RC_CARD_ELEMENTS) > ALONE_LOG_MAX)
    return false;
  c->cards_logged_alone = true;
  rc_log_slots(m, obj, first, n);
  return true;
}

/* Increments the current fields of every object or card in log. */
static void count_new_values(struct gc_collector *c,
                             const struct gc_obj_vector *log) {
  for (size_t i = 0; i < log->count;) {
    struct gc_obj *obj = log->items[i];
    if ((uintptr_t)obj & CARD_TAG) {
      obj = (struct gc_obj *)((uintptr_t)obj & ~CARD_TAG);
      uint64_t first;
      size_t n = card_span(obj, (uintptr_t)log->items[i + 1], &first);
      gc_ref *elems = (gc_ref *)gc_array_elems(obj) + first;
      for (size_t k = 0; k < n; k++)
        if (elems[k])
          rc_increment_stored(c, elems[k]);
      i += 2 + n;
      continue;
    }
    GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
      if (*slot)
        rc_increment_stored(c, *slot);
    });
    i += 1 + rc_ref_slot_count(c->types, obj);
  }
}

/* Decrements every logged value of log, clears LOGGED and the card bits,
 * and empties it. */
static void uncount_old_values(struct gc_collector *c,
                               struct gc_obj_vector *log) {
  for (size_t i = 0; i < log->count;) {
    struct gc_obj *obj = log->items[i];
    size_t values = i + 1, n;
    if ((uintptr_t)obj & CARD_TAG) {
      obj = (struct gc_obj *)((uintptr_t)obj & ~CARD_TAG);
      uint64_t first, card = (uintptr_t)log->items[i + 1];
      n = card_span(obj, card, &first);
      rc_card_bits(c->types, obj)[card / 64] &= ~(UINT64_C(1) << (card % 64));
      values++;
    } else {
      n = rc_ref_slot_count(c->types, obj);
      obj->gc_word &= ~RC_LOGGED;
    }
    for (size_t k = 0; k < n; k++)
      if (log->items[values + k])
        rc_decrement(c, log->items[values + k]);
    i = values + n;
  }
  log->count = 0;
}

/* ---- The recount (L3) ---------------------------------------------------- */

static void reset_count(struct gc_collector *c, struct gc_obj *obj, void *ctx) {
  if (!(obj->gc_word & RC_ZOMBIE) && rc_has_cards(c->types, obj))
    memset(rc_card_bits(c->types, obj), 0,
           rc_card_bytes(((struct gc_array *)obj)->length));
  uint32_t w = obj->gc_word & ~RC_LOGGED;
  /* A mark that only new objects count it would outlive its count: every
   * counted object becomes a candidate below anyway. */
  if (!(w & RC_YOUNG))
    w &= ~RC_NEW_REFERRERS;
  if (!(w & (RC_ZOMBIE | RC_STICKY))) {
    if ((w & RC_COUNT_MASK) == c->count_limit)
      rc_table_remove(&c->overflow_counts, obj);
    w &= ~RC_COUNT_MASK;
  }
  obj->gc_word = w;
}

static void count_fields(struct gc_collector *c, struct gc_obj *obj,
                         void *ctx) {
  if (obj->gc_word & (RC_ZOMBIE | RC_YOUNG))
    return;
  GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
    if (*slot)
      rc_increment_stored(c, *slot);
  });
}

/* Any object may have lost a reference that no decrement reported: a zero
 * count goes to the ZCT, and any other may close a garbage cycle. */
static void requeue(struct gc_collector *c, struct gc_obj *obj, void *ctx) {
  uint32_t w = obj->gc_word;
  if (w & (RC_ZOMBIE | RC_YOUNG | RC_STICKY))
    return;
  if (rc_count(c, obj) == 0) {
    if (!(w & RC_IN_ZCT))
      rc_became_zero(c, obj);
  } else {
    rc_became_candidate(c, obj);
  }
}

/* Every count recomputed from the fields of old objects, as verify=1
 * does: the slow way back to exact counts when a log was lost. */
static void rc_recount_all(struct gc_collector *c) {
  rc_for_each_object(c, reset_count, NULL);
  rc_for_each_object(c, count_fields, NULL);
  rc_for_each_object(c, requeue, NULL);
}

void rc_apply_logs(struct gc_collector *c) {
  if (c->log_overflowed) {
    for (struct gc_mutator *m = c->mutators; m; m = m->next)
      m->log.count = 0;
    c->orphan_log.count = 0;
    rc_recount_all(c);
    c->log_overflowed = false;
    c->cards_logged_alone = false; /* the recount cleared every card bit */
    return;
  }
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    count_new_values(c, &m->log);
  count_new_values(c, &c->orphan_log);
  for (struct gc_mutator *m = c->mutators; m; m = m->next)
    uncount_old_values(c, &m->log);
  uncount_old_values(c, &c->orphan_log);
  c->cards_logged_alone = false; /* every card bit is clear again */
}
