/* wl-collect-often.c — a program that calls gc_collect often.
 *
 * Runtimes call gc_collect at idle points (after each event, each frame,
 * each request). Each tick here makes about 200 KB of short-lived data — a
 * list of 4000 small records and one 32 KiB buffer, a large object — keeps
 * one record of it in a table of RECENT survivors, and calls gc_collect. A
 * collector that gives memory back at every gc_collect and takes it again
 * at the next tick spends its time in the kernel: compare the sys column.
 * The checksum adds every record's value and the survivors' at the end.
 */
#include "workload.h"

enum { REC_NEXT, REC_VALUE };
enum { RECORDS = 4000, BUFFER_WORDS = 4096, RECENT = 64 };

int workload_collect_often(gc_heap *h, int argc, char **argv,
                           struct workload_result *result) {
  long ticks;
  if (workload_int_arg(argc, argv, 1, 1, 1000000, 2000, &ticks))
    return -1;
  const gc_kind kinds[] = {GC_KIND_REF, GC_KIND_I64};
  gc_type record = gc_type_struct(h, "record", 2, kinds);
  gc_type words = gc_type_array(h, "buffer", GC_KIND_I64);
  gc_type table = gc_type_array(h, "recent", GC_KIND_REF);
  gc_scope scope = gc_scope_open(h);
  gc_ref *recent = gc_root(h, gc_new_array(h, table, RECENT));
  gc_ref *list = gc_root(h, NULL);
  gc_ref *buffer = gc_root(h, NULL);
  uint64_t sum = 0;
  for (long tick = 0; tick < ticks; tick++) {
    *list = NULL;
    for (int i = 0; i < RECORDS; i++) {
      gc_ref r = gc_new_struct(h, record); /* *list is rooted */
      gc_set_i64(h, r, REC_VALUE, tick * RECORDS + i);
      gc_set_ref(h, r, REC_NEXT, *list);
      *list = r;
    }
    *buffer = gc_new_array(h, words, BUFFER_WORDS);
    gc_array_fill_i64(h, *buffer, 0, BUFFER_WORDS, tick);
    sum += (uint64_t)gc_get_i64(h, *buffer, BUFFER_WORDS - 1);
    for (gc_ref r = *list; r; r = gc_get_ref(h, r, REC_NEXT))
      sum += (uint64_t)gc_get_i64(h, r, REC_VALUE);
    gc_set_ref(h, *recent, (size_t)tick % RECENT, *list);
    *list = *buffer = NULL;
    gc_collect(h);
  }
  for (size_t i = 0; i < RECENT; i++) {
    gc_ref r = gc_get_ref(h, *recent, i);
    if (r)
      sum += (uint64_t)gc_get_i64(h, r, REC_VALUE);
  }
  gc_scope_close(h, scope);
  result->checksum = sum;
  result->ok = true;
  return 0;
}
