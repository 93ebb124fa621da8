/* collector-api.h — the one interface between gc/ and a collector.
 *
 * gc/ owns the public API, the object header's type word, the type registry,
 * the roots, configuration, statistics and traps. A collector owns memory:
 * it allocates objects, runs barriers, collects, and frees. It reaches gc/
 * only through this header, and gc/ reaches it only through the table of
 * functions (struct gc_collector_ops) that it exports.
 */
#ifndef GC_COLLECTOR_API_H
#define GC_COLLECTOR_API_H

/* Internal to gcheap (and its test build): a program includes <gcheap.h>,
 * and this header is not installed. */
#ifndef GC_IMPL
#error "collector-api.h is internal to gcheap: include <gcheap.h>"
#endif

#include <gcheap.h>
#include "bitmap.h"
#include "vector.h"
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GC_LIKELY(x) __builtin_expect(!!(x), 1)
#define GC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- Object layout -------------------------------------------------------
 *
 * Every object starts with one 8-byte header word. Struct fields follow at
 * 8-byte strides; an array has a second header word holding its length, then
 * its elements (8 bytes each, 1 byte for I8). Sizes are rounded up to 8. */
struct gc_obj {
  /* Owned by gc/: the type number (an index into heap->types.items) in the
   * low 16 bits, and above them a copy of the type's REF fields: bit 16 + i
   * is set when field i (i < 16) of a struct type is a REF, so that
   * gcheap.h's gc_get_ref and gc_set_ref check a field from the header
   * alone. An object is made with its type's type_word (gc_type_info);
   * read the number with gc_obj_type. */
  uint32_t type_word;
  uint32_t gc_word; /* owned by the collector: mark bits, a count, ... */
};

/* The type number in a type word. A built-in type's word is its number
 * (no REF bits) and a user type's is at least its number, so comparing a
 * word with GC_TYPE_RESOURCE, GC_TYPE_WEAK or GC_FIRST_USER_TYPE tells the
 * same as comparing the number. */
#define GC_TYPE_NUMBER_MASK UINT32_C(0xffff)
static inline uint32_t gc_type_number(uint32_t type_word) {
  return type_word & GC_TYPE_NUMBER_MASK;
}
static inline uint32_t gc_obj_type(const struct gc_obj *obj) {
  return gc_type_number(obj->type_word);
}

struct gc_array {
  struct gc_obj header;
  uint64_t length;
};

/* The built-in object shapes. Resources and weak references are objects of
 * built-in types that every heap registers first. */
enum gc_shape {
  GC_SHAPE_STRUCT,
  GC_SHAPE_ARRAY,
  GC_SHAPE_RESOURCE,
  GC_SHAPE_WEAK,
};

#define GC_TYPE_RESOURCE ((gc_type)1)
#define GC_TYPE_WEAK ((gc_type)2)
#define GC_FIRST_USER_TYPE 3

struct gc_resource {
  struct gc_obj header;
  void *ptr;
  void (*destroy)(void *ptr, void *ud);
  void *ud;
  uint64_t destroyed; /* 1 once destroy has run */
};

/* A weak reference's target is not traced. Collectors clear it (set it to
 * NULL) when the target is reclaimed. */
struct gc_weak {
  struct gc_obj header;
  gc_ref target;
};

struct gc_type_info {
  char *name;
  enum gc_shape shape;
  gc_kind elem;         /* arrays: the element kind */
  uint32_t nfields;     /* structs: number of fields */
  uint32_t nrefs;       /* structs: number of REF fields */
  uint32_t size;        /* structs, resources, weaks: bytes with header */
  uint32_t type_word;   /* what an object of the type has in its header */
  gc_kind *kinds;       /* structs: kind of each field */
  uint32_t *ref_fields; /* structs: the indices of the REF fields */
};

/* A growable array of object pointers: a stack, a buffer, a side list. */
struct gc_obj_vector GC_VECTOR(struct gc_obj *);

static inline void *gc_obj_fields(struct gc_obj *obj) {
  return obj + 1;
}
static inline void *gc_array_elems(struct gc_obj *arr) {
  return (struct gc_array *)arr + 1;
}
static inline size_t gc_kind_size(gc_kind kind) {
  return kind == GC_KIND_I8 ? 1 : 8;
}
static inline size_t gc_round8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* ---- The heap, as collectors see it ------------------------------------ */

struct gc_options {
#define GC_OPTION(field, key, parser, def, min, max, help) uint64_t field;
#include "options.def"
#undef GC_OPTION
};

struct gc_collector; /* each collector defines its own */
/* One thread's part of a collector (its allocation region, its barrier's
 * buffers): each collector defines its own, and gc/ holds one per attached
 * thread. The mutator operations below run on that thread only. */
struct gc_mutator;

/* The type registry: heap types, indexed by an object's header type. Its
 * items are reserved for GC_MAX_TYPES at once and never move, so that a
 * thread may read them while another registers a type (gc_type_count). */
#define GC_MAX_TYPES (UINT32_C(1) << 16)
struct gc_type_registry GC_VECTOR(struct gc_type_info);

/* What a collector is given when it is created: all of the heap it may
 * use. The heap itself (struct gc_heap) is gc/'s; a collector holds the
 * handle only to pass it to the functions of this header (traps, roots,
 * destructors, statistics, the barrier filter). */
struct gc_collector_env {
  gc_heap *heap;
  /* The heap's options, parsed and range-checked; options->verify is the
   * one verify flag. */
  const struct gc_options *options;
  const struct gc_type_registry *types;
};

/* ---- What a collector provides ------------------------------------------ */

struct gc_collector_ops {
  const char *name;
  /* What the options mean for this collector where that differs from
   * options.def's help, for --help (NULL: nothing to add). */
  const char *option_notes;
  /* A new collector for the heap env describes. NULL with a reason in err
   * on failure. */
  struct gc_collector *(*create)(const struct gc_collector_env *env, char *err,
                                 size_t errlen);
  /* Runs every pending destructor (gc_run_destructor) and frees everything.
   * Every mutator has detached. */
  void (*destroy)(struct gc_collector *c);
  /* The part of the collector for the thread of handle: called for the
   * creating thread right after create, and in gc_thread_attach, with the
   * heap lock held. NULL with a reason in err on failure (a collector
   * that keeps one thread per heap refuses a second). */
  struct gc_mutator *(*attach)(struct gc_collector *c, gc_heap *handle,
                               char *err, size_t errlen);
  /* The thread leaves, with the heap lock held: whatever it holds (an
   * allocation region, buffered barrier work) goes back to the heap. */
  void (*detach)(struct gc_mutator *m);
  /* An object of bytes (a multiple of 8, at least 16) whose header type
   * word is set to type_word (its type's gc_type_info.type_word: gc/ has it
   * at hand, in the inline table's line it read the size from), whose
   * gc_word is the collector's, and whose other bytes are zero. May collect
   * first. On exhaustion: gc_trap_raise(GC_TRAP_OOM) and NULL. */
  struct gc_obj *(*allocate)(struct gc_mutator *m, uint32_t type_word,
                             size_t bytes);
  /* The write barrier for one reference store *slot = v inside obj. NULL
   * means a plain store. Another thread may store into the same object at
   * the same time: the barrier must stay correct under any interleaving. */
  void (*write_ref)(struct gc_mutator *m, struct gc_obj *obj, gc_ref *slot,
                    gc_ref v);
  /* n reference stores dst[k] = src[k] with memmove semantics (dst and src
   * may overlap, both inside objects). NULL means memmove. */
  void (*copy_refs)(struct gc_mutator *m, struct gc_obj *dst_obj, gc_ref *dst,
                    const gc_ref *src, size_t n);
  /* n reference stores dst[k] = v. NULL means a plain loop. */
  void (*fill_refs)(struct gc_mutator *m, struct gc_obj *obj, gc_ref *dst,
                    size_t n, gc_ref v);
  /* A full collection (bracketed by gc_pause_begin/gc_pause_end, which stop
   * the world), called with the heap lock held. */
  void (*collect)(struct gc_mutator *m);
  /* verify=1: 0 if ref is an allocated, live object of this collector's heap
   * on an object boundary; else -1 with what is wrong in why. */
  int (*check_ref)(struct gc_collector *c, gc_ref ref, char *why,
                   size_t whylen);
  /* Optional hooks for collectors that keep weak references their own way
   * (NULL: the plain field accesses). weak_init runs on the thread that
   * allocated weak, with weak and target roots (it may take the heap
   * lock, and so let a collection run meanwhile). */
  void (*weak_init)(struct gc_mutator *m, struct gc_weak *weak, gc_ref target);
  gc_ref (*weak_get)(struct gc_collector *c, struct gc_weak *weak);
  /* Optional, for a collector that scans root areas whole instead of
   * visiting the roots (Boehm's conservative marker): told of every memory
   * area that holds root slots (adding is false when the area goes away).
   * With it, gc/ also zeroes the slots a closed scope drops, which such a
   * scan would otherwise see. */
  void (*root_area)(struct gc_collector *c, void *start, size_t bytes,
                    bool adding);
};

/* Each collector exports its table as gc_NAME_collector, NAME as in
 * collectors/collectors.def (gc/dispatch.c). */

/* ---- What gc/ offers collectors ----------------------------------------- */

/* Raises a trap (printf-style message; not "gc_trap", the public enum). Returns
 * only if the user's handler returns; the caller then fails the operation
 * cleanly. A handler may longjmp, so the heap must be consistent when this is
 * called, except inside a collection (between gc_pause_begin and
 * gc_pause_end) or a destructor: there the trap is held back, this returns
 * at once, and gc/ calls the handler when the public call that collected
 * returns (gc_raise_pending_traps). */
void gc_trap_raise(gc_heap *heap, gc_trap kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* How many types are registered. Another thread may be registering one:
 * the acquire load makes the new type's info visible with its index. */
static inline uint32_t gc_type_count(const struct gc_type_registry *types) {
  return (uint32_t)__atomic_load_n(&types->count, __ATOMIC_ACQUIRE);
}

static inline const struct gc_type_info *
gc_type_info_of(const struct gc_type_registry *types, struct gc_obj *obj) {
  return &types->items[gc_obj_type(obj)];
}

/* The header type word of a new object of type (a registered number). */
static inline uint32_t gc_type_word(const struct gc_type_registry *types,
                                    uint32_t type) {
  return types->items[type].type_word;
}

/* The size in bytes of a well-formed object, header included. */
static inline size_t gc_object_size(const struct gc_type_registry *types,
                                    struct gc_obj *obj) {
  const struct gc_type_info *t = gc_type_info_of(types, obj);
  if (t->shape != GC_SHAPE_ARRAY)
    return t->size;
  return gc_round8(sizeof(struct gc_array) +
                   ((struct gc_array *)obj)->length * gc_kind_size(t->elem));
}

/* Tells gc_set_ref which stores need the collector's write_ref: those into
 * an object whose (gc_word & mask) == value; every other store is a plain
 * one, made inline (a generational barrier's young object, refcount's
 * uncounted young object). The default, for a collector with a write_ref,
 * is every store (mask 0, value 0); without one, none, and such a collector
 * must not set a filter. A collector may change value at any time
 * (tracing: the mark epoch). */
void gc_set_barrier_filter(gc_heap *heap, uint32_t mask, uint32_t value);

/* The public part of a handle (gcheap.h's struct gc_heap_inline), where a
 * collector publishes how its thread allocates, so that gcheap.h's inline
 * allocation takes the same memory without a call. A collector writes only
 * these fields of it, each a way to allocate (gcheap.h says which rules the
 * inline path keeps):
 *   - bump: one region of zeroed memory, where an object is made by
 *     writing its type word (tracing's current hole, null's region);
 *   - cells, cell_lists, cell_budget, cell_gc_word: free cells per small
 *     size class, as a run (refcount's size classes) or a list linked
 *     through the cells' first word (boehm's GC_malloc_many batches, of
 *     objects Boehm scans: row 0), the bytes the thread may still allocate
 *     before the collector wants a word, and the collector's word of a new
 *     object.
 * A collector that publishes neither leaves them zero, and every
 * allocation comes to it. */
struct gc_heap_inline *gc_handle_inline(gc_heap *handle);

/* heap's collector if ops is its table, else NULL: for a collector's test
 * hooks, which receive a gc_heap * from the test. */
struct gc_collector *gc_collector_of(gc_heap *heap,
                                     const struct gc_collector_ops *ops);

/* ---- Threads ------------------------------------------------------------
 *
 * A collector's shared state (its block lists, its large objects, its
 * statistics) is changed by one thread at a time: under the heap lock, or
 * while the world is stopped. A mutator's own state needs neither. */

/* The heap lock. self is the calling thread's handle. While the thread
 * waits for the lock it counts as blocked, so that the holder may stop the
 * world meanwhile. Not recursive. */
void gc_heap_lock(gc_heap *self);
void gc_heap_unlock(gc_heap *self);
/* Returns work(arg), run with the heap lock let go and the calling thread
 * counting as blocked: for work that reads no shared state but may take
 * long, such as faulting in fresh memory. Others may take the lock, and
 * collect, meanwhile: what the caller found under the lock may have
 * changed when this returns (with the lock held again), and the thread
 * must hold no unprepared region (its allocators may be reset). */
void *gc_heap_run_unlocked(gc_heap *self, void *(*work)(void *), void *arg);
/* The check lock: check_ref runs under it (gc/ takes it), because with
 * threads it may run at any time, outside any safepoint, when waiting for
 * the heap lock could let a collection free the objects the caller holds.
 * A collector takes it around every change, made while the world runs, to
 * what its check_ref reads; never across gc_pause_begin or gc_stop_world. */
void gc_check_lock(gc_heap *heap);
void gc_check_unlock(gc_heap *heap);
/* Stops and restarts the world like gc_pause_begin/gc_pause_end, for work
 * that is not a collection (a collector giving memory back under
 * max-heap-size). The heap lock is held. */
void gc_stop_world(gc_heap *heap);
void gc_restart_world(gc_heap *heap);
/* The number of threads a collection may mark with (gc-threads, resolved:
 * 0 became the online CPUs, at most 8). */
uint32_t gc_marker_threads(gc_heap *heap);
/* Relaxed atomic accesses for a field that another thread may read or
 * write at the same time: plain loads and stores on x86-64 and AArch64,
 * and no data race to the compiler or to ThreadSanitizer. */
#define GC_ATOMIC_LOAD(lvalue) __atomic_load_n(&(lvalue), __ATOMIC_RELAXED)
#define GC_ATOMIC_STORE(lvalue, v)                                             \
  __atomic_store_n(&(lvalue), (v), __ATOMIC_RELAXED)

/* Runs BODY with slot_var (a gc_ref *) bound to each strong reference field
 * of obj, null or not. Weak targets are not strong references: not visited. */
#define GC_FOR_EACH_REF_SLOT(types, obj, slot_var, BODY)                       \
  do {                                                                         \
    const struct gc_type_info *gc_fe_t_ = gc_type_info_of((types), (obj));     \
    if (gc_fe_t_->shape == GC_SHAPE_STRUCT) {                                  \
      gc_ref *gc_fe_f_ = (gc_ref *)gc_obj_fields(obj);                         \
      for (uint32_t gc_fe_i_ = 0; gc_fe_i_ < gc_fe_t_->nrefs; gc_fe_i_++) {    \
        gc_ref *slot_var = &gc_fe_f_[gc_fe_t_->ref_fields[gc_fe_i_]];          \
        BODY;                                                                  \
      }                                                                        \
    } else if (gc_fe_t_->shape == GC_SHAPE_ARRAY &&                            \
               gc_fe_t_->elem == GC_KIND_REF) {                                \
      gc_ref *gc_fe_e_ = (gc_ref *)gc_array_elems(obj);                        \
      uint64_t gc_fe_n_ = ((struct gc_array *)(obj))->length;                  \
      for (uint64_t gc_fe_i_ = 0; gc_fe_i_ < gc_fe_n_; gc_fe_i_++) {           \
        gc_ref *slot_var = &gc_fe_e_[gc_fe_i_];                                \
        BODY;                                                                  \
      }                                                                        \
    }                                                                          \
  } while (0)

/* Calls visit(slot, ctx) for every non-null root slot of every attached
 * thread: scope slots, globals and the arguments of the calls in progress.
 * With the world stopped (or, for the heap's last handle, in destroy). A
 * moving collector may update *slot. */
void gc_visit_roots(gc_heap *heap, void (*visit)(gc_ref *slot, void *ctx),
                    void *ctx);

/* Runs res's destructor exactly once, with calls into the heap forbidden
 * while it runs; counts it. verify=1 traps if it already ran. */
void gc_run_destructor(gc_heap *heap, struct gc_resource *res);

/* A collector calls gc_pause_begin and gc_pause_end around all of its
 * collection work, destructors and sweeping included, holding the heap
 * lock. gc_pause_begin stops the world: it returns once every other
 * attached thread is parked at a safepoint or blocked; gc_pause_end
 * restarts it. They also bracket the collection for gc_trap_raise, and
 * count it in the statistics. heap is any handle of the heap. */
uint64_t gc_pause_begin(gc_heap *heap); /* returns a start time */
void gc_pause_end(gc_heap *heap, uint64_t start);
/* For a collector whose collections gc/ does not bracket (Boehm stops its
 * threads itself): count one that began at start and ended now. */
void gc_note_collection(gc_heap *heap, uint64_t start);
/* For a collector that counts what survived rather than what died: after a
 * collection that knows exactly what is live, the freed totals become
 * allocated - live. */
void gc_note_live(gc_heap *heap, uint64_t live_objects, uint64_t live_bytes);
void gc_note_heap_bytes(gc_heap *heap, uint64_t heap_bytes);
/* For a collector that can only estimate (boehm): that fraction (0..1) of
 * what this heap allocated has been freed. The freed totals never go down:
 * an exact census (gc_note_live) may have been ahead of the estimate. */
void gc_note_freed_fraction(gc_heap *heap, double fraction);
uint64_t gc_now_ns(void);

/* verify=1 poisoning: freed memory is filled with GC_POISON_BYTE; before it is
 * reused the collector checks that it still is (a write after free breaks
 * it). gc_poison_check returns the offset of the first bad byte, or -1. */
#define GC_POISON_BYTE 0xdb
#define GC_POISON_WORD UINT64_C(0xdbdbdbdbdbdbdbdb)
void gc_poison(void *start, size_t bytes);
long gc_poison_check(const void *start, size_t bytes);

/* verify=1 quarantine (tracing, refcount): freed memory is not reused until
 * verify-quarantine more bytes have been freed after it, first in first
 * out. While a cell is quarantined it stays poisoned and is no object, so a
 * stale reference to it traps at the first API call that receives it, even
 * after any number of allocations; without the quarantine the next
 * allocation of its size would take the cell and the stale reference would
 * silently alias the new object. AddressSanitizer's quarantine is the model.
 * An entry is an address the collector chooses (low bits free for a tag)
 * and its size in bytes. */
struct gc_quarantine {
  uintptr_t *ring; /* entries, oldest at ring[head] */
  size_t head, count, capacity;
  uint64_t bytes; /* the entries' total */
  uint64_t limit; /* trimmed down to this (the verify-quarantine option) */
};
/* Adds an entry; false if it is larger than the limit (a limit of 0 holds
 * nothing) or there is no memory for it: the caller then releases the
 * memory at once (the quarantine is a best effort, never an OOM). */
bool gc_quarantine_push(struct gc_quarantine *q, uintptr_t entry, size_t bytes);
/* Releases the oldest entries, calling release(ctx, entry), which returns
 * the entry's size, until at most keep bytes remain. */
void gc_quarantine_trim(struct gc_quarantine *q, uint64_t keep,
                        size_t (*release)(void *ctx, uintptr_t entry),
                        void *ctx);
void gc_quarantine_free(struct gc_quarantine *q);
/* As the quarantine lets memory go: traps INVARIANT if [start, start +
 * bytes) lost its poison while it was held (a write after free), naming
 * start and the first broken byte, then poisons it again so that the reuse
 * check does not report it twice. */
void gc_quarantine_check_poison(gc_heap *heap, void *start, size_t bytes);

/* Memory from the system. Every internal allocation of gc/ and of the
 * collectors goes through these, so that tests can make the Nth one fail
 * (gcheap-testing.h) and check that each failure is a clean trap or error.
 * gc_sys_map returns zeroed, page-aligned memory or NULL. */
void *gc_sys_malloc(size_t bytes);
void *gc_sys_calloc(size_t count, size_t bytes);
void *gc_sys_realloc(void *ptr, size_t bytes);
void gc_sys_free(void *ptr);
void *gc_sys_map(size_t bytes);
void gc_sys_unmap(void *ptr, size_t bytes);
/* Asks the system to back [ptr, ptr + bytes) of a mapping with pages now,
 * in one call, instead of one page fault per page as it is first written. A
 * hint: where the kernel cannot (before Linux 5.14, or short of memory),
 * the pages come one fault at a time as before. */
void gc_sys_populate(void *ptr, size_t bytes);
/* bytes of zeroed memory aligned to alignment (a power of two, at least a
 * page; bytes a multiple of a page), or NULL; unmapped with gc_sys_unmap.
 * From offset huge_pages_from on (0: all of it; bytes or more: none of it)
 * the kernel is asked to back it with huge pages, and before it not to: a
 * hint, for memory that will be used whole, since a huge page is resident
 * as soon as one of its bytes is touched. */
void *gc_sys_map_aligned(size_t bytes, size_t alignment,
                         size_t huge_pages_from);

/* No object is larger (2^44 bytes: 16 TiB); gc/ checks sizes against it
 * before any collector sees them, so that no size computation overflows. */
#define GC_MAX_OBJECT_BYTES (UINT64_C(1) << 44)

/* The page sizes gcheap plans with (x86-64 and AArch64 with 4 KiB pages;
 * a larger system page only makes gcheap's releases coarser). */
#define GC_PAGE_BYTES ((size_t)4096)
#define GC_HUGE_PAGE_BYTES ((size_t)2 << 20)
/* A heap's first huge page's worth of object memory stays on small pages
 * (each collector passes this as huge_pages_from for its first mapping, 0
 * for the later ones). A huge page is zeroed and resident whole at its
 * first touch: a heap of a few objects, as an embedded interpreter or a
 * test makes, cost 2 MiB of memory and about 0.1 ms of zeroing for it (a
 * tenth of the differential fuzzer's time went to that), where small pages
 * cost only the pages touched. A heap that grows past it pays at most 512
 * small-page faults once. */
#define GC_SMALL_PAGES_FIRST GC_HUGE_PAGE_BYTES
static inline size_t gc_round_to_page(size_t bytes) {
  return (bytes + GC_PAGE_BYTES - 1) & ~(GC_PAGE_BYTES - 1);
}

/* Formats size like "256M" / "1.5G" for messages. */
const char *gc_format_size(uint64_t bytes, char *buf, size_t buflen);

#endif /* GC_COLLECTOR_API_H */
