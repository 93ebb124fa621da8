/* refcount-verify.c — verify=1 for the refcount collector.
 *
 * At each collection point (before and after it frees anything):
 *   1. every count, young objects' too, is recomputed from scratch by
 *      walking the whole heap — the references from old objects' fields,
 *      since young objects' fields are not counted (refcount-young.c) — and
 *      compared with the stored one (address, stored count, true count);
 *      every reference the walk meets must be to a live object. After the
 *      collection point every object is old, so this is then the count of
 *      every heap reference. A wrong count is reported, where it is one, as
 *      the bug it usually is: an object reachable from the roots through a
 *      field of an old object, with a zero count ("ADDRESS is supposedly
 *      live; should have nonzero ref count"), found by a walk from the roots
 *      that runs only then;
 *   2. an old object with a zero count must be in the zero count table, or
 *      it would never be freed; a zombie must still be in the candidate
 *      buffer.
 * Freed cells are poisoned and checked on reuse (refcount-alloc.c); check_ref
 * validates the references handed to the API.
 */
#include "refcount.h"

int rc_check_ref(struct gc_collector *c, gc_ref ref, char *why, size_t whylen) {
  int at = rc_find_cell(c, ref, why, whylen);
  if (at < 0) {
    const char *quarantined = gc_large_quarantined_reason(&c->large, ref);
    if (quarantined)
      snprintf(why, whylen, "%s", quarantined);
    return -1;
  }
  bool large = at == RC_AT_LARGE;
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

/* ---- The scratch: a number per object ------------------------------------
 * A hash table keyed by address cost two thirds of a verify=1 collection
 * point (shared-replace under stress=1); a cell's number is now found by
 * its chunk, block and index instead. Only cells below a block's high
 * water mark have one: with verify=1 every cell ever handed out is below
 * it (take_cell), so a small heap's scratch stays as small as its objects
 * are few, not a number for each of the 4,000 cells of each block. */

static void scratch_zero(struct rc_verify_scratch *v) {
  if (v->cells.count) /* a heap with no block yet has no storage */
    memset(v->cells.items, 0, v->cells.count * sizeof *v->cells.items);
  rc_table_clear(&v->large);
}

/* Sizes the scratch for the heap as it is now, all numbers zero. False if
 * memory ran out: the checks that need it are then skipped. */
static bool scratch_prepare(struct gc_collector *c,
                            struct rc_verify_scratch *v) {
  size_t nblocks = 0;
  for (size_t i = 0; i < c->chunks.count; i++)
    nblocks += c->chunks.items[i].nblocks;
  v->chunk_first.count = v->block_first.count = v->cells.count = 0;
  if (!gc_vector_reserve(&v->chunk_first, c->chunks.count) ||
      !gc_vector_reserve(&v->block_first, nblocks))
    return false;
  size_t block = 0, cells = 0;
  for (size_t i = 0; i < c->chunks.count; i++) {
    const struct rc_chunk *chunk = &c->chunks.items[i];
    v->chunk_first.items[i] = block;
    for (uint32_t b = 0; b < chunk->nblocks; b++) {
      v->block_first.items[block++] = cells;
      cells += ((const struct rc_block *)(chunk->blocks + b * RC_BLOCK_BYTES))
                   ->high_water;
    }
  }
  if (!gc_vector_reserve(&v->cells, cells))
    return false;
  v->cells.count = cells;
  scratch_zero(v);
  return true;
}

/* The number of cell (below its block's high water) of block, in chunk i. */
static inline uint32_t *scratch_cell(const struct gc_collector *c,
                                     struct rc_verify_scratch *v, long i,
                                     const struct rc_block *block,
                                     uint32_t cell) {
  const struct rc_chunk *chunk = &c->chunks.items[i];
  size_t b = v->chunk_first.items[i] +
             (size_t)((const char *)block - chunk->blocks) / RC_BLOCK_BYTES;
  return &v->cells.items[v->block_first.items[b] + cell];
}

/* Adds add to obj's number and returns the number it had; false in *ok if
 * memory ran out. obj is in a block on a cell boundary or in the
 * large-object table (rc_find_cell), or, as a root slot's value, anything
 * at all: what is not a cell is numbered in the table. */
static uint64_t scratch_add(struct gc_collector *c, struct rc_verify_scratch *v,
                            const struct gc_obj *obj, uint32_t add, bool *ok) {
  const char *at = (const char *)obj;
  long i = rc_chunk_index(c, obj);
  /* Only a block's header may be read: the address is in a chunk. */
  const struct rc_block *block = i >= 0 ? rc_block_of(obj) : NULL;
  uint32_t cell = block ? rc_cell_index(block, obj) : 0;
  if (block && (size_t)(at - (const char *)block) >= RC_BLOCK_HEADER_BYTES &&
      cell < block->high_water) {
    uint32_t *number = scratch_cell(c, v, i, block, cell);
    uint32_t had = *number;
    *number = had + add;
    return had;
  }
  uint64_t *number =
      add ? rc_table_upsert(&v->large, obj) : rc_table_find(&v->large, obj);
  if (!number) {
    *ok = !add;
    return 0;
  }
  uint64_t had = *number;
  *number = had + add;
  return had;
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
  int failed;
};

/* Marks obj visited; false if it was already, or if memory ran out
 * (ctx->failed). */
static bool first_visit(struct reach_ctx *ctx, struct gc_obj *obj) {
  bool ok = true;
  uint64_t visits = scratch_add(ctx->c, &ctx->c->verify_scratch, obj, 1, &ok);
  if (!ok)
    ctx->failed = 1;
  return ok && visits == 0;
}

static void push_root(gc_ref *slot, void *ctx_) {
  struct reach_ctx *ctx = ctx_;
  if (ctx->failed || !first_visit(ctx, *slot))
    return;
  if (!gc_vector_push(&ctx->c->work, *slot))
    ctx->failed = 1;
}

/* Every object reachable from a root through the heap has a count: traps
 * at the first that has none (trap_wrong_count). */
static int check_reachable(struct gc_collector *c, const char *when) {
  struct reach_ctx ctx = {c, 0};
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
      if (first_visit(&ctx, child) && !gc_vector_push(&c->work, child))
        ctx.failed = 1;
    });
  }
  c->work.count = 0;
  return result; /* out of memory (ctx.failed): the check is skipped */
}

struct count_ctx {
  struct rc_verify_scratch *true_counts;
  const char *when;
  int result; /* -1: trapped or a wrong count found, 1: out of memory */
  /* The first object whose stored count is not its true count. */
  struct gc_obj *wrong;
  uint64_t stored, truth;
};

/* check_child and scratch_add in one, for the recount's every reference:
 * the child's chunk, block and cell are found once for both (looking them
 * up twice was a third of the recount's time). What this does not settle
 * at once (a large object, an address outside the chunks, a dead or
 * misplaced cell) takes the two calls, which trap or fall back to the
 * table. 0, -1 after a trap, 1 if memory ran out. */
static inline int count_child(struct gc_collector *c, struct count_ctx *ctx,
                              struct gc_obj *parent, struct gc_obj *child,
                              bool counted) {
  struct rc_verify_scratch *v = ctx->true_counts;
  long i = rc_chunk_index(c, child);
  if (i >= 0) {
    const struct rc_block *block = rc_block_of(child);
    uint32_t cell;
    /* Every cell handed out is below the high water mark. */
    if (rc_on_cell_boundary(block, child, &cell) && cell < block->high_water &&
        rc_cell_allocated(child) &&
        !(GC_ATOMIC_LOAD(child->gc_word) & RC_ZOMBIE)) {
      if (counted)
        ++*scratch_cell(c, v, i, block, cell);
      return 0;
    }
  }
  if (check_child(c, parent, child, ctx->when))
    return -1;
  bool ok = true;
  if (counted)
    scratch_add(c, v, child, 1, &ok);
  return ok ? 0 : 1;
}

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
    if (child && !ctx->result)
      ctx->result = count_child(c, ctx, obj, child, counted);
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
  if ((w & (RC_YOUNG | RC_NEW_REFERRERS)) == RC_NEW_REFERRERS &&
      (!(w & RC_IN_ZCT) || rc_count(c, obj) == 0)) {
    gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                  "%s: %p is marked as counted by new objects only, but %s",
                  ctx->when, (void *)obj,
                  w & RC_IN_ZCT ? "its count is zero"
                                : "it is not in the zero count table");
    ctx->result = -1;
    return;
  }
  if (w & RC_STICKY)
    return; /* frozen count: the documented fallback */
  bool ok = true;
  uint64_t truth = scratch_add(c, ctx->true_counts, obj, 0, &ok),
           stored = rc_count(c, obj);
  if (stored != truth) {
    /* rc_verify_heap traps, once it has looked for a better report. */
    ctx->wrong = obj;
    ctx->stored = stored;
    ctx->truth = truth;
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

/* A decrement waiting on the drain's stack (a bounded drain stopped) is a
 * reference the stored count still holds: the freed object that made it
 * is not there to be counted, so the stack counts in its place. */
static int count_pending_decrements(struct gc_collector *c,
                                    struct count_ctx *ctx) {
  struct gc_obj_vector *dead = &c->dead_children;
  for (size_t i = 0; i < dead->count; i++) {
    char why[128];
    struct gc_obj *child = dead->items[i];
    if (rc_check_ref(c, child, why, sizeof why)) {
      gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                    "%s: a freed object's reference waiting to be "
                    "decremented is to %p, which is not a live object: %s",
                    ctx->when, (void *)child, why);
      return -1;
    }
    bool ok = true;
    scratch_add(c, ctx->true_counts, child, 1, &ok);
    if (!ok)
      return 1;
  }
  return 0;
}

/* The trap for a wrong count. A reachable object with a zero count is
 * the classic bug (a self-copy that decremented first), and the walk from
 * the roots names it so, with the object that references it; it runs only
 * now, since the recount finds every wrong count without it. */
static __attribute__((noinline, cold)) void
trap_wrong_count(struct gc_collector *c, const struct count_ctx *ctx) {
  scratch_zero(ctx->true_counts); /* the walk's visited marks */
  if (check_reachable(c, ctx->when))
    return;
  gc_trap_raise(c->heap, GC_TRAP_INVARIANT,
                "%s: %p has stored ref count %llu but true count %llu",
                ctx->when, (void *)ctx->wrong, (unsigned long long)ctx->stored,
                (unsigned long long)ctx->truth);
}

/* 0 if the heap is sound (or memory ran out for checking it), -1 after a
 * trap. Two walks over every object: the true counts, then the comparison.
 * The walk from the roots would find nothing they miss (a child of a
 * reachable object is a child of an object, and a zero count under an old
 * parent is a wrong count), so it runs only to word a report: a third of
 * what verify=1 cost at each collection point. */
int rc_verify_heap(struct gc_collector *c, const char *when) {
  struct rc_verify_scratch *scratch = &c->verify_scratch;
  if (!scratch_prepare(c, scratch))
    return 0; /* out of memory: the checks are skipped */
  struct count_ctx ctx = {scratch, when, 0, NULL, 0, 0};
  rc_for_each_object(c, count_children, &ctx);
  if (!ctx.result)
    ctx.result = count_pending_decrements(c, &ctx);
  if (!ctx.result)
    rc_for_each_object(c, compare_count, &ctx);
  if (ctx.wrong)
    trap_wrong_count(c, &ctx);
  return ctx.result < 0 ? -1 : 0;
}

void rc_verify_free(struct gc_collector *c) {
  struct rc_verify_scratch *scratch = &c->verify_scratch;
  gc_vector_free(&scratch->chunk_first);
  gc_vector_free(&scratch->block_first);
  gc_vector_free(&scratch->cells);
  rc_table_free(&scratch->large);
}
