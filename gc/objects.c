/* objects.c — allocation and every field accessor of the public API.
 *
 * Each accessor checks, in this order: a destructor is not running and, with
 * verify=1, the object is live (gc_api_object); the object is not NULL; it
 * has the shape the call needs; the index is in range; the field has the
 * kind the call reads or writes. A failed check traps and the call does
 * nothing. The common case takes an inline fast path that makes the same
 * checks in one test per type (gc_inline_field) and falls into the
 * checked path for anything else. Reference stores go through the
 * collector's barrier when its filter asks for it (gcheap.h's
 * gc_inline_store_ref). */
#include "heap-internal.h"

#include <stddef.h>

/* The layout gcheap.h's inline fast paths assume (GCHEAP_INLINE_LAYOUT). */
_Static_assert(offsetof(struct gc_heap, inl) == 0, "inl starts the handle");
_Static_assert(offsetof(struct gc_obj, type_word) == 0 &&
                   offsetof(struct gc_obj, gc_word) == 4 &&
                   sizeof(struct gc_obj) == GCHEAP_INLINE_FIELDS_OFFSET,
               "object header");
_Static_assert(offsetof(struct gc_array, length) ==
                       GCHEAP_INLINE_ARRAY_LENGTH_OFFSET &&
                   sizeof(struct gc_array) == GCHEAP_INLINE_ARRAY_ELEMS_OFFSET,
               "array header");
_Static_assert(sizeof(struct gc_inline_type) == 64 &&
                   offsetof(struct gc_inline_type, new_struct_bytes) == 32 &&
                   offsetof(struct gc_inline_type, array_elem) == 36 &&
                   offsetof(struct gc_inline_type, no_refs) == 37 &&
                   offsetof(struct gc_inline_type, type_word) == 40,
               "inline type entry (docs/guide.md, section 10)");
_Static_assert(offsetof(struct gc_heap_inline, slow) == 4 &&
                   offsetof(struct gc_heap_inline, alloc_interrupt) == 5 &&
                   offsetof(struct gc_heap_inline, barrier_mask) == 8 &&
                   offsetof(struct gc_heap_inline, types) == 16 &&
                   offsetof(struct gc_heap_inline, bump) == 24 &&
                   offsetof(struct gc_heap_inline, allocated_bytes) == 40 &&
                   offsetof(struct gc_heap_inline, cells) == 56 &&
                   offsetof(struct gc_heap_inline, cell_budget) == 296 &&
                   offsetof(struct gc_heap_inline, cell_gc_word) == 304 &&
                   offsetof(struct gc_heap_inline, cell_lists) == 312 &&
                   sizeof(struct gc_heap_inline) == 552,
               "the handle's inline part (docs/guide.md, section 10)");
_Static_assert(GC_MAX_TYPES == GCHEAP_INLINE_MAX_TYPES &&
                   GC_TYPE_NUMBER_MASK == GCHEAP_INLINE_TYPE_NUMBER_MASK &&
                   GC_MAX_TYPES - 1 == GC_TYPE_NUMBER_MASK,
               "type numbers");

/* gcheap.h's inline allocation fell through: a region to refill, a
 * detour (stress, a safepoint), a collector without a published region, a
 * check to make. The common case still skips the checks. */
gc_ref(gc_new_struct)(gc_heap *heap, gc_type type) {
  /* Below GC_MAX_TYPES the inline table is mapped: an unregistered type
   * reads a zero new_struct_bytes, so the count need not be read here. */
  if (GC_LIKELY(!heap->inl.slow && type < GC_MAX_TYPES)) {
    const struct gc_inline_type *t = &heap->inl.types[type];
    if (GC_LIKELY(t->new_struct_bytes != 0))
      return gc_allocate(heap, t->type_word, t->new_struct_bytes);
  }
  if (gc_api_enter(heap, NULL, "gc_new_struct"))
    return NULL;
  if (GC_UNLIKELY(type >= gc_type_count(heap->types) ||
                  type < GC_FIRST_USER_TYPE ||
                  heap->type_items[type].shape != GC_SHAPE_STRUCT)) {
    gc_trap_raise(heap, GC_TRAP_TYPE,
                  "gc_new_struct: type %u is not a struct type", type);
    return NULL;
  }
  return gc_allocate(heap, heap->type_items[type].type_word,
                     heap->type_items[type].size);
}

gc_ref(gc_new_array)(gc_heap *heap, gc_type type, size_t len) {
  if (gc_api_enter(heap, NULL, "gc_new_array"))
    return NULL;
  if (GC_UNLIKELY(type >= gc_type_count(heap->types) ||
                  type < GC_FIRST_USER_TYPE ||
                  heap->type_items[type].shape != GC_SHAPE_ARRAY)) {
    gc_trap_raise(heap, GC_TRAP_TYPE,
                  "gc_new_array: type %u is not an array type", type);
    return NULL;
  }
  size_t elem_size = gc_kind_size(heap->type_items[type].elem);
  /* Refused here, before any collector reserves address space for it. */
  if (GC_UNLIKELY(len > (heap->max_object_bytes - sizeof(struct gc_array)) /
                            elem_size)) {
    char largest[32];
    gc_trap_raise(
        heap, GC_TRAP_OOM,
        "gc_new_array: %zu elements of %zu bytes: larger than the largest "
        "object this machine can back (%s bytes: physical memory plus swap, "
        "at most 2^44)",
        len, elem_size,
        gc_format_size(heap->max_object_bytes, largest, sizeof largest));
    return NULL;
  }
  size_t bytes = gc_round8(sizeof(struct gc_array) + len * elem_size);
  struct gc_obj *arr =
      gc_allocate(heap, heap->type_items[type].type_word, bytes);
  if (arr)
    ((struct gc_array *)arr)->length = len;
  return arr;
}

gc_type gc_type_of(gc_heap *heap, gc_ref obj) {
  if (gc_api_object(heap, obj, "gc_type_of"))
    return GC_TYPE_NONE;
  return gc_obj_type(obj);
}

/* The array's info, or NULL after a trap if arr is not an array. */
static const struct gc_type_info *array_info(gc_heap *heap, gc_ref arr,
                                             const char *fn) {
  if (gc_api_object(heap, arr, fn))
    return NULL;
  const struct gc_type_info *t = &heap->type_items[gc_obj_type(arr)];
  if (GC_UNLIKELY(t->shape != GC_SHAPE_ARRAY)) {
    gc_trap_raise(heap, GC_TRAP_TYPE, "%s: %p is a %s (%s), not an array", fn,
                  (void *)arr, gc_shape_name(t->shape), t->name);
    return NULL;
  }
  return t;
}

size_t(gc_array_len)(gc_heap *heap, gc_ref arr) {
  if (!array_info(heap, arr, "gc_array_len"))
    return 0;
  return ((struct gc_array *)arr)->length;
}

/* The address of field or element i of obj, checked to hold kind; NULL after
 * a trap. The accessors' slow path: it makes every check in full, in the
 * order of the comment at the top, so that a failure names what broke. */
static __attribute__((noinline, cold)) void *
field_address_checked(gc_heap *heap, gc_ref obj, size_t i, gc_kind kind,
                      const char *fn) {
  if (gc_api_object(heap, obj, fn))
    return NULL;
  const struct gc_type_info *t = &heap->type_items[gc_obj_type(obj)];
  if (t->shape == GC_SHAPE_STRUCT) {
    if (i >= t->nfields) {
      gc_trap_raise(
          heap, GC_TRAP_BOUNDS,
          "%s: field %zu of %p out of bounds: struct %s has %u fields", fn, i,
          (void *)obj, t->name, t->nfields);
      return NULL;
    }
    if (t->kinds[i] != kind) {
      gc_trap_raise(heap, GC_TRAP_TYPE, "%s: field %zu of %s %p is %s, not %s",
                    fn, i, t->name, (void *)obj, gc_kind_name(t->kinds[i]),
                    gc_kind_name(kind));
      return NULL;
    }
    return (char *)gc_obj_fields(obj) + 8 * i;
  }
  if (t->shape == GC_SHAPE_ARRAY) {
    if (t->elem != kind) {
      gc_trap_raise(heap, GC_TRAP_TYPE, "%s: array %s %p holds %s, not %s", fn,
                    t->name, (void *)obj, gc_kind_name(t->elem),
                    gc_kind_name(kind));
      return NULL;
    }
    uint64_t length = ((struct gc_array *)obj)->length;
    if (i >= length) {
      gc_trap_raise(heap, GC_TRAP_BOUNDS,
                    "%s: index %zu out of bounds for array %p of length %llu",
                    fn, i, (void *)obj, (unsigned long long)length);
      return NULL;
    }
    return (char *)gc_array_elems(obj) + i * gc_kind_size(kind);
  }
  gc_trap_raise(heap, GC_TRAP_TYPE, "%s: %p is a %s, which has no fields", fn,
                (void *)obj, gc_shape_name(t->shape));
  return NULL;
}

/* The accessors' fast path is gcheap.h's gc_inline_field: the address of
 * field or element i of obj when every check passes at once, else NULL (and
 * the caller takes the slow path, which checks again and traps). No side
 * effect and no call, so an accessor that takes it needs no stack frame:
 * the accessors were a third of GCBench's instructions when the trap paths
 * shared their frame. The kind is a constant in every caller. */
static inline __attribute__((always_inline)) void *
field_address(gc_heap *heap, gc_ref obj, size_t i, gc_kind kind,
              const char *fn) {
  void *field = gc_inline_field(heap, obj, i, kind);
  return GC_LIKELY(field != NULL)
             ? field
             : field_address_checked(heap, obj, i, kind, fn);
}

gc_ref(gc_get_ref)(gc_heap *heap, gc_ref obj, size_t i) {
  gc_ref *slot = field_address(heap, obj, i, GC_KIND_REF, "gc_get_ref");
  return slot ? *slot : NULL;
}

/* A collector without a barrier has a filter that never asks for it; a
 * caller that comes here anyway gets the plain store. */
void gc_write_barrier(gc_heap *heap, gc_ref obj, gc_ref *slot, gc_ref v) {
  if (heap->write_ref)
    heap->write_ref(heap->mutator, obj, slot, v);
  else
    *slot = v;
}

static __attribute__((noinline, cold)) void
set_ref_checked(gc_heap *heap, gc_ref obj, size_t i, gc_ref v) {
  gc_ref *slot = field_address_checked(heap, obj, i, GC_KIND_REF, "gc_set_ref");
  if (!slot || (GC_UNLIKELY(heap->inl.slow) && v &&
                gc_api_slow_check(heap, v, "gc_set_ref")))
    return;
  gc_inline_store_ref(heap, obj, slot, v);
}

void(gc_set_ref)(gc_heap *heap, gc_ref obj, size_t i, gc_ref v) {
  /* Both branches end in a tail call: no frame on the fast path. The fast
   * path implies inl.slow is off, so v needs no check. */
  gc_ref *slot = gc_inline_field(heap, obj, i, GC_KIND_REF);
  if (GC_UNLIKELY(!slot)) {
    set_ref_checked(heap, obj, i, v);
    return;
  }
  gc_inline_store_ref(heap, obj, slot, v);
}

#define SCALAR_ACCESSORS(suffix, ctype, kind)                                  \
  ctype(gc_get_##suffix)(gc_heap * heap, gc_ref obj, size_t i) {               \
    ctype *field = field_address(heap, obj, i, kind, "gc_get_" #suffix);       \
    return field ? *field : 0;                                                 \
  }                                                                            \
  void(gc_set_##suffix)(gc_heap * heap, gc_ref obj, size_t i, ctype v) {       \
    ctype *field = field_address(heap, obj, i, kind, "gc_set_" #suffix);       \
    if (field)                                                                 \
      *field = v;                                                              \
  }
SCALAR_ACCESSORS(i64, int64_t, GC_KIND_I64)
SCALAR_ACCESSORS(f64, double, GC_KIND_F64)
SCALAR_ACCESSORS(i8, uint8_t, GC_KIND_I8)

/* Checks that [start, start + n) lies inside arr; traps BOUNDS if not. */
static int check_range(gc_heap *heap, gc_ref arr, size_t start, size_t n,
                       const char *fn) {
  uint64_t length = ((struct gc_array *)arr)->length;
  if (GC_UNLIKELY(start > length || n > length - start)) {
    gc_trap_raise(
        heap, GC_TRAP_BOUNDS,
        "%s: range [%zu, %zu + %zu) out of bounds for array %p of length "
        "%llu",
        fn, start, start, n, (void *)arr, (unsigned long long)length);
    return -1;
  }
  return 0;
}

void gc_array_copy(gc_heap *heap, gc_ref dst, size_t dst_i, gc_ref src,
                   size_t src_i, size_t n) {
  const struct gc_type_info *dt = array_info(heap, dst, "gc_array_copy");
  if (!dt)
    return;
  const struct gc_type_info *st = array_info(heap, src, "gc_array_copy");
  if (!st)
    return;
  if (dt->elem != st->elem) {
    gc_trap_raise(heap, GC_TRAP_TYPE,
                  "gc_array_copy: destination %p holds %s, source %p holds %s",
                  (void *)dst, gc_kind_name(dt->elem), (void *)src,
                  gc_kind_name(st->elem));
    return;
  }
  if (check_range(heap, dst, dst_i, n, "gc_array_copy") ||
      check_range(heap, src, src_i, n, "gc_array_copy") || n == 0)
    return;
  size_t size = gc_kind_size(dt->elem);
  char *to = (char *)gc_array_elems(dst) + dst_i * size;
  char *from = (char *)gc_array_elems(src) + src_i * size;
  if (dt->elem == GC_KIND_REF && heap->ops->copy_refs)
    heap->ops->copy_refs(heap->mutator, dst, (gc_ref *)to, (const gc_ref *)from,
                         n);
  else
    memmove(to, from, n * size);
}

/* The address of element i of an array of kind with room for n; NULL after a
 * trap. */
static void *fill_start(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                        gc_kind kind, const char *fn) {
  const struct gc_type_info *t = array_info(heap, arr, fn);
  if (!t)
    return NULL;
  if (t->elem != kind) {
    gc_trap_raise(heap, GC_TRAP_TYPE, "%s: array %s %p holds %s, not %s", fn,
                  t->name, (void *)arr, gc_kind_name(t->elem),
                  gc_kind_name(kind));
    return NULL;
  }
  if (check_range(heap, arr, i, n, fn))
    return NULL;
  return (char *)gc_array_elems(arr) + i * gc_kind_size(kind);
}

void gc_array_fill_ref(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                       gc_ref v) {
  gc_ref *start = fill_start(heap, arr, i, n, GC_KIND_REF, "gc_array_fill_ref");
  if (!start || (GC_UNLIKELY(heap->inl.slow) && v &&
                 gc_api_slow_check(heap, v, "gc_array_fill_ref")))
    return;
  if (heap->ops->fill_refs)
    heap->ops->fill_refs(heap->mutator, arr, start, n, v);
  else
    for (size_t k = 0; k < n; k++)
      start[k] = v;
}

void gc_array_fill_i64(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                       int64_t v) {
  int64_t *start =
      fill_start(heap, arr, i, n, GC_KIND_I64, "gc_array_fill_i64");
  for (size_t k = 0; start && k < n; k++)
    start[k] = v;
}

void gc_array_fill_f64(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                       double v) {
  double *start = fill_start(heap, arr, i, n, GC_KIND_F64, "gc_array_fill_f64");
  for (size_t k = 0; start && k < n; k++)
    start[k] = v;
}

void gc_array_fill_i8(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                      uint8_t v) {
  uint8_t *start = fill_start(heap, arr, i, n, GC_KIND_I8, "gc_array_fill_i8");
  if (start)
    memset(start, v, n);
}

/* ---- Resources and weak references -------------------------------------- */

gc_ref gc_new_resource(gc_heap *heap, void *ptr,
                       void (*destroy)(void *ptr, void *ud), void *ud) {
  if (gc_api_enter(heap, NULL, "gc_new_resource"))
    return NULL;
  /* A built-in type's word is its number (gc/collector-api.h). */
  struct gc_resource *res = (struct gc_resource *)gc_allocate(
      heap, GC_TYPE_RESOURCE, sizeof(struct gc_resource));
  if (!res)
    return NULL;
  res->ptr = ptr;
  res->destroy = destroy;
  res->ud = ud;
  return &res->header;
}

/* obj as a built-in object of shape, or NULL after a trap. */
static struct gc_obj *builtin_object(gc_heap *heap, gc_ref obj,
                                     enum gc_shape shape, const char *fn) {
  if (gc_api_object(heap, obj, fn))
    return NULL;
  const struct gc_type_info *t = &heap->type_items[gc_obj_type(obj)];
  if (GC_UNLIKELY(t->shape != shape)) {
    gc_trap_raise(heap, GC_TRAP_TYPE, "%s: %p is a %s (%s), not a %s", fn,
                  (void *)obj, gc_shape_name(t->shape), t->name,
                  gc_shape_name(shape));
    return NULL;
  }
  return obj;
}

void *gc_resource_ptr(gc_heap *heap, gc_ref resource) {
  struct gc_resource *res = (struct gc_resource *)builtin_object(
      heap, resource, GC_SHAPE_RESOURCE, "gc_resource_ptr");
  if (!res)
    return NULL;
  /* A reachable resource whose destructor ran is the use-after-free the
   * contract forbids: always a collector bug, so always checked. */
  if (GC_UNLIKELY(res->destroyed)) {
    gc_trap_raise(
        heap, GC_TRAP_INVARIANT,
        "gc_resource_ptr: resource %p is reachable but its destructor "
        "already ran",
        (void *)res);
    return NULL;
  }
  return res->ptr;
}

gc_ref gc_new_weak(gc_heap *heap, gc_ref target) {
  if (gc_api_enter(heap, target, "gc_new_weak"))
    return NULL;
  /* The target must survive the allocation, which may collect: the caller
   * need not have rooted it (gc_new_weak(h, gc_new_struct(...)) is fine).
   * Both stay pinned through weak_init, which may wait for the heap lock.
   * A trap meanwhile is held back until the pins are gone, so that a
   * handler that longjmps cannot leave them behind. */
  assert(heap->npinned + 2 <= sizeof heap->pinned / sizeof heap->pinned[0]);
  uint32_t pin = heap->npinned;
  heap->npinned += 2;
  heap->pinned[pin] = target;
  heap->deferring_traps++;
  struct gc_weak *weak =
      (struct gc_weak *)gc_allocate(heap, GC_TYPE_WEAK, sizeof(struct gc_weak));
  heap->pinned[pin + 1] = weak ? &weak->header : NULL;
  if (weak) {
    if (heap->ops->weak_init)
      heap->ops->weak_init(heap->mutator, weak, heap->pinned[pin]);
    else
      weak->target = heap->pinned[pin];
  }
  heap->deferring_traps--;
  weak = (struct gc_weak *)heap->pinned[pin + 1];
  heap->pinned[pin] = heap->pinned[pin + 1] = NULL;
  heap->npinned -= 2;
  if (GC_UNLIKELY(heap->npending_traps))
    gc_raise_pending_traps(heap);
  return weak ? &weak->header : NULL;
}

gc_ref gc_weak_get(gc_heap *heap, gc_ref weak) {
  struct gc_weak *w = (struct gc_weak *)builtin_object(
      heap, weak, GC_SHAPE_WEAK, "gc_weak_get");
  if (!w)
    return NULL;
  return heap->ops->weak_get ? heap->ops->weak_get(heap->collector, w)
                             : w->target;
}
