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

struct fuzz_obj_info fuzz_describe(struct fuzz_state *s, gc_ref obj) {
  gc_type type = gc_type_of(s->heap, obj);
  for (int i = 0; i < FUZZ_NSTRUCTS; i++)
    if (type == s->structs[i])
      return (struct fuzz_obj_info){FUZZ_STRUCT, i, fuzz_structs[i].nfields};
  for (int i = 0; i < FUZZ_NARRAYS; i++)
    if (type == s->arrays[i])
      return (struct fuzz_obj_info){FUZZ_ARRAY, i, gc_array_len(s->heap, obj)};
  const char *name = gc_type_name(s->heap, type);
  if (name && !strcmp(name, "resource"))
    return (struct fuzz_obj_info){FUZZ_RESOURCE, 0, 0};
  if (name && !strcmp(name, "weak"))
    return (struct fuzz_obj_info){FUZZ_WEAK, 0, 0};
  fuzz_fail(s, "object %p has type %u (%s), which the program never made",
            (void *)obj, type, name ? name : "?");
}

/* ---- Root slots ---------------------------------------------------------- */

void fuzz_open_scope(struct fuzz_state *s) {
  s->scopes[s->depth++] = gc_scope_open(s->heap);
}

/* Forgets slots, keeping the order of the others. */
void fuzz_remove_slots(struct fuzz_state *s, int depth_at_least, gc_ref *only) {
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

void fuzz_close_scope(struct fuzz_state *s) {
  assert(s->depth > 0);
  gc_scope_close(s->heap, s->scopes[s->depth - 1]);
  fuzz_remove_slots(s, (int)s->depth, NULL);
  s->depth--;
}

/* Stores r into the program's roots: a new slot in the innermost scope when
 * dst asks for one (high bit) and there is room, else slot dst. */
void fuzz_place(struct fuzz_state *s, uint8_t dst, gc_ref r) {
  if (((dst & 0x80) || s->nslots == 0) && s->nslots < FUZZ_MAX_SLOTS) {
    if (s->depth == 0)
      fuzz_open_scope(s);
    gc_ref *slot = gc_root(s->heap, r);
    if (!slot)
      fuzz_fail(s, "gc_root returned NULL");
    s->slots[s->nslots++] = (struct fuzz_slot){slot, (int)s->depth};
    TRACE(s, "  -> new slot %u (depth %u)%s", s->nslots - 1, s->depth,
          r ? "" : ", null");
  } else {
    *s->slots[dst % s->nslots].slot = r;
    TRACE(s, "  -> slot %u%s", dst % s->nslots, r ? "" : ", null");
  }
}

/* The slot that b names, or NULL if the program holds none. */
gc_ref *fuzz_pick(struct fuzz_state *s, uint8_t b) {
  return s->nslots ? s->slots[b % s->nslots].slot : NULL;
}

/* The value of the slot that b names, or NULL (b may name "null" too). */
gc_ref fuzz_pick_value(struct fuzz_state *s, uint8_t b) {
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
    fuzz_fail(s, "a destructor ran after its heap was freed (pointer %p)", ptr);
  if (id >= s->nresources)
    fuzz_fail(s, "destructor called with pointer %p, not a resource", ptr);
  if (s->destroyed[id]++)
    fuzz_fail(s, "resource #%u destroyed twice", id);
  s->ndestroyed++;
}

/* Charges one object of bytes to the run's budget; false if over it. */
bool fuzz_budget(struct fuzz_state *s, size_t bytes) {
  if (s->objects_allocated >= s->max_objects ||
      s->bytes_allocated + bytes > FUZZ_MAX_BYTES)
    return false;
  s->objects_allocated++;
  s->bytes_allocated += bytes;
  return true;
}

gc_ref fuzz_checked(struct fuzz_state *s, gc_ref r, const char *what) {
  if (!r)
    fuzz_fail(s, "%s returned NULL", what);
  return r;
}

gc_ref fuzz_new_resource(struct fuzz_state *s) {
  if (s->nresources >= FUZZ_MAX_RESOURCES || !fuzz_budget(s, 40))
    return NULL;
  unsigned id = s->nresources++;
  return fuzz_checked(s,
                      gc_new_resource(s->heap,
                                      fuzz_resource_pointer(s->serial, id),
                                      destroy_resource, s),
                      "gc_new_resource");
}

/* ---- Checks after a collection ------------------------------------------- */

static void log_graph(struct fuzz_state *s,
                      const struct fuzz_graph_summary *g) {
  if (s->log.n < FUZZ_MAX_LOG)
    s->log.entries[s->log.n++] =
        (struct fuzz_log_entry){s->op, g->objects, g->digest};
  TRACE(s, "graph: %u objects, %llu bytes, digest %016llx", g->objects,
        (unsigned long long)g->bytes, (unsigned long long)g->digest);
}

/* What every collector must show after gc_collect, and what a precise one
 * must show exactly: nothing unreachable kept, no weak left dangling. */
void fuzz_check_collected(struct fuzz_state *s) {
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
    fuzz_fail(s,
              "%llu weak references still point at unreachable objects "
              "after gc_collect",
              (unsigned long long)g.weak_dangling);
  if (st.live_bytes != g.bytes)
    fuzz_fail(s,
              "live_bytes is %llu after gc_collect but %llu bytes are "
              "reachable",
              (unsigned long long)st.live_bytes, (unsigned long long)g.bytes);
  for (unsigned id = 0; id < s->nresources; id++)
    if (!g.reachable_resource[id] && !s->destroyed[id])
      fuzz_fail(s, "resource #%u is unreachable but survived gc_collect", id);
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
  gc_config *config = gc_config_new(err, sizeof err);
  if (!config)
    fuzz_fail(s, "gc_config_new failed");
  /* One configuration in four runs with verify off: the API then takes its
   * inline fast paths, which must accept and refuse exactly what the checked
   * paths do (every bad call the fuzzer makes traps either way). */
  bool verify = (config_byte & 0xc0) != 0xc0;
  /* verify=1's quarantine small: a run frees little, and the default 32M
   * would only make every run take fresh pages (the quarantine's release
   * path is still exercised at 64K). */
  const char *settings[6] = {opt,  verify ? "verify=1" : "verify=0", NULL, NULL,
                             NULL, "verify-quarantine=64K"};
  snprintf(opt, sizeof opt, "collector=%s", collector);
  char stress_opt[32], size_opt[32];
  unsigned every = stress[config_byte & 7];
  /* A collection per allocation costs a heap walk with verify=1. */
  s->max_objects = every ? 300 * every : FUZZ_MAX_OBJECTS;
  /* Boehm's stress collections are spaced out: at every allocation, as the
   * others', collector=boehm took 2.4 times as long over the same corpus
   * (4.1 s against 1.7 s, since fuzz_boehm.c keeps it from scanning the
   * fuzzer's static data; ~20 ms a collection before that). The digests are
   * compared at explicit collections only, so the runs still agree. */
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
  for (int i = 0; i < 6; i++)
    if (settings[i] && gc_config_set(config, settings[i], err, sizeof err))
      fuzz_fail(s, "gc_config_set(%s): %s", settings[i], err);
  s->heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!s->heap) {
    fprintf(stderr, "gcheap-fuzz: %s: gc_heap_new: %s\n", collector, err);
    return -1;
  }
  gc_set_trap_handler(s->heap, on_trap, s);
  for (int i = 0; i < FUZZ_NSTRUCTS; i++)
    if (!(s->structs[i] =
              gc_type_struct(s->heap, fuzz_structs[i].name,
                             fuzz_structs[i].nfields, fuzz_structs[i].kinds)))
      fuzz_fail(s, "gc_type_struct(%s) failed", fuzz_structs[i].name);
  static const char *const array_names[FUZZ_NARRAYS] = {"refs", "i64s", "f64s",
                                                        "bytes"};
  for (int i = 0; i < FUZZ_NARRAYS; i++)
    if (!(s->arrays[i] =
              gc_type_array(s->heap, array_names[i], fuzz_array_kinds[i])))
      fuzz_fail(s, "gc_type_array(%s) failed", array_names[i]);
  return 0;
}

/* Drops every root and collects: a precise collector must be back to an
 * empty heap with every destructor run. */
static void teardown(struct fuzz_state *s) {
  while (s->depth)
    fuzz_close_scope(s);
  while (s->nslots) {
    gc_ref *slot = s->slots[s->nslots - 1].slot;
    gc_global_free(s->heap, slot);
    fuzz_remove_slots(s, 0, slot);
  }
  gc_collect(s->heap);
  fuzz_check_collected(s);
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
  fuzz_open_scope(s);
  while (in.pos < in.size) {
    fuzz_run_op(s, &in);
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
