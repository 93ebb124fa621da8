/* tracing-testing.h — test-only hooks of the tracing collector. Not part of
 * the stable API: they exist to break the collector's invariants on purpose
 * and check that verify=1 catches each break with a trap naming the
 * address. Every hook does nothing on a heap of another collector. */
#ifndef GC_TRACING_TESTING_H
#define GC_TRACING_TESTING_H

#ifndef GCHEAP_TESTING
#error "tracing-testing.h is for tests: link gcheap_testing, the test build"
#endif

#include <gcheap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calls fn(heap, ud) in every collection right after marking, before the
 * verify=1 checks and before anything is freed. fn NULL removes it. */
void gc_tracing_test_after_mark(gc_heap *heap,
                                void (*fn)(gc_heap *heap, void *ud), void *ud);
/* Clears obj's mark (use from an after-mark hook: breaks "every field of a
 * marked object points to a marked object"). */
void gc_tracing_test_unmark(gc_heap *heap, gc_ref obj);
/* Runs a resource's destructor now, while it may still be reachable
 * (breaks "a reachable resource has not been destroyed" and, when it dies,
 * "a destructor runs at most once"). */
void gc_tracing_test_destroy_now(gc_heap *heap, gc_ref resource);
/* Poisons an object's memory as if it had been freed, while the collector
 * still lists it (breaks "the sweep never reads an object it freed"). */
void gc_tracing_test_poison(gc_heap *heap, gc_ref obj);
/* True if addr lies in memory the collector holds for objects. */
bool gc_tracing_test_in_heap(gc_heap *heap, const void *addr);
/* The start of the block (32 KiB) that a small object lies in. */
const void *gc_tracing_test_block_of(gc_heap *heap, gc_ref obj);
/* The current heap target and mapped bytes (for the sizing tests). */
size_t gc_tracing_test_mapped_bytes(gc_heap *heap);
/* The bytes of dead large objects' mappings held for reuse. */
uint64_t gc_tracing_test_large_cached_bytes(gc_heap *heap);
/* A collection as the allocation path runs it: minor, unless a full one
 * is due. */
void gc_tracing_test_collect_minor(gc_heap *heap);
/* The room over live bytes that a full collection gives a heap of this
 * many attached threads at these rates in bytes per second
 * (tracing-sizing.c; 0 = not measured yet) and this heap-expansiveness. */
uint64_t gc_tracing_test_room(uint64_t live, uint32_t threads,
                              double allocation_rate, double collection_speed,
                              double expansiveness);
/* Sets the heap policy's measured rates (bytes per second) and stops it
 * measuring them, so that the room it gives is known. */
void gc_tracing_test_set_rates(gc_heap *heap, double allocation_rate,
                               double collection_speed);
/* How many collections marked with helper threads (gc-threads > 1). */
uint64_t gc_tracing_test_parallel_marks(gc_heap *heap);
/* Marks with gc-threads > 1 call helpers once the collecting thread has
 * marked this many objects alone: 4096 by default in the test build (the
 * library's PARALLEL_AFTER, tracing.h, is far larger), so that the
 * suite's graphs are marked in parallel. */
void gc_tracing_test_set_parallel_after(gc_heap *heap, uint64_t objects);
/* Packets of references that markers sent to the owners of the objects,
 * over the heap's life (tracing-parallel.c). */
uint64_t gc_tracing_test_packets_sent(gc_heap *heap);
/* Makes helper marker `helper` (1 .. gc-threads - 1; 0: none) sleep ns
 * for each object it marks (after each packet of work): a slow core. */
void gc_tracing_test_slow_marker(gc_heap *heap, uint32_t helper, uint64_t ns);
/* Makes each helper marker's nth system allocation in each parallel mark
 * fail, and every one after it (0: none): gc_test_fail_allocation counts
 * per thread, and does not reach the helpers. */
void gc_tracing_test_fail_helper_allocations(gc_heap *heap, long nth);
/* Marker i's share of the heap in the next parallel mark (0: the
 * collecting thread's; 0 before the first parallel mark). */
double gc_tracing_test_marker_share(gc_heap *heap, uint32_t marker);

#endif
