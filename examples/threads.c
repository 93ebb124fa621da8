/* threads.c — one heap, several threads: workers attach, allocate on their
 * own, and hand messages to the main thread through a list they share
 * under the embedder's lock. docs/guide.md, "Threads", explains each call.
 *
 *   threads [-C collector=NAME] [-C key=value]...
 *
 * Exits 0 when every message arrived once and every private list was
 * intact. */
#include <gcheap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define WORKERS 4
#define MESSAGES 2000     /* per worker */
#define SCRATCH_CELLS 256 /* private garbage per message */

static gc_heap *main_handle;
static gc_type cell_type;   /* a cell: value (i64), next (ref) */
static gc_ref *shared_list; /* a global slot: a root for every thread */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shared_changed = PTHREAD_COND_INITIALIZER;
static int workers_done, workers_failed; /* under shared_lock */

/* Takes shared_lock from a thread attached as h. Waiting for a lock is a
 * blocking call: the holder may allocate, its allocation may collect, and
 * the collection waits until every thread is at a safepoint or blocked. */
static void lock_shared(gc_heap *h) {
  gc_blocking_begin(h);
  pthread_mutex_lock(&shared_lock);
  gc_blocking_end(h);
}

/* Waits on shared_changed, shared_lock held; blocking too. */
static void wait_shared(gc_heap *h) {
  gc_blocking_begin(h);
  pthread_cond_wait(&shared_changed, &shared_lock);
  gc_blocking_end(h);
}

static void finish_worker(bool failed) {
  pthread_mutex_lock(&shared_lock); /* not attached any more: a plain lock */
  workers_done++;
  workers_failed += failed;
  pthread_cond_signal(&shared_changed);
  pthread_mutex_unlock(&shared_lock);
}

static void *worker(void *arg) {
  int64_t first_value = (int64_t)(intptr_t)arg * MESSAGES + 1;
  char err[256];
  gc_heap *h = gc_thread_attach(main_handle, err, sizeof err);
  if (!h) {
    fprintf(stderr, "threads: %s\n", err);
    finish_worker(true);
    return NULL;
  }
  bool failed = false;
  gc_scope scope = gc_scope_open(h); /* scopes and roots are per handle */
  gc_ref *scratch = gc_root(h, NULL);
  gc_ref *message = gc_root(h, NULL);
  for (int64_t i = 0; i < MESSAGES; i++) {
    /* A private list, dropped at the next message: garbage that makes
     * collections happen while the other threads run. */
    *scratch = NULL;
    for (int64_t k = 0; k < SCRATCH_CELLS; k++) {
      gc_ref c = gc_new_struct(h, cell_type);
      gc_set_i64(h, c, 0, k);
      gc_set_ref(h, c, 1, *scratch);
      *scratch = c;
    }
    int64_t sum = 0;
    for (gc_ref c = *scratch; c; c = gc_get_ref(h, c, 1))
      sum += gc_get_i64(h, c, 0);
    failed |= sum != SCRATCH_CELLS * (SCRATCH_CELLS - 1) / 2;

    /* Rooted before lock_shared: a blocking call may let a collection
     * run, and a gc_ref held only in a C variable is invalid after it. */
    *message = gc_new_struct(h, cell_type);
    gc_set_i64(h, *message, 0, first_value + i);
    lock_shared(h);
    gc_set_ref(h, *message, 1, *shared_list);
    *shared_list = *message;
    pthread_cond_signal(&shared_changed);
    pthread_mutex_unlock(&shared_lock);
  }
  gc_scope_close(h, scope);
  gc_thread_detach(h); /* after its scopes are closed */
  finish_worker(failed);
  return NULL;
}

/* The main thread takes what arrived, a batch at a time, and adds up the
 * values outside the lock while the workers go on. */
static bool receive_messages(gc_heap *h, int64_t *received, int64_t *sum) {
  gc_scope scope = gc_scope_open(h);
  gc_ref *cursor = gc_root(h, NULL); /* in a batch taken off the list */
  bool failed = false;
  for (;;) {
    lock_shared(h);
    while (!*shared_list && workers_done < WORKERS)
      wait_shared(h);
    *cursor = *shared_list;
    *shared_list = NULL;
    bool last = workers_done == WORKERS && !*cursor;
    failed = workers_failed > 0;
    pthread_mutex_unlock(&shared_lock);
    if (last)
      break;
    /* A loop that does not allocate polls gc_safepoint now and then, so
     * that it holds up another thread's collection only briefly. */
    for (; *cursor; *cursor = gc_get_ref(h, *cursor, 1)) {
      *sum += gc_get_i64(h, *cursor, 0);
      if (++*received % 256 == 0)
        gc_safepoint(h);
    }
  }
  gc_scope_close(h, scope);
  return !failed;
}

int main(int argc, char **argv) {
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  if (config && gc_config_args(config, &argc, argv, err, sizeof err) == 0)
    main_handle = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!main_handle)
    return fprintf(stderr, "threads: %s\n", err), 2;
  gc_kind fields[] = {GC_KIND_I64, GC_KIND_REF};
  cell_type = gc_type_struct(main_handle, "cell", 2, fields);
  shared_list = gc_global(main_handle, NULL);

  pthread_t threads[WORKERS];
  int started = 0;
  for (; started < WORKERS; started++)
    if (pthread_create(&threads[started], NULL, worker,
                       (void *)(intptr_t)started) != 0)
      break;
  if (started < WORKERS) { /* count the ones that never ran as failed */
    lock_shared(main_handle);
    workers_done += WORKERS - started;
    workers_failed += WORKERS - started;
    pthread_mutex_unlock(&shared_lock);
  }

  int64_t received = 0, sum = 0;
  bool ok = receive_messages(main_handle, &received, &sum);
  gc_blocking_begin(main_handle); /* joining is a blocking call too */
  for (int t = 0; t < started; t++)
    pthread_join(threads[t], NULL);
  gc_blocking_end(main_handle);

  const int64_t n = (int64_t)WORKERS * MESSAGES;
  ok = ok && received == n && sum == n * (n + 1) / 2;
  printf("%s: %lld messages from %d threads, sum %lld: %s\n",
         gc_collector_name(main_handle), (long long)received, WORKERS,
         (long long)sum, ok ? "ok" : "WRONG");
  gc_global_free(main_handle, shared_list);
  gc_heap_free(main_handle); /* every other handle has detached */
  return ok ? 0 : 1;
}
