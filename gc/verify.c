/* verify.c — the checks of verify=1 that every collector shares: poisoning
 * of freed memory and the validity of a reference handed to the API. */
#include "heap-internal.h"

void gc_poison(void *start, size_t bytes) {
  memset(start, GC_POISON_BYTE, bytes);
}

long gc_poison_check(const void *start, size_t bytes) {
  const unsigned char *p = start;
  size_t i = 0;
  /* Word at a time where aligned: this runs on every reused cell. */
  for (; i < bytes && ((uintptr_t)(p + i) & 7); i++)
    if (p[i] != GC_POISON_BYTE)
      return (long)i;
  for (; i + 8 <= bytes; i += 8)
    if (*(const uint64_t *)(p + i) != GC_POISON_WORD)
      break;
  for (; i < bytes; i++)
    if (p[i] != GC_POISON_BYTE)
      return (long)i;
  return -1;
}

int gc_verify_ref(gc_heap *heap, gc_ref ref, const char *fn) {
  char why[160];
  why[0] = '\0'; /* only the collector's reason: no memset per call */
  if ((uintptr_t)ref & 7) {
    gc_trap_raise(heap, GC_TRAP_INVARIANT,
                  "%s: %p is not a live object of this heap: misaligned", fn,
                  (void *)ref);
    return -1;
  }
  /* The collector first: it knows whether the address is in its heap at
   * all, so that the header below is never read through a wild pointer. */
  int bad = 0;
  if (heap->ops->check_ref) {
    gc_check_lock(heap);
    bad = heap->ops->check_ref(heap->collector, ref, why, sizeof why);
    gc_check_unlock(heap);
  }
  if (bad) {
    gc_trap_raise(heap, GC_TRAP_INVARIANT,
                  "%s: %p is not a live object of this heap: %s", fn,
                  (void *)ref, why);
    return -1;
  }
  uint32_t type = gc_obj_type(ref);
  if (ref->type_word == (uint32_t)GC_POISON_WORD) {
    gc_trap_raise(heap, GC_TRAP_INVARIANT,
                  "%s: %p is not a live object of this heap: its header is "
                  "poisoned (freed memory)",
                  fn, (void *)ref);
    return -1;
  }
  if (type == GC_TYPE_NONE || type >= gc_type_count(heap->types)) {
    gc_trap_raise(
        heap, GC_TRAP_INVARIANT,
        "%s: %p is not a live object of this heap: bad type %u in its "
        "header",
        fn, (void *)ref, type);
    return -1;
  }
  /* The fast paths trust the REF bits above the number (gcheap.h). */
  if (ref->type_word != gc_type_word(heap->types, type)) {
    gc_trap_raise(heap, GC_TRAP_INVARIANT,
                  "%s: %p: header type word 0x%08x is not type %u's (0x%08x)",
                  fn, (void *)ref, ref->type_word, type,
                  gc_type_word(heap->types, type));
    return -1;
  }
  return 0;
}

int gc_api_slow_check(gc_heap *heap, gc_ref ref, const char *fn) {
  if (heap->verify && !pthread_equal(heap->owner, pthread_self())) {
    gc_trap_raise(heap, GC_TRAP_MISUSE,
                  "%s with another thread's handle; each thread uses the "
                  "handle gc_heap_new or gc_thread_attach gave it",
                  fn);
    return -1;
  }
  if (heap->state == GC_THREAD_BLOCKING) {
    gc_trap_raise(heap, GC_TRAP_MISUSE,
                  "%s between gc_blocking_begin and gc_blocking_end; a "
                  "blocked thread may not touch the heap",
                  fn);
    return -1;
  }
  if (heap->in_destructor) {
    gc_trap_raise(
        heap, GC_TRAP_MISUSE,
        "%s called from a resource destructor; destructors may not call "
        "into the heap",
        fn);
    return -1;
  }
  if (heap->verify && ref)
    return gc_verify_ref(heap, ref, fn);
  return 0;
}

/* ---- The quarantine ------------------------------------------------------ */

bool gc_quarantine_push(struct gc_quarantine *q, uintptr_t entry,
                        size_t bytes) {
  if (bytes > q->limit)
    return false; /* it would push out everything else at once */
  if (q->count == q->capacity) {
    size_t capacity = q->capacity ? 2 * q->capacity : 1024;
    uintptr_t *ring = gc_sys_malloc(capacity * sizeof *ring);
    if (!ring)
      return false;
    /* Unwrap: the oldest entry moves to index 0. */
    for (size_t i = 0; i < q->count; i++)
      ring[i] = q->ring[(q->head + i) % q->capacity];
    gc_sys_free(q->ring);
    q->ring = ring;
    q->head = 0;
    q->capacity = capacity;
  }
  q->ring[(q->head + q->count) % q->capacity] = entry;
  q->count++;
  q->bytes += bytes;
  return true;
}

void gc_quarantine_trim(struct gc_quarantine *q, uint64_t keep,
                        size_t (*release)(void *ctx, uintptr_t entry),
                        void *ctx) {
  while (q->count && q->bytes > keep) {
    uintptr_t entry = q->ring[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    size_t bytes = release(ctx, entry);
    assert(bytes <= q->bytes);
    q->bytes -= bytes;
  }
}

void gc_quarantine_free(struct gc_quarantine *q) {
  gc_sys_free(q->ring);
  *q = (struct gc_quarantine){NULL, 0, 0, 0, 0, q->limit};
}

void gc_quarantine_check_poison(gc_heap *heap, void *start, size_t bytes) {
  long bad = gc_poison_check(start, bytes);
  if (bad < 0)
    return;
  gc_trap_raise(heap, GC_TRAP_INVARIANT,
                "%p: freed memory (%zu bytes) was written after it was freed "
                "(poison broken at %p, found as it left the quarantine)",
                start, bytes, (void *)((char *)start + bad));
  gc_poison(start, bytes);
}
