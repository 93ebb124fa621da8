/* tracing_threads.c — where tracing's threads allocate, and how much room
 * the heap gives them. After a collection each thread looks for holes in
 * the blocks it filled itself before it takes any other block
 * (tracing-alloc.c, next_hole): with one shared walk of the blocks, two
 * threads swapped their blocks at every collection, and each zeroed and
 * filled memory that the other's core had last written. */
#include "harness.h"

#include <pthread.h>
#include <tracing/tracing-testing.h>

/* 32-byte cells (an 8-byte header and three fields): four to a line. */
static const gc_kind cell_kinds[] = {GC_KIND_I64, GC_KIND_I64, GC_KIND_I64};
/* Every 16th cell stays alive: one line in four stays held, so the blocks
 * come out of a collection with holes (and none wholly free). */
enum { CELLS = 4096, KEEP_EVERY = 16, REFILL = 1024, MAX_BLOCKS = 64 };

struct blocks {
  const void *start[MAX_BLOCKS];
  int count;
};

static void note_block(struct blocks *b, const void *start) {
  for (int i = 0; i < b->count; i++)
    if (b->start[i] == start)
      return;
  if (b->count < MAX_BLOCKS)
    b->start[b->count++] = start;
}

static bool has_block(const struct blocks *b, const void *start) {
  for (int i = 0; i < b->count; i++)
    if (b->start[i] == start)
      return true;
  return false;
}

/* Allocates CELLS cells, keeps every KEEP_EVERY-th in *keep (a reference
 * array), and notes the blocks they went to. */
static void fill(gc_heap *h, gc_type cell, gc_type refs, gc_ref *keep,
                 struct blocks *mine) {
  *keep = gc_new_array(h, refs, CELLS / KEEP_EVERY);
  for (int i = 0; i < CELLS; i++) {
    gc_ref c = gc_new_struct(h, cell);
    gc_set_i64(h, c, 0, i);
    note_block(mine, gc_tracing_test_block_of(h, c));
    if (i % KEEP_EVERY == 0)
      gc_set_ref(h, *keep, (size_t)(i / KEEP_EVERY), c);
  }
}

/* Allocates REFILL cells (dropped at once); how many went outside mine. */
static int refill_outside(gc_heap *h, gc_type cell, const struct blocks *mine) {
  int outside = 0;
  for (int i = 0; i < REFILL; i++)
    outside +=
        !has_block(mine, gc_tracing_test_block_of(h, gc_new_struct(h, cell)));
  return outside;
}

/* Kept cells still hold what fill() stored. */
static int kept_wrong(gc_heap *h, gc_ref keep) {
  int wrong = 0;
  for (int i = 0; i < CELLS / KEEP_EVERY; i++)
    wrong += gc_get_i64(h, gc_get_ref(h, keep, (size_t)i), 0) !=
             (int64_t)i * KEEP_EVERY;
  return wrong;
}

struct second_thread {
  gc_heap *heap;
  gc_type cell, refs;
  struct harness_handoff handoff; /* 1: filled; 2: the main thread collected */
  char attach_error[256];
  struct blocks blocks;
  int outside, wrong;
};

static void *fill_then_refill(void *arg) {
  struct second_thread *s = arg;
  gc_heap *mine =
      gc_thread_attach(s->heap, s->attach_error, sizeof s->attach_error);
  if (!mine) {
    harness_set_stage(&s->handoff, 1);
    return NULL;
  }
  gc_scope scope = gc_scope_open(mine);
  gc_ref *keep = gc_root(mine, NULL);
  fill(mine, s->cell, s->refs, keep, &s->blocks);
  harness_set_stage(&s->handoff, 1);
  harness_wait_for_stage(mine, &s->handoff, 2);
  /* First after the collection: the shared walk alone would hand this
   * thread the main thread's blocks, which come first in the heap. */
  s->outside = refill_outside(mine, s->cell, &s->blocks);
  s->wrong = kept_wrong(mine, *keep);
  gc_scope_close(mine, scope);
  gc_thread_detach(mine);
  return NULL;
}

Test(tracing_threads, each_thread_refills_the_blocks_it_filled) {
  /* No quarantine: verify=1 would hold the freed lines back from reuse. */
  gc_heap *heap = harness_new_heap("tracing", "stress=0,verify-quarantine=0");
  struct second_thread s = {
      .heap = heap,
      .cell = gc_type_struct(heap, "cell", 3, cell_kinds),
      .refs = gc_type_array(heap, "refs", GC_KIND_REF),
      .handoff = HARNESS_HANDOFF_INIT,
  };
  gc_scope scope = gc_scope_open(heap);
  gc_ref *keep = gc_root(heap, NULL);
  struct blocks blocks = {0};
  fill(heap, s.cell, s.refs, keep, &blocks);

  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, fill_then_refill, &s), 0);
  harness_wait_for_stage(heap, &s.handoff, 1);
  cr_assert(!s.attach_error[0], "gc_thread_attach: %s", s.attach_error);
  gc_collect(heap);
  harness_set_stage(&s.handoff, 2);
  gc_blocking_begin(heap);
  pthread_join(thread, NULL);
  gc_blocking_end(heap);

  /* Sanity: the fills took blocks of their own, several each. */
  cr_assert(blocks.count >= 4 && s.blocks.count >= 4, "%d and %d blocks",
            blocks.count, s.blocks.count);
  for (int i = 0; i < s.blocks.count; i++)
    cr_assert(!has_block(&blocks, s.blocks.start[i]),
              "both threads filled block %p", s.blocks.start[i]);
  cr_expect_eq(s.outside, 0,
               "the second thread put %d of %d cells outside its blocks",
               s.outside, REFILL);
  cr_expect_eq(refill_outside(heap, s.cell, &blocks), 0,
               "the main thread put cells outside its blocks");
  cr_expect_eq(s.wrong + kept_wrong(heap, *keep), 0,
               "kept cells were overwritten");
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}

/* ---- The room per thread ---------------------------------------------- */

struct idle_thread {
  gc_heap *heap;
  struct harness_handoff handoff; /* 1: attached; 2: may detach */
  char attach_error[256];
};

/* Attaches, then waits blocked (holding up no collection) until told. */
static void *attach_and_wait(void *arg) {
  struct idle_thread *t = arg;
  gc_heap *mine =
      gc_thread_attach(t->heap, t->attach_error, sizeof t->attach_error);
  harness_set_stage(&t->handoff, 1);
  if (mine) {
    harness_wait_for_stage(mine, &t->handoff, 2);
    gc_thread_detach(mine);
  }
  return NULL;
}

/* Collections while 64 MiB of garbage churn over a list of about 4 MiB
 * (harness_churn_collections), on a heap with idle_threads more threads
 * attached. */
static uint64_t churn_collections(int idle_threads) {
  enum { MAX_IDLE = 4 };
  cr_assert(idle_threads <= MAX_IDLE);
  /* heap-expansiveness=0: the room is the cap, 3/4 live + 2 MiB per
   * attached thread, whatever the rates (tracing-sizing.c). */
  gc_heap *heap =
      harness_new_heap("tracing", "verify=0,stress=0,heap-expansiveness=0");
  struct idle_thread idle[MAX_IDLE];
  pthread_t threads[MAX_IDLE];
  for (int i = 0; i < idle_threads; i++) {
    idle[i] =
        (struct idle_thread){.heap = heap, .handoff = HARNESS_HANDOFF_INIT};
    cr_assert_eq(pthread_create(&threads[i], NULL, attach_and_wait, &idle[i]),
                 0);
    harness_wait_for_stage(heap, &idle[i].handoff, 1);
    cr_assert(!idle[i].attach_error[0], "gc_thread_attach: %s",
              idle[i].attach_error);
  }
  uint64_t collections = harness_churn_collections(heap, NULL, NULL);
  for (int i = 0; i < idle_threads; i++)
    harness_set_stage(&idle[i].handoff, 2);
  gc_blocking_begin(heap);
  for (int i = 0; i < idle_threads; i++)
    pthread_join(threads[i], NULL);
  gc_blocking_end(heap);
  harness_free_heap(heap);
  return collections;
}

/* Each collection stops every attached thread, so the cap on the room has
 * 2 MiB per thread: with 4 MiB live, 5 MiB of room for one thread and 7
 * MiB for two, 11 for four; the same garbage collects less often. */
Test(tracing_threads, the_room_grows_with_the_attached_threads) {
  uint64_t alone = churn_collections(0);
  uint64_t two = churn_collections(1);
  uint64_t four = churn_collections(3);
  cr_assert(alone >= 8, "%llu collections alone", (unsigned long long)alone);
  cr_assert(two * 6 <= alone * 5 && four * 3 <= alone * 2,
            "%llu collections alone, %llu with two threads attached, %llu "
            "with four",
            (unsigned long long)alone, (unsigned long long)two,
            (unsigned long long)four);
}
