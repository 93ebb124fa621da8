/* vector.h — the one growable array of gc/ and the collectors.
 *
 * A vector is any struct with the three fields GC_VECTOR declares, so that
 * each use keeps its element type:
 *
 *   struct obj_vector GC_VECTOR(struct gc_obj *);
 *   if (!gc_vector_push(&v, obj)) ... out of memory: v is unchanged ...
 *
 * Capacity doubles as it grows. Storage of GC_VECTOR_MAP_BYTES or more is
 * mapped from the system rather than taken from malloc, so that
 * gc_vector_trim can give it back for certain: a collector's scratch stacks
 * reach tens of megabytes when a long list dies at once, and memory that
 * went back to malloc may stay resident (AddressSanitizer's allocator keeps
 * every freed block in its quarantine; other mallocs keep large free blocks
 * for reuse). All of it goes through gc_sys_*, so fault injection reaches
 * every growth. */
#ifndef GC_VECTOR_H
#define GC_VECTOR_H

#include <stdbool.h>
#include <stddef.h>

#define GC_VECTOR(type)                                                        \
  {                                                                            \
    type *items;                                                               \
    size_t count, capacity;                                                    \
  }

#define GC_VECTOR_MAP_BYTES ((size_t)1 << 20)

/* New storage of at least need elements holding the first *count of items
 * (which it then frees), *capacity updated; NULL, with items untouched,
 * if the system has no memory. */
void *gc_vector_storage_grow(void *items, size_t count, size_t *capacity,
                             size_t elem_bytes, size_t need);
/* Shrinks mapped storage that holds at most a quarter of its capacity to
 * twice its count (at least GC_VECTOR_MAP_BYTES, which then comes from
 * malloc); returns the storage to use, items itself when nothing changed or
 * the smaller storage cannot be had. */
void *gc_vector_storage_trim(void *items, size_t count, size_t *capacity,
                             size_t elem_bytes);
void gc_vector_storage_free(void *items, size_t capacity, size_t elem_bytes);

/* True if v has room for need elements; false if that needs memory the
 * system will not give (v unchanged). */
#define gc_vector_reserve(v, need)                                             \
  __extension__({                                                              \
    size_t gc_need_ = (need);                                                  \
    bool gc_ok_ = gc_need_ <= (v)->capacity;                                   \
    if (__builtin_expect(!gc_ok_, 0)) {                                        \
      void *gc_grown_ =                                                        \
          gc_vector_storage_grow((v)->items, (v)->count, &(v)->capacity,       \
                                 sizeof *(v)->items, gc_need_);                \
      if (gc_grown_) {                                                         \
        (v)->items = gc_grown_;                                                \
        gc_ok_ = true;                                                         \
      }                                                                        \
    }                                                                          \
    gc_ok_;                                                                    \
  })

/* Appends x; false (v unchanged) if there is no memory for it. */
#define gc_vector_push(v, x)                                                   \
  (gc_vector_reserve((v), (v)->count + 1)                                      \
       ? ((v)->items[(v)->count++] = (x), true)                                \
       : false)

/* Gives back what a burst left unused (see gc_vector_storage_trim). */
#define gc_vector_trim(v)                                                      \
  ((v)->items = gc_vector_storage_trim((v)->items, (v)->count, &(v)->capacity, \
                                       sizeof *(v)->items))

/* Frees the storage; v is then empty and may be used again. */
#define gc_vector_free(v)                                                      \
  do {                                                                         \
    gc_vector_storage_free((v)->items, (v)->capacity, sizeof *(v)->items);     \
    (v)->items = NULL;                                                         \
    (v)->count = (v)->capacity = 0;                                            \
  } while (0)

#endif /* GC_VECTOR_H */
