/* dispatch.c — the collectors this build offers. The only place in gc/ that
 * names them, and only through collectors/collectors.def (every collector
 * gcheap has) and gcheap-collectors.h (those this build has, written by the
 * build from the same list); each is known only by its table of functions. */
#include "config.h"

#define GC_BUILT_COLLECTOR(name)                                               \
  extern const struct gc_collector_ops gc_##name##_collector;
#include "gcheap-collectors.h"
#undef GC_BUILT_COLLECTOR

static const struct gc_collector_ops *const collectors[] = {
#define GC_BUILT_COLLECTOR(name) &gc_##name##_collector,
#include "gcheap-collectors.h"
#undef GC_BUILT_COLLECTOR
};
#define COLLECTOR_COUNT (int)(sizeof collectors / sizeof collectors[0])

/* Every collector gcheap has, built or not, and what a build needs to have
 * it. */
static const struct {
  const char *name, *needs;
} all_collectors[] = {
#define GC_COLLECTOR(name, needs) {#name, needs},
#include "collectors.def"
#undef GC_COLLECTOR
};

/* "tracing, refcount, null": the names of this build's collectors, each
 * preceded by ", " (skipped when returned). */
static const char collector_names[] =
#define GC_BUILT_COLLECTOR(name) ", " #name
#include "gcheap-collectors.h"
#undef GC_BUILT_COLLECTOR
    ;

int gc_collector_index(const char *name) {
  for (int i = 0; i < COLLECTOR_COUNT; i++)
    if (!strcmp(collectors[i]->name, name))
      return i;
  return -1;
}

const char *gc_collector_absent_needs(const char *name) {
  for (size_t i = 0; i < sizeof all_collectors / sizeof *all_collectors; i++)
    if (!strcmp(all_collectors[i].name, name))
      return gc_collector_index(name) < 0 ? all_collectors[i].needs : NULL;
  return NULL;
}

const char *gc_collector_names(void) {
  return collector_names + 2;
}

const char *gc_collector_name_at(int index) {
  return index >= 0 && index < COLLECTOR_COUNT ? collectors[index]->name : NULL;
}

const struct gc_collector_ops *gc_collector_ops_at(int index) {
  return index >= 0 && index < COLLECTOR_COUNT ? collectors[index] : NULL;
}
