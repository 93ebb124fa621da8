/* wl-large-arrays.c — THREADS threads of one heap each keep replacing big
 * arrays of integers: the large-object space (gc/large-object-space.h),
 * its reuse of dead arrays' mappings and the heap lock it takes.
 *
 * Each thread keeps its last LIVE arrays of KIB KiB (at least 16: a large
 * object in tracing and refcount, whose limits are 8 KiB) in a ring of roots;
 * each round makes a new array (it must read zero where an older array's
 * values were), writes one element per 512 bytes, reads the oldest array's
 * elements back and drops it. THREADS threads do THREADS times the work of
 * one; the checksum counts the elements read, which the interleaving does
 * not change. */
#include "workload.h"

enum { LIVE = 8, STRIDE = 64 }; /* 64 elements: one write per 512 bytes */

struct large_arrays {
  gc_type ints;
  long rounds;
  size_t length;
};

/* Whether every STRIDE-th element of arr holds its index plus tag. */
static bool holds(gc_heap *h, gc_ref arr, size_t length, int64_t tag) {
  for (size_t i = 0; i < length; i += STRIDE)
    if (gc_get_i64(h, arr, i) != (int64_t)i + tag)
      return false;
  return true;
}

/* Whether the elements an older array's writes would have left are 0. */
static bool reads_zero(gc_heap *h, gc_ref arr, size_t length) {
  for (size_t i = 0; i < length; i += STRIDE)
    if (gc_get_i64(h, arr, i) != 0)
      return false;
  return true;
}

static void replace_arrays(gc_heap *h, void *arg,
                           struct workload_result *result) {
  struct large_arrays *a = arg;
  gc_scope scope = gc_scope_open(h);
  gc_ref *ring[LIVE];
  for (int i = 0; i < LIVE; i++)
    ring[i] = gc_root(h, NULL);
  for (long round = 0; round < a->rounds; round++) {
    gc_ref fresh = gc_new_array(h, a->ints, a->length);
    if (!reads_zero(h, fresh, a->length)) {
      workload_fail(result, "round %ld: a new array is not zero", round);
      break;
    }
    for (size_t i = 0; i < a->length; i += STRIDE)
      gc_set_i64(h, fresh, i, (int64_t)i + round);
    gc_ref *slot = ring[round % LIVE];
    if (*slot && !holds(h, *slot, a->length, round - LIVE)) {
      workload_fail(result, "round %ld: the array of round %ld changed", round,
                    round - LIVE);
      break;
    }
    result->checksum += *slot ? (a->length + STRIDE - 1) / STRIDE : 0;
    *slot = fresh; /* the array of round - LIVE dies */
  }
  gc_scope_close(h, scope);
}

int workload_large_arrays(gc_heap *h, int argc, char **argv,
                          struct workload_result *result) {
  long threads, rounds, kib;
  if (argc > 4 || workload_int_arg(argc, argv, 1, 1, 64, 1, &threads) < 0 ||
      workload_int_arg(argc, argv, 2, 1, 100000000, 20000, &rounds) < 0 ||
      workload_int_arg(argc, argv, 3, 16, 1 << 20, 128, &kib) < 0)
    return -1;
  struct large_arrays a = {gc_type_array(h, "ints", GC_KIND_I64), rounds,
                           (size_t)kib * 1024 / 8};
  return workload_on_threads(h, (int)threads, replace_arrays, &a, result);
}
