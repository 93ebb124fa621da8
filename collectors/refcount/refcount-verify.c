/* refcount-verify.c — verify=1 for the refcount collector.
 *
 * At each collection point (before and after it frees anything):
 *   1. everything reachable from the roots is walked; every object reached
 *      must be live, and one reached through a field of an old object must
 *      have a nonzero count ("ADDRESS is supposedly live; should have
 *      nonzero ref count");
 *   2. every count, young objects' too, is recomputed from scratch by
 *      walking the whole heap — the references from old objects' fields,
 *      since young objects' fields are not counted (refcount-young.c) — and
 *      compared with the stored one (address, stored count, true count).
 *      After the collection point every object is old, so this is then the
 *      count of every heap reference;
 *   3. an old object with a zero count must be in the zero count table, or
 *      it would never be freed; a zombie must still be in the candidate
 *      buffer.
 * Freed cells are poisoned and checked on reuse (refcount-alloc.c); check_ref
 * validates the references handed to the API.
 */
#include "refcount.h"

int rc_check_ref(struct gc_collector *c, gc_ref ref, char *why, size_t whylen) {
  if (rc_find_cell(c, ref, why, whylen)) {
    const char *quarantined = gc_large_quarantined_reason(&c->large, ref);
    if (quarantined)
      snprintf(why, whylen, "%s", quarantined);
    return -1;
  }
  bool large = rc_table_find(&c->large_objects, ref) != NULL;
  /* Atomic: another thread may be setting LOGGED or HAS_WEAK in it. */
  if ((!large && !rc_cell_allocated(ref)) ||
      (GC_ATOMIC_LOAD(ref->gc_word) & RC_ZOMBIE)) {
    const struct rc_block *block = rc_block_of(ref);
    uint32_t i = rc_cell_index(block, ref);
    bool held =
        !large && block->quarantined && gc_bit_test(block->quarantined, i);
    snprintf(why, whylen, "%s",
             held ? "a freed object (poisoned, held in quarantine)"
                  : "a freed object");
    return -1;
  }
  return 0;
}

/* Traps unless child, found in a field of parent, is a live object. */
static int check_child(struct gc_collector *c, struct gc_obj *parent,
                       struct gc_obj *child, const char *when) {
  char why[128];
  if (rc_check_ref(c, child, why, sizeof why) == 0)
    return 0;
  gc_trap_raise(
      c->heap, GC_TRAP_INVARIANT,
      "%s: %p holds a reference to %p, which is not a live object: %s", when,
      (void *)parent, (void *)child, why);
  return -1;
}

struct reach_ctx {
  struct gc_collector *c;
  struct rc_table *visited;
  int failed;
};

static void push_root(gc_ref *slot, void *ctx_) {
  struct reach_ctx *ctx = ctx_;
  if (ctx->failed)
    return;
  uint64_t *seen = rc_table_upsert(ctx->visited, *slot);
  if (!seen || !gc_vector_push(&ctx->c->work, *slot))
    ctx->failed = 1;
}

/* 1. Every object reachable from a root through the heap has a count. */
static int check_reachable(struct gc_collector *c, const char *when) {
  struct rc_table visited = c->verify_scratch;
  rc_table_clear(&visited);
  struct reach_ctx ctx = {c, &visited, 0};
  c->work.count = 0;
  gc_visit_roots(c->heap, push_root, &ctx);
  int result = 0;
  while (!ctx.failed && !result && c->work.count) {
    struct gc_obj *obj = c->work.items[--c->work.count];
    GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
      struct gc_obj *child = *slot;
      if (!child || result)
        continue;
      if (check_child(c, obj, child, when)) {
        result = -1;
        continue;
      }
      /* A young object's fields are not counted (refcount-young.c). */
      if (!(obj->gc_word & RC_YOUNG) && rc_count(c, child) == 0) {
        gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                      "%s: %p is supposedly live; should have nonzero ref "
                      "count (it is referenced by %p)",
                      when, (void *)child, (void *)obj);
        result = -1;
        continue;
      }
      if (rc_table_find(&visited, child))
        continue;
      if (!rc_table_upsert(&visited, child) || !gc_vector_push(&c->work, child))
        ctx.failed = 1;
    });
  }
  c->work.count = 0;
  c->verify_scratch = visited;
  return result; /* out of memory (ctx.failed): the check is skipped */
}

struct count_ctx {
  struct rc_table *true_counts;
  const char *when;
  int result; /* -1: trapped, 1: out of memory */
};

static void count_children(struct gc_collector *c, struct gc_obj *obj,
                           void *ctx_) {
  struct count_ctx *ctx = ctx_;
  if (ctx->result || (obj->gc_word & RC_ZOMBIE))
    return;
  /* A young object's fields are not counted; it is checked all the same,
   * since its references must be live. */
  bool counted = !(obj->gc_word & RC_YOUNG);
  GC_FOR_EACH_REF_SLOT(c->types, obj, slot, {
    struct gc_obj *child = *slot;
    if (!child || ctx->result)
      continue;
    if (check_child(c, obj, child, ctx->when)) {
      ctx->result = -1;
      continue;
    }
    if (!counted)
      continue;
    uint64_t *count = rc_table_upsert(ctx->true_counts, child);
    if (!count)
      ctx->result = 1;
    else
      ++*count;
  });
}

static void compare_count(struct gc_collector *c, struct gc_obj *obj,
                          void *ctx_) {
  struct count_ctx *ctx = ctx_;
  uint32_t w = obj->gc_word;
  if (ctx->result)
    return;
  if (w & RC_ZOMBIE) {
    if (!(w & RC_BUFFERED)) {
      gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                    "%s: %p is a freed object no buffer points to (a leaked "
                    "cell)",
                    ctx->when, (void *)obj);
      ctx->result = -1;
    }
    return;
  }
  if (w & RC_STICKY)
    return; /* frozen count: the documented fallback */
  uint64_t *found = rc_table_find(ctx->true_counts, obj);
  uint64_t truth = found ? *found : 0, stored = rc_count(c, obj);
  if (stored != truth) {
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%s: %p has stored ref count %llu but true count %llu",
                  ctx->when, (void *)obj, (unsigned long long)stored,
                  (unsigned long long)truth);
    ctx->result = -1;
  } else if (stored == 0 && !(w & (RC_IN_ZCT | RC_YOUNG)) &&
             !c->zct_overflowed) {
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%s: %p has a zero ref count but is not in the zero count "
                  "table (it would never be freed)",
                  ctx->when, (void *)obj);
    ctx->result = -1;
  }
}

/* 0 if the heap is sound (or memory ran out for checking it), -1 after a
 * trap. */
int rc_verify_heap(struct gc_collector *c, const char *when) {
  if (check_reachable(c, when))
    return -1;
  struct rc_table true_counts = c->verify_scratch;
  rc_table_clear(&true_counts);
  struct count_ctx ctx = {&true_counts, when, 0};
  rc_for_each_object(c, count_children, &ctx);
  if (!ctx.result)
    rc_for_each_object(c, compare_count, &ctx);
  c->verify_scratch = true_counts;
  return ctx.result < 0 ? -1 : 0;
}
