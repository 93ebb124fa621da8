/* threads.c — the threads of one heap: their handles, the heap lock, and
 * stopping the world.
 *
 * Every thread that uses a heap holds a handle (struct gc_heap) on the
 * heap's shared part, and is in one of three states (enum
 * gc_thread_state), which only its own thread changes: under world_mutex,
 * except on entering and leaving a blocking call when no stop is in
 * progress (T4).
 *
 * The handshake. A thread that collects holds the heap lock, so there is
 * one at a time. gc_pause_begin makes it the stopper: it sets every other
 * handle's safepoint_requested and waits on world_cv until none is
 * RUNNING. A running thread sees the request at its next safepoint (each
 * allocation, gc_collect, gc_safepoint) and parks: PARKED, then waits on
 * world_cv until the stopper is gone. A thread in a blocking call is
 * BLOCKING already; gc_blocking_end waits for the stopper to be gone before
 * it is RUNNING again. gc_pause_end clears the stopper and wakes them all.
 *
 * Invariants:
 *   T1. While shared->stopper is set, no other handle's thread runs heap
 *       code: each is PARKED or BLOCKING, and leaves that state only after
 *       the stopper is cleared (both under world_mutex).
 *   T2. Only the holder of the heap lock stops the world, and it restarts
 *       the world before it lets the lock go. So a thread that has just
 *       taken the lock finds the world running, and a thread that waits for
 *       the lock (BLOCKING meanwhile) can never hold up the holder.
 *   T3. The list of handles changes only under both the heap lock and
 *       world_mutex: a stopper (holding the lock) sees it fixed, and so does
 *       anyone holding world_mutex.
 *   T4. Entering or leaving a blocking call takes no lock: the thread stores
 *       its state, then loads the stopper; the stopper stores itself, then
 *       loads the states; all four sequentially consistent, so that at
 *       least one side sees the other's store. A thread that sees no
 *       stopper leaves running (the stopper then sees it running and waits
 *       for its next safepoint); one that sees a stopper takes world_mutex
 *       and waits as in T1.
 */
#include "heap-internal.h"
#ifdef GCHEAP_TESTING
#include "gcheap-testing.h"
#endif

#include <unistd.h>

#define DEFAULT_MAX_MARKERS 8

int gc_threads_init(struct gc_heap_shared *shared, char *err, size_t errlen) {
  if (pthread_mutex_init(&shared->lock, NULL) ||
      pthread_mutex_init(&shared->check_lock, NULL) ||
      pthread_mutex_init(&shared->world_mutex, NULL) ||
      pthread_cond_init(&shared->world_cv, NULL)) {
    snprintf(err, errlen, "%s: cannot create the heap's locks",
             shared->ops->name);
    return -1;
  }
  return 0;
}

void gc_threads_free(struct gc_heap_shared *shared) {
  pthread_cond_destroy(&shared->world_cv);
  pthread_mutex_destroy(&shared->world_mutex);
  pthread_mutex_destroy(&shared->check_lock);
  pthread_mutex_destroy(&shared->lock);
}

void gc_handle_init(gc_heap *handle, struct gc_heap_shared *shared) {
  const struct gc_collector_ops *ops = shared->ops;
  handle->shared = shared;
  handle->ops = ops;
  handle->collector = shared->collector;
  handle->allocate = ops->allocate;
  handle->write_ref = ops->write_ref;
  handle->inl.layout = GCHEAP_INLINE_LAYOUT;
  handle->inl.types = shared->inline_types;
  handle->inl.barrier_mask = shared->barrier_mask;
  handle->inl.barrier_value = shared->barrier_value;
  handle->types = &shared->types;
  handle->type_items = shared->types.items;
  handle->verify = shared->verify;
  handle->inl.slow = shared->verify;
  handle->stress_countdown = shared->options.stress;
  handle->inl.alloc_interrupt = handle->stress_countdown != 0;
  handle->max_object_bytes = shared->max_object_bytes;
  handle->options = &shared->options;
  handle->owner = pthread_self();
  handle->state = GC_THREAD_RUNNING;
}

/* Appends handle to the list (the creator's stays first). Heap lock held. */
static void link_handle(gc_heap *handle) {
  struct gc_heap_shared *shared = handle->shared;
  pthread_mutex_lock(&shared->world_mutex);
  gc_heap **link = &shared->handles;
  while (*link)
    link = &(*link)->next;
  *link = handle;
  handle->next = NULL;
  shared->nhandles++;
  pthread_mutex_unlock(&shared->world_mutex);
}

/* Heap lock held. */
static void unlink_handle(gc_heap *handle) {
  struct gc_heap_shared *shared = handle->shared;
  pthread_mutex_lock(&shared->world_mutex);
  gc_heap **link = &shared->handles;
  while (*link != handle)
    link = &(*link)->next;
  *link = handle->next;
  shared->nhandles--;
  shared->stats.allocated_bytes += handle->inl.allocated_bytes;
  shared->stats.allocated_objects += handle->inl.allocated_objects;
  pthread_mutex_unlock(&shared->world_mutex);
}

/* The attached handle of the calling thread; NULL if it has none. */
static gc_heap *handle_of_this_thread(struct gc_heap_shared *shared) {
  pthread_t self = pthread_self();
  gc_heap *found = NULL;
  pthread_mutex_lock(&shared->world_mutex);
  for (gc_heap *h = shared->handles; h && !found; h = h->next)
    if (pthread_equal(h->owner, self))
      found = h;
  pthread_mutex_unlock(&shared->world_mutex);
  return found;
}

/* The stopper, read without world_mutex: sequentially consistent, paired
 * with the state changes below (T4). */
static gc_heap *current_stopper(struct gc_heap_shared *shared) {
  return __atomic_load_n(&shared->stopper, __ATOMIC_SEQ_CST);
}

gc_heap *gc_self(gc_heap *any) {
  if (GC_LIKELY(pthread_equal(any->owner, pthread_self())))
    return any;
  gc_heap *self = handle_of_this_thread(any->shared);
  if (self)
    return self;
  /* A thread with no handle: a marker of the stopper's collection. */
  gc_heap *stopper = current_stopper(any->shared);
  return stopper ? stopper : any;
}

/* Asks handle's thread to park at its next safepoint, or stops asking.
 * world_mutex held. */
static void request_safepoint(gc_heap *handle, bool park) {
  GC_ATOMIC_STORE(handle->safepoint_requested, park);
  GC_ATOMIC_STORE(handle->inl.alloc_interrupt,
                  park || handle->options->stress != 0);
}

/* ---- The thread states ---------------------------------------------------
 * Each change wakes every waiter on world_cv: the stopper counts the
 * running threads, parked ones wait for the stopper to go. */

static void set_state_locked(gc_heap *handle, enum gc_thread_state state) {
  if (state != GC_THREAD_RUNNING) {
    GC_ATOMIC_STORE(handle->published_bytes, handle->inl.allocated_bytes);
    GC_ATOMIC_STORE(handle->published_objects, handle->inl.allocated_objects);
  }
  __atomic_store_n(&handle->state, (uint8_t)state, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&handle->shared->world_cv);
}

/* Leaves PARKED or BLOCKING once no other thread has the world stopped
 * (T1). world_mutex held. */
static void wait_until_running_locked(gc_heap *handle,
                                      enum gc_thread_state waiting) {
  struct gc_heap_shared *shared = handle->shared;
  if (current_stopper(shared) && current_stopper(shared) != handle) {
    set_state_locked(handle, waiting);
    while (current_stopper(shared))
      pthread_cond_wait(&shared->world_cv, &shared->world_mutex);
  }
  set_state_locked(handle, GC_THREAD_RUNNING);
  request_safepoint(handle, false);
}

void gc_safepoint_slow(gc_heap *handle) {
  struct gc_heap_shared *shared = handle->shared;
  pthread_mutex_lock(&shared->world_mutex);
  wait_until_running_locked(handle, GC_THREAD_PARKED);
  pthread_mutex_unlock(&shared->world_mutex);
}

/* Entering and leaving a blocking call take no lock unless a stop is in
 * progress (an embedder's lock taken in every round of a loop is bracketed
 * by them). */
static void enter_blocking(gc_heap *handle) {
  GC_ATOMIC_STORE(handle->published_bytes, handle->inl.allocated_bytes);
  GC_ATOMIC_STORE(handle->published_objects, handle->inl.allocated_objects);
  __atomic_store_n(&handle->state, GC_THREAD_BLOCKING, __ATOMIC_SEQ_CST);
  struct gc_heap_shared *shared = handle->shared;
  if (current_stopper(shared)) { /* it may wait for this thread: wake it */
    pthread_mutex_lock(&shared->world_mutex);
    pthread_cond_broadcast(&shared->world_cv);
    pthread_mutex_unlock(&shared->world_mutex);
  }
}

static void leave_blocking(gc_heap *handle) {
  __atomic_store_n(&handle->state, GC_THREAD_RUNNING, __ATOMIC_SEQ_CST);
  struct gc_heap_shared *shared = handle->shared;
  if (!current_stopper(shared))
    return;
  /* A stop is in progress or starting: blocked again until it ends. */
  pthread_mutex_lock(&shared->world_mutex);
  wait_until_running_locked(handle, GC_THREAD_BLOCKING);
  pthread_mutex_unlock(&shared->world_mutex);
}

/* ---- The heap lock and the world ----------------------------------------- */

void gc_heap_lock(gc_heap *self) {
  assert(!self->holds_lock && "the heap lock is not recursive");
  struct gc_heap_shared *shared = self->shared;
  if (pthread_mutex_trylock(&shared->lock) != 0) {
    /* The holder may be stopping the world: wait as a blocked thread. */
    enter_blocking(self);
    pthread_mutex_lock(&shared->lock);
    leave_blocking(self); /* returns at once: T2 */
  }
  self->holds_lock = 1;
}

void gc_heap_unlock(gc_heap *self) {
  assert(self->holds_lock);
  self->holds_lock = 0;
  pthread_mutex_unlock(&self->shared->lock);
}

void *gc_heap_run_unlocked(gc_heap *self, void *(*work)(void *), void *arg) {
  gc_heap_unlock(self);
  enter_blocking(self);
#ifdef GCHEAP_TESTING
  if (self->shared->while_unlocked_fn)
    self->shared->while_unlocked_fn(self, self->shared->while_unlocked_ud);
#endif
  void *result = work(arg);
  leave_blocking(self);
  gc_heap_lock(self);
  return result;
}

/* True if a thread other than self may be running heap code. */
static bool others_running(gc_heap *self) {
  for (gc_heap *h = self->shared->handles; h; h = h->next)
    if (h != self &&
        __atomic_load_n(&h->state, __ATOMIC_SEQ_CST) == GC_THREAD_RUNNING)
      return true;
  return false;
}

/* How long a stopper polls the other threads' states before it sleeps on
 * world_cv: a running thread allocates often, so it usually parks within
 * microseconds, and a futex wake-up costs tens of them on a VM. */
#define STOP_SPINS 4000

/* Stops every other attached thread (T1). The heap lock is held (T2), so
 * the list of handles does not change meanwhile (T3). */
static void stop_world(gc_heap *self) {
  struct gc_heap_shared *shared = self->shared;
  pthread_mutex_lock(&shared->world_mutex);
  assert(!shared->stopper && "a collection inside a collection");
  __atomic_store_n(&shared->stopper, self, __ATOMIC_SEQ_CST);
  for (gc_heap *h = shared->handles; h; h = h->next)
    if (h != self)
      request_safepoint(h, true);
  pthread_mutex_unlock(&shared->world_mutex);
  for (int spin = 0; spin < STOP_SPINS && others_running(self); spin++)
    __builtin_ia32_pause();
  pthread_mutex_lock(&shared->world_mutex);
  while (others_running(self))
    pthread_cond_wait(&shared->world_cv, &shared->world_mutex);
  pthread_mutex_unlock(&shared->world_mutex);
}

static void restart_world(gc_heap *self) {
  struct gc_heap_shared *shared = self->shared;
  pthread_mutex_lock(&shared->world_mutex);
  assert(shared->stopper == self);
  __atomic_store_n(&shared->stopper, NULL, __ATOMIC_SEQ_CST);
  for (gc_heap *h = shared->handles; h; h = h->next)
    request_safepoint(h, false);
  pthread_cond_broadcast(&shared->world_cv);
  pthread_mutex_unlock(&shared->world_mutex);
}

#ifdef GCHEAP_TESTING
void gc_test_while_unlocked(gc_heap *heap, void (*fn)(gc_heap *heap, void *ud),
                            void *ud) {
  pthread_mutex_lock(&heap->shared->lock);
  heap->shared->while_unlocked_fn = fn;
  heap->shared->while_unlocked_ud = ud;
  pthread_mutex_unlock(&heap->shared->lock);
}
#endif

void gc_check_lock(gc_heap *heap) {
  pthread_mutex_lock(&heap->shared->check_lock);
}

void gc_check_unlock(gc_heap *heap) {
  pthread_mutex_unlock(&heap->shared->check_lock);
}

void gc_stop_world(gc_heap *heap) {
  stop_world(gc_self(heap));
}

void gc_restart_world(gc_heap *heap) {
  restart_world(gc_self(heap));
}

uint64_t gc_pause_begin(gc_heap *heap) {
  gc_heap *self = gc_self(heap);
  uint64_t start = gc_now_ns();
  stop_world(self);
  self->shared->collecting = 1;
  return start;
}

void gc_pause_end(gc_heap *heap, uint64_t start) {
  gc_heap *self = gc_self(heap);
  self->shared->collecting = 0;
  gc_note_collection(self, start);
  restart_world(self);
}

uint32_t gc_resolve_marker_threads(uint64_t gc_threads) {
  if (gc_threads)
    return (uint32_t)gc_threads;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    return 1;
  return cpus > DEFAULT_MAX_MARKERS ? DEFAULT_MAX_MARKERS : (uint32_t)cpus;
}

uint32_t gc_marker_threads(gc_heap *heap) {
  return heap->shared->marker_threads;
}

void gc_sum_allocated(gc_heap *heap, uint64_t *bytes, uint64_t *objects) {
  gc_heap *self = handle_of_this_thread(heap->shared);
  struct gc_heap_shared *shared = heap->shared;
  pthread_mutex_lock(&shared->world_mutex);
  *bytes = shared->stats.allocated_bytes;
  *objects = shared->stats.allocated_objects;
  for (gc_heap *h = shared->handles; h; h = h->next) {
    *bytes +=
        h == self ? h->inl.allocated_bytes : GC_ATOMIC_LOAD(h->published_bytes);
    *objects += h == self ? h->inl.allocated_objects
                          : GC_ATOMIC_LOAD(h->published_objects);
  }
  pthread_mutex_unlock(&shared->world_mutex);
}

/* ---- The public calls ---------------------------------------------------- */

gc_heap *(gc_thread_attach)(gc_heap *any_handle, char *err, size_t errlen) {
  if (!any_handle) {
    snprintf(err, errlen, "gc_thread_attach: the heap is NULL");
    return NULL;
  }
  struct gc_heap_shared *shared = any_handle->shared;
  const char *name = shared->ops->name;
  gc_heap *handle = gc_sys_calloc(1, sizeof *handle);
  if (!handle) {
    snprintf(err, errlen, "%s: gc_thread_attach: no memory for a handle", name);
    return NULL;
  }
  /* Not attached yet, this thread holds up no collection: a plain wait.
   * Under the lock the shared values the handle copies (the barrier
   * filter) cannot change: they change only in a collection. */
  pthread_mutex_lock(&shared->lock);
  gc_handle_init(handle, shared);
  if (handle_of_this_thread(shared)) {
    snprintf(err, errlen,
             "%s: gc_thread_attach: this thread is attached to the heap "
             "already; use its handle",
             name);
  } else {
    handle->mutator =
        shared->ops->attach(shared->collector, handle, err, errlen);
    if (handle->mutator)
      link_handle(handle);
  }
  pthread_mutex_unlock(&shared->lock);
  if (!handle->mutator) {
    gc_sys_free(handle);
    return NULL;
  }
  gc_roots_init(handle);
  return handle;
}

gc_heap *gc_thread_attach_for_layout(gc_heap *any_handle, uint32_t layout,
                                     char *err, size_t errlen) {
  if (gc_check_inline_layout(layout, "gc_thread_attach", err, errlen))
    return NULL;
  return (gc_thread_attach)(any_handle, err, errlen);
}

void gc_thread_detach(gc_heap *handle) {
  if (!handle)
    return;
  if (gc_api_enter(handle, NULL, "gc_thread_detach"))
    return;
  struct gc_heap_shared *shared = handle->shared;
  if (handle == shared->handles) {
    gc_trap_raise(handle, GC_TRAP_MISUSE,
                  "gc_thread_detach: this is the handle gc_heap_new "
                  "returned; gc_heap_free frees it with the heap");
    return;
  }
  if (handle->scopes.count) {
    gc_trap_raise(handle, GC_TRAP_MISUSE,
                  "gc_thread_detach: %zu scopes are still open; close them "
                  "first",
                  handle->scopes.count);
    return;
  }
  gc_raise_pending_traps(handle);
  gc_heap_lock(handle);
  shared->ops->detach(handle->mutator);
  unlink_handle(handle);
  gc_heap_unlock(handle);
  gc_roots_free(handle);
  gc_sys_free(handle);
}

void(gc_safepoint)(gc_heap *handle) {
  GC_REQUIRE_HEAP(handle, "gc_safepoint");
  if (gc_api_enter(handle, NULL, "gc_safepoint"))
    return;
  gc_poll_safepoint(handle);
}

void gc_blocking_begin(gc_heap *handle) {
  GC_REQUIRE_HEAP(handle, "gc_blocking_begin");
  if (gc_api_enter(handle, NULL, "gc_blocking_begin"))
    return;
  enter_blocking(handle);
  handle->inl.slow = 1; /* verify=1: any use until the end traps */
}

void gc_blocking_end(gc_heap *handle) {
  GC_REQUIRE_HEAP(handle, "gc_blocking_end");
  if (handle->state != GC_THREAD_BLOCKING) {
    gc_trap_raise(handle, GC_TRAP_MISUSE,
                  "gc_blocking_end without gc_blocking_begin");
    return;
  }
  leave_blocking(handle);
  handle->inl.slow = handle->verify || handle->in_destructor;
}
