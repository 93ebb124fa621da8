/* bitmap.h — bit arrays in 64-bit words, for every side table of gc/ and
 * the collectors (object starts, free cells, marks, slots in use). */
#ifndef GC_BITMAP_H
#define GC_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The words a bitmap of n bits needs. */
#define GC_BITMAP_WORDS(n) (((n) + 63) / 64)

static inline bool gc_bit_test(const uint64_t *bits, size_t i) {
  return (bits[i / 64] >> (i % 64)) & 1;
}
static inline void gc_bit_set(uint64_t *bits, size_t i) {
  bits[i / 64] |= UINT64_C(1) << (i % 64);
}
static inline void gc_bit_clear(uint64_t *bits, size_t i) {
  bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

#endif /* GC_BITMAP_H */
