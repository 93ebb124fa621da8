/* embed.c — the README's example: a heap, a type, a rooted list. */
#include <gcheap.h>
#include <stdio.h>

int main(int argc, char **argv) {
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err); /* + $GCHEAP_OPTIONS */
  gc_heap *heap = NULL;
  if (config && gc_config_args(config, &argc, argv, err, sizeof err) == 0)
    heap = gc_heap_new(config, err, sizeof err); /* -C collector=NAME ... */
  gc_config_free(config);
  if (!heap)
    return fprintf(stderr, "%s\n", err), 2;
  gc_kind fields[] = {GC_KIND_I64, GC_KIND_REF}; /* value, next */
  gc_type node = gc_type_struct(heap, "node", 2, fields);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL); /* refs survive gc_new_* only in roots */
  for (int64_t i = 1; i <= 100000; i++) {    /* keep the last 1000 cells */
    gc_ref cell = gc_new_struct(heap, node); /* may collect, may move *list */
    gc_set_i64(heap, cell, 0, i);
    gc_set_ref(heap, cell, 1, i % 1000 == 1 ? NULL : *list);
    *list = cell;
  }
  int64_t sum = 0;
  for (gc_ref cell = *list; cell; cell = gc_get_ref(heap, cell, 1))
    sum += gc_get_i64(heap, cell, 0);
  printf("%s: 99001 + ... + 100000 = %lld\n", gc_collector_name(heap),
         (long long)sum);
  gc_scope_close(heap, scope);
  gc_heap_free(heap);
  return sum == 99500500 ? 0 : 1;
}
