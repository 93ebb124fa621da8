/* refcount-testing.h — test-only hooks into the refcount collector. Not part
 * of the stable API: they exist to break the collector's invariants on
 * purpose and check that verify=1 catches it. Every hook traps MISUSE if the
 * heap is not a refcount heap. */
#ifndef GC_REFCOUNT_TESTING_H
#define GC_REFCOUNT_TESTING_H

#ifndef GCHEAP_TESTING
#error "refcount-testing.h is for tests: link gcheap_testing, the test build"
#endif

#include <gcheap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The stored (exact) count of obj: references from fields of old objects
 * only (a young object's fields are counted when it is promoted, at the
 * next collection point), roots excluded. */
uint64_t gc_refcount_test_count(gc_heap *heap, gc_ref obj);
/* Overwrites obj's stored count (below the overflow limit) — breaks the
 * heap on purpose. */
void gc_refcount_test_set_count(gc_heap *heap, gc_ref obj, uint32_t count);
/* Entries in the zero count table and in the candidate buffer. */
size_t gc_refcount_test_zct_length(gc_heap *heap);
size_t gc_refcount_test_candidates(gc_heap *heap);
/* Makes gc_array_copy's barrier decrement the old value before it
 * increments the new one (the Wasmtime bug), so that its regression test can
 * show it would catch it. */
void gc_refcount_test_decrement_first(gc_heap *heap, bool on);
/* Lowers the stored count at which counts move to the overflow table (at
 * least 2; default 2^21 - 1, RC_COUNT_MASK). Call before any allocation. */
void gc_refcount_test_set_count_limit(gc_heap *heap, uint32_t limit);
/* Sets how many objects trial deletion visits at an allocation's collection
 * point before it leaves the rest of the candidates for the next (default
 * RC_CYCLE_WORK_BUDGET; at least one candidate is always taken), and counts
 * the runs that stopped there. */
void gc_refcount_test_set_cycle_budget(gc_heap *heap, size_t objects);
uint64_t gc_refcount_test_cycle_runs_cut(gc_heap *heap);
/* Sets how many objects an allocation's collection point, or a drain
 * pause, frees at most (default: budget / 16 less twice what the point
 * promoted; a drain pause owes the rest of what it promoted plus budget /
 * 64, at least budget / 16), and counts the trial
 * deletion runs that began with dead objects still waiting in the ZCT or on the
 * drain's stack. */
void gc_refcount_test_set_drain_budget(gc_heap *heap, uint64_t objects);
uint64_t gc_refcount_test_cycle_runs_before_drained(gc_heap *heap);
/* Makes the next allocation an allocation's collection point (a bounded
 * drain; trial deletion only if due), as a spent budget does. */
void gc_refcount_test_end_budget(gc_heap *heap);
/* A drain pause now (refcount.c): at most max_frees objects of the ZCT's
 * backlog freed, no young object collected. And how many drain pauses the
 * heap has made, these included. */
void gc_refcount_test_drain_pause(gc_heap *heap, uint64_t max_frees);
uint64_t gc_refcount_test_drain_pauses(gc_heap *heap);
/* The old objects alive by the counts: a drain pause's frees show here at
 * once, where the heap's statistics wait for the next point. */
uint64_t gc_refcount_test_old_objects(gc_heap *heap);
/* The bytes of dead large objects' mappings held for reuse. */
uint64_t gc_refcount_test_large_cached_bytes(gc_heap *heap);
/* True if obj waits in the ZCT marked as counted only by objects the last
 * collection point promoted from the roots (RC_NEW_REFERRERS). */
bool gc_refcount_test_new_referrers(gc_heap *heap, gc_ref obj);
/* True if obj's count is held in the overflow table. */
bool gc_refcount_test_overflowed(gc_heap *heap, gc_ref obj);
/* How many times gc_collect gave a block's pages back to the system, and
 * the bytes of the heap that are resident (rc_heap_bytes less those pages). */
uint64_t gc_refcount_test_blocks_released(gc_heap *heap);
/* The length (in words) of the log of heap's thread (refcount-stores.c):
 * what its stores since the last collection point copied. */
size_t gc_refcount_test_log_words(gc_heap *heap);
uint64_t gc_refcount_test_resident_bytes(gc_heap *heap);

#endif
