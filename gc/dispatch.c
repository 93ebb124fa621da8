/* dispatch.c — the collectors this build offers. The only place in gc/ that
 * names them; each is known only by its table of functions. */
#include "config.h"

static const struct gc_collector_ops *const collectors[] = {
#ifdef GCHEAP_HAVE_tracing
    &gc_tracing_collector, /* first: the default */
#endif
#ifdef GCHEAP_HAVE_refcount
    &gc_refcount_collector,
#endif
    &gc_null_collector,
#ifdef GCHEAP_HAVE_boehm
    &gc_boehm_collector,
#endif
};
#define COLLECTOR_COUNT (int)(sizeof collectors / sizeof collectors[0])

/* The names of every collector gcheap has, built or not. */
static const char *const all_collector_names[] = {"tracing", "refcount", "null",
                                                  "boehm"};

static const char collector_names[] =
#ifdef GCHEAP_HAVE_tracing
    "tracing, "
#endif
#ifdef GCHEAP_HAVE_refcount
    "refcount, "
#endif
    "null"
#ifdef GCHEAP_HAVE_boehm
    ", boehm"
#endif
    ;

int gc_collector_index(const char *name) {
  for (int i = 0; i < COLLECTOR_COUNT; i++)
    if (!strcmp(collectors[i]->name, name))
      return i;
  return -1;
}

bool gc_collector_known_but_absent(const char *name) {
  for (size_t i = 0;
       i < sizeof all_collector_names / sizeof *all_collector_names; i++)
    if (!strcmp(all_collector_names[i], name))
      return gc_collector_index(name) < 0;
  return false;
}

const char *gc_collector_names(void) {
  return collector_names;
}

const char *gc_collector_name_at(int index) {
  return index >= 0 && index < COLLECTOR_COUNT ? collectors[index]->name : NULL;
}

const struct gc_collector_ops *gc_collector_ops_at(int index) {
  return index >= 0 && index < COLLECTOR_COUNT ? collectors[index] : NULL;
}
