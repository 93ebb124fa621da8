/* wl-resources.c — resources created and dropped.
 *
 * COUNT resources are created, each owning a small malloc'd payload that
 * names it; one in eight replaces a random entry of a rooted table of KEEP,
 * the rest are dropped at once. The destructor checks the payload, counts
 * the destruction of that resource and frees the payload.
 *
 * Checked: a resource still in the table was never destroyed (every 1024
 * creations the whole table is checked), and after gc_heap_free every
 * resource was destroyed exactly once (workload_resources_after_free).
 * The checksum is COUNT plus the ids of the resources in the final table.
 */
#include "workload.h"

#include <stdlib.h>

enum { KEEP = 1024, CHECK_EVERY = 1024 };
#define PAYLOAD_MAGIC UINT64_C(0x5245534f55524345) /* "RESOURCE" */

struct payload {
  uint64_t magic;
  uint64_t id;
};

/* Lives past the heap: the destructors run inside gc_heap_free. */
struct resources_state {
  uint64_t created;
  uint64_t destroyed_total;
  uint8_t *destroyed; /* per id: times destroyed (saturating at 255) */
  int bad_payloads;
};
static struct resources_state state;

static void destroy_payload(void *ptr, void *ud) {
  struct resources_state *s = ud;
  struct payload *p = ptr;
  if (p->magic != PAYLOAD_MAGIC || p->id >= s->created) {
    s->bad_payloads++;
    return; /* do not free what we do not recognise */
  }
  if (s->destroyed[p->id] < 255)
    s->destroyed[p->id]++;
  s->destroyed_total++;
  p->magic = 0;
  free(p);
}

/* What the table should hold, kept in C memory so that a check never reads
 * a payload that a wrongly run destructor has already freed. */
struct expected {
  struct payload *ptr; /* NULL: the entry is empty */
  uint64_t id;
};

static void check_table(gc_heap *h, gc_ref table,
                        const struct expected *expected,
                        struct workload_result *result) {
  for (size_t k = 0; k < KEEP; k++) {
    gc_ref r = gc_get_ref(h, table, k);
    if (!expected[k].ptr) {
      if (r)
        workload_fail(result, "table entry %zu should be empty", k);
      continue;
    }
    if (state.destroyed[expected[k].id]) {
      workload_fail(result,
                    "reachable resource %llu (table entry %zu) was "
                    "destroyed",
                    (unsigned long long)expected[k].id, k);
      return;
    }
    struct payload *p = r ? gc_resource_ptr(h, r) : NULL;
    if (p != expected[k].ptr || p->magic != PAYLOAD_MAGIC) {
      workload_fail(result, "table entry %zu lost resource %llu", k,
                    (unsigned long long)expected[k].id);
      return;
    }
  }
}

int workload_resources(gc_heap *h, int argc, char **argv,
                       struct workload_result *result) {
  long count;
  if (argc > 2 ||
      workload_int_arg(argc, argv, 1, 1, 1000000000, 1000000, &count) < 0)
    return -1;
  free(state.destroyed);
  state = (struct resources_state){0};
  state.destroyed = calloc((size_t)count, 1);
  if (!state.destroyed) {
    workload_fail(result, "out of C memory for the destruction counts");
    return 0;
  }
  gc_type table_type = gc_type_array(h, "resource-table", GC_KIND_REF);
  struct expected expected[KEEP] = {{0}};
  uint64_t random = 0x853c49e6748fea9bu;

  gc_scope scope = gc_scope_open(h);
  gc_ref *table = gc_root(h, gc_new_array(h, table_type, KEEP));
  for (long i = 0; i < count; i++) {
    struct payload *p = malloc(sizeof *p);
    if (!p) {
      workload_fail(result, "out of C memory for payloads");
      break;
    }
    *p = (struct payload){PAYLOAD_MAGIC, state.created++};
    gc_ref r = gc_new_resource(h, p, destroy_payload, &state);
    uint64_t x = workload_random(&random);
    if ((x & 7) == 0) {
      size_t k = (x >> 8) % KEEP;
      gc_set_ref(h, *table, k, r);
      expected[k] = (struct expected){p, p->id};
    }
    if (i % CHECK_EVERY == CHECK_EVERY - 1)
      check_table(h, *table, expected, result);
  }
  check_table(h, *table, expected, result);
  result->checksum = state.created;
  for (size_t k = 0; k < KEEP; k++)
    if (expected[k].ptr)
      result->checksum += expected[k].id;
  gc_scope_close(h, scope);
  return 0;
}

void workload_resources_after_free(struct workload_result *result) {
  if (state.bad_payloads)
    workload_fail(result, "%d destructors got a payload that was not ours",
                  state.bad_payloads);
  if (state.destroyed_total != state.created)
    workload_fail(result, "%llu resources created but %llu destroyed",
                  (unsigned long long)state.created,
                  (unsigned long long)state.destroyed_total);
  for (uint64_t id = 0; id < state.created; id++)
    if (state.destroyed[id] != 1) {
      workload_fail(result, "resource %llu was destroyed %d times",
                    (unsigned long long)id, state.destroyed[id]);
      break;
    }
  free(state.destroyed);
  state.destroyed = NULL;
}
