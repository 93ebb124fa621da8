/* fuzz.h — the differential fuzzer's shared declarations.
 *
 * One fuzz input is a small program: a configuration byte, then a sequence
 * of heap operations (fuzz_program.c decodes and runs them). The driver
 * (fuzz_main.c) runs the same program once on every collector of the build
 * and compares what each one reports: a digest of the graph reachable from
 * the roots after every collection (fuzz_digest.c). Any difference, any
 * trap the program did not ask for, any broken resource or statistics
 * invariant is reported with fuzz_fail(), which aborts: libFuzzer then
 * saves the input as a crash.
 *
 * Determinism is what makes the comparison sound: every decision the
 * program takes depends only on the input bytes and on what the reachable
 * graph holds (types, lengths, scalars, null or not), never on an address,
 * and never on the target of a weak reference that is not strongly
 * reachable (the one thing collectors may legitimately disagree on).
 */
#ifndef GCHEAP_FUZZ_H
#define GCHEAP_FUZZ_H

#include <gcheap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Inline or out of line: one input in four runs once more on the first
 * collector with fuzz_out_of_line set (fuzz_main.c), where the calls below go
 * to the out-of-line functions, as in a program built with GCHEAP_NO_INLINE;
 * that run must log what the inline one did. */
extern bool fuzz_out_of_line;
#ifndef GCHEAP_NO_INLINE
#define FUZZ_EITHER(inline_call, out_of_line_call)                             \
  (fuzz_out_of_line ? (out_of_line_call) : (inline_call))
#undef gc_new_struct
#define gc_new_struct(h, t)                                                    \
  FUZZ_EITHER(gc_inline_new_struct(h, t), (gc_new_struct)(h, t))
#undef gc_new_array
#define gc_new_array(h, t, n)                                                  \
  FUZZ_EITHER(gc_inline_new_array(h, t, n), (gc_new_array)(h, t, n))
#undef gc_array_len
#define gc_array_len(h, a)                                                     \
  FUZZ_EITHER(gc_inline_array_len(h, a), (gc_array_len)(h, a))
#undef gc_get_ref
#define gc_get_ref(h, o, i)                                                    \
  FUZZ_EITHER(gc_inline_get_ref(h, o, i), (gc_get_ref)(h, o, i))
#undef gc_get_i64
#define gc_get_i64(h, o, i)                                                    \
  FUZZ_EITHER(gc_inline_get_i64(h, o, i), (gc_get_i64)(h, o, i))
#undef gc_get_f64
#define gc_get_f64(h, o, i)                                                    \
  FUZZ_EITHER(gc_inline_get_f64(h, o, i), (gc_get_f64)(h, o, i))
#undef gc_get_i8
#define gc_get_i8(h, o, i)                                                     \
  FUZZ_EITHER(gc_inline_get_i8(h, o, i), (gc_get_i8)(h, o, i))
/* The setters return nothing: statements. */
#define FUZZ_EITHER_STMT(inline_call, out_of_line_call)                        \
  do {                                                                         \
    if (fuzz_out_of_line)                                                      \
      out_of_line_call;                                                        \
    else                                                                       \
      inline_call;                                                             \
  } while (0)
#undef gc_set_ref
#define gc_set_ref(h, o, i, v)                                                 \
  FUZZ_EITHER_STMT(gc_inline_set_ref(h, o, i, v), (gc_set_ref)(h, o, i, v))
#undef gc_set_i64
#define gc_set_i64(h, o, i, v)                                                 \
  FUZZ_EITHER_STMT(gc_inline_set_i64(h, o, i, v), (gc_set_i64)(h, o, i, v))
#undef gc_set_f64
#define gc_set_f64(h, o, i, v)                                                 \
  FUZZ_EITHER_STMT(gc_inline_set_f64(h, o, i, v), (gc_set_f64)(h, o, i, v))
#undef gc_set_i8
#define gc_set_i8(h, o, i, v)                                                  \
  FUZZ_EITHER_STMT(gc_inline_set_i8(h, o, i, v), (gc_set_i8)(h, o, i, v))
#endif

/* Bounds that keep one execution short and every collector below its heap
 * limit (the null collector never frees, so garbage counts too). */
#define FUZZ_MAX_SLOTS 192     /* root slots (scopes and globals) */
#define FUZZ_MAX_DEPTH 12      /* nested scopes */
#define FUZZ_MAX_RESOURCES 512 /* resources per run */
#define FUZZ_MAX_OBJECTS 2500  /* objects allocated per run */
#define FUZZ_MAX_BYTES                                                         \
  (8 << 20)             /* bytes allocated per run: past the                   \
                         * tracing collector's 2 MiB headroom */
#define FUZZ_MAX_LOG 64 /* digests recorded per run */
/* Explicit collections per run (more are skipped): each is followed by a
 * digest that reads every reachable field through the API, and with
 * verify=1 a collection checks the whole heap. */
#define FUZZ_MAX_COLLECTIONS 24

/* The harness's own view of the types it registers, in registration order
 * (the same on every heap, so gc_type values agree across collectors). */
enum { FUZZ_NSTRUCTS = 6, FUZZ_NARRAYS = 4 };
struct fuzz_struct_desc {
  const char *name;
  size_t nfields;
  gc_kind kinds[6];
};
extern const struct fuzz_struct_desc fuzz_structs[FUZZ_NSTRUCTS];
extern const gc_kind fuzz_array_kinds[FUZZ_NARRAYS];

/* What an object is, as the harness sees it. */
enum fuzz_shape {
  FUZZ_NONE,
  FUZZ_STRUCT,
  FUZZ_ARRAY,
  FUZZ_RESOURCE,
  FUZZ_WEAK
};
struct fuzz_obj_info {
  enum fuzz_shape shape;
  int index;      /* structs: index in fuzz_structs; arrays: in array kinds */
  size_t nfields; /* struct fields or array length */
};

/* One root slot the program holds. */
struct fuzz_slot {
  gc_ref *slot;
  int depth; /* scope depth (1 = outermost) that owns it, or 0: a global */
};

/* One entry of a run's log: what the graph looked like after a collection. */
struct fuzz_log_entry {
  uint32_t op;      /* index of the operation that collected */
  uint32_t objects; /* reachable objects */
  uint64_t digest;
};

struct fuzz_log {
  struct fuzz_log_entry entries[FUZZ_MAX_LOG];
  uint32_t n;
};

/* The state of one run of the program on one heap. */
struct fuzz_state {
  gc_heap *heap;
  const char *collector;
  /* Precise collectors reclaim exactly the unreachable objects at every
   * gc_collect: their statistics and destructor counts are checked exactly. */
  bool precise;
  bool heap_live;
  bool trace; /* GCHEAP_FUZZ_TRACE=1: print each operation */

  gc_type structs[FUZZ_NSTRUCTS];
  gc_type arrays[FUZZ_NARRAYS];

  struct fuzz_slot slots[FUZZ_MAX_SLOTS];
  unsigned nslots;
  gc_scope scopes[FUZZ_MAX_DEPTH];
  unsigned depth;

  /* Resource i has the pointer fuzz_resource_pointer(serial, i), where
   * serial tells this run from earlier ones; destroyed[i] counts its
   * destructor runs, which must end at exactly 1. */
  uint32_t serial;
  unsigned nresources;
  uint8_t destroyed[FUZZ_MAX_RESOURCES];
  uint64_t ndestroyed;

  uint64_t objects_allocated, bytes_allocated; /* against the budgets */
  uint64_t max_objects; /* smaller under stress: each allocation collects */

  /* The trap a deliberately bad call expects (-1: none), and whether it
   * came. */
  int expect_trap;
  int traps_seen;

  uint32_t op;          /* index of the operation running, for messages */
  uint32_t collections; /* explicit ones so far */
  struct fuzz_log log;
};

static inline void *fuzz_resource_pointer(uint32_t serial, unsigned id) {
  return (void *)(uintptr_t)((uint64_t)serial << 20 | (id + 1));
}
/* The id of the resource with pointer ptr if it belongs to run serial, else
 * UINT32_MAX. */
static inline uint32_t fuzz_resource_id(uint32_t serial, void *ptr) {
  uint64_t bits = (uint64_t)(uintptr_t)ptr;
  if (bits >> 20 != serial || (bits & 0xfffff) == 0)
    return UINT32_MAX;
  return (uint32_t)(bits & 0xfffff) - 1;
}

/* Prints "gcheap-fuzz: COLLECTOR: op N: MESSAGE" and aborts. */
void fuzz_fail(const struct fuzz_state *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Runs the program in data on a fresh heap of collector; fills s->log.
 * Returns 0, or -1 if the heap could not be made (a configuration error). */
int fuzz_run(struct fuzz_state *s, const char *collector, const uint8_t *data,
             size_t size);

/* The harness's view of obj (which must be a live, non-null object). */
struct fuzz_obj_info fuzz_describe(struct fuzz_state *s, gc_ref obj);

/* The size in bytes gcheap asks a collector for, for an object of this kind. */
size_t fuzz_struct_bytes(size_t nfields);
size_t fuzz_array_bytes(gc_kind elem, size_t len);

/* The graph reachable from the program's root slots. */
struct fuzz_graph_summary {
  uint64_t digest;
  uint32_t objects;
  uint64_t bytes;         /* as gcheap accounts them: the sum of object sizes */
  uint64_t weak_dangling; /* weak refs to unreachable, uncleared targets */
  /* reachable_resource[i]: resource i is reachable. */
  uint8_t reachable_resource[FUZZ_MAX_RESOURCES];
};

/* Walks the graph (no allocation, so addresses are stable meanwhile). */
void fuzz_graph(struct fuzz_state *s, struct fuzz_graph_summary *out);
/* True if target is strongly reachable from the root slots. */
bool fuzz_reachable(struct fuzz_state *s, gc_ref target);

/* ---- Shared by fuzz_program.c (the run) and fuzz_ops.c (the operations) */

/* GCHEAP_FUZZ_TRACE=1: one line per operation on stderr. */
#define TRACE(s, ...)                                                          \
  do {                                                                         \
    if ((s)->trace) {                                                          \
      fprintf(stderr, "[%s] op %u: ", (s)->collector, (s)->op);                \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* The input, read a byte at a time; past its end every byte reads 0. */
struct reader {
  const uint8_t *data;
  size_t size, pos;
};
static inline uint8_t next(struct reader *in) {
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Decodes one operation from in and runs it (fuzz_ops.c). */
void fuzz_run_op(struct fuzz_state *s, struct reader *in);
/* One deliberately bad call (fuzz_misuse.c); -1 if it does not apply. */
int fuzz_misuse(struct fuzz_state *s, uint8_t what, uint8_t a, uint8_t b);

/* Root slots (fuzz_program.c). */
void fuzz_open_scope(struct fuzz_state *s);
void fuzz_close_scope(struct fuzz_state *s); /* the innermost one */
/* Forgets slot only, or (only NULL) every scope slot of depth >= depth. */
void fuzz_remove_slots(struct fuzz_state *s, int depth, gc_ref *only);
/* Stores r in a new slot of the innermost scope when dst has its high bit
 * set (and there is room), else in slot dst. */
void fuzz_place(struct fuzz_state *s, uint8_t dst, gc_ref r);
/* The slot b names, or NULL if the program holds none. */
gc_ref *fuzz_pick(struct fuzz_state *s, uint8_t b);
/* The value of the slot b names, or NULL (b may also name "null"). */
gc_ref fuzz_pick_value(struct fuzz_state *s, uint8_t b);

/* Allocation (fuzz_program.c). */
/* Charges one object of bytes to the run's budget; false if over it. */
bool fuzz_budget(struct fuzz_state *s, size_t bytes);
/* r, or a failure if an allocation returned NULL. */
gc_ref fuzz_checked(struct fuzz_state *s, gc_ref r, const char *what);
/* A new resource with a counting destructor, or NULL if over budget. */
gc_ref fuzz_new_resource(struct fuzz_state *s);
/* After gc_collect: digest, log and check the graph and the statistics. */
void fuzz_check_collected(struct fuzz_state *s);

#endif
