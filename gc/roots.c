/* roots.c — root scopes, global roots and the pinned arguments.
 *
 * Scope slots live in a stack of fixed-size chunks: a slot's address never
 * changes while its scope is open, because chunks are never moved or
 * resized, only linked. Closed chunks are kept for reuse. Global slots live
 * in chunks of their own with an in-use bitmap, so that freeing one twice,
 * or freeing a slot that is not a global, is caught. */
#include "heap-internal.h"

#define ROOT_CHUNK_SLOTS 1024
#define GLOBAL_CHUNK_SLOTS 256

struct gc_root_chunk {
  struct gc_root_chunk *prev, *next;
  gc_ref slots[ROOT_CHUNK_SLOTS];
};

struct gc_scope_record {
  struct gc_root_chunk *chunk; /* where the scope's first slot goes */
  uint32_t top;
  uint32_t serial;
};

struct gc_global_chunk {
  struct gc_global_chunk *next;
  uint32_t used;
  uint64_t in_use[GC_BITMAP_WORDS(GLOBAL_CHUNK_SLOTS)];
  gc_ref slots[GLOBAL_CHUNK_SLOTS];
};

static void announce_area(gc_heap *heap, void *start, size_t bytes,
                          bool adding) {
  if (heap->ops->root_area)
    heap->ops->root_area(heap->collector, start, bytes, adding);
}

void gc_roots_init(gc_heap *heap) {
  announce_area(heap, heap->pinned, sizeof heap->pinned, true);
}

void gc_roots_free(gc_heap *heap) {
  struct gc_root_chunk *chunk = heap->root_first;
  while (chunk) {
    struct gc_root_chunk *next = chunk->next;
    announce_area(heap, chunk->slots, sizeof chunk->slots, false);
    gc_sys_free(chunk);
    chunk = next;
  }
  announce_area(heap, heap->pinned, sizeof heap->pinned, false);
  gc_vector_free(&heap->scopes);
  heap->root_first = heap->root_current = NULL;
}

void gc_globals_free(gc_heap *heap) {
  struct gc_global_chunk *globals = heap->shared->globals;
  while (globals) {
    struct gc_global_chunk *next = globals->next;
    announce_area(heap, globals->slots, sizeof globals->slots, false);
    gc_sys_free(globals);
    globals = next;
  }
  heap->shared->globals = NULL;
}

/* A collector that scans root areas whole (one with a root_area hook:
 * Boehm's conservative marker) would see the slots a closed scope dropped;
 * a stale slot must not keep garbage alive, so they are cleared. The others
 * visit only the slots below the top (gc_visit_roots) and need nothing. */
static void clear_dropped_slots(gc_heap *heap,
                                const struct gc_scope_record *record) {
  struct gc_root_chunk *chunk =
      record->chunk ? record->chunk : heap->root_first;
  uint32_t from = record->chunk ? record->top : 0;
  while (chunk) {
    uint32_t to =
        chunk == heap->root_current ? heap->root_top : ROOT_CHUNK_SLOTS;
    if (to > from)
      memset(&chunk->slots[from], 0, (to - from) * sizeof(gc_ref));
    if (chunk == heap->root_current)
      break;
    chunk = chunk->next;
    from = 0;
  }
}

gc_scope gc_scope_open(gc_heap *heap) {
  gc_scope failed = {UINT32_MAX, 0};
  GC_REQUIRE_HEAP(heap, "gc_scope_open");
  if (gc_api_enter(heap, NULL, "gc_scope_open"))
    return failed;
  if (!gc_vector_reserve(&heap->scopes, heap->scopes.count + 1)) {
    gc_trap_raise(heap, GC_TRAP_OOM, "gc_scope_open: no memory for scope %zu",
                  heap->scopes.count);
    return failed;
  }
  struct gc_scope_record *record = &heap->scopes.items[heap->scopes.count];
  record->chunk = heap->root_current;
  record->top = heap->root_top;
  record->serial = ++heap->scope_serial;
  return (gc_scope){(uint32_t)heap->scopes.count++, record->serial};
}

/* Moves the root stack to its next chunk, making one if needed. */
static int next_root_chunk(gc_heap *heap) {
  struct gc_root_chunk *next =
      heap->root_current ? heap->root_current->next : heap->root_first;
  if (!next) {
    next = gc_sys_malloc(sizeof *next);
    if (!next)
      return -1;
    next->prev = heap->root_current;
    next->next = NULL;
    memset(next->slots, 0, sizeof next->slots);
    if (heap->root_current)
      heap->root_current->next = next;
    else
      heap->root_first = next;
    announce_area(heap, next->slots, sizeof next->slots, true);
  }
  heap->root_current = next;
  heap->root_top = 0;
  return 0;
}

gc_ref *gc_root(gc_heap *heap, gc_ref v) {
  if (gc_api_enter(heap, v, "gc_root"))
    return NULL;
  if (GC_UNLIKELY(heap->scopes.count == 0)) {
    gc_trap_raise(heap, GC_TRAP_MISUSE,
                  "gc_root: no scope is open (gc_scope_open)");
    return NULL;
  }
  if (GC_UNLIKELY(!heap->root_current || heap->root_top == ROOT_CHUNK_SLOTS) &&
      next_root_chunk(heap)) {
    gc_trap_raise(heap, GC_TRAP_OOM, "gc_root: no memory for more root slots");
    return NULL;
  }
  gc_ref *slot = &heap->root_current->slots[heap->root_top++];
  *slot = v;
  return slot;
}

void gc_scope_close(gc_heap *heap, gc_scope scope) {
  if (gc_api_enter(heap, NULL, "gc_scope_close"))
    return;
  if (heap->scopes.count == 0 || scope.depth != heap->scopes.count - 1 ||
      heap->scopes.items[scope.depth].serial != scope.serial) {
    if (scope.depth < heap->scopes.count &&
        heap->scopes.items[scope.depth].serial == scope.serial)
      gc_trap_raise(
          heap, GC_TRAP_MISUSE,
          "gc_scope_close: scope %u is not the innermost open scope (%zu "
          "scopes open); close inner scopes first",
          scope.depth, heap->scopes.count);
    else
      gc_trap_raise(
          heap, GC_TRAP_MISUSE,
          "gc_scope_close: not an open scope (closed already, or never "
          "opened)");
    return;
  }
  struct gc_scope_record *record = &heap->scopes.items[--heap->scopes.count];
  if (heap->ops->root_area)
    clear_dropped_slots(heap, record);
  heap->root_current = record->chunk;
  heap->root_top = record->top;
}

/* A free global slot holding v, or NULL if memory ran out. Heap lock held:
 * the globals are shared by the heap's threads. */
static gc_ref *take_global_slot(gc_heap *heap, gc_ref v) {
  struct gc_global_chunk *chunk = heap->shared->globals;
  while (chunk && chunk->used == GLOBAL_CHUNK_SLOTS)
    chunk = chunk->next;
  if (!chunk) {
    chunk = gc_sys_calloc(1, sizeof *chunk);
    if (!chunk)
      return NULL;
    chunk->next = heap->shared->globals;
    heap->shared->globals = chunk;
    announce_area(heap, chunk->slots, sizeof chunk->slots, true);
  }
  for (uint32_t word = 0; word < GLOBAL_CHUNK_SLOTS / 64; word++) {
    if (chunk->in_use[word] == UINT64_MAX)
      continue;
    uint32_t bit = (uint32_t)__builtin_ctzll(~chunk->in_use[word]);
    chunk->in_use[word] |= UINT64_C(1) << bit;
    chunk->used++;
    gc_ref *slot = &chunk->slots[word * 64 + bit];
    *slot = v;
    return slot;
  }
  assert(!"a chunk with used < capacity has a free bit");
  return NULL;
}

gc_ref *gc_global(gc_heap *heap, gc_ref v) {
  GC_REQUIRE_HEAP(heap, "gc_global");
  if (gc_api_enter(heap, v, "gc_global"))
    return NULL;
  /* v is unrooted while this thread waits for the lock (it counts as
   * blocked): pinned, as an argument of the call. */
  assert(heap->npinned < sizeof heap->pinned / sizeof heap->pinned[0]);
  uint32_t pin = heap->npinned++;
  heap->pinned[pin] = v;
  gc_heap_lock(heap);
  gc_ref *slot = take_global_slot(heap, heap->pinned[pin]);
  gc_heap_unlock(heap);
  heap->pinned[pin] = NULL;
  heap->npinned--;
  if (!slot)
    gc_trap_raise(heap, GC_TRAP_OOM, "gc_global: no memory for a global slot");
  return slot;
}

/* "" if slot was a global in use and is now free, else why not. Heap lock
 * held. */
static const char *release_global_slot(gc_heap *heap, gc_ref *slot) {
  for (struct gc_global_chunk *chunk = heap->shared->globals; chunk;
       chunk = chunk->next) {
    if (slot < chunk->slots || slot >= chunk->slots + GLOBAL_CHUNK_SLOTS)
      continue;
    size_t index = (size_t)(slot - chunk->slots);
    if (!gc_bit_test(chunk->in_use, index))
      return "freed twice";
    gc_bit_clear(chunk->in_use, index);
    chunk->used--;
    *slot = NULL;
    return "";
  }
  return "not a global slot";
}

void gc_global_free(gc_heap *heap, gc_ref *slot) {
  if (gc_api_enter(heap, NULL, "gc_global_free"))
    return;
  gc_heap_lock(heap);
  const char *why = release_global_slot(heap, slot);
  gc_heap_unlock(heap);
  if (*why)
    gc_trap_raise(heap, GC_TRAP_MISUSE, "gc_global_free: %p: %s", (void *)slot,
                  why);
}

/* One handle's scope slots and pinned arguments. */
static void visit_handle_roots(gc_heap *heap,
                               void (*visit)(gc_ref *slot, void *ctx),
                               void *ctx) {
  if (heap->root_current) {
    for (struct gc_root_chunk *chunk = heap->root_first;; chunk = chunk->next) {
      uint32_t n =
          chunk == heap->root_current ? heap->root_top : ROOT_CHUNK_SLOTS;
      for (uint32_t i = 0; i < n; i++)
        if (chunk->slots[i])
          visit(&chunk->slots[i], ctx);
      if (chunk == heap->root_current)
        break;
    }
  }
  for (uint32_t i = 0; i < heap->npinned; i++)
    if (heap->pinned[i])
      visit(&heap->pinned[i], ctx);
}

void gc_visit_roots(gc_heap *heap, void (*visit)(gc_ref *slot, void *ctx),
                    void *ctx) {
  struct gc_heap_shared *shared = heap->shared;
  /* The world is stopped, or this is the last handle (T3 in threads.c):
   * the list cannot change. */
  if (shared->handles)
    for (gc_heap *h = shared->handles; h; h = h->next)
      visit_handle_roots(h, visit, ctx);
  else
    visit_handle_roots(heap, visit, ctx);
  for (struct gc_global_chunk *chunk = shared->globals; chunk;
       chunk = chunk->next)
    for (uint32_t i = 0; i < GLOBAL_CHUNK_SLOTS; i++)
      if (chunk->slots[i])
        visit(&chunk->slots[i], ctx);
}
