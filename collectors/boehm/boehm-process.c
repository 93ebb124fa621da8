/* boehm-process.c — the process-wide half of collector=boehm.
 *
 * Boehm GC is one heap per process. Every gcheap heap with collector=boehm
 * allocates from it, and every Boehm collection is a collection of all of
 * them. What is process-wide therefore lives here, and nowhere else:
 *
 *   - Boehm is initialised once, with the hooks below;
 *   - the live heaps form one list, changed only under Boehm's allocation
 *     lock (the marker holds that lock, so it never sees a half-made change);
 *   - at each collection, push_gcheap_roots hands every live heap's root
 *     areas to Boehm's marker (instead of GC_add_roots, which Boehm limits to
 *     a few thousand areas per process and aborts beyond);
 *   - Boehm's collection events become every live heap's statistics;
 *   - the max-heap-size in force is the smallest of the live heaps' limits.
 */
#define _GNU_SOURCE /* gettid */
#include "boehm-internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static unsigned requested_markers;
static const char *init_error;

/* Guarded by Boehm's allocation lock. */
static struct gc_collector *live_heaps;
static uint64_t collection_started_ns;

/* The hooks that were installed before ours: we chain to them. */
static GC_push_other_roots_proc previous_push_other_roots;
static GC_on_collection_event_proc previous_on_collection_event;
static GC_on_heap_resize_proc previous_on_heap_resize;
static GC_warn_proc previous_warn_proc;

static uint32_t tag_counter;
bool boehm_collected_since_drain;

/* ---- Hooks Boehm calls --------------------------------------------------- */

/* Out of memory: Boehm returns NULL from the allocation and the heap that
 * asked traps GC_TRAP_OOM (boehm.c); the process does not die here. */
static void *GC_CALLBACK return_null_on_oom(size_t bytes) {
  return NULL;
}

/* Boehm warns on stderr before it returns NULL for lack of memory. For
 * gcheap that is a trap with its own message, so the warning is noise. */
static void GC_CALLBACK filter_warnings(char *msg, GC_word arg) {
  if (strstr(msg, "Out of Memory") || strstr(msg, "Failed to expand heap"))
    return;
  previous_warn_proc(msg, arg);
}

/* Called by Boehm's marker, allocation lock held, world stopped. */
static void GC_CALLBACK push_gcheap_roots(void) {
  for (struct gc_collector *c = live_heaps; c; c = c->next_live)
    for (size_t i = 0; i < c->areas.count; i++)
      GC_push_all(c->areas.items[i].start, c->areas.items[i].end);
  if (previous_push_other_roots)
    previous_push_other_roots();
}

/* Boehm's counters, read with the allocation lock held. */
static struct boehm_counters read_counters_locked(void) {
  struct GC_prof_stats_s s;
  GC_get_prof_stats_unsafe(&s, sizeof s);
  struct boehm_counters n = {(uint64_t)s.allocd_bytes_before_gc +
                                 (uint64_t)s.bytes_allocd_since_gc,
                             (uint64_t)s.reclaimed_bytes_before_gc +
                                 (uint64_t)s.bytes_reclaimed_since_gc};
  return n;
}

/* Freed objects and bytes are estimates. Boehm does not report single
 * objects; it counts the bytes its sweeps reclaim, process-wide, lazily (a
 * block is swept when allocation next needs it, or when it is wholly
 * empty at the collection). The fraction of what Boehm allocated since this
 * heap was created that it has reclaimed since, applied to this heap's own
 * allocation, gives freed bytes; freed objects assume the average size.
 * With one heap in the process this is close; with several, each heap is
 * credited with the process-wide fraction. */
static void estimate_freed(struct gc_collector *c, struct boehm_counters now) {
  uint64_t allocated = now.allocated - c->counters_at_create.allocated;
  uint64_t reclaimed = now.reclaimed - c->counters_at_create.reclaimed;
  if (!allocated)
    return;
  double fraction = (double)reclaimed / (double)allocated;
  gc_note_freed_fraction(c->heap, fraction > 1 ? 1 : fraction);
}

/* Called by Boehm with its allocation lock held. A Boehm collection counts
 * for every live heap: they all were collected. */
static void GC_CALLBACK on_collection_event(GC_EventType event) {
  if (event == GC_EVENT_START) {
    collection_started_ns = gc_now_ns();
  } else if (event == GC_EVENT_END) {
    __atomic_store_n(&boehm_collected_since_drain, true, __ATOMIC_RELAXED);
    struct boehm_counters counters = read_counters_locked();
    size_t heap_bytes = GC_get_heap_size();
    for (struct gc_collector *c = live_heaps; c; c = c->next_live) {
      if (c->verify)
        boehm_poison_dead_locked(c);
      gc_note_collection(c->heap, collection_started_ns);
      estimate_freed(c, counters);
      gc_note_heap_bytes(c->heap, heap_bytes);
    }
  }
  if (previous_on_collection_event)
    previous_on_collection_event(event);
}

/* Called by Boehm with its allocation lock held when its heap grows or
 * shrinks (it may grow without collecting). */
static void GC_CALLBACK on_heap_resize(GC_word new_size) {
  for (struct gc_collector *c = live_heaps; c; c = c->next_live)
    gc_note_heap_bytes(c->heap, new_size);
  if (previous_on_heap_resize)
    previous_on_heap_resize(new_size);
}

/* ---- Initialisation ------------------------------------------------------ */

/* The push_other_roots setter is unsynchronised, unlike the others. */
static void *install_push_hook_locked(void *unused) {
  previous_push_other_roots = GC_get_push_other_roots();
  GC_set_push_other_roots(push_gcheap_roots);
  return NULL;
}

static void init_boehm(void) {
  if (!GC_is_init_called()) {
    /* gcheap references always point at an object's first byte, and its
     * roots hold nothing else, so Boehm need not honour interior pointers:
     * that saves the byte Boehm adds to each object for them (a 16-byte
     * object would take 32) and makes false retention rarer. Only possible
     * if the program has not initialised Boehm itself. */
    GC_set_all_interior_pointers(0);
  }
  if (!GC_is_init_called() && requested_markers)
    GC_set_markers_count(requested_markers);
  GC_INIT();
  /* gc_thread_attach registers the threads Boehm does not know. */
  GC_allow_register_threads();
  /* Destructors run at gcheap's safe points, not inside any GC_malloc. */
  GC_set_finalize_on_demand(1);
  GC_set_oom_fn(return_null_on_oom);
  previous_warn_proc = GC_get_warn_proc();
  GC_set_warn_proc(filter_warnings);
  GC_call_with_alloc_lock(install_push_hook_locked, NULL);
  previous_on_collection_event = GC_get_on_collection_event();
  GC_set_on_collection_event(on_collection_event);
  previous_on_heap_resize = GC_get_on_heap_resize();
  GC_set_on_heap_resize(on_heap_resize);
  init_error = NULL;
}

int boehm_process_init(const struct gc_options *options, char *err,
                       size_t errlen) {
  /* gc-threads: Boehm's parallel markers, if it initialises now (0:
   * Boehm's own default, one per CPU). */
  requested_markers = (unsigned)options->gc_threads;
  /* Boehm takes the initialising thread for the main one and scans the main
   * thread's stack bounds for it: from another thread that is a crash. */
  if (!GC_is_init_called() && gettid() != getpid()) {
    snprintf(err, errlen,
             "boehm: the first boehm heap must be created on the main thread "
             "(Boehm GC initialises there), or initialise Boehm GC first");
    return -1;
  }
  pthread_once(&init_once, init_boehm);
  if (init_error) {
    snprintf(err, errlen, "boehm: %s", init_error);
    return -1;
  }
  /* Boehm stops and scans only the threads it knows; allocating from any
   * other thread aborts the process at the next collection. */
  if (!GC_thread_is_registered()) {
    snprintf(err, errlen,
             "boehm: this thread is unknown to Boehm GC; create boehm heaps "
             "on the thread that created the first one, or register this "
             "thread with GC_register_my_thread()");
    return -1;
  }
  return 0;
}

uint32_t boehm_next_tag(void) {
  uint32_t n = __atomic_add_fetch(&tag_counter, 1, __ATOMIC_RELAXED);
  return BOEHM_TAG_BITS | (n & ~BOEHM_TAG_MASK);
}

/* ---- The list of live heaps ---------------------------------------------- */

/* Boehm's limit is process-wide: the smallest limit of the live heaps (0 is
 * no limit). Boehm never shrinks its heap to obey a new, lower limit. */
static void apply_max_heap_size_locked(void) {
  uint64_t limit = 0;
  for (struct gc_collector *c = live_heaps; c; c = c->next_live) {
    uint64_t max = c->options->max_heap_size;
    if (max && (!limit || max < limit))
      limit = max;
  }
  GC_set_max_heap_size((GC_word)limit);
}

static void *link_locked(void *arg) {
  struct gc_collector *c = arg;
  c->prev_live = NULL;
  c->next_live = live_heaps;
  if (live_heaps)
    live_heaps->prev_live = c;
  live_heaps = c;
  c->counters_at_create = read_counters_locked();
  apply_max_heap_size_locked();
  return NULL;
}

static void *unlink_locked(void *arg) {
  struct gc_collector *c = arg;
  if (c->prev_live)
    c->prev_live->next_live = c->next_live;
  else
    live_heaps = c->next_live;
  if (c->next_live)
    c->next_live->prev_live = c->prev_live;
  c->prev_live = c->next_live = NULL;
  apply_max_heap_size_locked();
  return NULL;
}

void boehm_process_link(struct gc_collector *c) {
  GC_call_with_alloc_lock(link_locked, c);
}

void boehm_process_unlink(struct gc_collector *c) {
  GC_call_with_alloc_lock(unlink_locked, c);
}

/* ---- Root areas ---------------------------------------------------------- */

struct area_change {
  struct gc_collector *c;
  void *start;
  size_t bytes;
  bool done;
};

static void *area_add_locked(void *arg) {
  struct area_change *ch = arg;
  struct gc_collector *c = ch->c;
  if (!gc_vector_reserve(&c->areas, c->areas.count + 1))
    return NULL;
  c->areas.items[c->areas.count].start = ch->start;
  c->areas.items[c->areas.count].end = (char *)ch->start + ch->bytes;
  c->areas.count++;
  ch->done = true;
  return NULL;
}

static void *area_remove_locked(void *arg) {
  struct area_change *ch = arg;
  struct gc_collector *c = ch->c;
  for (size_t i = 0; i < c->areas.count; i++) {
    if (c->areas.items[i].start == ch->start) {
      c->areas.items[i] = c->areas.items[--c->areas.count];
      ch->done = true;
      break;
    }
  }
  return NULL;
}

bool boehm_area_add(struct gc_collector *c, void *start, size_t bytes) {
  struct area_change ch = {c, start, bytes, false};
  GC_call_with_alloc_lock(area_add_locked, &ch);
  return ch.done;
}

bool boehm_area_remove(struct gc_collector *c, void *start) {
  struct area_change ch = {c, start, 0, false};
  GC_call_with_alloc_lock(area_remove_locked, &ch);
  return ch.done;
}
