/* Regression 3 — symmetric init and destroy (WAMR's fd_prestats_destroy
 * leak: a lock created unconditionally was destroyed conditionally).
 *
 * 10,000 heaps are created and freed with every combination of options,
 * some never allocating, some with open scopes, globals, resources and weak
 * references left behind. Whatever gc_heap_new set up, gc_heap_free must
 * undo whatever path the heap took. Checked three ways: malloc's bytes in use
 * (mallinfo2) and the process's memory mappings must not grow over the loop
 * (an in-process check, so it fails even without valgrind), and valgrind /
 * ASan in CI report any leaked block. */
#include "harness.h"

#include <criterion/redirect.h>
#include <malloc.h>
#include <stdio.h>

enum { HEAPS = 10000 };

static const char *const heap_sizes[] = {"heap-size=0", "heap-size=64K",
                                         "heap-size=1M"};
static const char *const max_sizes[] = {"max-heap-size=0",
                                        "max-heap-size=4M"};
/* stress=1 collects at every allocation, which is slow with Boehm's
 * process-wide collections: one heap in 30 gets it (333 heaps). */
static const char *const stresses[] = {"stress=0", "stress=7", "stress=0"};

static long mappings(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps)
    return 0;
  long lines = 0;
  for (int ch; (ch = fgetc(maps)) != EOF;)
    lines += ch == '\n';
  fclose(maps);
  return lines;
}

static const gc_kind cell_kinds[] = {GC_KIND_REF, GC_KIND_I64};

/* The i-th heap: its options and what it does come from i's digits. */
static void one_heap(const char *collector, int i) {
  char options[160];
  snprintf(options, sizeof options, "%s,%s,%s,verify=%d,stats=%d",
           heap_sizes[i % 3], max_sizes[(i / 3) % 2],
           i % 30 == 15 ? "stress=1" : stresses[(i / 6) % 3],
           (i / 18) % 2, i % 1000 == 999);
  gc_heap *heap = harness_new_heap(collector, options);
  switch (i % 5) {
  case 0: /* never allocates */
    break;
  case 1: /* types only */
    gc_type_struct(heap, "cell", 2, cell_kinds);
    gc_type_array(heap, "bytes", GC_KIND_I8);
    break;
  case 2: { /* objects, left in an open scope */
    gc_type cell = gc_type_struct(heap, "cell", 2, cell_kinds);
    gc_scope_open(heap);
    gc_ref *c = gc_root(heap, gc_new_struct(heap, cell));
    gc_set_ref(heap, *c, 0, *c);
    gc_root(heap, gc_new_weak(heap, *c));
    break;
  }
  case 3: /* resources and globals, then a collection */
    gc_global(heap, gc_new_resource(heap, NULL, NULL, NULL));
    gc_new_resource(heap, NULL, NULL, NULL);
    gc_global(heap, NULL);
    gc_collect(heap);
    break;
  case 4: { /* a trap, a closed scope and a freed global */
    gc_get_i64(heap, NULL, 0);
    EXPECT_TRAP(GC_TRAP_NULL, NULL);
    gc_scope scope = gc_scope_open(heap);
    gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
    gc_root(heap, gc_new_array(heap, bytes, 100 + i % 300));
    gc_scope_close(heap, scope);
    gc_ref *g = gc_global(heap, NULL);
    gc_global_free(heap, g);
    break;
  }
  }
  harness_free_heap(heap);
}

COLLECTOR_TEST(regress_heap_churn, ten_thousand_heaps_leak_nothing,
               .init = cr_redirect_stderr) {
  /* Warm up: the first heaps may set up process-wide state once (Boehm's
   * GC_INIT, stdio buffers). */
  for (int i = 0; i < 90; i++)
    one_heap(param->name, i);
  struct mallinfo2 before = mallinfo2();
  long maps_before = mappings();
  for (int i = 90; i < HEAPS; i++)
    one_heap(param->name, i);
  struct mallinfo2 after = mallinfo2();
  long maps_after = mappings();
  /* Allow a little slack for allocator fragmentation, far below the 10,000
   * bytes a one-byte-per-heap leak would show. */
  cr_assert(after.uordblks <= before.uordblks + 4096,
            "[%s] malloc'd bytes in use grew from %zu to %zu over %d heaps",
            param->name, before.uordblks, after.uordblks, HEAPS);
  /* Boehm's process-wide heap grows and never shrinks: a few more
   * mappings, nothing like one per heap. */
  cr_assert(maps_after <= maps_before + 32,
            "[%s] memory mappings grew from %ld to %ld over %d heaps",
            param->name, maps_before, maps_after, HEAPS);
  harness_check_memory();
}

COLLECTOR_TEST(regress_heap_churn, configs_freed_symmetrically) {
  struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < HEAPS; i++) {
    gc_config *config = harness_new_config(param->name, "stress=3");
    if (i % 2) {
      char err[64];
      gc_config_set(config, "bogus=1", err, sizeof err); /* fails, no leak */
    }
    gc_config_free(config);
  }
  struct mallinfo2 after = mallinfo2();
  cr_assert(after.uordblks <= before.uordblks + 4096,
            "[%s] configs leak: %zu -> %zu bytes", param->name,
            before.uordblks, after.uordblks);
  harness_check_memory();
}
