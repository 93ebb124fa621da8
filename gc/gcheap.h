/* gcheap.h — one garbage-collected heap interface, several collectors.
 *
 * A runtime creates a configuration, picks a collector with
 * "-C collector=NAME", creates a heap, registers its object types and then
 * allocates objects whose references are reached only through this API.
 * Every reference store goes through gc_set_ref / gc_array_copy /
 * gc_array_fill_ref so that each collector can run its write barrier.
 *
 * Rooting rule: a gc_ref held anywhere but a root slot (gc_root, gc_global)
 * or a heap field is valid only until the calling thread's next safepoint:
 * a call that may allocate or collect (gc_new_*, gc_collect), gc_safepoint
 * or gc_blocking_begin. The references passed as arguments to such a call
 * are kept alive by the call itself. A moving collector updates root slots,
 * so always re-read a rooted reference from its slot.
 *
 * Threads: a gc_heap * is one thread's handle on a heap. gc_heap_new returns
 * the creating thread's; every other thread that uses the heap attaches
 * (gc_thread_attach) and uses its own handle, never another's. Objects,
 * types and globals are shared by all threads; scopes and root slots belong
 * to their handle. A collection runs only while every attached thread is at
 * a safepoint or inside gc_blocking_begin/gc_blocking_end. A race between
 * two threads on one field yields one of the values written and never
 * breaks the heap; any other ordering is the embedder's (its own locks).
 * Separate heaps are independent (except collector=boehm, whose underlying
 * Boehm GC is process-wide).
 *
 * Every gc_heap * argument must be a handle from a successful gc_heap_new
 * or gc_thread_attach: NULL is a programming error, not a trap (a trap
 * handler belongs to a heap). gc_heap_free(NULL) and gc_thread_detach(NULL)
 * do nothing, gc_collector_name(NULL) says "(no heap)" and
 * gc_thread_attach(NULL, ...) fails with a reason in err; the calls that
 * set a heap up or inspect it (gc_type_struct, gc_type_array,
 * gc_set_trap_handler, gc_scope_open, gc_global, gc_collect, gc_get_stats,
 * gc_safepoint, gc_blocking_begin, gc_blocking_end) print "gcheap: CALL:
 * the heap is NULL ..." and abort; the allocation and field calls, on
 * every object's path, do not check and crash.
 */
#ifndef GCHEAP_H
#define GCHEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GC_HEAP_: Boehm GC's gc.h owns GC_VERSION_*, and a runtime may include
 * both headers. */
#define GC_HEAP_VERSION_MAJOR 0
#define GC_HEAP_VERSION_MINOR 3
#define GC_HEAP_VERSION_PATCH 0
#define GC_HEAP_VERSION_STRING "0.3.0"

typedef struct gc_config gc_config;
typedef struct gc_heap gc_heap;
typedef struct gc_obj *gc_ref; /* NULL is the null reference */

/* ---- Configuration: "-C key=value" ------------------------------------ */

/* A configuration holding the defaults, then the settings of the environment
 * variable GCHEAP_OPTIONS ("k=v,k=v"). Returns NULL, with a one-line reason
 * in err, if GCHEAP_OPTIONS is malformed or memory is exhausted.
 *
 * Errors, throughout: the configuration calls and gc_heap_new, which run
 * before there is a heap, return an error code with a one-line reason in
 * the caller's buffer; once a heap exists, errors are traps
 * (gc_set_trap_handler). */
gc_config *gc_config_new(char *err, size_t errlen);
void gc_config_free(gc_config *config);
/* Applies one "key=value". Returns 0, or -1 with a one-line reason in err;
 * on error the configuration is unchanged. */
int gc_config_set(gc_config *config, const char *key_eq_value, char *err,
                  size_t errlen);
/* Consumes every "-C k=v" and "-Ck=v" from argv (argv[0] is kept) and
 * compacts argv/argc. On error nothing is applied and argv is untouched. */
int gc_config_args(gc_config *config, int *argc, char **argv, char *err,
                   size_t errlen);
/* Writes the accepted options, their values and defaults, one per line. */
void gc_config_help(void *file /* FILE * */);
/* The names of the collectors this build offers, separated by ", ". */
const char *gc_collector_names(void);

/* ---- Heaps -------------------------------------------------------------- */

/* A new heap as configured (config may be NULL for the defaults). NULL with a
 * one-line reason in err on failure. */
gc_heap *gc_heap_new(const gc_config *config, char *err, size_t errlen);
/* Runs every pending destructor once, then returns all memory. heap is the
 * handle gc_heap_new returned, and every other handle has detached (else
 * GC_TRAP_MISUSE and nothing happens). */
void gc_heap_free(gc_heap *heap);
/* "tracing", "refcount", "null" or "boehm". */
const char *gc_collector_name(const gc_heap *heap);

/* ---- Threads ------------------------------------------------------------ */

/* A handle for the calling thread on the heap that any_handle belongs to.
 * NULL with a one-line reason in err if the collector or memory refuses.
 * Thread-safe: it may be called while other threads use the heap. */
gc_heap *gc_thread_attach(gc_heap *any_handle, char *err, size_t errlen);
/* The calling thread leaves the heap: its scopes must be closed (else
 * GC_TRAP_MISUSE and nothing happens), its handle is freed. The creating
 * thread's handle is not detached but freed, with the heap, by
 * gc_heap_free, once every other handle has detached. */
void gc_thread_detach(gc_heap *handle);
/* A safepoint for a loop that runs long without allocating: if another
 * thread waits to collect, this one waits for the collection to end. */
void gc_safepoint(gc_heap *handle);
/* Bracket a call that may block (I/O, a lock, a sleep, a condition): in
 * between, the thread does not hold up collections and may not touch the
 * heap (verify=1 traps GC_TRAP_MISUSE if it does); its root slots stay
 * roots. gc_blocking_end waits for a collection in progress to end. */
void gc_blocking_begin(gc_heap *handle);
void gc_blocking_end(gc_heap *handle);

/* ---- Types -------------------------------------------------------------- */

typedef enum { GC_KIND_REF, GC_KIND_I64, GC_KIND_F64, GC_KIND_I8 } gc_kind;
/* A type handle of one heap; 0 (GC_TYPE_NONE) is returned on error. */
typedef uint32_t gc_type;
#define GC_TYPE_NONE ((gc_type)0)

/* A struct of nfields 8-byte fields (REF, I64 or F64; not I8). */
gc_type gc_type_struct(gc_heap *heap, const char *name, size_t nfields,
                       const gc_kind *fields);
/* An array of elem (any kind; I8 elements take one byte). */
gc_type gc_type_array(gc_heap *heap, const char *name, gc_kind elem);
/* The name given at registration ("resource" and "weak" for built-ins). */
const char *gc_type_name(gc_heap *heap, gc_type type);

/* ---- Objects ------------------------------------------------------------ */

/* A struct whose fields are zero / null. */
gc_ref gc_new_struct(gc_heap *heap, gc_type type);
/* An array of len elements, all zero / null. */
gc_ref gc_new_array(gc_heap *heap, gc_type type, size_t len);
gc_type gc_type_of(gc_heap *heap, gc_ref obj);
size_t gc_array_len(gc_heap *heap, gc_ref arr);

/* Field i of a struct or element i of an array. A null object traps
 * GC_TRAP_NULL, an index out of range GC_TRAP_BOUNDS, a kind that is not the
 * field's GC_TRAP_TYPE. */
gc_ref gc_get_ref(gc_heap *heap, gc_ref obj, size_t i);
void gc_set_ref(gc_heap *heap, gc_ref obj, size_t i, gc_ref v);
int64_t gc_get_i64(gc_heap *heap, gc_ref obj, size_t i);
void gc_set_i64(gc_heap *heap, gc_ref obj, size_t i, int64_t v);
double gc_get_f64(gc_heap *heap, gc_ref obj, size_t i);
void gc_set_f64(gc_heap *heap, gc_ref obj, size_t i, double v);
uint8_t gc_get_i8(gc_heap *heap, gc_ref obj, size_t i);
void gc_set_i8(gc_heap *heap, gc_ref obj, size_t i, uint8_t v);

/* Copies n elements between arrays of the same element kind with memmove
 * semantics: dst may be src and the ranges may overlap. */
void gc_array_copy(gc_heap *heap, gc_ref dst, size_t dst_i, gc_ref src,
                   size_t src_i, size_t n);
/* Sets elements i .. i+n-1 to v. */
void gc_array_fill_ref(gc_heap *heap, gc_ref arr, size_t i, size_t n, gc_ref v);
void gc_array_fill_i64(gc_heap *heap, gc_ref arr, size_t i, size_t n,
                       int64_t v);
void gc_array_fill_f64(gc_heap *heap, gc_ref arr, size_t i, size_t n, double v);
void gc_array_fill_i8(gc_heap *heap, gc_ref arr, size_t i, size_t n, uint8_t v);

/* ---- Roots -------------------------------------------------------------- */

/* Scopes nest; gc_scope_close must close the innermost open scope. */
typedef struct {
  uint32_t depth;  /* number of scopes open outside this one */
  uint32_t serial; /* tells a stale handle from a live one */
} gc_scope;

gc_scope gc_scope_open(gc_heap *heap);
/* A slot in the innermost scope holding v. The slot's address is stable
 * until its scope closes; the mutator may write *slot = v directly. */
gc_ref *gc_root(gc_heap *heap, gc_ref v);
/* Drops every slot rooted since the matching gc_scope_open. */
void gc_scope_close(gc_heap *heap, gc_scope scope);
/* A slot that lives until gc_global_free or gc_heap_free. */
gc_ref *gc_global(gc_heap *heap, gc_ref v);
void gc_global_free(gc_heap *heap, gc_ref *slot);

/* ---- Resources and weak references -------------------------------------- */

/* An object owning ptr: destroy(ptr, ud) runs exactly once, after the
 * resource became unreachable or at gc_heap_free. destroy may not call into
 * the heap (that traps GC_TRAP_MISUSE). destroy may be NULL. */
gc_ref gc_new_resource(gc_heap *heap, void *ptr,
                       void (*destroy)(void *ptr, void *ud), void *ud);
void *gc_resource_ptr(gc_heap *heap, gc_ref resource);
/* A weak reference to target (which may be NULL); keeps nothing alive. */
gc_ref gc_new_weak(gc_heap *heap, gc_ref target);
/* The target, or NULL once it has been reclaimed. */
gc_ref gc_weak_get(gc_heap *heap, gc_ref weak);

/* ---- Collection, statistics, traps -------------------------------------- */

/* A full collection (the null collector only counts it). */
void gc_collect(gc_heap *heap);

typedef struct {
  uint64_t collections;       /* full or partial collections so far */
  uint64_t allocated_bytes;   /* total bytes ever allocated */
  uint64_t allocated_objects; /* total objects ever allocated */
  uint64_t freed_objects;     /* objects reclaimed so far */
  uint64_t freed_bytes;       /* bytes reclaimed so far */
  uint64_t live_bytes;        /* allocated and not yet reclaimed (boehm:
                                 what it kept, conservatively; see its
                                 README) */
  uint64_t heap_bytes;        /* memory the collector holds for objects */
  uint64_t peak_heap_bytes;   /* the largest heap_bytes seen */
  uint64_t pause_ns_total;    /* time spent collecting */
  uint64_t pause_ns_max;      /* the longest single pause */
  uint64_t destructors_run;   /* resource destructors run so far */
} gc_stats;

void gc_get_stats(gc_heap *heap, gc_stats *stats);

typedef enum {
  GC_TRAP_OOM,      /* heap exhausted, or a size that overflows */
  GC_TRAP_NULL,     /* a null object where one is required */
  GC_TRAP_BOUNDS,   /* an index out of range */
  GC_TRAP_TYPE,     /* a type or kind that does not fit */
  GC_TRAP_MISUSE,   /* an API rule broken (scope order, call from a dtor) */
  GC_TRAP_INVARIANT /* verify=1 found a broken heap invariant */
} gc_trap;

typedef void (*gc_trap_handler)(gc_heap *heap, gc_trap trap, const char *msg,
                                void *ud);
/* The default handler (fn NULL) prints "gcheap: COLLECTOR: MESSAGE" to stderr
 * and aborts. If a handler returns, the failing call does nothing and returns
 * NULL or 0; the heap stays usable. */
void gc_set_trap_handler(gc_heap *heap, gc_trap_handler fn, void *ud);
/* "oom", "null", "bounds", "type", "misuse" or "invariant". */
const char *gc_trap_name(gc_trap trap);

/* ---- Inline fast paths ---------------------------------------------------
 *
 * Allocation (gc_new_struct, gc_new_array), the field and element accessors
 * (gc_get_*, gc_set_*), gc_array_len and gc_safepoint are static inline
 * functions here, named gc_inline_*, that the public names call through
 * function-like macros. Each makes one test on data the heap publishes at
 * the start of the handle (struct gc_heap_inline) and, when the test fails,
 * calls the library's out-of-line function of the same name, which makes
 * every check and traps. So an inline call does exactly what the out-of-line
 * one does: a NULL object, an index out of range or a field of another kind
 * always takes the out-of-line call. verify=1, stress=N and a running
 * destructor send every call there (slow); no collector's name appears here.
 *
 * Define GCHEAP_NO_INLINE before including this header to call only the
 * out-of-line functions (the stable ABI: a program built so does not depend
 * on the layout below). (gc_get_ref)(h, o, i), in parentheses, and &gc_get_ref
 * are the out-of-line function in either case.
 *
 * The layout below is versioned: gc_heap_new and gc_thread_attach, as
 * macros here, pass GCHEAP_INLINE_LAYOUT, and a library with another layout
 * refuses to make a heap (an error in err) rather than let inline code read
 * the wrong fields. docs/guide.md ("Inline fast paths") gives the sequences
 * a JIT emits. */
#define GCHEAP_INLINE_LAYOUT 3

/* An object: a 32-bit type word, a 32-bit word of the collector's, then
 * the 8-byte fields of a struct; an array has its 64-bit length after the
 * header, then the elements (8 bytes each, 1 for GC_KIND_I8). The type
 * word holds the type number in its low 16 bits and, in bit
 * GCHEAP_INLINE_HEADER_REF_SHIFT + i, whether field i of a struct type is
 * a REF, for the first GCHEAP_INLINE_HEADER_REFS fields: gc_get_ref and
 * gc_set_ref check such a field from the header alone, without a load
 * from the type table that depends on it. */
#define GCHEAP_INLINE_FIELDS_OFFSET 8
#define GCHEAP_INLINE_ARRAY_LENGTH_OFFSET 8
#define GCHEAP_INLINE_ARRAY_ELEMS_OFFSET 16
/* Type numbers at or above this take the out-of-line call. */
#define GCHEAP_INLINE_MAX_TYPES 65536u
#define GCHEAP_INLINE_TYPE_NUMBER_MASK 0xffffu
#define GCHEAP_INLINE_HEADER_REF_SHIFT 16
#define GCHEAP_INLINE_HEADER_REFS 16
/* Arrays longer than this are allocated out of line. */
#define GCHEAP_INLINE_MAX_ARRAY_LENGTH (UINT32_C(1) << 24)

/* What the fast paths know of a type, 64 bytes per type number. */
struct gc_inline_type {
  /* Bit i of field_masks[kind]: struct field i (i < 64) has that kind. */
  uint64_t field_masks[4];
  /* A struct type of the program: its size in bytes, header included; 0
   * for every other type. */
  uint32_t new_struct_bytes;
  /* An array type of the program: its element kind + 1; else 0. */
  uint8_t array_elem;
  /* 1 when an object of the type holds no reference (a struct without REF
   * fields, an array of scalars): the row of cell_lists it is taken from. */
  uint8_t no_refs;
  uint8_t reserved[2];
  /* The type word an object of the type is made with. */
  uint32_t type_word;
  uint8_t reserved2[20];
};

/* A bump region: [cursor, limit) is zeroed memory in which an object of
 * any type of the program is made by writing its type word. */
struct gc_inline_bump {
  char *cursor, *limit;
};

/* Size classes of the cell table, 16 to 128 bytes by 8. */
#define GCHEAP_INLINE_CELL_CLASSES 15
#define GCHEAP_INLINE_CELL_MAX_BYTES 128

/* The start of every handle. A collector publishes one of two ways to
 * allocate inline, or none:
 *   - bump: one region; cursor == limit when it has no room, limit NULL
 *     when the collector publishes none (or has no region at the moment);
 *   - cells: free cells per size class k, for objects of exactly 16 + 8k
 *     bytes, taken while cell_budget (what the thread may still allocate
 *     before the collector wants a word) covers them: first from the run
 *     cells[k], then from the list cell_lists[no_refs][k] (each free cell
 *     holds the address of the next in its first word; no_refs is the
 *     type's, so that a collector can keep objects it must scan apart from
 *     the others). A cell is not zeroed: the inline path writes every word,
 *     the collector's word as cell_gc_word. cell_budget is 0 when the
 *     collector publishes no cells. */
struct gc_heap_inline {
  uint32_t layout;         /* GCHEAP_INLINE_LAYOUT of the library */
  uint8_t slow;            /* nonzero: every call goes out of line */
  uint8_t alloc_interrupt; /* nonzero: allocations go out of line (stress,
                              a collection waiting); written by other
                              threads: read it with a relaxed atomic load */
  uint8_t reserved[2];
  /* gc_set_ref stores inline unless (gc_word & mask) == value. */
  uint32_t barrier_mask, barrier_value;
  const struct gc_inline_type *types; /* indexed by type number */
  struct gc_inline_bump bump;
  /* What this thread allocated; an inline allocation adds to both. */
  uint64_t allocated_bytes, allocated_objects;
  struct gc_inline_bump cells[GCHEAP_INLINE_CELL_CLASSES];
  int64_t cell_budget;
  uint32_t cell_gc_word;
  uint32_t reserved2;
  void *cell_lists[2][GCHEAP_INLINE_CELL_CLASSES];
};

/* Stores v into *slot, REF field or element of obj, through the heap's
 * write barrier: the out-of-line half of an inline gc_set_ref whose checks
 * passed and whose barrier filter asked for the barrier. Nothing is
 * checked here. */
void gc_write_barrier(gc_heap *heap, gc_ref obj, gc_ref *slot, gc_ref v);

gc_heap *gc_heap_new_for_layout(const gc_config *config, uint32_t layout,
                                char *err, size_t errlen);
gc_heap *gc_thread_attach_for_layout(gc_heap *any_handle, uint32_t layout,
                                     char *err, size_t errlen);

#if !defined(GCHEAP_NO_INLINE) && defined(__GNUC__)

#define GCHEAP_INLINE static inline __attribute__((always_inline))
#define GCHEAP_LIKELY(x) __builtin_expect(!!(x), 1)
#define GCHEAP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The address of field or element i of obj if it has that kind, else NULL
 * (obj NULL, a slow handle, out of range, another kind or shape). */
GCHEAP_INLINE void *gc_inline_field(gc_heap *heap, gc_ref obj, size_t i,
                                    gc_kind kind) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_UNLIKELY(h->slow) || GCHEAP_UNLIKELY(!obj))
    return NULL;
  char *o = (char *)obj;
  uint32_t type_word = *(const uint32_t *)o;
  if (kind == GC_KIND_REF &&
      GCHEAP_LIKELY(i < GCHEAP_INLINE_HEADER_REFS &&
                    ((type_word >> (GCHEAP_INLINE_HEADER_REF_SHIFT + i)) & 1)))
    return o + GCHEAP_INLINE_FIELDS_OFFSET + 8 * i;
  const struct gc_inline_type *t =
      &h->types[type_word & GCHEAP_INLINE_TYPE_NUMBER_MASK];
  if (GCHEAP_LIKELY(i < 64 && ((t->field_masks[kind] >> i) & 1)))
    return o + GCHEAP_INLINE_FIELDS_OFFSET + 8 * i;
  if (t->array_elem == (uint8_t)(kind + 1) &&
      i < *(const uint64_t *)(o + GCHEAP_INLINE_ARRAY_LENGTH_OFFSET))
    return o + GCHEAP_INLINE_ARRAY_ELEMS_OFFSET +
           i * (kind == GC_KIND_I8 ? 1 : 8);
  return NULL;
}

/* bytes for an object of type t, from what the handle publishes (the bump
 * region, else the cell table); NULL if that has no room, or allocation
 * must go out of line. */
GCHEAP_INLINE gc_ref gc_inline_allocate(gc_heap *heap,
                                        const struct gc_inline_type *t,
                                        size_t bytes) {
  struct gc_heap_inline *h = (struct gc_heap_inline *)heap;
  if (GCHEAP_UNLIKELY(__atomic_load_n(&h->alloc_interrupt, __ATOMIC_RELAXED)))
    return NULL;
  char *p;
  if (h->bump.limit) {
    p = h->bump.cursor;
    if (GCHEAP_UNLIKELY(bytes > (size_t)(h->bump.limit - p)))
      return NULL;
    h->bump.cursor = p + bytes;
    *(uint32_t *)p = t->type_word; /* the rest is zero */
  } else {
    if (bytes > GCHEAP_INLINE_CELL_MAX_BYTES || h->cell_budget < (int64_t)bytes)
      return NULL;
    size_t k = bytes / 8 - 2;
    struct gc_inline_bump *run = &h->cells[k];
    p = run->cursor;
    if (GCHEAP_LIKELY(p < run->limit)) {
      run->cursor = p + bytes;
    } else {
      void **list = &h->cell_lists[t->no_refs][k];
      p = (char *)*list;
      if (GCHEAP_UNLIKELY(p == NULL))
        return NULL;
      *list = *(void **)p;
    }
    h->cell_budget -= (int64_t)bytes;
    ((uint32_t *)p)[0] = t->type_word;
    ((uint32_t *)p)[1] = h->cell_gc_word;
    /* At most 15 words: plain stores. (The empty asm keeps the compiler
     * from making the loop a "rep stos", whose start-up costs more than
     * the stores; refcount's own fast path does the same.) */
    for (size_t w = 1; w < bytes / 8; w++) {
      ((uint64_t *)p)[w] = 0;
      __asm__("" : "+r"(w));
    }
  }
  h->allocated_bytes += bytes;
  h->allocated_objects++;
  return (gc_ref)p;
}

GCHEAP_INLINE gc_ref gc_inline_new_struct(gc_heap *heap, gc_type type) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_LIKELY(!h->slow && type < GCHEAP_INLINE_MAX_TYPES)) {
    const struct gc_inline_type *t = &h->types[type];
    uint32_t bytes = t->new_struct_bytes;
    gc_ref obj = bytes ? gc_inline_allocate(heap, t, bytes) : NULL;
    if (GCHEAP_LIKELY(obj != NULL))
      return obj;
  }
  return (gc_new_struct)(heap, type);
}

GCHEAP_INLINE gc_ref gc_inline_new_array(gc_heap *heap, gc_type type,
                                         size_t len) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_LIKELY(!h->slow && type < GCHEAP_INLINE_MAX_TYPES &&
                    len <= GCHEAP_INLINE_MAX_ARRAY_LENGTH)) {
    const struct gc_inline_type *t = &h->types[type];
    uint8_t elem = t->array_elem;
    size_t bytes = (GCHEAP_INLINE_ARRAY_ELEMS_OFFSET +
                    len * (elem == GC_KIND_I8 + 1 ? 1 : 8) + 7) &
                   ~(size_t)7;
    gc_ref obj = elem ? gc_inline_allocate(heap, t, bytes) : NULL;
    if (GCHEAP_LIKELY(obj != NULL)) {
      *(uint64_t *)((char *)obj + GCHEAP_INLINE_ARRAY_LENGTH_OFFSET) = len;
      return obj;
    }
  }
  return (gc_new_array)(heap, type, len);
}

GCHEAP_INLINE size_t gc_inline_array_len(gc_heap *heap, gc_ref arr) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_LIKELY(!h->slow && arr) &&
      GCHEAP_LIKELY(
          h->types[*(const uint32_t *)arr & GCHEAP_INLINE_TYPE_NUMBER_MASK]
              .array_elem))
    return (size_t) * (const uint64_t *)((const char *)arr +
                                         GCHEAP_INLINE_ARRAY_LENGTH_OFFSET);
  return (gc_array_len)(heap, arr);
}

/* The poll a loop that does not allocate makes: out of line only when
 * another thread waits to collect (or stress, verify or a destructor make
 * every call go there), and for a NULL heap, which aborts there with a
 * message as documented above. */
GCHEAP_INLINE void gc_inline_safepoint(gc_heap *heap) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_UNLIKELY(!h) || GCHEAP_UNLIKELY(h->slow) ||
      GCHEAP_UNLIKELY(__atomic_load_n(&h->alloc_interrupt, __ATOMIC_RELAXED)))
    (gc_safepoint)(heap);
}

GCHEAP_INLINE gc_ref gc_inline_get_ref(gc_heap *heap, gc_ref obj, size_t i) {
  gc_ref *slot = (gc_ref *)gc_inline_field(heap, obj, i, GC_KIND_REF);
  return GCHEAP_LIKELY(slot != NULL) ? *slot : (gc_get_ref)(heap, obj, i);
}

/* v into *slot, a checked REF field of obj: a store the barrier filter
 * lets through is a plain store; any other goes out of line, to the
 * collector's barrier. (The library's gc_set_ref stores through this too.) */
GCHEAP_INLINE void gc_inline_store_ref(gc_heap *heap, gc_ref obj, gc_ref *slot,
                                       gc_ref v) {
  const struct gc_heap_inline *h = (const struct gc_heap_inline *)heap;
  if (GCHEAP_LIKELY((__atomic_load_n((uint32_t *)obj + 1, __ATOMIC_RELAXED) &
                     h->barrier_mask) != h->barrier_value))
    *slot = v;
  else
    gc_write_barrier(heap, obj, slot, v);
}

GCHEAP_INLINE void gc_inline_set_ref(gc_heap *heap, gc_ref obj, size_t i,
                                     gc_ref v) {
  gc_ref *slot = (gc_ref *)gc_inline_field(heap, obj, i, GC_KIND_REF);
  if (GCHEAP_UNLIKELY(slot == NULL))
    (gc_set_ref)(heap, obj, i, v);
  else
    gc_inline_store_ref(heap, obj, slot, v);
}

#define GCHEAP_INLINE_SCALAR(suffix, ctype, kind)                              \
  GCHEAP_INLINE ctype gc_inline_get_##suffix(gc_heap *heap, gc_ref obj,        \
                                             size_t i) {                       \
    ctype *field = (ctype *)gc_inline_field(heap, obj, i, kind);               \
    return GCHEAP_LIKELY(field != NULL) ? *field                               \
                                        : (gc_get_##suffix)(heap, obj, i);     \
  }                                                                            \
  GCHEAP_INLINE void gc_inline_set_##suffix(gc_heap *heap, gc_ref obj,         \
                                            size_t i, ctype v) {               \
    ctype *field = (ctype *)gc_inline_field(heap, obj, i, kind);               \
    if (GCHEAP_LIKELY(field != NULL))                                          \
      *field = v;                                                              \
    else                                                                       \
      (gc_set_##suffix)(heap, obj, i, v);                                      \
  }
GCHEAP_INLINE_SCALAR(i64, int64_t, GC_KIND_I64)
GCHEAP_INLINE_SCALAR(f64, double, GC_KIND_F64)
GCHEAP_INLINE_SCALAR(i8, uint8_t, GC_KIND_I8)
#undef GCHEAP_INLINE_SCALAR

/* The public names call the inline functions. (The library defines the
 * out-of-line functions as "gc_ref (gc_get_ref)(...)", which these
 * function-like macros leave alone.) */
#define gc_heap_new(config, err, errlen)                                       \
  gc_heap_new_for_layout(config, GCHEAP_INLINE_LAYOUT, err, errlen)
#define gc_thread_attach(any_handle, err, errlen)                              \
  gc_thread_attach_for_layout(any_handle, GCHEAP_INLINE_LAYOUT, err, errlen)
#define gc_safepoint(heap) gc_inline_safepoint(heap)
#define gc_new_struct(heap, type) gc_inline_new_struct(heap, type)
#define gc_new_array(heap, type, len) gc_inline_new_array(heap, type, len)
#define gc_array_len(heap, arr) gc_inline_array_len(heap, arr)
#define gc_get_ref(heap, obj, i) gc_inline_get_ref(heap, obj, i)
#define gc_set_ref(heap, obj, i, v) gc_inline_set_ref(heap, obj, i, v)
#define gc_get_i64(heap, obj, i) gc_inline_get_i64(heap, obj, i)
#define gc_set_i64(heap, obj, i, v) gc_inline_set_i64(heap, obj, i, v)
#define gc_get_f64(heap, obj, i) gc_inline_get_f64(heap, obj, i)
#define gc_set_f64(heap, obj, i, v) gc_inline_set_f64(heap, obj, i, v)
#define gc_get_i8(heap, obj, i) gc_inline_get_i8(heap, obj, i)
#define gc_set_i8(heap, obj, i, v) gc_inline_set_i8(heap, obj, i, v)

#endif /* !GCHEAP_NO_INLINE */

#ifdef __cplusplus
}
#endif
#endif /* GCHEAP_H */
