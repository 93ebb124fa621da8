/* refcount-table.c — an open-addressing hash map from object addresses to
 * 64-bit values, with linear probing and backward-shift deletion (no
 * tombstones). The refcount collector keeps its side tables in it: overflowed
 * counts, the first weak reference of each weakly referenced target, large
 * objects, and verify's recomputed counts. */
#include "refcount.h"

static size_t slot_of(const struct rc_table *t, uintptr_t key) {
  /* Fibonacci hashing; objects are 8-aligned so the low bits carry nothing. */
  return (size_t)(((key >> 3) * UINT64_C(0x9e3779b97f4a7c15)) >> 20) &
         (t->capacity - 1);
}

uint64_t *rc_table_find(struct rc_table *t, const void *key) {
  if (!t->count)
    return NULL;
  uintptr_t k = (uintptr_t)key;
  for (size_t i = slot_of(t, k);; i = (i + 1) & (t->capacity - 1)) {
    if (t->keys[i] == k)
      return &t->values[i];
    if (!t->keys[i])
      return NULL;
  }
}

static int resize(struct rc_table *t, size_t capacity) {
  uintptr_t *keys = gc_sys_calloc(capacity, sizeof *keys);
  uint64_t *values = keys ? gc_sys_malloc(capacity * sizeof *values) : NULL;
  if (!values) {
    gc_sys_free(keys);
    return -1;
  }
  struct rc_table old = *t;
  t->keys = keys;
  t->values = values;
  t->capacity = capacity;
  for (size_t i = 0; i < old.capacity; i++) {
    if (!old.keys[i])
      continue;
    size_t j = slot_of(t, old.keys[i]);
    while (keys[j])
      j = (j + 1) & (capacity - 1);
    keys[j] = old.keys[i];
    values[j] = old.values[i];
  }
  gc_sys_free(old.keys);
  gc_sys_free(old.values);
  return 0;
}

/* Load factor at most 1/2: probes stay short. */
int rc_table_reserve(struct rc_table *t, size_t extra) {
  size_t need = t->count + extra;
  if (need * 2 <= t->capacity)
    return 0;
  size_t capacity = t->capacity ? t->capacity : 16;
  while (capacity < need * 2)
    capacity *= 2;
  return resize(t, capacity);
}

uint64_t *rc_table_upsert(struct rc_table *t, const void *key) {
  uint64_t *found = rc_table_find(t, key);
  if (found)
    return found;
  if (rc_table_reserve(t, 1))
    return NULL;
  uintptr_t k = (uintptr_t)key;
  size_t i = slot_of(t, k);
  while (t->keys[i])
    i = (i + 1) & (t->capacity - 1);
  t->keys[i] = k;
  t->values[i] = 0;
  t->count++;
  return &t->values[i];
}

void rc_table_remove(struct rc_table *t, const void *key) {
  uint64_t *value = rc_table_find(t, key);
  if (!value)
    return;
  size_t hole = (size_t)(value - t->values), mask = t->capacity - 1;
  t->keys[hole] = 0;
  t->count--;
  /* Shift back every later entry of the run that would no longer be found
   * past the hole. */
  for (size_t i = (hole + 1) & mask; t->keys[i]; i = (i + 1) & mask) {
    size_t home = slot_of(t, t->keys[i]);
    /* Entry i may move to the hole if its home is not in (hole, i]. */
    bool home_between =
        hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (home_between)
      continue;
    t->keys[hole] = t->keys[i];
    t->values[hole] = t->values[i];
    t->keys[i] = 0;
    hole = i;
  }
}

void rc_table_clear(struct rc_table *t) {
  if (t->count)
    memset(t->keys, 0, t->capacity * sizeof *t->keys);
  t->count = 0;
}

void rc_table_free(struct rc_table *t) {
  gc_sys_free(t->keys);
  gc_sys_free(t->values);
  memset(t, 0, sizeof *t);
}
