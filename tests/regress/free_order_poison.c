/* Regression 4 — free order under poisoning (Tilck's crash with
 * KMALLOC_FREE_MEM_POISONING: a structure freed before the buffers it
 * pointed to, and teardown reading the poisoned structure).
 *
 * With verify=1 freed memory is poisoned. A structure and the buffers it
 * points to die together; then:
 *  - a stale reference to the structure or to a buffer, handed back to the
 *    API, is caught (GC_TRAP_INVARIANT) instead of reading poison as data;
 *  - a write into a freed object is caught when its memory is reused
 *    (collectors that keep freed memory poisoned: tracing, refcount);
 *  - gcheap's own sweep and teardown, freeing parents before children and
 *    children before parents, never read poisoned memory (ASan / valgrind
 *    in CI, and no INVARIANT trap here).
 * The null collector never frees: there the stale references stay valid,
 * which is asserted too. */
#include "harness.h"

static const gc_kind file_kinds[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_REF,
                                     GC_KIND_I64};
enum { F_NAME, F_DATA, F_HANDLE, F_SIZE };

/* Stale references are kept disguised, so that a conservative collector's
 * scan of this file's data does not see them and keep the objects alive. */
#define DISGUISE(ref) ((uintptr_t)(ref) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aULL)
#define UNDISGUISE(bits) ((gc_ref)((bits) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aULL))

struct stale {
  uintptr_t file, data;
};

static int handles_destroyed;
static void destroy_handle(void *ptr, void *ud) {
  handles_destroyed++;
}

/* A "file" struct with a name buffer, a data buffer and a handle; nothing
 * roots it once this returns. A global weak reference watches it. */
static NOINLINE struct stale make_dead_file(gc_heap *heap, gc_type file,
                                            gc_type bytes, gc_ref *weak,
                                            gc_ref *weak_data) {
  gc_scope scope = gc_scope_open(heap);
  gc_ref *f = gc_root(heap, gc_new_struct(heap, file));
  gc_set_ref(heap, *f, F_NAME, gc_new_array(heap, bytes, 24));
  gc_set_ref(heap, *f, F_DATA, gc_new_array(heap, bytes, 200));
  gc_set_ref(heap, *f, F_HANDLE,
             gc_new_resource(heap, NULL, destroy_handle, NULL));
  gc_set_i64(heap, *f, F_SIZE, 200);
  gc_array_fill_i8(heap, gc_get_ref(heap, *f, F_DATA), 0, 200, 0x11);
  *weak = gc_new_weak(heap, *f);
  if (weak_data)
    *weak_data = gc_new_weak(heap, gc_get_ref(heap, *f, F_DATA));
  struct stale s = {DISGUISE(*f), DISGUISE(gc_get_ref(heap, *f, F_DATA))};
  gc_scope_close(heap, scope);
  return s;
}

COLLECTOR_TEST(regress_free_order, stale_references_are_caught) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type file = gc_type_struct(heap, "file", 4, file_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_ref *weak = gc_global(heap, NULL);
  gc_ref *weak_data = gc_global(heap, NULL);
  gc_ref *keep = gc_global(heap, gc_new_struct(heap, file));
  struct stale s = make_dead_file(heap, file, bytes, weak, weak_data);
  harness_collect(heap);
  EXPECT_NO_TRAP(); /* the sweep itself read nothing poisoned */
  /* A conservative collector may keep either object (a stale word somewhere
   * looks like a pointer to it); what it reclaimed, it must also catch. */
  bool file_freed = gc_weak_get(heap, *weak) == NULL;
  bool data_freed = gc_weak_get(heap, *weak_data) == NULL;
  if (harness_reclaims(param->name) && !harness_conservative(param->name))
    cr_assert(file_freed && data_freed,
              "[%s] the dead file (%d) or its buffer (%d) was not reclaimed",
              param->name, file_freed, data_freed);
  if (file_freed) {
    CHECK_EQ(handles_destroyed, 1);
    /* Use after free through the stale reference: caught, and nothing is
     * read or stored. */
    gc_get_i64(heap, UNDISGUISE(s.file), F_SIZE);
    EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
    gc_set_ref(heap, UNDISGUISE(s.file), F_NAME, NULL);
    EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  } else {
    CHECK_EQ(gc_get_i64(heap, UNDISGUISE(s.file), F_SIZE), 200);
  }
  if (data_freed) {
    gc_get_i8(heap, UNDISGUISE(s.data), 0);
    EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
    gc_set_ref(heap, *keep, F_DATA, UNDISGUISE(s.data));
    EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
    cr_assert_null(gc_get_ref(heap, *keep, F_DATA));
    gc_array_copy(heap, UNDISGUISE(s.data), 0, UNDISGUISE(s.data), 1, 10);
    EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  } else {
    /* null: nothing is ever freed, so the reference is still good. */
    CHECK_EQ(gc_get_i8(heap, UNDISGUISE(s.data), 199), 0x11);
  }
  /* The heap is intact: allocate the same shapes again (reusing the freed
   * memory) and use them. */
  for (int i = 0; i < 20; i++) {
    gc_ref f = gc_new_struct(heap, file);
    gc_set_i64(heap, f, F_SIZE, i);
    CHECK_EQ(gc_get_i64(heap, f, F_SIZE), i);
    CHECK(gc_get_ref(heap, f, F_DATA) == NULL);
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
}

/* Collectors that keep freed memory and check its poison on reuse. */
static bool checks_poison_on_reuse(const char *collector) {
  return !strcmp(collector, "tracing") || !strcmp(collector, "refcount");
}

COLLECTOR_TEST(regress_free_order, write_after_free_is_caught_on_reuse) {
  if (!checks_poison_on_reuse(param->name)) {
    /* null never frees; boehm hands freed memory back to Boehm GC, whose
     * free lists live inside it, so a write there is not gcheap's to
     * catch (and would corrupt Boehm itself). */
    cr_skip_test("collector=%s does not poison freed memory", param->name);
  }
  /* No quarantine, so that the memory is reused soon (stale_reference.c
   * covers the quarantine, which checks the poison when it lets go). */
  gc_heap *heap = harness_new_heap(param->name, "verify-quarantine=0");
  gc_type file = gc_type_struct(heap, "file", 4, file_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_ref *weak = gc_global(heap, NULL);
  struct stale s = make_dead_file(heap, file, bytes, weak, NULL);
  harness_collect(heap);
  cr_assert_null(gc_weak_get(heap, *weak));
  /* The bug being simulated: a runtime writes through a dangling pointer
   * into the freed struct's fields (not its header). The memory is still
   * the collector's, so this is not a wild write, only a forbidden one. */
  int64_t *fields = (int64_t *)((char *)UNDISGUISE(s.file) + 8);
  fields[F_SIZE] = 0x0badf00d;
  /* Allocate same-sized structs until that memory is reused: the broken
   * poison must be noticed before the object is handed out. Each is kept
   * rooted, so that every allocation takes a fresh cell even when stress=1
   * collects before each one. */
  bool trapped = false;
  gc_scope scope = gc_scope_open(heap);
  for (int i = 0; i < 1024 && !trapped; i++) {
    gc_root(heap, gc_new_struct(heap, file));
    trapped = harness_traps.pending > 0;
  }
  gc_scope_close(heap, scope);
  cr_assert(trapped, "[%s] a write after free went unnoticed", param->name);
  EXPECT_TRAP(GC_TRAP_INVARIANT, NULL);
  harness_free_heap(heap);
}

/* Teardown in every order: parents dying before their buffers (a buffer
 * kept alive by a second parent that dies later), and the other way round;
 * then gc_heap_free with more of both left. verify=1 checks every step. */
COLLECTOR_TEST(regress_free_order, teardown_in_either_order) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  gc_type file = gc_type_struct(heap, "file", 4, file_kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_type refs = gc_type_array(heap, "refs", GC_KIND_REF);
  enum { N = 64 };
  gc_ref *parents = gc_global(heap, gc_new_array(heap, refs, N));
  gc_ref *buffers = gc_global(heap, gc_new_array(heap, refs, N));
  for (int i = 0; i < N; i++) {
    gc_set_ref(heap, *buffers, i, gc_new_array(heap, bytes, 8 + i));
    gc_set_ref(heap, *parents, i, gc_new_struct(heap, file));
    gc_ref handle = gc_new_resource(heap, NULL, destroy_handle, NULL);
    /* Re-read the parent: the allocation above may have collected. */
    gc_ref f = gc_get_ref(heap, *parents, i);
    gc_set_ref(heap, f, F_HANDLE, handle);
    gc_set_ref(heap, f, F_DATA, gc_get_ref(heap, *buffers, i));
  }
  /* Parents first (buffers still held by the buffer table)... */
  gc_array_fill_ref(heap, *parents, 0, N / 2, NULL);
  harness_collect(heap);
  /* ...then the buffers they pointed to. */
  gc_array_fill_ref(heap, *buffers, 0, N / 2, NULL);
  harness_collect(heap);
  /* Buffers first for the other half (still held by their parents)... */
  gc_array_fill_ref(heap, *buffers, N / 2, N / 4, NULL);
  harness_collect(heap);
  for (int i = N / 2; i < N; i++)
    CHECK_EQ(gc_array_len(heap,
                          gc_get_ref(heap, gc_get_ref(heap, *parents, i),
                                     F_DATA)),
             8 + i);
  /* ...then the parents. */
  gc_array_fill_ref(heap, *parents, N / 2, N / 4, NULL);
  harness_collect(heap);
  if (harness_reclaims(param->name))
    CHECK_EQ(handles_destroyed, N / 2 + N / 4);
  EXPECT_NO_TRAP();
  harness_free_heap(heap); /* the last quarter, all at once */
  CHECK_EQ(handles_destroyed, N);
}
