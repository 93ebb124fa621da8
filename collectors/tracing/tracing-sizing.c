/* tracing-sizing.c — how far the heap may grow before the next collection.
 *
 * After a full collection finds L bytes live, the heap may hold L + E bytes
 * (the target) before it collects again. E, the room, follows MemBalancer
 * (Kirisame, Shenoy and Panchekha, "Optimal heap limits for reducing browser
 * memory use", 2022):
 *
 *     E = sqrt(K * L * g / s)
 *
 *   g  the mutator's allocation rate: bytes taken per second of mutator time;
 *   s  the speed of a full collection: live bytes traced per second of its
 *      pause;
 *   K  bytes: how much memory one unit of collection time is worth, the
 *      option heap-expansiveness (default 64 MiB, chosen by measurement,
 *      README.md; 0 keeps the cap below).
 *
 * Why: a full collection costs about L / s and comes once every E / g
 * seconds, so collecting takes a share (L / s) / (E / g) of the time while
 * the heap's size grows with E. The E that minimises memory + constant *
 * time is the square root above. The room grows with the square root of
 * the live data, not in proportion to it: a large heap keeps relatively
 * less free space than the fixed rule it replaced (E = L + 2 MiB, which
 * cost more memory than Boehm's free-space divisor of about L / 3 once the
 * live data passed ~200 MB), and a program that allocates slowly for what
 * a collection costs keeps little room.
 *
 * Bounds: E is never more than the cap, 3/4 L + 2 MiB for each attached
 * thread, nor less than MIN_ROOM or L / 8 (a tiny room would collect on
 * every few allocations); the target never goes below min_target
 * (heap-size) nor above max-heap-size. Until a full collection has been
 * timed, and always with heap-expansiveness=0, E is the cap.
 *
 * Why that cap: on heaps of up to a few hundred MiB the square root asks
 * for more room than live data, so the cap is what sets their size. The
 * cap it replaced, L + 2 MiB (the first fixed rule), took more memory
 * than Debian's Boehm at binary-trees 17 and 10-25 % more than 3/4 L
 * + 2 MiB at binary-trees 17 to 19 and GCBench, in the same time
 * (collectors/tracing/README.md, "Heap sizing policy"). The 2 MiB are
 * per thread because each collection stops every attached thread: with
 * 2 MiB per heap, mt-gcbench 2 took 1.09x the time. Blocked threads count
 * too; the square root still bounds the room, so a heap with many idle
 * threads gets at most what the square root asks for.
 *
 * Minor collections keep the target. Objects they find alive become old
 * and stay, dead or not, until a full collection: when the old objects have
 * grown by half the room between the last full collection's live bytes and
 * the target, the next collection is full (a rule in proportion to the
 * target, such as the fixed rule's "old objects fill 3/4 of it", would make
 * every collection full once the room is small beside L).
 *
 * g and s are exponentially weighted moving averages, so that one odd
 * interval (a pause stretched by the machine, a burst of allocation) moves
 * the target only part of the way.
 *
 * Then wholly free chunks go back to the system while the heap is over 1.5
 * times its target (the live data shrank well below the peak). */
#include "tracing.h"

#include <math.h>

#define HEADROOM_PER_THREAD (UINT64_C(2) << 20)
#define MIN_ROOM (UINT64_C(1) << 20)
/* Weight of the newest interval in the moving averages. */
#define RATE_WEIGHT 0.5

static double moving_average(double average, double sample) {
  return average == 0 ? sample : average + RATE_WEIGHT * (sample - average);
}

/* Called at the start of a collection, before it frees or marks anything:
 * the mutator's interval since the last collection ends here. */
void tracing_sizing_collection_begins(struct gc_collector *c,
                                      uint64_t start_ns) {
  struct heap_sizing *z = &c->sizing;
  if (z->frozen)
    return;
  uint64_t used = c->used_bytes;
  if (z->last_end_ns && start_ns > z->last_end_ns && used > z->used_after) {
    double seconds = (double)(start_ns - z->last_end_ns) / 1e9;
    z->allocation_rate = moving_average(
        z->allocation_rate, (double)(used - z->used_after) / seconds);
  }
}

uint64_t tracing_sizing_room(uint64_t live, uint32_t threads,
                             double allocation_rate, double collection_speed,
                             double expansiveness) {
  uint64_t cap =
      live - live / 4 + HEADROOM_PER_THREAD * (threads ? threads : 1);
  if (allocation_rate <= 0 || collection_speed <= 0 || expansiveness <= 0)
    return cap;
  double room =
      sqrt(expansiveness * (double)live * allocation_rate / collection_speed);
  uint64_t least = live / 8 > MIN_ROOM ? live / 8 : MIN_ROOM;
  if (room < (double)least)
    return least;
  if (room > (double)cap)
    return cap;
  return (uint64_t)room;
}

static uint32_t attached_threads(const struct gc_collector *c) {
  uint32_t n = 0;
  for (const struct gc_mutator *m = c->mutators; m; m = m->next)
    n++;
  return n;
}

/* After a collection that left live bytes in use (marked lines and live
 * large objects) and took pause_ns (from the pause's start, stopping the
 * other threads included, to the end of the sweep). */
void tracing_size_heap(struct gc_collector *c, uint64_t live, bool major,
                       uint64_t pause_ns, uint64_t end_ns) {
  struct heap_sizing *z = &c->sizing;
  c->used_bytes = live;
  if (major) {
    if (pause_ns > 0 && live > 0 && !z->frozen)
      z->collection_speed = moving_average(
          z->collection_speed, (double)live / ((double)pause_ns / 1e9));
    uint64_t room = tracing_sizing_room(live, attached_threads(c),
                                        z->allocation_rate, z->collection_speed,
                                        (double)c->options->heap_expansiveness);
    z->live_after_major = live;
    uint64_t target = live + room;
    if (target < c->min_target)
      target = c->min_target;
    if (c->max_bytes && target > c->max_bytes)
      target = c->max_bytes;
    c->target_bytes = target;
  }
  uint64_t room_left = c->target_bytes > z->live_after_major
                           ? c->target_bytes - z->live_after_major
                           : 0;
  if (live >= z->live_after_major + room_left / 2)
    c->next_major = true;
  z->used_after = live;
  z->last_end_ns = end_ns;

  uint64_t keep = c->target_bytes + c->target_bytes / 2;
  for (struct chunk *chunk = c->chunks, *next; chunk; chunk = next) {
    next = chunk->next;
    if (mapped_bytes(c) <= keep)
      break;
    if (tracing_chunk_all_free(chunk))
      tracing_free_chunk(c, chunk);
  }
  gc_note_heap_bytes(c->heap, mapped_bytes(c));
}
