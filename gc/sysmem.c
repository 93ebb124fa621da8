/* sysmem.c — every system allocation gcheap makes, in one place, so that
 * the test build (GCHEAP_TESTING, gcheap-testing.h) can make the Nth one
 * fail. The counters are per thread: two heaps on two threads do not see
 * each other's faults. */
#include "collector-api.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifdef GCHEAP_TESTING
#include "gcheap-testing.h"

static _Thread_local long allocations_made;
static _Thread_local long fail_from; /* 0: no fault injected */

void gc_test_fail_allocation(long nth) {
  allocations_made = 0;
  fail_from = nth;
}

long gc_test_allocation_count(void) {
  return allocations_made;
}

void gc_test_allocation_reset(void) {
  allocations_made = 0;
  fail_from = 0;
}

/* Counts one system allocation; true if it is to fail. */
static bool injected_failure(void) {
  allocations_made++;
  return fail_from && allocations_made >= fail_from;
}

/* Process-wide: a mapping may be given back by another thread. */
static long long mapped_bytes;

long long gc_test_mapped_bytes(void) {
  return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
}

static void count_mapped(long long bytes) {
  __atomic_fetch_add(&mapped_bytes, bytes, __ATOMIC_RELAXED);
}
#else
static inline bool injected_failure(void) {
  return false;
}

static inline void count_mapped(long long bytes) {
  (void)bytes;
}
#endif

void *gc_sys_malloc(size_t bytes) {
  return injected_failure() ? NULL : malloc(bytes);
}

void *gc_sys_calloc(size_t count, size_t bytes) {
  return injected_failure() ? NULL : calloc(count, bytes);
}

void *gc_sys_realloc(void *ptr, size_t bytes) {
  return injected_failure() ? NULL : realloc(ptr, bytes);
}

void gc_sys_free(void *ptr) {
  free(ptr);
}

void *gc_sys_map(size_t bytes) {
  if (injected_failure())
    return NULL;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  count_mapped((long long)bytes);
  return p;
}

void gc_sys_populate(void *ptr, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  (void)madvise(ptr, bytes, MADV_POPULATE_WRITE);
#else
  (void)ptr;
  (void)bytes;
#endif
}

void gc_sys_unmap(void *ptr, size_t bytes) {
  if (ptr && bytes && munmap(ptr, bytes) == 0)
    count_mapped(-(long long)bytes);
}

/* Maps alignment more than asked and gives back the misaligned head and
 * the unused tail. */
void *gc_sys_map_aligned(size_t bytes, size_t alignment,
                         size_t huge_pages_from) {
  assert(alignment >= GC_PAGE_BYTES && !(alignment & (alignment - 1)));
  assert(bytes % GC_PAGE_BYTES == 0);
  if (bytes > SIZE_MAX - alignment)
    return NULL;
  char *raw = gc_sys_map(bytes + alignment);
  if (!raw)
    return NULL;
  char *aligned =
      (char *)(((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1));
  size_t head = (size_t)(aligned - raw);
  gc_sys_unmap(raw, head);
  gc_sys_unmap(aligned + bytes, alignment - head);
  /* Both ways: where the system's huge pages are "always" on, the part
   * before huge_pages_from would otherwise get them too. */
  size_t small = huge_pages_from < bytes ? huge_pages_from : bytes;
  if (small)
    madvise(aligned, small, MADV_NOHUGEPAGE);
  if (small < bytes)
    madvise(aligned + small, bytes - small, MADV_HUGEPAGE);
  return aligned;
}
