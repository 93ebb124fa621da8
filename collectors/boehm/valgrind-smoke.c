/* valgrind-smoke.c — a boehm heap's whole life, to run under valgrind:
 *
 *   valgrind --leak-check=full --show-leak-kinds=all \
 *     --errors-for-leak-kinds=all \
 *     --suppressions=collectors/boehm/valgrind.supp --error-exitcode=1 \
 *     BUILD/collectors/boehm/boehm_valgrind_smoke
 *
 * Two heaps, created and freed in turn and side by side, with objects of
 * every shape, root scopes and globals, resources (some destroyed by the
 * collector, some at heap free) and weak references, collections forced and
 * spontaneous. Exits non-zero if a destructor did not run exactly once. */
#include <gcheap.h>
#include <stdio.h>
#include <stdlib.h>

static void count_destroy(void *ptr, void *ud) {
  free(ptr);
  (*(int *)ud)++;
}

static const gc_kind node_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_I64};

static gc_heap *new_heap(void) {
  char err[256];
  gc_config *config = gc_config_new(err, sizeof err);
  if (!config || gc_config_set(config, "collector=boehm", err, sizeof err)) {
    fprintf(stderr, "valgrind-smoke: %s\n", err);
    exit(2);
  }
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!heap) {
    fprintf(stderr, "valgrind-smoke: %s\n", err);
    exit(2);
  }
  return heap;
}

/* A tree of depth d; every leaf owns a resource holding malloc'd memory. */
static gc_ref tree(gc_heap *heap, gc_type node, int d, int *destroyed) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *n = gc_root(heap, gc_new_struct(heap, node));
  if (d > 0) {
    gc_ref left = tree(heap, node, d - 1, destroyed);
    gc_set_ref(heap, *n, 0, left);
    gc_ref right = tree(heap, node, d - 1, destroyed);
    gc_set_ref(heap, *n, 1, right);
  } else {
    gc_set_ref(heap, *n, 0,
               gc_new_resource(heap, malloc(16), count_destroy, destroyed));
  }
  gc_set_i64(heap, *n, 2, d);
  gc_ref result = *n;
  gc_scope_close(heap, scope);
  return result;
}

static int life(int rounds) {
  int destroyed = 0, made = 0;
  gc_heap *heap = new_heap();
  gc_type node = gc_type_struct(heap, "node", 3, node_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  gc_ref *keep = gc_global(heap, gc_new_array(heap, refs, 64));
  for (int r = 0; r < rounds; r++) {
    gc_ref t = tree(heap, node, 8, &destroyed);
    made += 256;
    gc_ref w = gc_new_weak(heap, t);
    gc_set_ref(heap, *keep, r % 64, w);
    gc_new_array(heap, bytes, 1000);
    gc_collect(heap);
  }
  gc_heap *second = new_heap();
  gc_new_resource(second, malloc(8), count_destroy, &destroyed);
  made++;
  gc_heap_free(heap);
  gc_heap_free(second);
  if (destroyed != made) {
    fprintf(stderr, "valgrind-smoke: %d destructors for %d resources\n",
            destroyed, made);
    return 1;
  }
  return 0;
}

int main(void) {
  int failed = 0;
  for (int i = 0; i < 3; i++)
    failed |= life(20);
  puts(failed ? "valgrind-smoke: FAILED" : "valgrind-smoke: ok");
  return failed;
}
