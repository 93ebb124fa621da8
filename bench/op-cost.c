/* op-cost.c — one API operation in a loop, for counting its instructions
 * under callgrind (bench/op-cost.sh runs it at two loop counts and divides
 * the difference). Built twice: gcheap-op-cost with gcheap.h's inline fast
 * paths, gcheap-op-cost-noinline with GCHEAP_NO_INLINE (a call each).
 *
 *   gcheap-op-cost [-C key=value]... OPERATION COUNT
 *
 * OPERATION: alloc (gc_new_struct of a 4-field struct), get (gc_get_ref),
 * set-young (gc_set_ref of a young object into a young one: no barrier),
 * set-old (gc_set_ref into an old object: the barrier's filter, and the
 * barrier when it asks), get-i64, set-i64. The loop's own work is the
 * same at every count, so the difference divides out exactly. A compiler
 * barrier in each round makes every operation reload what it reads, as a
 * call site among other code would (the compiler may not hoist the heap's
 * fields out of the loop). */
#include <gcheap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EACH_ROUND() __asm__ volatile("" ::: "memory")

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64,
                                     GC_KIND_I64};

int main(int argc, char **argv) {
  char err[256];
  gc_config *config = gc_config_new(err, sizeof err);
  if (!config || gc_config_args(config, &argc, argv, err, sizeof err) ||
      argc != 3) {
    fprintf(stderr, "%s\nusage: %s [-C key=value]... OPERATION COUNT\n",
            config ? err : "", argv[0]);
    return 2;
  }
  long count = strtol(argv[2], NULL, 10);
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!heap) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  gc_type node = gc_type_struct(heap, "node", 4, node_kinds);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *a = gc_root(heap, gc_new_struct(heap, node));
  gc_ref *b = gc_root(heap, gc_new_struct(heap, node));
  const char *op = argv[1];
  int64_t sum = 0;
  if (strcmp(op, "alloc") == 0) {
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      sum += gc_new_struct(heap, node) != NULL;
    }
  } else if (strcmp(op, "get") == 0) {
    gc_set_ref(heap, *a, 0, *b);
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      sum += gc_get_ref(heap, *a, (size_t)(i & 1)) != NULL;
    }
  } else if (strcmp(op, "set-young") == 0) {
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      gc_set_ref(heap, *a, (size_t)(i & 1), *b);
    }
  } else if (strcmp(op, "set-old") == 0) {
    gc_collect(heap); /* a and b are old now */
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      gc_set_ref(heap, *a, (size_t)(i & 1), *b);
    }
  } else if (strcmp(op, "get-i64") == 0) {
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      sum += gc_get_i64(heap, *a, 2 + (size_t)(i & 1));
    }
  } else if (strcmp(op, "set-i64") == 0) {
    for (long i = 0; i < count; i++) {
      EACH_ROUND();
      gc_set_i64(heap, *a, 2 + (size_t)(i & 1), i);
    }
  } else {
    fprintf(stderr, "%s: unknown operation '%s'\n", argv[0], op);
    return 2;
  }
  printf("%s %ld: %lld\n", op, count, (long long)sum);
  gc_scope_close(heap, scope);
  gc_heap_free(heap);
  return 0;
}
