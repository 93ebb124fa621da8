/* fuzz_digest.c — a digest of the graph reachable from the root slots.
 *
 * Two heaps built by the same program must hold the same graph, whatever
 * their collector: the same objects reachable, with the same types, lengths,
 * scalars and the same reference structure. The digest captures exactly
 * that and nothing that may legitimately differ (addresses, unreachable
 * garbage). Objects are numbered in breadth-first order from the root slots
 * taken in the program's slot order, fields in index order: a canonical
 * numbering, so a reference hashes as the number of its target.
 *
 * A weak reference hashes as its target's number when the target is
 * strongly reachable, and as "gone" otherwise, whether the collector has
 * cleared it yet (tracing after a collection) or not (null, boehm, or any
 * collector before the next collection). A weak that lost a live target
 * hashes differently from the others, and one left pointing at reused
 * memory too.
 *
 * The walk goes through the public API only, so with verify=1 every
 * reference it follows is checked by the collector as well. It allocates
 * nothing, so addresses are stable while it runs.
 */
#include "fuzz.h"

#include <string.h>

#include "collector-api.h" /* sizeof the built-in objects, for live_bytes */

/* Address -> BFS number. Open addressing; a generation stamp empties the
 * table in O(1) between walks. Reachable objects never outnumber the
 * objects a run may allocate. */
#define TABLE_SIZE 8192 /* a power of two, over twice FUZZ_MAX_OBJECTS */
_Static_assert(TABLE_SIZE >= 2 * FUZZ_MAX_OBJECTS, "table too small");

struct table_entry {
  gc_ref key;
  uint32_t number;
  uint32_t generation;
};
static struct table_entry table[TABLE_SIZE];
static uint32_t generation;

static gc_ref queue[FUZZ_MAX_OBJECTS];
static gc_ref weaks[FUZZ_MAX_OBJECTS];

static size_t table_home(gc_ref key) {
  uint64_t x = (uint64_t)(uintptr_t)key;
  x ^= x >> 29;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 32;
  return (size_t)x & (TABLE_SIZE - 1);
}

/* The number of key, or -1 if the current walk has not reached it. */
static long table_find(gc_ref key) {
  for (size_t i = table_home(key);; i = (i + 1) & (TABLE_SIZE - 1)) {
    if (table[i].generation != generation)
      return -1;
    if (table[i].key == key)
      return table[i].number;
  }
}

static void table_insert(gc_ref key, uint32_t number) {
  size_t i = table_home(key);
  while (table[i].generation == generation)
    i = (i + 1) & (TABLE_SIZE - 1);
  table[i] = (struct table_entry){key, number, generation};
}

static void mix(uint64_t *h, uint64_t v) {
  uint64_t x = *h ^ (v + UINT64_C(0x9e3779b97f4a7c15));
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  *h = x ^ (x >> 31);
}

struct walk {
  struct fuzz_state *s;
  struct fuzz_graph_summary *out;
  uint32_t nqueued, nweaks;
};

/* Hashes a strong reference to r, queueing r the first time it is seen. */
static void reach(struct walk *w, gc_ref r) {
  if (!r) {
    mix(&w->out->digest, 0);
    return;
  }
  long number = table_find(r);
  if (number < 0) {
    if (w->nqueued == FUZZ_MAX_OBJECTS)
      fuzz_fail(w->s, "more objects reachable than were ever allocated");
    number = w->nqueued;
    table_insert(r, w->nqueued);
    queue[w->nqueued++] = r;
  }
  mix(&w->out->digest, (uint64_t)number + 1);
}

static uint64_t f64_bits(double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits;
}

/* Hashes one scalar or reference field/element of kind at index i. */
static void hash_field(struct walk *w, gc_ref obj, gc_kind kind, size_t i) {
  gc_heap *heap = w->s->heap;
  switch (kind) {
  case GC_KIND_REF:
    reach(w, gc_get_ref(heap, obj, i));
    break;
  case GC_KIND_I64:
    mix(&w->out->digest, (uint64_t)gc_get_i64(heap, obj, i));
    break;
  case GC_KIND_F64:
    mix(&w->out->digest, f64_bits(gc_get_f64(heap, obj, i)));
    break;
  case GC_KIND_I8:
    mix(&w->out->digest, gc_get_i8(heap, obj, i));
    break;
  }
}

static void hash_object(struct walk *w, gc_ref obj) {
  struct fuzz_state *s = w->s;
  struct fuzz_obj_info info = fuzz_describe(s, obj);
  mix(&w->out->digest, (uint64_t)info.shape << 32 | (uint64_t)info.index);
  mix(&w->out->digest, info.nfields);
  switch (info.shape) {
  case FUZZ_STRUCT: {
    const struct fuzz_struct_desc *d = &fuzz_structs[info.index];
    w->out->bytes += fuzz_struct_bytes(d->nfields);
    for (size_t i = 0; i < d->nfields; i++)
      hash_field(w, obj, d->kinds[i], i);
    break;
  }
  case FUZZ_ARRAY: {
    gc_kind kind = fuzz_array_kinds[info.index];
    w->out->bytes += fuzz_array_bytes(kind, info.nfields);
    for (size_t i = 0; i < info.nfields; i++)
      hash_field(w, obj, kind, i);
    break;
  }
  case FUZZ_RESOURCE: {
    w->out->bytes += sizeof(struct gc_resource);
    void *ptr = gc_resource_ptr(s->heap, obj);
    uint32_t id = fuzz_resource_id(s->serial, ptr);
    if (id >= s->nresources)
      fuzz_fail(s, "reachable resource %p has pointer %p, not one this run "
                   "created", (void *)obj, ptr);
    if (s->destroyed[id])
      fuzz_fail(s, "resource #%u is reachable but its destructor ran", id);
    w->out->reachable_resource[id] = 1;
    mix(&w->out->digest, id);
    break;
  }
  case FUZZ_WEAK:
    w->out->bytes += sizeof(struct gc_weak);
    weaks[w->nweaks++] = obj;
    break;
  case FUZZ_NONE:
    break;
  }
}

void fuzz_graph(struct fuzz_state *s, struct fuzz_graph_summary *out) {
  memset(out, 0, sizeof *out);
  if (++generation == 0) { /* wrapped: stale stamps could match again */
    memset(table, 0, sizeof table);
    generation = 1;
  }
  struct walk w = {.s = s, .out = out};
  for (unsigned i = 0; i < s->nslots; i++) {
    mix(&out->digest, (uint64_t)s->slots[i].depth);
    reach(&w, *s->slots[i].slot);
  }
  for (uint32_t next = 0; next < w.nqueued; next++)
    hash_object(&w, queue[next]);
  /* Weak targets last: only now is every strongly reachable object known. */
  for (uint32_t i = 0; i < w.nweaks; i++) {
    gc_ref target = gc_weak_get(s->heap, weaks[i]);
    long number = target ? table_find(target) : -1;
    mix(&out->digest, (uint64_t)(number + 1));
    if (target && number < 0)
      out->weak_dangling++;
  }
  out->objects = w.nqueued;
}

bool fuzz_reachable(struct fuzz_state *s, gc_ref target) {
  static struct fuzz_graph_summary scratch;
  fuzz_graph(s, &scratch);
  return target && table_find(target) >= 0;
}
