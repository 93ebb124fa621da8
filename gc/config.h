/* config.h — what gc/ shares between configuration and dispatch. */
#ifndef GC_CONFIG_H
#define GC_CONFIG_H

#include "collector-api.h"

/* The collectors of this build, in the order of gc_collector_names(). */
int gc_collector_index(const char *name); /* -1 if not in this build */
/* For a collector gcheap has that this build left out: what the build
 * needs to include it ("" if nothing to say); else NULL. */
const char *gc_collector_absent_needs(const char *name);
const char *gc_collector_name_at(int index);
const struct gc_collector_ops *gc_collector_ops_at(int index);

const struct gc_options *gc_config_options(const gc_config *config);
void gc_options_defaults(struct gc_options *options);

#endif
