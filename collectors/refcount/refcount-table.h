/* refcount-table.h — an open-addressing map from pointers to 64-bit
 * values (refcount-table.c), for the side tables: overflowed counts, weak
 * references' targets, large objects, verify=1's scratch.
 */
#ifndef GC_REFCOUNT_TABLE_H
#define GC_REFCOUNT_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct rc_table {
  uintptr_t *keys; /* 0 = empty */
  uint64_t *values;
  size_t capacity; /* a power of two, or 0 */
  size_t count;
};

uint64_t *rc_table_find(struct rc_table *t, const void *key);
/* The value slot for key, inserted as 0 if absent; NULL if memory ran out. */
uint64_t *rc_table_upsert(struct rc_table *t, const void *key);
void rc_table_remove(struct rc_table *t, const void *key);
/* Makes room for extra more keys without growing later; -1 on no memory. */
int rc_table_reserve(struct rc_table *t, size_t extra);
void rc_table_free(struct rc_table *t);
void rc_table_clear(struct rc_table *t); /* keeps the memory */
#define RC_TABLE_FOR_EACH(t, key_var, value_var, BODY)                         \
  for (size_t rc_te_i_ = 0; rc_te_i_ < (t)->capacity; rc_te_i_++)              \
    if ((t)->keys[rc_te_i_]) {                                                 \
      void *key_var = (void *)(t)->keys[rc_te_i_];                             \
      uint64_t *value_var = &(t)->values[rc_te_i_];                            \
      (void)value_var;                                                         \
      BODY;                                                                    \
    }

#endif /* GC_REFCOUNT_TABLE_H */
