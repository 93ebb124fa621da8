/* Regression 2 — links and monitors (AtomVM's link/monitor leak).
 *
 * Many short-lived "processes": each is a small object graph (a process
 * struct, a mailbox array, a native handle held as a resource) linked to
 * other processes and watched by a monitor table through weak references.
 * After the processes of a generation end and a collection runs, every
 * monitor's weak reference reads NULL, every handle's destructor has run
 * once, and live_bytes is back to the baseline measured before the first
 * generation — generation after generation. The buggy behaviour this fails
 * on: a weak reference or a link that keeps a dead process (or its handle)
 * alive, so memory grows with every generation. */
#include "harness.h"

enum { GENERATIONS = 6, PROCESSES = 40, LINKS = 3, MAILBOX = 8 };

static const gc_kind process_kinds[] = {
    GC_KIND_REF, /* mailbox */
    GC_KIND_REF, /* handle (resource) */
    GC_KIND_REF, /* links: array of other processes */
    GC_KIND_I64, /* pid */
};
enum { P_MAILBOX, P_HANDLE, P_LINKS, P_PID };

static int handles_destroyed;
static void destroy_handle(void *ptr, void *ud) {
  handles_destroyed++;
}

struct types {
  gc_type process, refs, ints;
};

/* Spawns a generation: PROCESSES processes linked in a ring and across, each
 * watched by a weak reference in monitors[]. The processes themselves are
 * rooted only by the table returned in *table (a scope slot of the
 * caller's scope). */
static NOINLINE void spawn_generation(gc_heap *heap, struct types t, int gen,
                                      gc_ref monitors, gc_ref *table) {
  *table = gc_new_array(heap, t.refs, PROCESSES);
  for (int i = 0; i < PROCESSES; i++) {
    gc_scope scope = gc_scope_open(heap);
    gc_ref *p = gc_root(heap, gc_new_struct(heap, t.process));
    gc_set_i64(heap, *p, P_PID, gen * PROCESSES + i);
    gc_ref *box = gc_root(heap, gc_new_array(heap, t.ints, MAILBOX));
    gc_array_fill_i64(heap, *box, 0, MAILBOX, gen);
    gc_set_ref(heap, *p, P_MAILBOX, *box);
    gc_set_ref(heap, *p, P_HANDLE,
               gc_new_resource(heap, NULL, destroy_handle, NULL));
    gc_set_ref(heap, *p, P_LINKS, gc_new_array(heap, t.refs, LINKS));
    gc_set_ref(heap, *table, i, *p);
    gc_set_ref(heap, monitors, gen * PROCESSES + i, gc_new_weak(heap, *p));
    gc_scope_close(heap, scope);
  }
  /* Links: to the next, the previous and a far process (cycles). */
  for (int i = 0; i < PROCESSES; i++) {
    gc_ref links = gc_get_ref(heap, gc_get_ref(heap, *table, i), P_LINKS);
    gc_set_ref(heap, links, 0, gc_get_ref(heap, *table, (i + 1) % PROCESSES));
    gc_set_ref(heap, links, 1,
               gc_get_ref(heap, *table, (i + PROCESSES - 1) % PROCESSES));
    gc_set_ref(heap, links, 2, gc_get_ref(heap, *table, (i * 7) % PROCESSES));
  }
}

/* Work the processes do: messages moved between mailboxes. */
static NOINLINE void exchange_messages(gc_heap *heap, gc_ref table) {
  for (int i = 0; i < PROCESSES; i++) {
    gc_ref from = gc_get_ref(heap, gc_get_ref(heap, table, i), P_MAILBOX);
    gc_ref to = gc_get_ref(
        heap, gc_get_ref(heap, table, (i + 1) % PROCESSES), P_MAILBOX);
    gc_array_copy(heap, to, 1, from, 0, MAILBOX - 1);
  }
}

static NOINLINE int live_monitors(gc_heap *heap, gc_ref monitors, int gen) {
  int live = 0;
  for (int i = 0; i < PROCESSES; i++) {
    gc_ref w = gc_get_ref(heap, monitors, gen * PROCESSES + i);
    if (gc_weak_get(heap, w))
      live++;
  }
  return live;
}

COLLECTOR_TEST(regress_links_monitors, dead_processes_return_to_baseline) {
  gc_heap *heap = harness_new_heap(param->name, NULL);
  struct types t = {
      .process = gc_type_struct(heap, "process", 4, process_kinds),
      .refs = gc_type_array(heap, "refs", GC_KIND_REF),
      .ints = gc_type_array(heap, "ints", GC_KIND_I64),
  };
  gc_ref *monitors =
      gc_global(heap, gc_new_array(heap, t.refs, GENERATIONS * PROCESSES));
  harness_collect(heap);
  gc_stats baseline = harness_stats(heap);
  for (int gen = 0; gen < GENERATIONS; gen++) {
    gc_scope scope = gc_scope_open(heap);
    gc_ref *table = gc_root(heap, NULL);
    spawn_generation(heap, t, gen, *monitors, table);
    exchange_messages(heap, *table);
    harness_collect(heap);
    CHECK_EQ(live_monitors(heap, *monitors, gen), PROCESSES);
    uint64_t generation_bytes =
        harness_stats(heap).live_bytes - baseline.live_bytes;
    gc_scope_close(heap, scope); /* the generation ends */
    harness_collect(heap);
    gc_stats now = harness_stats(heap);
    if (harness_reclaims(param->name)) {
      cr_assert_eq(live_monitors(heap, *monitors, gen), 0,
                   "[%s] generation %d: %d dead processes still monitored",
                   param->name, gen, live_monitors(heap, *monitors, gen));
      CHECK_EQ(handles_destroyed, (gen + 1) * PROCESSES);
      CHECK_EQ(now.destructors_run, (gen + 1) * PROCESSES);
      /* The monitor table's weak objects are still referenced; drop them
       * (a monitor removed when its process is gone) and measure. */
      gc_array_fill_ref(heap, *monitors, gen * PROCESSES, PROCESSES, NULL);
      harness_collect(heap);
      now = harness_stats(heap);
      /* A conservative collector may keep an object or two that a stale
       * word seems to point to, but never a generation's worth: exact for
       * the others. */
      uint64_t slack =
          harness_conservative(param->name) ? generation_bytes / 8 : 0;
      cr_assert(now.live_bytes <= baseline.live_bytes + slack,
                "[%s] generation %d: live_bytes %llu, baseline %llu "
                "(+%llu allowed)",
                param->name, gen, (unsigned long long)now.live_bytes,
                (unsigned long long)baseline.live_bytes,
                (unsigned long long)slack);
    } else {
      /* null never frees: each generation adds its bytes, and every
       * monitor still sees its process. */
      CHECK_EQ(live_monitors(heap, *monitors, gen), PROCESSES);
      CHECK(now.live_bytes > baseline.live_bytes);
      CHECK_EQ(handles_destroyed, 0);
      gc_array_fill_ref(heap, *monitors, gen * PROCESSES, PROCESSES, NULL);
    }
  }
  EXPECT_NO_TRAP();
  harness_free_heap(heap);
  CHECK_EQ(handles_destroyed, GENERATIONS * PROCESSES);
}
