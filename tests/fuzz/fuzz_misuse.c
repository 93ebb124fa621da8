/* fuzz_misuse.c — deliberately bad calls, each of which the contract says
 * must trap with a given kind and then do nothing.
 *
 * fuzz_misuse() makes one such call on the program's objects, with the trap
 * handler told which trap to expect; the caller checks that the graph is
 * unchanged afterwards. Only calls whose trap kind the contract pins down
 * are made (an index out of range of the right kind is BOUNDS; the wrong
 * kind at a valid index is TYPE; never both at once).
 */
#include "fuzz.h"

#include <stdint.h>

/* The object in the slot b names, or NULL. */
static gc_ref object_at(struct fuzz_state *s, uint8_t b,
                        struct fuzz_obj_info *info) {
  if (!s->nslots)
    return NULL;
  gc_ref obj = *s->slots[b % s->nslots].slot;
  if (obj)
    *info = fuzz_describe(s, obj);
  return obj;
}

/* Reads field i of obj as kind, through the accessor of that kind. */
static void read_as(struct fuzz_state *s, gc_ref obj, size_t i, gc_kind kind) {
  uint64_t got = 0;
  switch (kind) {
  case GC_KIND_REF:
    got = (uintptr_t)gc_get_ref(s->heap, obj, i);
    break;
  case GC_KIND_I64:
    got = (uint64_t)gc_get_i64(s->heap, obj, i);
    break;
  case GC_KIND_F64:
    got = gc_get_f64(s->heap, obj, i) != 0.0;
    break;
  case GC_KIND_I8:
    got = gc_get_i8(s->heap, obj, i);
    break;
  }
  if (got)
    fuzz_fail(s, "an accessor that trapped returned a nonzero value");
}

static gc_kind field_kind(const struct fuzz_obj_info *info, size_t i) {
  return info->shape == FUZZ_STRUCT ? fuzz_structs[info->index].kinds[i]
                                    : fuzz_array_kinds[info->index];
}

static bool has_fields(const struct fuzz_obj_info *info) {
  return (info->shape == FUZZ_STRUCT || info->shape == FUZZ_ARRAY) &&
         info->nfields > 0;
}

/* Makes the bad call what (arguments a, b) and checks it trapped as
 * expected. Returns -1 if the objects at hand do not allow that call. */
int fuzz_misuse(struct fuzz_state *s, uint8_t what, uint8_t a, uint8_t b) {
  struct fuzz_obj_info info = {0}, info2 = {0};
  gc_ref obj = object_at(s, a, &info);
  int expect;
  /* Each case first decides whether it applies, then makes the call with
   * s->expect_trap set. */
  switch (what % 10) {
  case 0: /* a null object */
    expect = s->expect_trap = GC_TRAP_NULL;
    if (gc_get_ref(s->heap, NULL, b))
      fuzz_fail(s, "gc_get_ref(NULL) returned non-NULL");
    break;
  case 1: /* an index past the end, through the accessor of the right kind */
    if (!obj || !has_fields(&info))
      return -1;
    expect = s->expect_trap = GC_TRAP_BOUNDS;
    read_as(s, obj, info.nfields + b, field_kind(&info, 0));
    break;
  case 2: /* a valid index through the accessor of another kind */
    if (!obj || !has_fields(&info))
      return -1;
    {
      size_t i = b % info.nfields;
      gc_kind kind = field_kind(&info, i);
      expect = s->expect_trap = GC_TRAP_TYPE;
      read_as(s, obj, i, kind == GC_KIND_I64 ? GC_KIND_F64 : GC_KIND_I64);
    }
    break;
  case 3: /* a copy one element longer than the array */
    if (!obj || info.shape != FUZZ_ARRAY)
      return -1;
    expect = s->expect_trap = GC_TRAP_BOUNDS;
    gc_array_copy(s->heap, obj, 0, obj, b % (info.nfields + 1),
                  info.nfields + 1);
    break;
  case 4: { /* closing a scope that is not open */
    gc_scope stale = {s->depth + 3, 0};
    expect = s->expect_trap = GC_TRAP_MISUSE;
    gc_scope_close(s->heap, stale);
    break;
  }
  case 5: /* an array whose byte size overflows */
    expect = s->expect_trap = GC_TRAP_OOM;
    if (gc_new_array(s->heap, s->arrays[1 + b % 3], SIZE_MAX / 4 - b))
      fuzz_fail(s, "gc_new_array of an overflowing size returned an object");
    break;
  case 6: { /* freeing something that is not a global slot */
    gc_ref not_a_global = NULL;
    expect = s->expect_trap = GC_TRAP_MISUSE;
    gc_global_free(s->heap, &not_a_global);
    break;
  }
  case 7: /* a resource accessor on something else */
    if (!obj || info.shape == FUZZ_RESOURCE)
      return -1;
    expect = s->expect_trap = GC_TRAP_TYPE;
    if (gc_resource_ptr(s->heap, obj))
      fuzz_fail(s, "gc_resource_ptr on a non-resource returned non-NULL");
    break;
  case 8: { /* a copy between arrays of different kinds */
    gc_ref other = object_at(s, b, &info2);
    if (!obj || !other || info.shape != FUZZ_ARRAY ||
        info2.shape != FUZZ_ARRAY || info.index == info2.index)
      return -1;
    expect = s->expect_trap = GC_TRAP_TYPE;
    gc_array_copy(s->heap, obj, 0, other, 0, 0);
    break;
  }
  default: /* a weak accessor on something else */
    if (!obj || info.shape == FUZZ_WEAK)
      return -1;
    expect = s->expect_trap = GC_TRAP_TYPE;
    if (gc_weak_get(s->heap, obj))
      fuzz_fail(s, "gc_weak_get on a non-weak returned non-NULL");
    break;
  }
  if (s->traps_seen != 1)
    fuzz_fail(s, "bad call #%d did not trap %s", what % 10,
              gc_trap_name((gc_trap)expect));
  s->expect_trap = -1;
  s->traps_seen = 0;
  return 0;
}
