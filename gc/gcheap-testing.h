/* gcheap-testing.h — test-only hooks. Not part of the stable API. */
#ifndef GCHEAP_TESTING_H
#define GCHEAP_TESTING_H

#ifndef GCHEAP_TESTING
#error "gcheap-testing.h is for tests: link gcheap_testing, the test build"
#endif

#include <gcheap.h>

/* Fault injection, per thread: the nth system allocation from now on
 * (malloc, calloc, realloc or mmap made by gcheap, counting from 1) fails, and
 * so does every one after it until the hook is reset with 0. */
void gc_test_fail_allocation(long nth);
/* System allocations made by gcheap on this thread since the last reset. */
long gc_test_allocation_count(void);
/* Resets the counter (and disarms the failure). */
void gc_test_allocation_reset(void);
/* Bytes gcheap has mapped and not given back, in the whole process (what
 * LeakSanitizer and valgrind do not follow): freeing every heap a test
 * made brings it back to where it was. Boehm's heap is libgc's own. */
long long gc_test_mapped_bytes(void);
/* Calls fn(heap, ud) on a thread of heap each time that thread has let the
 * heap lock go for slow work (gc_heap_run_unlocked: tracing mapping a new
 * chunk, refcount faulting in a block's huge page), before the work. The
 * thread counts as blocked meanwhile: fn must not touch the heap. fn NULL
 * removes it. */
void gc_test_while_unlocked(gc_heap *heap, void (*fn)(gc_heap *heap, void *ud),
                            void *ud);

#endif
