/* types.c — the per-heap type registry. A type says where an object's
 * references are; collectors read it through gc_type_info_of. */
#include "heap-internal.h"

#include <stdlib.h>

/* Field counts and names are bounded so that object sizes stay in 32 bits. */
#define MAX_STRUCT_FIELDS (1u << 20)

const char *gc_shape_name(enum gc_shape shape) {
  switch (shape) {
  case GC_SHAPE_STRUCT:
    return "struct";
  case GC_SHAPE_ARRAY:
    return "array";
  case GC_SHAPE_RESOURCE:
    return "resource";
  case GC_SHAPE_WEAK:
    return "weak";
  }
  return "?";
}

const char *gc_kind_name(gc_kind kind) {
  switch (kind) {
  case GC_KIND_REF:
    return "ref";
  case GC_KIND_I64:
    return "i64";
  case GC_KIND_F64:
    return "f64";
  case GC_KIND_I8:
    return "i8";
  }
  return "unknown";
}

/* Appends a type, taking ownership of kinds and ref_fields; GC_TYPE_NONE if
 * memory runs out or the registry is full (the caller reports it: at heap
 * creation there is no trap handler yet, only an error message). The
 * count is published last (gc_type_count): a reader that sees the index
 * sees the info. */
static gc_type add_type(struct gc_type_registry *types,
                        struct gc_type_info info) {
  char *name = types->count < types->capacity
                   ? gc_sys_malloc(strlen(info.name) + 1)
                   : NULL;
  if (!name) {
    gc_sys_free(info.kinds);
    gc_sys_free(info.ref_fields);
    return GC_TYPE_NONE;
  }
  strcpy(name, info.name);
  info.name = name;
  size_t index = types->count;
  info.type_word |= (uint32_t)index; /* above it, the REF bits, if any */
  types->items[index] = info;
  __atomic_store_n(&types->count, index + 1, __ATOMIC_RELEASE);
  return (gc_type)index;
}

/* add_type for the API, under the heap lock, with the type's entry in the
 * inline table (gcheap.h's fast paths) written before the count publishes
 * the type: out of memory, or a full registry, is a trap (raised without
 * the lock: a handler may longjmp). */
static gc_type register_type(gc_heap *heap, struct gc_type_info info,
                             struct gc_inline_type fast) {
  const char *name = info.name;
  struct gc_inline_type *inline_types = heap->shared->inline_types;
  gc_heap_lock(heap);
  uint32_t index = heap->types->count;
  bool full = index == heap->types->capacity;
  info.type_word |= index;
  fast.type_word = info.type_word;
  if (!full)
    inline_types[index] = fast;
  gc_type type = add_type(heap->types, info);
  if (type == GC_TYPE_NONE && !full)
    inline_types[index] = (struct gc_inline_type){0};
  gc_heap_unlock(heap);
  if (type == GC_TYPE_NONE && full)
    gc_trap_raise(heap, GC_TRAP_OOM,
                  "cannot register type '%s': a heap holds at most %u types",
                  name, (unsigned)(GC_MAX_TYPES - 1));
  else if (type == GC_TYPE_NONE)
    gc_trap_raise(heap, GC_TRAP_OOM, "no memory to register type '%s'", name);
  return type;
}

/* The inline table, then the registry, reserved whole in one mapping, so
 * that neither ever moves and threads read them without a lock. (One
 * mapping, not two: each mapping a heap makes costs a munmap at
 * gc_heap_free, with a TLB shootdown once the process has run threads.)
 * The built-in types keep zero inline entries: they always take the
 * out-of-line calls. */
#define INLINE_TABLE_BYTES (GC_MAX_TYPES * sizeof(struct gc_inline_type))
#define REGISTRY_BYTES (GC_MAX_TYPES * sizeof(struct gc_type_info))
_Static_assert(INLINE_TABLE_BYTES % _Alignof(struct gc_type_info) == 0,
               "the registry follows the inline table");

int gc_types_init(struct gc_heap_shared *shared) {
  struct gc_type_registry *types = &shared->types;
  char *map = gc_sys_map(INLINE_TABLE_BYTES + REGISTRY_BYTES);
  if (!map)
    return -1;
  shared->inline_types = (struct gc_inline_type *)map;
  types->items = (struct gc_type_info *)(map + INLINE_TABLE_BYTES);
  types->capacity = GC_MAX_TYPES;
  /* Index 0 is GC_TYPE_NONE: never a valid object type. */
  struct gc_type_info none = {.name = "<none>", .shape = GC_SHAPE_STRUCT};
  struct gc_type_info resource = {.name = "resource",
                                  .shape = GC_SHAPE_RESOURCE,
                                  .size = sizeof(struct gc_resource)};
  struct gc_type_info weak = {
      .name = "weak", .shape = GC_SHAPE_WEAK, .size = sizeof(struct gc_weak)};
  const struct gc_type_info builtins[] = {none, resource, weak};
  for (uint32_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
    add_type(types, builtins[i]);
    if (types->count != i + 1)
      return -1; /* out of memory */
  }
  assert(types->count == GC_FIRST_USER_TYPE);
  return 0;
}

void gc_types_free(struct gc_heap_shared *shared) {
  struct gc_type_registry *types = &shared->types;
  if (!shared->inline_types)
    return;
  for (uint32_t i = 0; i < types->count; i++) {
    gc_sys_free(types->items[i].name);
    gc_sys_free(types->items[i].kinds);
    gc_sys_free(types->items[i].ref_fields);
  }
  gc_sys_unmap(shared->inline_types, INLINE_TABLE_BYTES + REGISTRY_BYTES);
  shared->inline_types = NULL;
  *types = (struct gc_type_registry){0};
}

gc_type gc_type_struct(gc_heap *heap, const char *name, size_t nfields,
                       const gc_kind *fields) {
  GC_REQUIRE_HEAP(heap, "gc_type_struct");
  if (gc_api_enter(heap, NULL, "gc_type_struct"))
    return GC_TYPE_NONE;
  if (!name)
    name = "<anonymous>";
  if (nfields > MAX_STRUCT_FIELDS) {
    gc_trap_raise(heap, GC_TRAP_TYPE,
                  "gc_type_struct: '%s' has %zu fields; at most %u", name,
                  nfields, MAX_STRUCT_FIELDS);
    return GC_TYPE_NONE;
  }
  if (nfields && !fields) {
    gc_trap_raise(heap, GC_TRAP_NULL, "gc_type_struct: '%s': null field kinds",
                  name);
    return GC_TYPE_NONE;
  }
  uint32_t nrefs = 0;
  for (size_t i = 0; i < nfields; i++) {
    if (fields[i] != GC_KIND_REF && fields[i] != GC_KIND_I64 &&
        fields[i] != GC_KIND_F64) {
      gc_trap_raise(
          heap, GC_TRAP_TYPE,
          "gc_type_struct: '%s' field %zu: kind %s (%d) is not allowed in "
          "a struct; accepted: ref, i64, f64",
          name, i, gc_kind_name(fields[i]), (int)fields[i]);
      return GC_TYPE_NONE;
    }
    nrefs += fields[i] == GC_KIND_REF;
  }
  gc_kind *kinds = gc_sys_malloc((nfields ? nfields : 1) * sizeof *kinds);
  uint32_t *ref_fields =
      gc_sys_malloc((nrefs ? nrefs : 1) * sizeof *ref_fields);
  if (!kinds || !ref_fields) {
    gc_sys_free(kinds);
    gc_sys_free(ref_fields);
    gc_trap_raise(heap, GC_TRAP_OOM, "no memory to register type '%s'", name);
    return GC_TYPE_NONE;
  }
  /* At least 16 bytes: every collector may then keep a free-list link. */
  size_t size = sizeof(struct gc_obj) + 8 * nfields;
  struct gc_type_info info = {.name = (char *)name,
                              .shape = GC_SHAPE_STRUCT,
                              .nfields = (uint32_t)nfields,
                              .nrefs = nrefs,
                              .size = (uint32_t)(size < 16 ? 16 : size),
                              .kinds = kinds,
                              .ref_fields = ref_fields};
  struct gc_inline_type fast = {.new_struct_bytes = info.size,
                                .no_refs = nrefs == 0};
  for (size_t i = 0, r = 0; i < nfields; i++) {
    kinds[i] = fields[i];
    if (fields[i] == GC_KIND_REF)
      ref_fields[r++] = (uint32_t)i;
    if (i < 64)
      fast.field_masks[fields[i]] |= UINT64_C(1) << i;
    if (i < GCHEAP_INLINE_HEADER_REFS && fields[i] == GC_KIND_REF)
      info.type_word |= UINT32_C(1) << (GCHEAP_INLINE_HEADER_REF_SHIFT + i);
  }
  return register_type(heap, info, fast);
}

gc_type gc_type_array(gc_heap *heap, const char *name, gc_kind elem) {
  GC_REQUIRE_HEAP(heap, "gc_type_array");
  if (gc_api_enter(heap, NULL, "gc_type_array"))
    return GC_TYPE_NONE;
  if (!name)
    name = "<anonymous>";
  if ((unsigned)elem > GC_KIND_I8) {
    gc_trap_raise(
        heap, GC_TRAP_TYPE,
        "gc_type_array: '%s': unknown element kind %d; accepted: ref, i64, "
        "f64, i8",
        name, (int)elem);
    return GC_TYPE_NONE;
  }
  struct gc_type_info info = {
      .name = (char *)name, .shape = GC_SHAPE_ARRAY, .elem = elem};
  struct gc_inline_type fast = {.array_elem = (uint8_t)(elem + 1),
                                .no_refs = elem != GC_KIND_REF};
  return register_type(heap, info, fast);
}

const char *gc_type_name(gc_heap *heap, gc_type type) {
  if (gc_api_enter(heap, NULL, "gc_type_name"))
    return NULL;
  if (type == GC_TYPE_NONE || type >= gc_type_count(heap->types)) {
    gc_trap_raise(heap, GC_TRAP_TYPE,
                  "gc_type_name: %u is not a type of this heap", type);
    return NULL;
  }
  return heap->type_items[type].name;
}
