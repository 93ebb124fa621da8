/* fuzz_program.c — decodes fuzz input into heap operations and runs them on
 * one heap.
 *
 * Input: byte 0 configures the heap (stress interval, initial heap size,
 * whether the run ends by dropping every root and collecting). Then each
 * operation is an opcode byte followed by the argument bytes it reads; a
 * missing byte reads as 0, so every input is a valid program.
 *
 * The rooting rule is kept strictly: every reference the program holds
 * lives in a root slot (struct fuzz_slot), and a reference returned by a
 * gc_new_* call is stored into a slot before the next call that may allocate
 * or collect. Only gc_root/gc_global (which allocate root slots, never heap
 * objects) and field accessors run in between.
 */
#include "fuzz.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct fuzz_struct_desc fuzz_structs[FUZZ_NSTRUCTS] = {
    {"empty", 0, {0}},
    {"leaf", 1, {GC_KIND_I64}},
    {"pair", 2, {GC_KIND_REF, GC_KIND_REF}},
    {"node", 3, {GC_KIND_I64, GC_KIND_REF, GC_KIND_F64}},
    {"box", 1, {GC_KIND_REF}},
    {"wide",
     6,
     {GC_KIND_REF, GC_KIND_I64, GC_KIND_REF, GC_KIND_F64, GC_KIND_REF,
      GC_KIND_I64}},
};
enum { PAIR = 2 }; /* the struct the garbage bursts are made of */
const gc_kind fuzz_array_kinds[FUZZ_NARRAYS] = {GC_KIND_REF, GC_KIND_I64,
                                                GC_KIND_F64, GC_KIND_I8};

size_t fuzz_struct_bytes(size_t nfields) {
  size_t bytes = 8 + 8 * nfields;
  return bytes < 16 ? 16 : bytes;
}

size_t fuzz_array_bytes(gc_kind elem, size_t len) {
  return (16 + len * (elem == GC_KIND_I8 ? 1 : 8) + 7) & ~(size_t)7;
}

void fuzz_fail(const struct fuzz_state *s, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "gcheap-fuzz: %s: op %u: ", s->collector, s->op);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

#define TRACE(s, ...)                                                          \
  do {                                                                         \
    if ((s)->trace) {                                                          \
      fprintf(stderr, "[%s] op %u: ", (s)->collector, (s)->op);                \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

struct fuzz_obj_info fuzz_describe(struct fuzz_state *s, gc_ref obj) {
  gc_type type = gc_type_of(s->heap, obj);
  for (int i = 0; i < FUZZ_NSTRUCTS; i++)
    if (type == s->structs[i])
      return (struct fuzz_obj_info){FUZZ_STRUCT, i, fuzz_structs[i].nfields};
  for (int i = 0; i < FUZZ_NARRAYS; i++)
    if (type == s->arrays[i])
      return (struct fuzz_obj_info){FUZZ_ARRAY, i,
                                    gc_array_len(s->heap, obj)};
  const char *name = gc_type_name(s->heap, type);
  if (name && !strcmp(name, "resource"))
    return (struct fuzz_obj_info){FUZZ_RESOURCE, 0, 0};
  if (name && !strcmp(name, "weak"))
    return (struct fuzz_obj_info){FUZZ_WEAK, 0, 0};
  fuzz_fail(s, "object %p has type %u (%s), which the program never made",
            (void *)obj, type, name ? name : "?");
}

/* ---- Input ----------------------------------------------------------------*/

struct reader {
  const uint8_t *data;
  size_t size, pos;
};

static uint8_t next(struct reader *in) {
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* ---- Root slots ---------------------------------------------------------- */

static void open_scope(struct fuzz_state *s) {
  s->scopes[s->depth++] = gc_scope_open(s->heap);
}

/* Keeps the slots for which keep() holds, in order. */
static void remove_slots(struct fuzz_state *s, int depth_at_least,
                         gc_ref *only) {
  unsigned kept = 0;
  for (unsigned i = 0; i < s->nslots; i++) {
    struct fuzz_slot slot = s->slots[i];
    bool drop = only ? slot.slot == only
                     : slot.depth != 0 && slot.depth >= depth_at_least;
    if (!drop)
      s->slots[kept++] = slot;
  }
  s->nslots = kept;
}

static void close_scope(struct fuzz_state *s) {
  assert(s->depth > 0);
  gc_scope_close(s->heap, s->scopes[s->depth - 1]);
  remove_slots(s, (int)s->depth, NULL);
  s->depth--;
}

/* Stores r into the program's roots: a new slot in the innermost scope when
 * dst asks for one (high bit) and there is room, else slot dst. */
static void place(struct fuzz_state *s, uint8_t dst, gc_ref r) {
  if (((dst & 0x80) || s->nslots == 0) && s->nslots < FUZZ_MAX_SLOTS) {
    if (s->depth == 0)
      open_scope(s);
    gc_ref *slot = gc_root(s->heap, r);
    if (!slot)
      fuzz_fail(s, "gc_root returned NULL");
    s->slots[s->nslots++] = (struct fuzz_slot){slot, (int)s->depth};
  } else {
    *s->slots[dst % s->nslots].slot = r;
  }
}

/* The slot that b names, or NULL if the program holds none. */
static gc_ref *pick(struct fuzz_state *s, uint8_t b) {
  return s->nslots ? s->slots[b % s->nslots].slot : NULL;
}

/* The value of the slot that b names, or NULL (b may name "null" too). */
static gc_ref pick_value(struct fuzz_state *s, uint8_t b) {
  unsigned n = s->nslots + 1;
  return b % n < s->nslots ? *s->slots[b % n].slot : NULL;
}

/* ---- Resources ------------------------------------------------------------*/

/* Every run gets a serial, carried in its resources' pointers, so that a
 * destructor that runs after its heap was freed is caught. */
static uint32_t run_serial;

static void destroy_resource(void *ptr, void *ud) {
  struct fuzz_state *s = ud;
  uint32_t id = fuzz_resource_id(s->serial, ptr);
  if (!s->heap_live || (uint64_t)(uintptr_t)ptr >> 20 != s->serial)
    fuzz_fail(s, "a destructor ran after its heap was freed (pointer %p)",
              ptr);
  if (id >= s->nresources)
    fuzz_fail(s, "destructor called with pointer %p, not a resource", ptr);
  if (s->destroyed[id]++)
    fuzz_fail(s, "resource #%u destroyed twice", id);
  s->ndestroyed++;
}

/* Charges one object of bytes to the run's budget; false if over it. */
static bool budget(struct fuzz_state *s, size_t bytes) {
  if (s->objects_allocated >= s->max_objects ||
      s->bytes_allocated + bytes > FUZZ_MAX_BYTES)
    return false;
  s->objects_allocated++;
  s->bytes_allocated += bytes;
  return true;
}

static gc_ref checked(struct fuzz_state *s, gc_ref r, const char *what) {
  if (!r)
    fuzz_fail(s, "%s returned NULL", what);
  return r;
}

static gc_ref new_resource(struct fuzz_state *s) {
  if (s->nresources >= FUZZ_MAX_RESOURCES || !budget(s, 40))
    return NULL;
  unsigned id = s->nresources++;
  return checked(s,
                 gc_new_resource(s->heap, fuzz_resource_pointer(s->serial, id),
                                 destroy_resource, s),
                 "gc_new_resource");
}

/* ---- Checks after a collection ------------------------------------------- */

static void log_graph(struct fuzz_state *s, const struct fuzz_graph_summary *g) {
  if (s->log.n < FUZZ_MAX_LOG)
    s->log.entries[s->log.n++] =
        (struct fuzz_log_entry){s->op, g->objects, g->digest};
  TRACE(s, "graph: %u objects, %llu bytes, digest %016llx", g->objects,
        (unsigned long long)g->bytes, (unsigned long long)g->digest);
}

/* What every collector must show after gc_collect, and what a precise one
 * must show exactly: nothing unreachable kept, no weak left dangling. */
static void check_collected(struct fuzz_state *s) {
  static struct fuzz_graph_summary g;
  fuzz_graph(s, &g);
  log_graph(s, &g);
  gc_stats st;
  gc_get_stats(s->heap, &st);
  if (st.destructors_run != s->ndestroyed)
    fuzz_fail(s, "stats say %llu destructors ran, the program counted %llu",
              (unsigned long long)st.destructors_run,
              (unsigned long long)s->ndestroyed);
  if (!s->precise)
    return;
  if (g.weak_dangling)
    fuzz_fail(s, "%llu weak references still point at unreachable objects "
                 "after gc_collect",
              (unsigned long long)g.weak_dangling);
  if (st.live_bytes != g.bytes)
    fuzz_fail(s, "live_bytes is %llu after gc_collect but %llu bytes are "
                 "reachable",
              (unsigned long long)st.live_bytes, (unsigned long long)g.bytes);
  for (unsigned id = 0; id < s->nresources; id++)
    if (!g.reachable_resource[id] && !s->destroyed[id])
      fuzz_fail(s, "resource #%u is unreachable but survived gc_collect", id);
}

/* ---- Operations -----------------------------------------------------------*/

/* An array length: mostly small, sometimes up to ~1000 elements, rarely up
 * to ~11000 (past every collector's large-object threshold). */
#define FUZZ_MAX_LENGTH (1000 + 255 * 40)
static size_t decode_length(uint8_t a, uint8_t b) {
  if (a < 200)
    return a % 40;
  return a < 240 ? 40 + (size_t)b * 4 : 1000 + (size_t)b * 40;
}

static int64_t decode_i64(uint8_t a, uint8_t b) {
  return ((int64_t)(a | b << 8) - 30000) * 1000003;
}

static double decode_f64(uint8_t a, uint8_t b) {
  return (double)(a | b << 8) / 8.0 - 1000.0;
}

static void op_new_struct(struct fuzz_state *s, struct reader *in) {
  int t = next(in) % FUZZ_NSTRUCTS;
  uint8_t dst = next(in);
  if (!budget(s, fuzz_struct_bytes(fuzz_structs[t].nfields)))
    return;
  TRACE(s, "new struct %s", fuzz_structs[t].name);
  place(s, dst, checked(s, gc_new_struct(s->heap, s->structs[t]),
                        "gc_new_struct"));
}

static void op_new_array(struct fuzz_state *s, struct reader *in) {
  int k = next(in) % FUZZ_NARRAYS;
  uint8_t a = next(in), b = next(in);
  size_t len = decode_length(a, b);
  uint8_t dst = next(in);
  if (!budget(s, fuzz_array_bytes(fuzz_array_kinds[k], len)))
    return;
  TRACE(s, "new array kind %d len %zu", k, len);
  place(s, dst, checked(s, gc_new_array(s->heap, s->arrays[k], len),
                        "gc_new_array"));
}

static void op_new_resource(struct fuzz_state *s, struct reader *in) {
  uint8_t dst = next(in);
  gc_ref r = new_resource(s);
  TRACE(s, "new resource #%u", s->nresources - 1);
  if (r)
    place(s, dst, r);
}

static void op_new_weak(struct fuzz_state *s, struct reader *in) {
  uint8_t target = next(in), dst = next(in);
  if (!budget(s, 16))
    return;
  TRACE(s, "new weak");
  /* The target is read from its root slot and passed straight in: the call
   * keeps it alive while it allocates. */
  place(s, dst, checked(s, gc_new_weak(s->heap, pick_value(s, target)),
                        "gc_new_weak"));
}

static void op_weak_get(struct fuzz_state *s, struct reader *in) {
  gc_ref *slot = pick(s, next(in));
  uint8_t dst = next(in);
  if (!slot || !*slot || fuzz_describe(s, *slot).shape != FUZZ_WEAK)
    return;
  gc_ref target = gc_weak_get(s->heap, *slot);
  TRACE(s, "weak get");
  /* A target that is not strongly reachable may or may not be cleared yet,
   * depending on the collector: using it would make the runs diverge. */
  if (target && fuzz_reachable(s, target))
    place(s, dst, target);
}

/* Writes the value the bytes a, b encode into field i of obj (of kind),
 * and reads it back. */
static void set_field(struct fuzz_state *s, gc_ref obj, size_t i, gc_kind kind,
                      uint8_t a, uint8_t b) {
  gc_heap *h = s->heap;
  switch (kind) {
  case GC_KIND_REF: {
    gc_ref v = pick_value(s, a);
    gc_set_ref(h, obj, i, v);
    if (gc_get_ref(h, obj, i) != v)
      fuzz_fail(s, "gc_get_ref does not read back what gc_set_ref wrote");
    break;
  }
  case GC_KIND_I64:
    gc_set_i64(h, obj, i, decode_i64(a, b));
    if (gc_get_i64(h, obj, i) != decode_i64(a, b))
      fuzz_fail(s, "gc_get_i64 does not read back what gc_set_i64 wrote");
    break;
  case GC_KIND_F64:
    gc_set_f64(h, obj, i, decode_f64(a, b));
    if (gc_get_f64(h, obj, i) != decode_f64(a, b))
      fuzz_fail(s, "gc_get_f64 does not read back what gc_set_f64 wrote");
    break;
  case GC_KIND_I8:
    gc_set_i8(h, obj, i, a);
    if (gc_get_i8(h, obj, i) != a)
      fuzz_fail(s, "gc_get_i8 does not read back what gc_set_i8 wrote");
    break;
  }
}

static void op_set_field(struct fuzz_state *s, struct reader *in) {
  gc_ref *slot = pick(s, next(in));
  uint8_t index = next(in), a = next(in), b = next(in);
  if (!slot || !*slot)
    return;
  struct fuzz_obj_info info = fuzz_describe(s, *slot);
  if ((info.shape != FUZZ_STRUCT && info.shape != FUZZ_ARRAY) || !info.nfields)
    return;
  size_t i = index % info.nfields;
  gc_kind kind = info.shape == FUZZ_STRUCT ? fuzz_structs[info.index].kinds[i]
                                           : fuzz_array_kinds[info.index];
  TRACE(s, "set field %zu (kind %d)", i, kind);
  set_field(s, *slot, i, kind, a, b);
}

static void op_get_ref(struct fuzz_state *s, struct reader *in) {
  gc_ref *slot = pick(s, next(in));
  uint8_t index = next(in), dst = next(in);
  if (!slot || !*slot)
    return;
  struct fuzz_obj_info info = fuzz_describe(s, *slot);
  size_t i;
  if (info.shape == FUZZ_ARRAY && fuzz_array_kinds[info.index] == GC_KIND_REF &&
      info.nfields) {
    i = index % info.nfields;
  } else if (info.shape == FUZZ_STRUCT) {
    const struct fuzz_struct_desc *d = &fuzz_structs[info.index];
    size_t refs[6], nrefs = 0;
    for (size_t f = 0; f < d->nfields; f++)
      if (d->kinds[f] == GC_KIND_REF)
        refs[nrefs++] = f;
    if (!nrefs)
      return;
    i = refs[index % nrefs];
  } else {
    return;
  }
  TRACE(s, "get ref %zu", i);
  place(s, dst, gc_get_ref(s->heap, *slot, i));
}

/* Element i of arr (kind), as 64 bits, for before/after comparisons. */
static uint64_t element_bits(struct fuzz_state *s, gc_ref arr, gc_kind kind,
                             size_t i) {
  switch (kind) {
  case GC_KIND_REF:
    return (uint64_t)(uintptr_t)gc_get_ref(s->heap, arr, i);
  case GC_KIND_I64:
    return (uint64_t)gc_get_i64(s->heap, arr, i);
  case GC_KIND_F64: {
    double v = gc_get_f64(s->heap, arr, i);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
  }
  case GC_KIND_I8:
    return gc_get_i8(s->heap, arr, i);
  }
  return 0;
}

/* gc_array_copy, checked against memmove semantics element by element. */
static void checked_copy(struct fuzz_state *s, gc_ref dst, size_t di, gc_ref src,
                         size_t si, size_t n, gc_kind kind) {
  static uint64_t before[FUZZ_MAX_LENGTH];
  for (size_t k = 0; k < n; k++)
    before[k] = element_bits(s, src, kind, si + k);
  TRACE(s, "array copy [%zu, +%zu) <- [%zu, +%zu)%s", di, n, si, n,
        dst == src ? " (same array)" : "");
  gc_array_copy(s->heap, dst, di, src, si, n);
  for (size_t k = 0; k < n; k++)
    if (element_bits(s, dst, kind, di + k) != before[k])
      fuzz_fail(s, "gc_array_copy(dst %p [%zu], src %p [%zu], n %zu): "
                   "element %zu is wrong",
                (void *)dst, di, (void *)src, si, n, k);
}

/* The array in slot b, or NULL. */
static gc_ref pick_array(struct fuzz_state *s, uint8_t b,
                         struct fuzz_obj_info *info) {
  gc_ref *slot = pick(s, b);
  if (!slot || !*slot)
    return NULL;
  *info = fuzz_describe(s, *slot);
  return info->shape == FUZZ_ARRAY ? *slot : NULL;
}

static void op_copy(struct fuzz_state *s, struct reader *in, bool self) {
  uint8_t d = next(in), sb = next(in), a = next(in), b = next(in),
          c = next(in);
  struct fuzz_obj_info dinfo, sinfo;
  gc_ref dst = pick_array(s, d, &dinfo);
  if (!dst)
    return;
  gc_ref src = self ? dst : pick_array(s, sb, &sinfo);
  if (!src || (!self && sinfo.index != dinfo.index)) {
    src = dst; /* a kind mismatch would trap: copy within dst instead */
    sinfo = dinfo;
  }
  if (self)
    sinfo = dinfo;
  size_t di = a % (dinfo.nfields + 1), si = b % (sinfo.nfields + 1);
  size_t room = dinfo.nfields - di < sinfo.nfields - si
                    ? dinfo.nfields - di
                    : sinfo.nfields - si;
  checked_copy(s, dst, di, src, si, c % (room + 1),
               fuzz_array_kinds[dinfo.index]);
}

static void op_fill(struct fuzz_state *s, struct reader *in) {
  uint8_t d = next(in), a = next(in), b = next(in), v1 = next(in),
          v2 = next(in);
  struct fuzz_obj_info info;
  gc_ref arr = pick_array(s, d, &info);
  if (!arr)
    return;
  size_t i = a % (info.nfields + 1);
  size_t n = b % (info.nfields - i + 1);
  gc_heap *h = s->heap;
  gc_kind kind = fuzz_array_kinds[info.index];
  TRACE(s, "fill [%zu, +%zu) kind %d", i, n, kind);
  switch (kind) {
  case GC_KIND_REF:
    gc_array_fill_ref(h, arr, i, n, pick_value(s, v1));
    break;
  case GC_KIND_I64:
    gc_array_fill_i64(h, arr, i, n, decode_i64(v1, v2));
    break;
  case GC_KIND_F64:
    gc_array_fill_f64(h, arr, i, n, decode_f64(v1, v2));
    break;
  case GC_KIND_I8:
    gc_array_fill_i8(h, arr, i, n, v1);
    break;
  }
  uint64_t want = n ? element_bits(s, arr, kind, i) : 0;
  for (size_t k = 1; k < n; k++)
    if (element_bits(s, arr, kind, i + k) != want)
      fuzz_fail(s, "gc_array_fill: element %zu differs from element %zu",
                i + k, i);
}

static void op_global_free(struct fuzz_state *s, struct reader *in) {
  uint8_t b = next(in);
  unsigned nglobals = 0;
  for (unsigned i = 0; i < s->nslots; i++)
    nglobals += s->slots[i].depth == 0;
  if (!nglobals)
    return;
  unsigned which = b % nglobals;
  for (unsigned i = 0; i < s->nslots; i++) {
    if (s->slots[i].depth != 0 || which--)
      continue;
    gc_ref *slot = s->slots[i].slot;
    TRACE(s, "global free");
    gc_global_free(s->heap, slot);
    remove_slots(s, 0, slot);
    return;
  }
}

/* Allocates a burst of short-lived pairs (with a resource every eighth),
 * chained, under a scope of its own; optionally makes it a long chain (deep
 * marking), closes it into a ring (cyclic garbage), watches its head
 * through a weak reference, or keeps it. */
static void op_garbage(struct fuzz_state *s, struct reader *in) {
  unsigned n = 1 + next(in) % 64;
  uint8_t how = next(in), dst = next(in);
  if (how & 16)
    n *= 32;
  if (s->depth == FUZZ_MAX_DEPTH)
    return;
  TRACE(s, "garbage burst of %u, how %#x", n, how);
  open_scope(s);
  gc_ref *head = gc_root(s->heap, NULL);
  gc_ref *tail = gc_root(s->heap, NULL);
  for (unsigned k = 0; k < n; k++) {
    gc_ref node;
    if (k % 8 == 7 && (how & 8)) {
      node = new_resource(s);
      if (!node)
        break;
      gc_ref *res = gc_root(s->heap, node);
      if (!budget(s, fuzz_struct_bytes(2)))
        break;
      node = checked(s, gc_new_struct(s->heap, s->structs[PAIR]),
                     "gc_new_struct");
      gc_set_ref(s->heap, node, 1, *res);
    } else {
      if (!budget(s, fuzz_struct_bytes(2)))
        break;
      node = checked(s, gc_new_struct(s->heap, s->structs[PAIR]),
                     "gc_new_struct");
    }
    gc_set_ref(s->heap, node, 0, *head);
    *head = node;
    if (!*tail)
      *tail = node;
  }
  if ((how & 1) && *tail)
    gc_set_ref(s->heap, *tail, 0, *head); /* a ring */
  gc_ref weak = NULL;
  if ((how & 2) && budget(s, 16))
    weak = checked(s, gc_new_weak(s->heap, *head), "gc_new_weak");
  gc_ref keep = (how & 4) ? *head : NULL;
  close_scope(s); /* no allocation from here on: weak and keep stay valid */
  if (weak)
    place(s, dst, weak);
  if (keep)
    place(s, dst | 0x80, keep);
}

int fuzz_misuse(struct fuzz_state *s, uint8_t what, uint8_t a, uint8_t b);

static void op_bad_call(struct fuzz_state *s, struct reader *in) {
  uint8_t what = next(in), a = next(in), b = next(in);
  static struct fuzz_graph_summary before, after;
  fuzz_graph(s, &before);
  if (fuzz_misuse(s, what, a, b) != 0)
    return;
  TRACE(s, "bad call #%d trapped as expected", what % 10);
  fuzz_graph(s, &after);
  if (before.digest != after.digest || before.objects != after.objects)
    fuzz_fail(s, "a call that trapped changed the heap");
}

/* ---- The program --------------------------------------------------------- */

enum opcode {
  OP_NEW_STRUCT, OP_NEW_ARRAY, OP_NEW_RESOURCE, OP_NEW_WEAK, OP_WEAK_GET,
  OP_SET_FIELD, OP_GET_REF, OP_COPY, OP_COPY_SELF, OP_FILL, OP_SCOPE_OPEN,
  OP_SCOPE_CLOSE, OP_DROP, OP_MOVE, OP_GLOBAL_NEW, OP_GLOBAL_FREE,
  OP_COLLECT, OP_GARBAGE, OP_BAD_CALL, OP_SET_FIELD2, OP_NEW_STRUCT2,
  OP_COUNT
};

static void run_op(struct fuzz_state *s, struct reader *in) {
  switch ((enum opcode)(next(in) % OP_COUNT)) {
  case OP_NEW_STRUCT:
  case OP_NEW_STRUCT2:
    return op_new_struct(s, in);
  case OP_NEW_ARRAY:
    return op_new_array(s, in);
  case OP_NEW_RESOURCE:
    return op_new_resource(s, in);
  case OP_NEW_WEAK:
    return op_new_weak(s, in);
  case OP_WEAK_GET:
    return op_weak_get(s, in);
  case OP_SET_FIELD:
  case OP_SET_FIELD2:
    return op_set_field(s, in);
  case OP_GET_REF:
    return op_get_ref(s, in);
  case OP_COPY:
    return op_copy(s, in, false);
  case OP_COPY_SELF:
    return op_copy(s, in, true);
  case OP_FILL:
    return op_fill(s, in);
  case OP_SCOPE_OPEN:
    if (s->depth < FUZZ_MAX_DEPTH) {
      TRACE(s, "scope open");
      open_scope(s);
    }
    return;
  case OP_SCOPE_CLOSE:
    if (s->depth > 0) {
      TRACE(s, "scope close");
      close_scope(s);
    }
    return;
  case OP_DROP: {
    gc_ref *slot = pick(s, next(in));
    if (slot)
      *slot = NULL;
    return;
  }
  case OP_MOVE: {
    gc_ref *to = pick(s, next(in));
    gc_ref v = pick_value(s, next(in));
    if (to)
      *to = v;
    return;
  }
  case OP_GLOBAL_NEW: {
    gc_ref v = pick_value(s, next(in));
    if (s->nslots < FUZZ_MAX_SLOTS) {
      TRACE(s, "global new");
      gc_ref *slot = gc_global(s->heap, v);
      if (!slot)
        fuzz_fail(s, "gc_global returned NULL");
      s->slots[s->nslots++] = (struct fuzz_slot){slot, 0};
    }
    return;
  }
  case OP_GLOBAL_FREE:
    return op_global_free(s, in);
  case OP_COLLECT:
    if (s->collections++ >= FUZZ_MAX_COLLECTIONS)
      return;
    TRACE(s, "collect");
    gc_collect(s->heap);
    return check_collected(s);
  case OP_GARBAGE:
    return op_garbage(s, in);
  case OP_BAD_CALL:
    return op_bad_call(s, in);
  case OP_COUNT:
    break;
  }
}

static void on_trap(gc_heap *heap, gc_trap kind, const char *msg, void *ud) {
  struct fuzz_state *s = ud;
  if (s->expect_trap == (int)kind && s->traps_seen == 0) {
    s->traps_seen++;
    return;
  }
  fuzz_fail(s, "unexpected trap %s: %s", gc_trap_name(kind), msg);
}

static int make_heap(struct fuzz_state *s, const char *collector,
                     uint8_t config_byte) {
  /* Stress collections are costly with verify=1 (every collector checks
   * its whole heap at each): one configuration in four. */
  static const unsigned stress[8] = {0, 0, 0, 0, 0, 0, 1, 7};
  static const char *const heap_size[4] = {"0", "16K", "256K", "4M"};
  char err[256], opt[64];
  gc_config *config = gc_config_new();
  if (!config)
    fuzz_fail(s, "gc_config_new failed");
  const char *settings[5] = {opt, "verify=1", NULL, NULL, NULL};
  snprintf(opt, sizeof opt, "collector=%s", collector);
  char stress_opt[32], size_opt[32];
  unsigned every = stress[config_byte & 7];
  /* A collection per allocation costs a heap walk with verify=1. */
  s->max_objects = every ? 300 * every : FUZZ_MAX_OBJECTS;
  /* A Boehm collection scans the fuzzer's static data too (libFuzzer's and
   * the sanitizers' 10 MB of tables): ~20 ms each. Its stress collections
   * are spaced out; the digests are compared at explicit collections only,
   * so the runs still agree. */
  if (!strcmp(collector, "boehm"))
    every *= 50;
  snprintf(stress_opt, sizeof stress_opt, "stress=%u", every);
  snprintf(size_opt, sizeof size_opt, "heap-size=%s",
           heap_size[(config_byte >> 3) & 3]);
  settings[2] = stress_opt;
  settings[3] = size_opt;
  /* The null collector never frees: its arena must hold a whole run. */
  if (!strcmp(collector, "null"))
    settings[4] = "max-heap-size=32M";
  for (int i = 0; i < 5 && settings[i]; i++)
    if (gc_config_set(config, settings[i], err, sizeof err))
      fuzz_fail(s, "gc_config_set(%s): %s", settings[i], err);
  s->heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!s->heap) {
    fprintf(stderr, "gcheap-fuzz: %s: gc_heap_new: %s\n", collector, err);
    return -1;
  }
  gc_set_trap_handler(s->heap, on_trap, s);
  for (int i = 0; i < FUZZ_NSTRUCTS; i++)
    if (!(s->structs[i] = gc_type_struct(s->heap, fuzz_structs[i].name,
                                         fuzz_structs[i].nfields,
                                         fuzz_structs[i].kinds)))
      fuzz_fail(s, "gc_type_struct(%s) failed", fuzz_structs[i].name);
  static const char *const array_names[FUZZ_NARRAYS] = {"refs", "i64s", "f64s",
                                                        "bytes"};
  for (int i = 0; i < FUZZ_NARRAYS; i++)
    if (!(s->arrays[i] = gc_type_array(s->heap, array_names[i],
                                       fuzz_array_kinds[i])))
      fuzz_fail(s, "gc_type_array(%s) failed", array_names[i]);
  return 0;
}

/* Drops every root and collects: a precise collector must be back to an
 * empty heap with every destructor run. */
static void teardown(struct fuzz_state *s) {
  while (s->depth)
    close_scope(s);
  while (s->nslots) {
    gc_ref *slot = s->slots[s->nslots - 1].slot;
    gc_global_free(s->heap, slot);
    remove_slots(s, 0, slot);
  }
  gc_collect(s->heap);
  check_collected(s);
  gc_stats st;
  gc_get_stats(s->heap, &st);
  if (s->precise && st.live_bytes != 0)
    fuzz_fail(s, "%llu bytes still live with no roots after gc_collect",
              (unsigned long long)st.live_bytes);
}

int fuzz_run(struct fuzz_state *s, const char *collector, const uint8_t *data,
             size_t size) {
  memset(s, 0, sizeof *s);
  s->collector = collector;
  s->precise = strcmp(collector, "null") && strcmp(collector, "boehm");
  s->trace = getenv("GCHEAP_FUZZ_TRACE") != NULL;
  s->expect_trap = -1;
  s->serial = ++run_serial;
  struct reader in = {data, size, 0};
  uint8_t config_byte = next(&in);
  if (make_heap(s, collector, config_byte))
    return -1;
  s->heap_live = true;
  open_scope(s);
  while (in.pos < in.size) {
    run_op(s, &in);
    s->op++;
  }
  /* The final graph is compared too, collected or not. */
  static struct fuzz_graph_summary g;
  fuzz_graph(s, &g);
  log_graph(s, &g);
  if (config_byte & 0x20)
    teardown(s);
  gc_heap_free(s->heap);
  s->heap_live = false;
  for (unsigned id = 0; id < s->nresources; id++)
    if (s->destroyed[id] != 1)
      fuzz_fail(s, "resource #%u destroyed %u times by gc_heap_free", id,
                s->destroyed[id]);
  return 0;
}
