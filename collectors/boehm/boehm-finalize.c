/* boehm-finalize.c — resources and weak references on top of Boehm GC.
 *
 * Resources. A resource's destructor must run exactly once: after the
 * resource became unreachable, or at gc_heap_free. Boehm provides the first
 * half (a finalizer, registered when the resource is allocated); for the
 * second, each heap keeps a registry of its resources whose destructor has
 * not run yet. The registry holds hidden pointers, so it never keeps a
 * resource alive. Invariants:
 *
 *   - a resource is in its heap's registry, at index header.gc_word, exactly
 *     as long as its destructor has not run;
 *   - Boehm keeps an object whose finalizer is registered or queued, so a
 *     registered resource is never reclaimed: the registry never dangles;
 *   - the finalizer touches its heap only if the destructor has not run.
 *     gc_heap_free runs every registered destructor, so a finalizer that
 *     Boehm queued but had not invoked before the heap was freed finds
 *     `destroyed` set and returns without looking at the freed heap.
 *
 * Boehm runs finalizers only when asked (finalize-on-demand, set at init):
 * gcheap asks at its safe points, after an allocation and after a
 * collection, so that a destructor never runs inside Boehm's allocator.
 *
 * Weak references. A weak object is allocated atomic (Boehm does not scan
 * it), so its target field is invisible to the marker; the field is
 * registered as a disappearing link that Boehm clears when the target
 * becomes unreachable, before any finalizer runs. Readers take Boehm's
 * allocation lock: with threads, a collection could otherwise decide the
 * target is dead between the read and the clearing.
 */
#include "boehm-internal.h"

#include <stdlib.h>

/* ---- The registry of pending resources ----------------------------------- */

/* The registry changes under Boehm's allocation lock: threads add
 * resources while a finalizer on another thread removes one. */
struct registry_change {
  struct gc_collector *c;
  struct gc_resource *res;
  int status;
};

static void *registry_add_locked(void *arg) {
  struct registry_change *ch = arg;
  struct gc_collector *c = ch->c;
  /* The index goes in the 32-bit gc_word. */
  if (c->resources.count == UINT32_MAX ||
      !gc_vector_reserve(&c->resources, c->resources.count + 1)) {
    ch->status = -1;
    return NULL;
  }
  ch->res->header.gc_word = (uint32_t)c->resources.count;
  c->resources.items[c->resources.count++] = GC_HIDE_POINTER(ch->res);
  return NULL;
}

static int registry_add(struct gc_collector *c, struct gc_resource *res) {
  struct registry_change ch = {c, res, 0};
  GC_call_with_alloc_lock(registry_add_locked, &ch);
  return ch.status;
}

static void *registry_remove_locked(void *arg) {
  struct registry_change *ch = arg;
  struct gc_collector *c = ch->c;
  struct gc_resource *res = ch->res;
  uint32_t i = res->header.gc_word;
  assert(i < c->resources.count &&
         c->resources.items[i] == GC_HIDE_POINTER(res));
  GC_hidden_pointer last = c->resources.items[--c->resources.count];
  if (i < c->resources.count) {
    c->resources.items[i] = last;
    ((struct gc_obj *)GC_REVEAL_POINTER(last))->gc_word = i;
  }
  return NULL;
}

static void registry_remove(struct gc_collector *c, struct gc_resource *res) {
  struct registry_change ch = {c, res, 0};
  GC_call_with_alloc_lock(registry_remove_locked, &ch);
}

const char *boehm_resource_check(struct gc_collector *c,
                                 struct gc_resource *res) {
  if (res->destroyed)
    return "a resource whose destructor already ran";
  uint32_t i = res->header.gc_word;
  if (i >= c->resources.count || c->resources.items[i] != GC_HIDE_POINTER(res))
    return "a resource that is not one of this heap's";
  return NULL;
}

/* ---- Finalizers ---------------------------------------------------------- */

/* Runs in boehm_run_pending_destructors, outside Boehm's lock. */
static void GC_CALLBACK resource_finalizer(void *obj, void *client_data) {
  struct gc_resource *res = obj;
  if (res->destroyed)
    return; /* its heap was freed, and ran it then; client_data is stale */
  struct gc_collector *c = client_data;
  registry_remove(c, res);
  gc_run_destructor(c->heap, res);
}

/* Boehm leaves *ofn untouched when it had no memory to register. */
static void GC_CALLBACK not_registered(void *obj, void *cd) {}

int boehm_resource_register(struct gc_collector *c, struct gc_resource *res) {
  if (registry_add(c, res)) {
    gc_trap_raise(c->heap, GC_TRAP_OOM,
                  "gc_new_resource: no memory to record resource %zu",
                  c->resources.count);
    return -1;
  }
  GC_finalization_proc old_fn = not_registered;
  void *old_cd = NULL;
  GC_register_finalizer_no_order(res, resource_finalizer, c, &old_fn, &old_cd);
  if (old_fn == not_registered) {
    registry_remove(c, res);
    gc_trap_raise(c->heap, GC_TRAP_OOM,
                  "gc_new_resource: Boehm GC has no memory for a finalizer");
    return -1;
  }
  assert(old_fn == NULL); /* a fresh object had no finalizer */
  return 0;
}

/* A destructor may use another heap, whose allocation would come back here:
 * the queue is drained by one caller at a time per thread. */
static __thread bool draining;

void boehm_run_pending_destructors(void) {
  __atomic_store_n(&boehm_collected_since_drain, false, __ATOMIC_RELAXED);
  if (draining || !GC_should_invoke_finalizers())
    return;
  draining = true;
  GC_invoke_finalizers();
  draining = false;
}

void boehm_run_destructors_stopped(struct gc_mutator *m, bool locked) {
  if (!locked)
    gc_heap_lock(m->handle);
  gc_stop_world(m->handle);
  boehm_run_pending_destructors();
  gc_restart_world(m->handle);
  if (!locked)
    gc_heap_unlock(m->handle);
}

void boehm_resources_destroy(struct gc_collector *c) {
  /* Newest first. The destructors may not use this heap, so nothing is
   * added meanwhile; a destructor using another heap may trigger a Boehm
   * collection, which can only queue these resources (their finalizers are
   * still registered), never reclaim them. */
  while (c->resources.count) {
    GC_hidden_pointer hidden = c->resources.items[--c->resources.count];
    struct gc_resource *res = GC_REVEAL_POINTER(hidden);
    GC_register_finalizer_no_order(res, NULL, NULL, NULL, NULL);
    gc_run_destructor(c->heap, res);
  }
  gc_vector_free(&c->resources);
}

/* ---- Weak references ----------------------------------------------------- */

void boehm_weak_init(struct gc_mutator *m, struct gc_weak *weak,
                     gc_ref target) {
  struct gc_collector *c = m->c;
  weak->target = target;
  if (!target)
    return;
  int status =
      GC_general_register_disappearing_link((void **)&weak->target, target);
  if (status != GC_SUCCESS) {
    /* Unregistered, the field would dangle once the target died. */
    weak->target = NULL;
    gc_trap_raise(
        c->heap, GC_TRAP_OOM,
        "gc_new_weak: Boehm GC has no memory for a disappearing link");
  }
}

static void *read_target_locked(void *weak) {
  return ((struct gc_weak *)weak)->target;
}

gc_ref boehm_weak_get(struct gc_collector *c, struct gc_weak *weak) {
  return GC_call_with_alloc_lock(read_target_locked, weak);
}
