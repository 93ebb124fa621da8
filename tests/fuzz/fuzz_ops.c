/* fuzz_ops.c — the heap operations a fuzz input is made of, and the
 * dispatcher that decodes one from the input (see fuzz_program.c for the
 * input format and the rooting rule every operation keeps).
 *
 * Each operation reads its argument bytes first, then checks that the
 * objects at hand allow it (an array for a copy, a weak for a weak get...)
 * and does nothing otherwise: decisions depend only on the reachable graph,
 * so every collector takes the same ones.
 */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

enum { PAIR = 2 }; /* fuzz_structs[PAIR]: what garbage bursts are made of */

/* ---- Operations -----------------------------------------------------------*/

/* An array length: mostly small, sometimes up to ~1000 elements, rarely up
 * to ~11000 (past every collector's large-object threshold). */
#define FUZZ_MAX_LENGTH (1000 + 255 * 40)
static size_t decode_length(uint8_t a, uint8_t b) {
  if (a < 200)
    return a % 40;
  return a < 240 ? 40 + (size_t)b * 4 : 1000 + (size_t)b * 40;
}

static int64_t decode_i64(uint8_t a, uint8_t b) {
  return ((int64_t)(a | b << 8) - 30000) * 1000003;
}

static double decode_f64(uint8_t a, uint8_t b) {
  return (double)(a | b << 8) / 8.0 - 1000.0;
}

static void op_new_struct(struct fuzz_state *s, struct reader *in) {
  int t = next(in) % FUZZ_NSTRUCTS;
  uint8_t dst = next(in);
  if (!fuzz_budget(s, fuzz_struct_bytes(fuzz_structs[t].nfields)))
    return;
  TRACE(s, "new struct %s", fuzz_structs[t].name);
  fuzz_place(s, dst, fuzz_checked(s, gc_new_struct(s->heap, s->structs[t]),
                        "gc_new_struct"));
}

static void op_new_array(struct fuzz_state *s, struct reader *in) {
  int k = next(in) % FUZZ_NARRAYS;
  uint8_t a = next(in), b = next(in);
  size_t len = decode_length(a, b);
  uint8_t dst = next(in);
  if (!fuzz_budget(s, fuzz_array_bytes(fuzz_array_kinds[k], len)))
    return;
  TRACE(s, "new array kind %d len %zu", k, len);
  fuzz_place(s, dst, fuzz_checked(s, gc_new_array(s->heap, s->arrays[k], len),
                        "gc_new_array"));
}

static void op_new_resource(struct fuzz_state *s, struct reader *in) {
  uint8_t dst = next(in);
  gc_ref r = fuzz_new_resource(s);
  TRACE(s, "new resource #%u", s->nresources - 1);
  if (r)
    fuzz_place(s, dst, r);
}

static void op_new_weak(struct fuzz_state *s, struct reader *in) {
  uint8_t target = next(in), dst = next(in);
  if (!fuzz_budget(s, 16))
    return;
  TRACE(s, "new weak");
  /* The target is read from its root slot and passed straight in: the call
   * keeps it alive while it allocates. */
  fuzz_place(s, dst, fuzz_checked(s, gc_new_weak(s->heap, fuzz_pick_value(s, target)),
                        "gc_new_weak"));
}

static void op_weak_get(struct fuzz_state *s, struct reader *in) {
  gc_ref *slot = fuzz_pick(s, next(in));
  uint8_t dst = next(in);
  if (!slot || !*slot || fuzz_describe(s, *slot).shape != FUZZ_WEAK)
    return;
  gc_ref target = gc_weak_get(s->heap, *slot);
  TRACE(s, "weak get");
  /* A target that is not strongly reachable may or may not be cleared yet,
   * depending on the collector: using it would make the runs diverge. */
  if (target && fuzz_reachable(s, target))
    fuzz_place(s, dst, target);
}

/* Writes the value the bytes a, b encode into field i of obj (of kind),
 * and reads it back. */
static void set_field(struct fuzz_state *s, gc_ref obj, size_t i, gc_kind kind,
                      uint8_t a, uint8_t b) {
  gc_heap *h = s->heap;
  switch (kind) {
  case GC_KIND_REF: {
    gc_ref v = fuzz_pick_value(s, a);
    gc_set_ref(h, obj, i, v);
    if (gc_get_ref(h, obj, i) != v)
      fuzz_fail(s, "gc_get_ref does not read back what gc_set_ref wrote");
    break;
  }
  case GC_KIND_I64:
    gc_set_i64(h, obj, i, decode_i64(a, b));
    if (gc_get_i64(h, obj, i) != decode_i64(a, b))
      fuzz_fail(s, "gc_get_i64 does not read back what gc_set_i64 wrote");
    break;
  case GC_KIND_F64:
    gc_set_f64(h, obj, i, decode_f64(a, b));
    if (gc_get_f64(h, obj, i) != decode_f64(a, b))
      fuzz_fail(s, "gc_get_f64 does not read back what gc_set_f64 wrote");
    break;
  case GC_KIND_I8:
    gc_set_i8(h, obj, i, a);
    if (gc_get_i8(h, obj, i) != a)
      fuzz_fail(s, "gc_get_i8 does not read back what gc_set_i8 wrote");
    break;
  }
}

static void op_set_field(struct fuzz_state *s, struct reader *in) {
  uint8_t obj_b = next(in);
  gc_ref *slot = fuzz_pick(s, obj_b);
  uint8_t index = next(in), a = next(in), b = next(in);
  if (!slot || !*slot)
    return;
  struct fuzz_obj_info info = fuzz_describe(s, *slot);
  if ((info.shape != FUZZ_STRUCT && info.shape != FUZZ_ARRAY) || !info.nfields)
    return;
  size_t i = index % info.nfields;
  gc_kind kind = info.shape == FUZZ_STRUCT ? fuzz_structs[info.index].kinds[i]
                                           : fuzz_array_kinds[info.index];
  TRACE(s, "set field %zu (kind %d) of slot %u; a ref value is slot %d", i,
        kind, obj_b % s->nslots,
        a % (s->nslots + 1) < s->nslots ? (int)(a % (s->nslots + 1)) : -1);
  set_field(s, *slot, i, kind, a, b);
}

static void op_get_ref(struct fuzz_state *s, struct reader *in) {
  gc_ref *slot = fuzz_pick(s, next(in));
  uint8_t index = next(in), dst = next(in);
  if (!slot || !*slot)
    return;
  struct fuzz_obj_info info = fuzz_describe(s, *slot);
  size_t i;
  if (info.shape == FUZZ_ARRAY && fuzz_array_kinds[info.index] == GC_KIND_REF &&
      info.nfields) {
    i = index % info.nfields;
  } else if (info.shape == FUZZ_STRUCT) {
    const struct fuzz_struct_desc *d = &fuzz_structs[info.index];
    size_t refs[6], nrefs = 0;
    for (size_t f = 0; f < d->nfields; f++)
      if (d->kinds[f] == GC_KIND_REF)
        refs[nrefs++] = f;
    if (!nrefs)
      return;
    i = refs[index % nrefs];
  } else {
    return;
  }
  TRACE(s, "get ref %zu", i);
  fuzz_place(s, dst, gc_get_ref(s->heap, *slot, i));
}

/* Element i of arr (kind), as 64 bits, for before/after comparisons. */
static uint64_t element_bits(struct fuzz_state *s, gc_ref arr, gc_kind kind,
                             size_t i) {
  switch (kind) {
  case GC_KIND_REF:
    return (uint64_t)(uintptr_t)gc_get_ref(s->heap, arr, i);
  case GC_KIND_I64:
    return (uint64_t)gc_get_i64(s->heap, arr, i);
  case GC_KIND_F64: {
    double v = gc_get_f64(s->heap, arr, i);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
  }
  case GC_KIND_I8:
    return gc_get_i8(s->heap, arr, i);
  }
  return 0;
}

/* gc_array_copy, checked against memmove semantics element by element. */
static void checked_copy(struct fuzz_state *s, gc_ref dst, size_t di, gc_ref src,
                         size_t si, size_t n, gc_kind kind) {
  static uint64_t before[FUZZ_MAX_LENGTH];
  for (size_t k = 0; k < n; k++)
    before[k] = element_bits(s, src, kind, si + k);
  TRACE(s, "array copy [%zu, +%zu) <- [%zu, +%zu)%s", di, n, si, n,
        dst == src ? " (same array)" : "");
  gc_array_copy(s->heap, dst, di, src, si, n);
  for (size_t k = 0; k < n; k++)
    if (element_bits(s, dst, kind, di + k) != before[k])
      fuzz_fail(s, "gc_array_copy(dst %p [%zu], src %p [%zu], n %zu): "
                   "element %zu is wrong",
                (void *)dst, di, (void *)src, si, n, k);
}

/* The array in slot b, or NULL. */
static gc_ref pick_array(struct fuzz_state *s, uint8_t b,
                         struct fuzz_obj_info *info) {
  gc_ref *slot = fuzz_pick(s, b);
  if (!slot || !*slot)
    return NULL;
  *info = fuzz_describe(s, *slot);
  return info->shape == FUZZ_ARRAY ? *slot : NULL;
}

static void op_copy(struct fuzz_state *s, struct reader *in, bool self) {
  uint8_t d = next(in), sb = next(in), a = next(in), b = next(in),
          c = next(in);
  struct fuzz_obj_info dinfo, sinfo;
  gc_ref dst = pick_array(s, d, &dinfo);
  if (!dst)
    return;
  gc_ref src = self ? dst : pick_array(s, sb, &sinfo);
  if (!src || (!self && sinfo.index != dinfo.index)) {
    src = dst; /* a kind mismatch would trap: copy within dst instead */
    sinfo = dinfo;
  }
  if (self)
    sinfo = dinfo;
  size_t di = a % (dinfo.nfields + 1), si = b % (sinfo.nfields + 1);
  size_t room = dinfo.nfields - di < sinfo.nfields - si
                    ? dinfo.nfields - di
                    : sinfo.nfields - si;
  checked_copy(s, dst, di, src, si, c % (room + 1),
               fuzz_array_kinds[dinfo.index]);
}

static void op_fill(struct fuzz_state *s, struct reader *in) {
  uint8_t d = next(in), a = next(in), b = next(in), v1 = next(in),
          v2 = next(in);
  struct fuzz_obj_info info;
  gc_ref arr = pick_array(s, d, &info);
  if (!arr)
    return;
  size_t i = a % (info.nfields + 1);
  size_t n = b % (info.nfields - i + 1);
  gc_heap *h = s->heap;
  gc_kind kind = fuzz_array_kinds[info.index];
  TRACE(s, "fill [%zu, +%zu) kind %d of slot %u; a ref value is slot %d", i,
        n, kind, d % s->nslots,
        v1 % (s->nslots + 1) < s->nslots ? (int)(v1 % (s->nslots + 1)) : -1);
  switch (kind) {
  case GC_KIND_REF:
    gc_array_fill_ref(h, arr, i, n, fuzz_pick_value(s, v1));
    break;
  case GC_KIND_I64:
    gc_array_fill_i64(h, arr, i, n, decode_i64(v1, v2));
    break;
  case GC_KIND_F64:
    gc_array_fill_f64(h, arr, i, n, decode_f64(v1, v2));
    break;
  case GC_KIND_I8:
    gc_array_fill_i8(h, arr, i, n, v1);
    break;
  }
  uint64_t want = n ? element_bits(s, arr, kind, i) : 0;
  for (size_t k = 1; k < n; k++)
    if (element_bits(s, arr, kind, i + k) != want)
      fuzz_fail(s, "gc_array_fill: element %zu differs from element %zu",
                i + k, i);
}

static void op_global_free(struct fuzz_state *s, struct reader *in) {
  uint8_t b = next(in);
  unsigned nglobals = 0;
  for (unsigned i = 0; i < s->nslots; i++)
    nglobals += s->slots[i].depth == 0;
  if (!nglobals)
    return;
  unsigned which = b % nglobals;
  for (unsigned i = 0; i < s->nslots; i++) {
    if (s->slots[i].depth != 0 || which--)
      continue;
    gc_ref *slot = s->slots[i].slot;
    TRACE(s, "global free");
    gc_global_free(s->heap, slot);
    fuzz_remove_slots(s, 0, slot);
    return;
  }
}

/* Allocates a burst of short-lived pairs (with a resource every eighth),
 * chained, under a scope of its own; optionally makes it a long chain (deep
 * marking), closes it into a ring (cyclic garbage), watches its head
 * through a weak reference, or keeps it. */
static void op_garbage(struct fuzz_state *s, struct reader *in) {
  unsigned n = 1 + next(in) % 64;
  uint8_t how = next(in), dst = next(in);
  if (how & 16)
    n *= 32;
  if (s->depth == FUZZ_MAX_DEPTH)
    return;
  TRACE(s, "garbage burst of %u, how %#x", n, how);
  fuzz_open_scope(s);
  gc_ref *head = gc_root(s->heap, NULL);
  gc_ref *tail = gc_root(s->heap, NULL);
  for (unsigned k = 0; k < n; k++) {
    gc_ref node;
    if (k % 8 == 7 && (how & 8)) {
      node = fuzz_new_resource(s);
      if (!node)
        break;
      gc_ref *res = gc_root(s->heap, node);
      if (!fuzz_budget(s, fuzz_struct_bytes(2)))
        break;
      node = fuzz_checked(s, gc_new_struct(s->heap, s->structs[PAIR]),
                     "gc_new_struct");
      gc_set_ref(s->heap, node, 1, *res);
    } else {
      if (!fuzz_budget(s, fuzz_struct_bytes(2)))
        break;
      node = fuzz_checked(s, gc_new_struct(s->heap, s->structs[PAIR]),
                     "gc_new_struct");
    }
    gc_set_ref(s->heap, node, 0, *head);
    *head = node;
    if (!*tail)
      *tail = node;
  }
  if ((how & 1) && *tail)
    gc_set_ref(s->heap, *tail, 0, *head); /* a ring */
  gc_ref weak = NULL;
  if ((how & 2) && fuzz_budget(s, 16))
    weak = fuzz_checked(s, gc_new_weak(s->heap, *head), "gc_new_weak");
  gc_ref keep = (how & 4) ? *head : NULL;
  fuzz_close_scope(s); /* no allocation from here on: weak and keep stay valid */
  if (weak)
    fuzz_place(s, dst, weak);
  if (keep)
    fuzz_place(s, dst | 0x80, keep);
}

static void op_bad_call(struct fuzz_state *s, struct reader *in) {
  uint8_t what = next(in), a = next(in), b = next(in);
  static struct fuzz_graph_summary before, after;
  fuzz_graph(s, &before);
  if (fuzz_misuse(s, what, a, b) != 0)
    return;
  TRACE(s, "bad call #%d trapped as expected", what % 10);
  fuzz_graph(s, &after);
  if (before.digest != after.digest || before.objects != after.objects)
    fuzz_fail(s, "a call that trapped changed the heap");
}

/* ---- The program --------------------------------------------------------- */

enum opcode {
  OP_NEW_STRUCT, OP_NEW_ARRAY, OP_NEW_RESOURCE, OP_NEW_WEAK, OP_WEAK_GET,
  OP_SET_FIELD, OP_GET_REF, OP_COPY, OP_COPY_SELF, OP_FILL, OP_SCOPE_OPEN,
  OP_SCOPE_CLOSE, OP_DROP, OP_MOVE, OP_GLOBAL_NEW, OP_GLOBAL_FREE,
  OP_COLLECT, OP_GARBAGE, OP_BAD_CALL, OP_SET_FIELD2, OP_NEW_STRUCT2,
  OP_COUNT
};

void fuzz_run_op(struct fuzz_state *s, struct reader *in) {
  switch ((enum opcode)(next(in) % OP_COUNT)) {
  case OP_NEW_STRUCT:
  case OP_NEW_STRUCT2:
    return op_new_struct(s, in);
  case OP_NEW_ARRAY:
    return op_new_array(s, in);
  case OP_NEW_RESOURCE:
    return op_new_resource(s, in);
  case OP_NEW_WEAK:
    return op_new_weak(s, in);
  case OP_WEAK_GET:
    return op_weak_get(s, in);
  case OP_SET_FIELD:
  case OP_SET_FIELD2:
    return op_set_field(s, in);
  case OP_GET_REF:
    return op_get_ref(s, in);
  case OP_COPY:
    return op_copy(s, in, false);
  case OP_COPY_SELF:
    return op_copy(s, in, true);
  case OP_FILL:
    return op_fill(s, in);
  case OP_SCOPE_OPEN:
    if (s->depth < FUZZ_MAX_DEPTH) {
      TRACE(s, "scope open");
      fuzz_open_scope(s);
    }
    return;
  case OP_SCOPE_CLOSE:
    if (s->depth > 0) {
      TRACE(s, "scope close");
      fuzz_close_scope(s);
    }
    return;
  case OP_DROP: {
    uint8_t b = next(in);
    gc_ref *slot = fuzz_pick(s, b);
    if (slot) {
      TRACE(s, "drop slot %u", b % s->nslots);
      *slot = NULL;
    }
    return;
  }
  case OP_MOVE: {
    uint8_t to_b = next(in), from_b = next(in);
    gc_ref *to = fuzz_pick(s, to_b);
    gc_ref v = fuzz_pick_value(s, from_b);
    if (to) {
      TRACE(s, "move slot %d into slot %u",
            from_b % (s->nslots + 1) < s->nslots
                ? (int)(from_b % (s->nslots + 1))
                : -1,
            to_b % s->nslots);
      *to = v;
    }
    return;
  }
  case OP_GLOBAL_NEW: {
    uint8_t b = next(in);
    gc_ref v = fuzz_pick_value(s, b);
    TRACE(s, "global of slot %d", b % (s->nslots + 1) < s->nslots
                                      ? (int)(b % (s->nslots + 1))
                                      : -1);
    if (s->nslots < FUZZ_MAX_SLOTS) {
      TRACE(s, "global new -> slot %u", s->nslots);
      gc_ref *slot = gc_global(s->heap, v);
      if (!slot)
        fuzz_fail(s, "gc_global returned NULL");
      s->slots[s->nslots++] = (struct fuzz_slot){slot, 0};
    }
    return;
  }
  case OP_GLOBAL_FREE:
    return op_global_free(s, in);
  case OP_COLLECT:
    if (s->collections++ >= FUZZ_MAX_COLLECTIONS)
      return;
    TRACE(s, "collect");
    gc_collect(s->heap);
    return fuzz_check_collected(s);
  case OP_GARBAGE:
    return op_garbage(s, in);
  case OP_BAD_CALL:
    return op_bad_call(s, in);
  case OP_COUNT:
    break;
  }
}

