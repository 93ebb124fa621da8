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
      if (((const struct gc_obj *)ref)->type_word == (uint32_t)GC_POISON_WORD)
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

/* Pristine blocks never held an object (block_pristine is cleared when an
 * allocator first takes a block and never set again), so their start bits
 * are all zero: skipping them makes a collection of a small heap cost what
 * the heap holds, not the 2 MiB its first chunk spans. A collection at
 * every allocation (stress=1) runs this twice each time. */
bool tracing_for_each_started_object(struct gc_collector *c,
                                     tracing_object_visitor visit, void *ctx) {
  enum { WORDS_PER_BLOCK = BLOCK_SIZE / 8 / 64 };
  for (struct chunk *chunk = c->chunks; chunk; chunk = chunk->next)
    for (uint32_t b = FIRST_OBJECT_BLOCK; b < BLOCKS_PER_CHUNK; b++) {
      if (chunk->block_state[b] == BLOCK_UNUSED || chunk->block_pristine[b])
        continue;
      for (size_t w = (size_t)b * WORDS_PER_BLOCK;
           w < (size_t)(b + 1) * WORDS_PER_BLOCK; w++)
        for (uint64_t bits = chunk->object_start[w]; bits; bits &= bits - 1) {
          size_t granule = w * 64 + (size_t)__builtin_ctzll(bits);
          if (!visit(c, chunk, granule, ctx))
            return false;
        }
    }
  return true;
}

bool tracing_owns_address(struct gc_collector *c, const void *addr) {
  return find_chunk(c, addr) || gc_large_find(&c->large, addr, false);
}
