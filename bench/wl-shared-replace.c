/* wl-shared-replace.c — THREADS threads replace entries of one shared, old
 * array of lists under a lock: the write barrier when several threads store
 * into the same old object, and collections while threads wait for the
 * embedder's lock (a blocking call: gc_blocking_begin/end around it).
 *
 * The table has TABLE entries, each a list of LIST_NODES nodes holding the
 * same id; it is made old by a collection before the threads start. Each
 * round a thread builds a fresh list (and a little garbage), takes the lock,
 * checks the entry it replaces and stores its list there. At the end every
 * entry is checked. The checksum counts rounds and nodes checked, which the
 * interleaving does not change.
 */
#include "workload.h"

#include <pthread.h>

enum { TABLE = 4096, LIST_NODES = 4 };
enum { NODE_NEXT, NODE_ID };

struct shared_replace {
  pthread_mutex_t lock;
  gc_ref *table; /* a global */
  gc_type node;
  long rounds;
};

/* A list of LIST_NODES nodes holding id, in *slot. */
static void build_list(gc_heap *h, gc_type node, gc_ref *slot, int64_t id) {
  *slot = NULL;
  for (int i = 0; i < LIST_NODES; i++) {
    gc_ref cell = gc_new_struct(h, node);
    gc_set_i64(h, cell, NODE_ID, id);
    gc_set_ref(h, cell, NODE_NEXT, *slot);
    *slot = cell;
  }
}

/* Nodes of a list whose nodes all hold the same id; -1 if they do not. */
static long check_list(gc_heap *h, gc_ref list) {
  long n = 0;
  int64_t id = list ? gc_get_i64(h, list, NODE_ID) : 0;
  for (; list; list = gc_get_ref(h, list, NODE_NEXT), n++)
    if (gc_get_i64(h, list, NODE_ID) != id)
      return -1;
  return n;
}

static void replace_rounds(gc_heap *h, void *arg,
                           struct workload_result *result) {
  struct shared_replace *s = arg;
  gc_scope scope = gc_scope_open(h);
  gc_ref *fresh = gc_root(h, NULL);
  gc_ref *garbage = gc_root(h, NULL);
  uint64_t rng = (uint64_t)(uintptr_t)h | 1;
  for (long round = 0; round < s->rounds; round++) {
    build_list(h, s->node, fresh, round);
    build_list(h, s->node, garbage, -round);
    size_t k = (size_t)(workload_random(&rng) % TABLE);
    gc_blocking_begin(h);
    pthread_mutex_lock(&s->lock);
    gc_blocking_end(h);
    long n = check_list(h, gc_get_ref(h, *s->table, k));
    gc_set_ref(h, *s->table, k, *fresh);
    pthread_mutex_unlock(&s->lock);
    if (n != LIST_NODES)
      workload_fail(result, "entry %zu: %ld nodes or mixed ids", k, n);
    result->checksum++;
  }
  gc_scope_close(h, scope);
}

int workload_shared_replace(gc_heap *h, int argc, char **argv,
                            struct workload_result *result) {
  long threads, rounds;
  if (argc > 3 || workload_int_arg(argc, argv, 1, 1, 64, 2, &threads) < 0 ||
      workload_int_arg(argc, argv, 2, 1, 100000000, 200000, &rounds) < 0)
    return -1;
  const gc_kind node_fields[] = {GC_KIND_REF, GC_KIND_I64};
  struct shared_replace s = {PTHREAD_MUTEX_INITIALIZER, NULL,
                             gc_type_struct(h, "list-node", 2, node_fields),
                             rounds};
  gc_type table_type = gc_type_array(h, "table", GC_KIND_REF);
  s.table = gc_global(h, gc_new_array(h, table_type, TABLE));
  gc_scope scope = gc_scope_open(h);
  gc_ref *list = gc_root(h, NULL);
  for (size_t k = 0; k < TABLE; k++) {
    build_list(h, s.node, list, (int64_t)k);
    gc_set_ref(h, *s.table, k, *list);
  }
  gc_scope_close(h, scope);
  gc_collect(h); /* the table and its lists are old from here on */
  int status = workload_on_threads(h, (int)threads, replace_rounds, &s, result);
  for (size_t k = 0; k < TABLE; k++) {
    long n = check_list(h, gc_get_ref(h, *s.table, k));
    if (n != LIST_NODES)
      workload_fail(result, "entry %zu at the end: %ld nodes or mixed ids", k,
                    n);
    result->checksum += (uint64_t)n;
  }
  gc_global_free(h, s.table);
  return status;
}
