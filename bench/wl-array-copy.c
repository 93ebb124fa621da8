/* wl-array-copy.c — arrays of references copied with gc_array_copy, many of
 * them onto themselves with overlapping ranges, as WebAssembly GC programs
 * do (array.copy on one array shifts its elements).
 *
 * A table of ARRAYS arrays of LENGTH (default 4096) references to boxes (a
 * struct holding an I64 id) is rewritten in rounds of random operations:
 * overlapping copies within one array (both directions), copies between arrays,
 * ranges refilled with fresh boxes (garbage for the collector), ranges filled
 * with one box or null, and arrays replaced by a copy of themselves in a new
 * array. A shadow table of ids in C memory gets the same operations with
 * memmove; every round one array is compared with its shadow, and at the end
 * all of them. The checksum folds the final ids with their positions.
 */
#include "workload.h"

#include <stdlib.h>
#include <string.h>

enum {
  ARRAYS = 64,
  DEFAULT_LENGTH = 4096,
  OPS_PER_ROUND = 64,
  MAX_FRESH = 256,
  MAX_SHIFT = 64
};

struct array_copy {
  gc_heap *heap;
  gc_type box_type, array_type;
  gc_ref *table;   /* root: the array of ARRAYS arrays */
  size_t length;   /* of each array */
  int64_t *shadow; /* ARRAYS x length expected box ids; 0 = null */
  int64_t next_id;
  uint64_t random;
};

/* The expected id of element i of array a. */
#define SHADOW(a, i) (ac->shadow[(a)*ac->length + (i)])

static gc_ref array_at(struct array_copy *ac, size_t a) {
  return gc_get_ref(ac->heap, *ac->table, a);
}

/* Elements [i, i+n) of array a get fresh boxes. */
static void fill_fresh(struct array_copy *ac, size_t a, size_t i, size_t n) {
  gc_heap *h = ac->heap;
  for (size_t k = 0; k < n; k++) {
    gc_ref box = gc_new_struct(h, ac->box_type);
    int64_t id = ++ac->next_id;
    gc_set_i64(h, box, 0, id);
    /* The table is re-read after the allocation: it may have moved. */
    gc_set_ref(h, array_at(ac, a), i + k, box);
    SHADOW(a, i + k) = id;
  }
}

static size_t random_below(struct array_copy *ac, size_t n) {
  return (size_t)(workload_random(&ac->random) % n);
}

static void copy(struct array_copy *ac, size_t dst_a, size_t dst_i,
                 size_t src_a, size_t src_i, size_t n) {
  gc_array_copy(ac->heap, array_at(ac, dst_a), dst_i, array_at(ac, src_a),
                src_i, n);
  memmove(&SHADOW(dst_a, dst_i), &SHADOW(src_a, src_i), n * sizeof(int64_t));
}

static void one_operation(struct array_copy *ac) {
  gc_heap *h = ac->heap;
  size_t a = random_below(ac, ARRAYS);
  unsigned kind = (unsigned)random_below(ac, 100);
  if (kind < 50) {
    /* Onto itself, overlapping: shift a range by up to 64 either way. */
    size_t shift =
        1 + random_below(ac, ac->length - 1 < MAX_SHIFT ? ac->length - 1
                                                        : MAX_SHIFT);
    size_t n = 1 + random_below(ac, ac->length - shift);
    size_t low = random_below(ac, ac->length - shift - n + 1);
    if (random_below(ac, 2))
      copy(ac, a, low + shift, a, low, n); /* forwards */
    else
      copy(ac, a, low, a, low + shift, n); /* backwards */
  } else if (kind < 55) {
    /* Onto itself, the identical range. */
    size_t n = 1 + random_below(ac, ac->length);
    size_t i = random_below(ac, ac->length - n + 1);
    copy(ac, a, i, a, i, n);
  } else if (kind < 80) {
    size_t b = random_below(ac, ARRAYS);
    size_t n = 1 + random_below(ac, ac->length);
    size_t dst_i = random_below(ac, ac->length - n + 1);
    size_t src_i = random_below(ac, ac->length - n + 1);
    copy(ac, a, dst_i, b, src_i, n);
  } else if (kind < 92) {
    size_t n =
        1 + random_below(ac, ac->length < MAX_FRESH ? ac->length : MAX_FRESH);
    fill_fresh(ac, a, random_below(ac, ac->length - n + 1), n);
  } else if (kind < 97) {
    /* One box (or null) in a whole range. */
    size_t n = 1 + random_below(ac, ac->length);
    size_t i = random_below(ac, ac->length - n + 1);
    size_t from = random_below(ac, ac->length);
    gc_ref arr = array_at(ac, a);
    gc_ref v = random_below(ac, 4) ? gc_get_ref(h, arr, from) : NULL;
    int64_t id = v ? SHADOW(a, from) : 0;
    gc_array_fill_ref(h, arr, i, n, v);
    for (size_t k = 0; k < n; k++)
      SHADOW(a, i + k) = id;
  } else {
    /* A new array replaces array a, copied from it. */
    gc_ref fresh = gc_new_array(h, ac->array_type, ac->length);
    gc_array_copy(h, fresh, 0, array_at(ac, a), 0, ac->length);
    gc_set_ref(h, *ac->table, a, fresh);
  }
}

static void check_array(struct array_copy *ac, size_t a,
                        struct workload_result *result) {
  gc_heap *h = ac->heap;
  gc_ref arr = array_at(ac, a);
  for (size_t i = 0; i < ac->length; i++) {
    gc_ref box = gc_get_ref(h, arr, i);
    int64_t id = box ? gc_get_i64(h, box, 0) : 0;
    if (id != SHADOW(a, i)) {
      workload_fail(result, "array %zu element %zu holds box %lld, not %lld", a,
                    i, (long long)id, (long long)SHADOW(a, i));
      return;
    }
  }
}

int workload_array_copy(gc_heap *h, int argc, char **argv,
                        struct workload_result *result) {
  long rounds, length;
  if (argc > 3 ||
      workload_int_arg(argc, argv, 1, 0, 100000000, 400, &rounds) < 0 ||
      workload_int_arg(argc, argv, 2, 2, 1 << 20, DEFAULT_LENGTH, &length) < 0)
    return -1;
  struct array_copy *ac = calloc(1, sizeof *ac);
  int64_t *shadow = calloc(ARRAYS * (size_t)length, sizeof *shadow);
  if (!ac || !shadow) {
    free(ac);
    free(shadow);
    workload_fail(result, "out of C memory for the shadow table");
    return 0;
  }
  ac->length = (size_t)length;
  ac->shadow = shadow;
  ac->heap = h;
  ac->random = 0x9e3779b97f4a7c15u;
  const gc_kind box_fields[] = {GC_KIND_I64};
  ac->box_type = gc_type_struct(h, "box", 1, box_fields);
  ac->array_type = gc_type_array(h, "box-array", GC_KIND_REF);
  gc_type table_type = gc_type_array(h, "table", GC_KIND_REF);

  gc_scope scope = gc_scope_open(h);
  ac->table = gc_root(h, gc_new_array(h, table_type, ARRAYS));
  for (size_t a = 0; a < ARRAYS; a++) {
    gc_ref arr = gc_new_array(h, ac->array_type, ac->length);
    gc_set_ref(h, *ac->table, a, arr);
    fill_fresh(ac, a, 0, ac->length);
  }
  for (long r = 0; r < rounds; r++) {
    for (int op = 0; op < OPS_PER_ROUND; op++)
      one_operation(ac);
    check_array(ac, random_below(ac, ARRAYS), result);
  }
  for (size_t a = 0; a < ARRAYS; a++) {
    check_array(ac, a, result);
    for (size_t i = 0; i < ac->length; i++)
      result->checksum = result->checksum * 31 + (uint64_t)SHADOW(a, i);
  }
  gc_scope_close(h, scope);
  free(ac->shadow);
  free(ac);
  return 0;
}
