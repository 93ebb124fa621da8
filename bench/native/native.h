/* native.h — the allocator under the native baselines.
 *
 * The native programs are compiled twice from the same source: with
 * NATIVE_BOEHM they allocate with Boehm GC's own API (GC_MALLOC for objects
 * holding pointers, GC_MALLOC_ATOMIC for the array of doubles) and never
 * free; without it they use malloc and free every tree explicitly. They
 * print the same "key: value" lines and checksums as "gcheap bench".
 */
#ifndef GCHEAP_BENCH_NATIVE_H
#define GCHEAP_BENCH_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef NATIVE_BOEHM
/* Threads (mt-gcbench) are created through Boehm, which registers them
 * and, at the first one, starts its parallel markers. */
#define GC_THREADS 1
#include <gc.h>
#define native_free(ptr) ((void)0)
#define NATIVE_FREES_EXPLICITLY false
#ifdef NATIVE_BOEHM_INLINE
/* Boehm as its fastest users run it (NATIVE_BOEHM_INLINE): allocation
 * inlined from a free list per thread (gc_inline.h's GC_MALLOC_WORDS),
 * refilled by GC_generic_malloc_many; interior pointers off, so that
 * libgc adds no byte at the end of each object and GC_MALLOC_WORDS(n)
 * may hand out exactly n words (gc_inline.h requires one or the other);
 * linked statically, and its parallel markers started (native-main.c). */
#include <gc/gc_inline.h>
/* Each thread's free lists: allocated uncollectable, so that the
 * collector traces them (the objects on them are not garbage). */
extern __thread void **native_free_lists;
void **native_thread_free_lists(void);
static inline void *native_alloc(size_t bytes) {
  void **lists =
      native_free_lists ? native_free_lists : native_thread_free_lists();
  void *obj;
  GC_MALLOC_WORDS(obj, (bytes + sizeof(void *) - 1) / sizeof(void *), lists);
  return obj;
}
/* Large arrays only: the inline path is for small objects. */
#define native_alloc_atomic(bytes) GC_MALLOC_ATOMIC(bytes)
#else
/* GC_MALLOC returns zeroed memory; the atomic array is written before it is
 * read. */
#define native_alloc(bytes) GC_MALLOC(bytes)
#define native_alloc_atomic(bytes) GC_MALLOC_ATOMIC(bytes)
#endif
#else
/* Callers initialise every field, so plain malloc is enough. */
#define native_alloc(bytes) malloc(bytes)
#define native_alloc_atomic(bytes) malloc(bytes)
#define native_free(ptr) free(ptr)
#define NATIVE_FREES_EXPLICITLY true
#endif

struct native_result {
  uint64_t checksum;
  bool ok;
  char message[200];
};

void native_fail(struct native_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Exits with status 3 and a message when memory is exhausted. */
void *native_check_alloc(void *ptr);

/* The workloads; argc/argv are the workload's own (argv[0] its name).
 * Return -1 on a usage error. */
int native_gcbench(int argc, char **argv, struct native_result *result);
int native_binary_trees(int argc, char **argv, struct native_result *result);
int native_mt_gcbench(int argc, char **argv, struct native_result *result);

#endif
