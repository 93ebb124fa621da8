/* wl-weak.c — short-lived processes watched through weak references, as
 * Erlang-style monitors are.
 *
 * A "process" is a struct (pid, the tick it dies at, a mailbox: an array of
 * references to messages). Each tick SPAWN new processes enter a rooted run
 * queue and get a monitor: a weak reference in a rooted table of monitors
 * (the monitor it displaces is dropped). Every live process receives one
 * message a tick (an allocation). Processes whose time is up leave the run
 * queue and become garbage; their monitors must then eventually read NULL.
 *
 * Checked every tick for every monitor: a weak reference that reads NULL
 * watches a process that is dead (never a live one), and one that reads an
 * object reads the process it was made for. At the end, after every process
 * is dropped and a full collection: a precise collector (tracing, refcount)
 * must have cleared every monitor. The checksum counts processes, messages
 * and the pids alive at the end; it does not depend on when the collector
 * noticed a death.
 */
#include "workload.h"

#include <stdlib.h>
#include <string.h>

enum { PROC_PID, PROC_DIES_AT, PROC_MAILBOX };
enum {
  RUN_QUEUE = 1024,
  MONITORS = 512,
  SPAWN = 16,
  MAX_LIFETIME = 50,
  MAILBOX = 8
};

struct monitor {
  int64_t pid; /* 0: no monitor in this slot */
  int64_t dies_at;
};

int workload_weak(gc_heap *h, int argc, char **argv,
                  struct workload_result *result) {
  long ticks;
  if (argc > 2 ||
      workload_int_arg(argc, argv, 1, 0, 100000000, 2000, &ticks) < 0)
    return -1;
  const gc_kind proc_fields[] = {GC_KIND_I64, GC_KIND_I64, GC_KIND_REF};
  const gc_kind message_fields[] = {GC_KIND_I64};
  gc_type proc_type = gc_type_struct(h, "process", 3, proc_fields);
  gc_type message_type = gc_type_struct(h, "message", 1, message_fields);
  gc_type mailbox_type = gc_type_array(h, "mailbox", GC_KIND_REF);
  gc_type table_type = gc_type_array(h, "process-table", GC_KIND_REF);

  gc_scope scope = gc_scope_open(h);
  gc_ref *run_queue = gc_root(h, gc_new_array(h, table_type, RUN_QUEUE));
  gc_ref *monitors = gc_root(h, gc_new_array(h, table_type, MONITORS));
  gc_ref *spawned = gc_root(h, NULL);
  static struct monitor watched[MONITORS]; /* what each monitor watches */
  memset(watched, 0, sizeof watched);
  uint64_t random = 0xda942042e4dd58b5u;
  int64_t next_pid = 0;
  uint64_t messages = 0, downs = 0;

  for (int64_t tick = 1; tick <= ticks; tick++) {
    /* Spawn, each with a mailbox and a monitor. */
    for (int s = 0; s < SPAWN; s++) {
      uint64_t x = workload_random(&random);
      size_t slot = (size_t)(x % RUN_QUEUE);
      if (gc_get_ref(h, *run_queue, slot))
        continue; /* the run queue is full there: no spawn */
      int64_t pid = ++next_pid;
      int64_t dies_at = tick + 1 + (int64_t)((x >> 16) % MAX_LIFETIME);
      *spawned = gc_new_struct(h, proc_type);
      gc_set_i64(h, *spawned, PROC_PID, pid);
      gc_set_i64(h, *spawned, PROC_DIES_AT, dies_at);
      gc_ref mailbox = gc_new_array(h, mailbox_type, MAILBOX);
      gc_set_ref(h, *spawned, PROC_MAILBOX, mailbox);
      gc_set_ref(h, *run_queue, slot, *spawned);
      gc_ref monitor = gc_new_weak(h, *spawned);
      size_t m = (size_t)(pid % MONITORS);
      gc_set_ref(h, *monitors, m, monitor);
      watched[m] = (struct monitor){pid, dies_at};
    }
    *spawned = NULL;

    /* Run: every process gets a message; the finished ones exit. */
    for (size_t slot = 0; slot < RUN_QUEUE; slot++) {
      gc_ref proc = gc_get_ref(h, *run_queue, slot);
      if (!proc)
        continue;
      if (gc_get_i64(h, proc, PROC_DIES_AT) <= tick) {
        gc_set_ref(h, *run_queue, slot, NULL);
        continue;
      }
      gc_ref message = gc_new_struct(h, message_type);
      gc_set_i64(h, message, 0, tick);
      proc = gc_get_ref(h, *run_queue, slot); /* re-read: it may have moved */
      gc_set_ref(h, gc_get_ref(h, proc, PROC_MAILBOX), (size_t)tick % MAILBOX,
                 message);
      messages++;
    }

    /* Look at every monitor. */
    for (size_t m = 0; m < MONITORS; m++) {
      if (!watched[m].pid)
        continue;
      gc_ref target = gc_weak_get(h, gc_get_ref(h, *monitors, m));
      if (!target) {
        if (watched[m].dies_at > tick)
          workload_fail(result,
                        "tick %lld: the monitor of live process %lld "
                        "reads NULL",
                        (long long)tick, (long long)watched[m].pid);
        downs++;
        watched[m].pid = 0; /* the DOWN was delivered */
        gc_set_ref(h, *monitors, m, NULL);
      } else if (gc_get_i64(h, target, PROC_PID) != watched[m].pid) {
        workload_fail(result,
                      "the monitor of process %lld reads process "
                      "%lld",
                      (long long)watched[m].pid,
                      (long long)gc_get_i64(h, target, PROC_PID));
      }
    }
  }

  result->checksum = (uint64_t)next_pid + messages;
  for (size_t slot = 0; slot < RUN_QUEUE; slot++) {
    gc_ref proc = gc_get_ref(h, *run_queue, slot);
    if (proc)
      result->checksum += (uint64_t)gc_get_i64(h, proc, PROC_PID);
  }

  /* Every process dies; a precise collector must then clear every monitor.
   * (null never reclaims; boehm scans conservatively and may keep some.) */
  gc_array_fill_ref(h, *run_queue, 0, RUN_QUEUE, NULL);
  gc_collect(h);
  const char *name = gc_collector_name(h);
  int precise = strcmp(name, "tracing") == 0 || strcmp(name, "refcount") == 0;
  for (size_t m = 0; m < MONITORS && precise; m++) {
    gc_ref weak = gc_get_ref(h, *monitors, m);
    if (weak && gc_weak_get(h, weak))
      workload_fail(result,
                    "after a full collection the monitor of dead "
                    "process %lld still reads it",
                    (long long)watched[m].pid);
  }
  (void)downs;
  gc_scope_close(h, scope);
  return 0;
}
