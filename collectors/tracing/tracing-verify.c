/* tracing-verify.c — verify=1 reference checks.
 *
 * With verify=1 every block object has its start granule recorded in its
 * chunk's object_start bitmap from allocation until a collection finds it
 * dead; large objects are on c->large.live until retired. So "is this a live
 * object of this heap" never reads memory outside the heap. */
#include "tracing.h"

static struct chunk *find_chunk(struct gc_collector *c, const void *addr) {
  struct chunk *want = chunk_of(addr);
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next)
    if (chunk == want)
      return chunk;
  return NULL;
}

/* Why ref is not a live object, or NULL if it is. */
static const char *why_not_object(struct gc_collector *c, const void *ref) {
  if ((uintptr_t)ref & 7)
    return "misaligned";
  struct chunk *chunk = find_chunk(c, ref);
  if (chunk) {
    if (line_index(ref) < FIRST_OBJECT_BLOCK * LINES_PER_BLOCK)
      return "points into the collector's metadata";
    if (gc_bit_test(chunk->object_start, granule_index(ref))) {
      if (((const struct gc_obj *)ref)->type == (uint32_t)GC_POISON_WORD)
        return "its header is poisoned (freed memory)";
      return NULL;
    }
    if (gc_bit_test(chunk->line_quarantined, line_index(ref)))
      return "a freed object (its line is poisoned and held in quarantine)";
    if (gc_bit_test(chunk->line_poisoned, line_index(ref)))
      return "freed memory (poisoned)";
    return "not the start of a live object (freed, or inside an object)";
  }
  if (gc_large_find(&c->large, ref, true))
    return NULL;
  if (gc_large_find(&c->large, ref, false))
    return "inside a large object, not at its start";
  const char *quarantined = gc_large_quarantined_reason(&c->large, ref);
  return quarantined ? quarantined : "not in this heap";
}

bool tracing_is_object(struct gc_collector *c, const void *addr) {
  return why_not_object(c, addr) == NULL;
}

int tracing_check_ref(struct gc_collector *c, gc_ref ref, char *why,
                      size_t whylen) {
  if (!c->verify)
    return 0; /* without verify=1 objects carry no start bits */
  const char *reason = why_not_object(c, ref);
  if (!reason)
    return 0;
  snprintf(why, whylen, "%s", reason);
  return -1;
}

bool tracing_owns_address(struct gc_collector *c, const void *addr) {
  return find_chunk(c, addr) || gc_large_find(&c->large, addr, false);
}
