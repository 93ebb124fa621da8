/* refcount_threads.c — counting the stores of several threads
 * (refcount-stores.c): while a second thread is attached, the first store into
 * an old object since the last collection point logs the object, and the
 * collection point counts the difference; with one thread again, stores
 * count at once. These tests check the switch both ways, the counts after
 * self-copies and after two threads log one object at once, and the
 * recount when a log cannot grow.
 *
 * Every heap has verify=1 (harness_new_heap): each collection point also
 * recomputes every count from the heap and traps on a difference. The
 * thread-independent tests (tests/threads.c, tests/stress/mt-stress.c) run
 * on refcount too. */
#include "harness.h"
#include "refcount-fixture.h"

#include <gcheap-testing.h>
#include <pthread.h>
#include <refcount/refcount-testing.h>
#include <sched.h>
#include <stdatomic.h>

/* A second thread, attached and blocked (so it holds up no collection)
 * until guest_leave. */
struct guest {
  pthread_t thread;
  gc_heap *heap;
  /* 0 starting, 1 attached, 2 leave, 3 detached */
  struct harness_handoff handoff;
  char failure[256];
};

static void *guest_main(void *arg) {
  struct guest *g = arg;
  gc_heap *mine = gc_thread_attach(g->heap, g->failure, sizeof g->failure);
  if (!mine) {
    harness_set_stage(&g->handoff, 3);
    return NULL;
  }
  gc_blocking_begin(mine);
  harness_set_stage(&g->handoff, 1);
  harness_wait_for_stage(NULL, &g->handoff, 2);
  gc_blocking_end(mine);
  gc_thread_detach(mine);
  harness_set_stage(&g->handoff, 3);
  return NULL;
}

static void guest_arrive(struct guest *g, gc_heap *heap) {
  *g = (struct guest){.heap = heap, .handoff = HARNESS_HANDOFF_INIT};
  cr_assert_eq(pthread_create(&g->thread, NULL, guest_main, g), 0);
  /* Attaching stops the world: this thread must reach a safepoint. */
  gc_blocking_begin(heap);
  pthread_mutex_lock(&g->handoff.lock);
  while (g->handoff.stage == 0)
    pthread_cond_wait(&g->handoff.cv, &g->handoff.lock);
  pthread_mutex_unlock(&g->handoff.lock);
  gc_blocking_end(heap);
  cr_assert_eq(g->handoff.stage, 1, "the second thread could not attach: %s",
               g->failure);
}

static void guest_leave(struct guest *g, gc_heap *heap) {
  harness_set_stage(&g->handoff, 2);
  gc_blocking_begin(heap);
  pthread_join(g->thread, NULL);
  gc_blocking_end(heap);
}

/* With a second thread attached, a store into an old object changes no
 * count until the collection point, which then makes every count exact;
 * once the thread has left and a collection point has passed, stores count
 * at once again. */
Test(refcount_threads, stores_are_logged_only_while_threads_share_the_heap) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t); /* the counts need it */
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_ref *a = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_ref *b = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap); /* all three are old */
  gc_set_ref(heap, *holder, LEFT, *a);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 1, "one thread: counted");

  struct guest g;
  guest_arrive(&g, heap);
  gc_set_ref(heap, *holder, LEFT, *b);
  gc_set_ref(heap, *holder, RIGHT, *b);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 1, "logged, not counted");
  cr_assert_eq(gc_refcount_test_count(heap, *b), 0, "logged, not counted");
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 0);
  cr_assert_eq(gc_refcount_test_count(heap, *b), 2);
  guest_leave(&g, heap);

  /* Logging stays on until a collection point has applied the logs. */
  gc_set_ref(heap, *holder, RIGHT, *a);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 0, "still logged");
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_count(heap, *a), 1);
  cr_assert_eq(gc_refcount_test_count(heap, *b), 1);
  gc_set_ref(heap, *holder, LEFT, NULL);
  cr_assert_eq(gc_refcount_test_count(heap, *b), 0, "one thread again");
  harness_free_heap(heap);
}

/* An array copied onto itself, and shifted by one, while logging: every
 * element keeps its count and nothing live is freed (the collection
 * point applies increments before decrements). */
Test(refcount_threads, self_copies_keep_counts) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  enum { N = 64 };
  gc_ref *array = gc_global(heap, gc_new_array(heap, t.refs, N));
  for (int i = 0; i < N; i++) {
    gc_ref e = gc_new_struct(heap, t.pair);
    gc_set_i64(heap, e, VALUE, i);
    gc_set_ref(heap, *array, (size_t)i, e);
  }
  gc_collect(heap); /* the array and its elements are old */
  struct guest g;
  guest_arrive(&g, heap);
  gc_array_copy(heap, *array, 0, *array, 0, N);
  gc_collect(heap);
  for (int i = 0; i < N; i++) {
    gc_ref e = gc_get_ref(heap, *array, (size_t)i);
    cr_assert_eq(gc_get_i64(heap, e, VALUE), i);
    cr_assert_eq(gc_refcount_test_count(heap, e), 1);
  }
  /* Shift right by one: element 0 is now held twice, the last not at all. */
  gc_ref last = gc_get_ref(heap, *array, N - 1);
  gc_ref *kept_last = gc_global(heap, last);
  gc_array_copy(heap, *array, 1, *array, 0, N - 1);
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_count(heap, gc_get_ref(heap, *array, 0)), 2);
  cr_assert_eq(gc_refcount_test_count(heap, *kept_last), 0);
  cr_assert_eq(gc_get_i64(heap, *kept_last, VALUE), N - 1);
  guest_leave(&g, heap);
  harness_free_heap(heap);
}

/* Without memory for the log, the store still happens and the collection
 * point recounts every object from the heap: the counts are exact again
 * (verify=1 recomputes them too), the value the store dropped is freed, and
 * a cycle that lost its only reference in that epoch — no decrement
 * reported it — is still found. */
Test(refcount_threads, a_log_that_cannot_grow_recounts_the_heap) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *holder = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_ref dropped = gc_new_struct(heap, t.pair);
  gc_set_ref(heap, *holder, LEFT, dropped);
  gc_ref x = gc_new_struct(heap, t.pair), y = gc_new_struct(heap, t.pair);
  gc_set_ref(heap, x, LEFT, y);
  gc_set_ref(heap, y, LEFT, x);
  gc_set_ref(heap, *holder, RIGHT, x);
  gc_collect(heap); /* dropped, x and y are old */
  cr_assert_gt(live_bytes(heap), baseline);

  struct guest g;
  guest_arrive(&g, heap);
  gc_ref young = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, young, VALUE, 7);
  store_without_memory(heap, *holder, LEFT, young, "the log");
  gc_set_ref(heap, *holder, RIGHT, NULL); /* the cycle's only reference */
  gc_collect(heap);
  gc_ref kept = gc_get_ref(heap, *holder, LEFT);
  cr_assert_eq(kept, young);
  cr_assert_eq(gc_get_i64(heap, kept, VALUE), 7);
  cr_assert_eq(gc_refcount_test_count(heap, kept), 1);
  gc_set_ref(heap, *holder, LEFT, NULL);
  collect_back_to(heap, baseline, "what the test dropped");
  guest_leave(&g, heap);
  harness_free_heap(heap);
}

/* The same for a store into a large array, which logs the element's card:
 * without memory for the card's copy, the collection point recounts every
 * object. The young value stored is kept and counted, and the old one it
 * replaced is freed. */
Test(refcount_threads, a_card_that_cannot_be_logged_recounts_the_heap) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_ref *array = gc_global(heap, gc_new_array(heap, t.refs, 2000)); /* cards */
  gc_set_ref(heap, *array, 1000, gc_new_struct(heap, t.pair));
  gc_collect(heap);
  uint64_t before = live_bytes(heap);
  struct guest g;
  guest_arrive(&g, heap);
  gc_ref young = gc_new_struct(heap, t.pair);
  gc_set_i64(heap, young, VALUE, 7);
  store_without_memory(heap, *array, 1000, young, "the log");
  gc_collect(heap);
  gc_ref kept = gc_get_ref(heap, *array, 1000);
  cr_assert_eq(kept, young);
  cr_assert_eq(gc_get_i64(heap, kept, VALUE), 7);
  cr_assert_eq(gc_refcount_test_count(heap, kept), 1);
  cr_assert_eq(live_bytes(heap), before, "the replaced value was not freed");
  guest_leave(&g, heap);
  harness_free_heap(heap);
}

/* The recount after a lost log clears the mark that spares an object
 * counted only by new objects (refcount-young.c): here the store that
 * drops the only such reference is the one whose log could not grow, so
 * the recount gives the marked object a zero count, and verify=1 traps a
 * mark on a zero count. */
Test(refcount_threads, the_recount_clears_the_new_referrers_mark) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  gc_collect(heap);
  uint64_t baseline = live_bytes(heap);
  gc_scope s = gc_scope_open(heap);
  gc_ref *l, *p;
  counted_by_a_new_object(heap, &t, &l, &p);
  struct guest g;
  guest_arrive(&g, heap); /* two threads: stores are logged */
  gc_test_allocation_reset();
  gc_test_fail_allocation(1); /* the log's first growth */
  gc_set_ref(heap, *p, LEFT, NULL);
  gc_test_allocation_reset();
  gc_collect(heap); /* the recount; verify=1 before and after */
  EXPECT_NO_TRAP();
  cr_assert_not(gc_refcount_test_new_referrers(heap, *l));
  cr_assert_eq(gc_refcount_test_count(heap, *l), 0);
  guest_leave(&g, heap);
  gc_scope_close(heap, s);
  collect_back_to(heap, baseline, "what the test dropped");
  harness_free_heap(heap);
}

/* A large reference array is logged by cards of 128 elements: a store
 * into one element copies its card, not the array, and a copy copies the
 * cards its destination spans; the collection point counts exactly those
 * (verify=1 recomputes every count). */
Test(refcount_threads, large_arrays_are_logged_by_cards) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  enum { N = 100000, CARD = 128 };
  gc_ref *array = gc_global(heap, gc_new_array(heap, t.refs, N));
  gc_collect(heap);
  uint64_t empty = live_bytes(heap);
  for (int i = 0; i < N; i++) {
    gc_ref e = gc_new_struct(heap, t.pair);
    gc_set_i64(heap, e, VALUE, i);
    gc_set_ref(heap, *array, (size_t)i, e);
  }
  gc_collect(heap);
  uint64_t before = live_bytes(heap), pair_bytes = (before - empty) / N;
  struct guest g;
  guest_arrive(&g, heap);
  gc_ref *fresh = gc_global(heap, gc_new_struct(heap, t.pair));
  gc_set_ref(heap, *array, 50000, *fresh);
  cr_assert_eq(gc_refcount_test_log_words(heap), 2 + CARD,
               "one store logged %zu words", gc_refcount_test_log_words(heap));
  gc_set_ref(heap, *array, 50001, *fresh); /* the same card: logged */
  cr_assert_eq(gc_refcount_test_log_words(heap), 2 + CARD);
  /* Elements 300..699 from 0..399: cards 2 to 5. */
  gc_array_copy(heap, *array, 300, *array, 0, 400);
  cr_assert_eq(gc_refcount_test_log_words(heap), 5 * (2 + CARD));
  gc_collect(heap);
  cr_assert_eq(gc_refcount_test_log_words(heap), 0);
  cr_assert_eq(gc_refcount_test_count(heap, *fresh), 2);
  for (int i = 0; i < 700; i++) {
    gc_ref e = gc_get_ref(heap, *array, (size_t)i);
    int64_t expected = i < 300 ? i : i - 300;
    cr_assert_eq(gc_get_i64(heap, e, VALUE), expected);
    cr_assert_eq(gc_refcount_test_count(heap, e), expected < 300 ? 2 : 1);
  }
  /* Elements 400..699 and 50000..50001 lost their only reference; one
   * pair is new. */
  cr_assert_eq(live_bytes(heap), before - 301 * pair_bytes);
  guest_leave(&g, heap);
  harness_free_heap(heap);
}

/* Two threads store into one old array, each into its own elements, in
 * rounds that start for both at once, with a collection point between
 * rounds: in each round both race to log the array (512 elements, copied
 * whole) or each of its cards (16384 elements, a large array: 128 per
 * card) first,
 * and the loser's copy must be dropped, not applied a second time
 * (verify=1 recomputes every count at each collection point; applying
 * both copies uncounts the old elements twice). stress=0: a collection at
 * every allocation would end each epoch after one store, and there would
 * be no race. */
enum { RACE_ROUNDS = 300 };

struct race {
  gc_heap *heap;
  gc_type pair;
  gc_ref *array; /* a global */
  int elements;
  /* Each racer stores into elements first, first + stride, ...: with one
   * element per card, the thread behind skips the logged cards at once
   * and then races the other for each next card. */
  int stride;
  atomic_int round, finished;
};

struct racer {
  pthread_t thread;
  struct race *race;
  int first; /* its elements: first, first + 2, ... */
  char failure[256];
};

static void *racer_main(void *arg) {
  struct racer *r = arg;
  struct race *race = r->race;
  gc_heap *h = gc_thread_attach(race->heap, r->failure, sizeof r->failure);
  if (!h)
    return NULL;
  for (int round = 0; round < RACE_ROUNDS; round++) {
    while (atomic_load(&race->round) < round)
      gc_safepoint(h);
    for (int i = r->first; i < race->elements; i += race->stride) {
      gc_ref node = gc_new_struct(h, race->pair);
      gc_set_i64(h, node, VALUE, round * 10000 + i);
      gc_set_ref(h, *race->array, (size_t)i, node);
    }
    atomic_fetch_add(&race->finished, 1);
  }
  gc_thread_detach(h);
  return NULL;
}

static void race_to_log(int elements) {
  struct types t;
  gc_heap *heap = new_heap("stress=0", &t);
  struct race race = {.heap = heap,
                      .pair = t.pair,
                      .elements = elements,
                      .stride = elements >= 1024 ? 128 : 2,
                      .round = -1};
  race.array = gc_global(heap, gc_new_array(heap, t.refs, (size_t)elements));
  gc_collect(heap);
  struct racer racers[2];
  for (int k = 0; k < 2; k++) {
    racers[k] = (struct racer){.race = &race, .first = k};
    cr_assert_eq(
        pthread_create(&racers[k].thread, NULL, racer_main, &racers[k]), 0);
  }
  for (int round = 0; round < RACE_ROUNDS; round++) {
    /* Blocked while the round runs, so that neither racer waits for this
     * thread; then a collection point ends the epoch. */
    gc_blocking_begin(heap);
    atomic_store(&race.round, round);
    while (atomic_load(&race.finished) < 2 * (round + 1) &&
           !racers[0].failure[0] && !racers[1].failure[0])
      sched_yield();
    gc_blocking_end(heap);
    gc_collect(heap);
  }
  gc_blocking_begin(heap);
  for (int k = 0; k < 2; k++)
    pthread_join(racers[k].thread, NULL);
  gc_blocking_end(heap);
  for (int k = 0; k < 2; k++)
    cr_assert(!racers[k].failure[0], "%s", racers[k].failure);
  gc_collect(heap);
  for (int i = 0; i < elements; i++) {
    gc_ref e = gc_get_ref(heap, *race.array, (size_t)i);
    if (i % race.stride >= 2) {
      cr_assert_null(e);
      continue;
    }
    cr_assert_not_null(e);
    cr_assert_eq(gc_get_i64(heap, e, VALUE), (RACE_ROUNDS - 1) * 10000 + i);
    cr_assert_eq(gc_refcount_test_count(heap, e), 1);
  }
  harness_free_heap(heap);
}

Test(refcount_threads, racing_first_stores_log_an_object_once) {
  race_to_log(512);
}

Test(refcount_threads, racing_first_stores_log_a_card_once) {
  race_to_log(16384);
}
