/* vector.c — storage for gc_vector (vector.h): malloc below
 * GC_VECTOR_MAP_BYTES, a mapping of its own at or above it. Which one a
 * vector has follows from its capacity alone. */
#include "vector.h"

#include "collector-api.h"

#include <stdint.h>

static bool is_mapped(size_t capacity, size_t elem_bytes) {
  return capacity * elem_bytes >= GC_VECTOR_MAP_BYTES;
}

static void *storage_new(size_t capacity, size_t elem_bytes) {
  size_t bytes = capacity * elem_bytes;
  return is_mapped(capacity, elem_bytes) ? gc_sys_map(bytes)
                                         : gc_sys_malloc(bytes);
}

void gc_vector_storage_free(void *items, size_t capacity, size_t elem_bytes) {
  if (is_mapped(capacity, elem_bytes))
    gc_sys_unmap(items, capacity * elem_bytes);
  else
    gc_sys_free(items);
}

/* Moves count elements to storage of new_capacity; NULL if there is none. */
static void *move_to(void *items, size_t count, size_t *capacity,
                     size_t elem_bytes, size_t new_capacity) {
  void *moved;
  if (!is_mapped(*capacity, elem_bytes) &&
      !is_mapped(new_capacity, elem_bytes)) {
    moved = gc_sys_realloc(items, new_capacity * elem_bytes);
  } else {
    moved = storage_new(new_capacity, elem_bytes);
    if (moved && count)
      memcpy(moved, items, count * elem_bytes);
    if (moved)
      gc_vector_storage_free(items, *capacity, elem_bytes);
  }
  if (moved)
    *capacity = new_capacity;
  return moved;
}

void *gc_vector_storage_grow(void *items, size_t count, size_t *capacity,
                             size_t elem_bytes, size_t need) {
  size_t new_capacity = *capacity ? *capacity : 16;
  while (new_capacity < need) {
    if (new_capacity > SIZE_MAX / 2 / elem_bytes)
      return NULL;
    new_capacity *= 2;
  }
  return move_to(items, count, capacity, elem_bytes, new_capacity);
}

void *gc_vector_storage_trim(void *items, size_t count, size_t *capacity,
                             size_t elem_bytes) {
  if (!is_mapped(*capacity, elem_bytes) || count > *capacity / 4)
    return items;
  size_t new_capacity = GC_VECTOR_MAP_BYTES / elem_bytes / 2;
  while (new_capacity < 2 * count)
    new_capacity *= 2;
  void *moved = move_to(items, count, capacity, elem_bytes, new_capacity);
  return moved ? moved : items;
}
