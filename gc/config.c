/* config.c — "-C key=value" parsing. Every key comes from options.def, so the
 * parser, the range checks, the error messages and the help text are all
 * generated from one table. */
#include "collector-api.h"
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

struct gc_config {
  struct gc_options options;
};

enum option_parser { PARSE_COLLECTOR, PARSE_SIZE, PARSE_COUNT, PARSE_BOOL };

struct option_spec {
  const char *key;
  enum option_parser parser;
  uint64_t default_value, min, max;
  const char *help;
  size_t offset;
};

static const struct option_spec option_table[] = {
#define GC_OPTION(field, key, parser, def, min, max, help)                     \
  {key,                                                                        \
   PARSE_##parser,                                                             \
   def,                                                                        \
   min,                                                                        \
   max,                                                                        \
   help,                                                                       \
   offsetof(struct gc_options, field)},
#include "options.def"
#undef GC_OPTION
};
#define OPTION_COUNT (sizeof option_table / sizeof option_table[0])

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* "collector, heap-size, ..., " from the table, at compile time. */
static const char accepted_keys_list[] =
#define GC_OPTION(field, key, parser, def, min, max, help) key ", "
#include "options.def"
#undef GC_OPTION
    ;
#define ACCEPTED_KEYS_LENGTH ((int)sizeof accepted_keys_list - 3)

/* Bytes with an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  if (*text < '0' || *text > '9')
    return -1;
  unsigned long long n = strtoull(text, &end, 10);
  if (errno)
    return -1;
  int shift = 0;
  switch (*end) {
  case 'k':
  case 'K':
    shift = 10;
    end++;
    break;
  case 'm':
  case 'M':
    shift = 20;
    end++;
    break;
  case 'g':
  case 'G':
    shift = 30;
    end++;
    break;
  }
  if ((*end == 'b' || *end == 'B') && shift)
    end++;
  if (*end || (shift && n > (UINT64_MAX >> shift)))
    return -1;
  *out = (uint64_t)n << shift;
  return 0;
}

static int parse_count(const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  if (*text < '0' || *text > '9')
    return -1;
  unsigned long long n = strtoull(text, &end, 10);
  if (errno || *end)
    return -1;
  *out = n;
  return 0;
}

static int parse_value(const struct option_spec *spec, const char *text,
                       uint64_t *out, char *err, size_t errlen) {
  switch (spec->parser) {
  case PARSE_COLLECTOR: {
    int index = gc_collector_index(text);
    if (index >= 0) {
      *out = (uint64_t)index;
      return 0;
    }
    const char *needs = gc_collector_absent_needs(text);
    if (needs)
      return fail(err, errlen,
                  "collector=%s: not in this build of gcheap%s%s%s; accepted: "
                  "%s",
                  text, *needs ? " (it needs " : "", needs, *needs ? ")" : "",
                  gc_collector_names());
    return fail(err, errlen, "collector=%s: unknown collector; accepted: %s",
                text, gc_collector_names());
  }
  case PARSE_SIZE:
    if (parse_size(text, out))
      return fail(err, errlen,
                  "%s=%s: not a size; accepted: bytes with an optional K, M "
                  "or G suffix, e.g. 64M",
                  spec->key, text);
    break;
  case PARSE_COUNT:
    if (parse_count(text, out))
      return fail(err, errlen,
                  "%s=%s: not a number; accepted: a whole number from %llu to "
                  "%llu",
                  spec->key, text, (unsigned long long)spec->min,
                  (unsigned long long)spec->max);
    break;
  case PARSE_BOOL:
    if (strcmp(text, "0") && strcmp(text, "1"))
      return fail(err, errlen, "%s=%s: accepted: 0 or 1", spec->key, text);
    *out = text[0] == '1';
    return 0;
  }
  if (*out < spec->min || *out > spec->max) {
    char lo[32], hi[32];
    return fail(err, errlen, "%s=%s: out of range; accepted: %s to %s",
                spec->key, text, gc_format_size(spec->min, lo, sizeof lo),
                gc_format_size(spec->max, hi, sizeof hi));
  }
  return 0;
}

static void set_defaults(struct gc_options *options) {
  for (size_t i = 0; i < OPTION_COUNT; i++)
    *(uint64_t *)((char *)options + option_table[i].offset) =
        option_table[i].default_value;
}

/* Parses "key=value" into options; on error options is untouched. */
static int apply_setting(struct gc_options *options, const char *setting,
                         size_t length, char *err, size_t errlen) {
  char text[256];
  if (length >= sizeof text)
    return fail(err, errlen, "option too long: %.40s...", setting);
  memcpy(text, setting, length);
  text[length] = 0;
  char *eq = strchr(text, '=');
  if (!eq)
    return fail(err, errlen, "'%s': expected key=value; keys: %.*s", text,
                ACCEPTED_KEYS_LENGTH, accepted_keys_list);
  *eq = 0;
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    if (strcmp(spec->key, text))
      continue;
    uint64_t value = 0;
    if (parse_value(spec, eq + 1, &value, err, errlen))
      return -1;
    *(uint64_t *)((char *)options + spec->offset) = value;
    return 0;
  }
  return fail(err, errlen, "unknown option '%s'; accepted: %.*s", text,
              ACCEPTED_KEYS_LENGTH, accepted_keys_list);
}

/* Applies a "k=v,k=v" list, all or nothing. */
static int apply_list(struct gc_options *options, const char *list, char *err,
                      size_t errlen) {
  struct gc_options staged = *options;
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t length = comma ? (size_t)(comma - p) : strlen(p);
    if (length && apply_setting(&staged, p, length, err, errlen))
      return -1;
    p += length + (comma != NULL);
  }
  *options = staged;
  return 0;
}

gc_config *gc_config_new(char *err, size_t errlen) {
  gc_config *config = gc_sys_malloc(sizeof *config);
  if (!config) {
    fail(err, errlen, "gc_config_new: out of memory");
    return NULL;
  }
  set_defaults(&config->options);
  const char *env = getenv("GCHEAP_OPTIONS");
  char reason[256];
  if (env && apply_list(&config->options, env, reason, sizeof reason)) {
    fail(err, errlen, "GCHEAP_OPTIONS: %s", reason);
    gc_sys_free(config);
    return NULL;
  }
  return config;
}

void gc_config_free(gc_config *config) {
  gc_sys_free(config);
}

int gc_config_set(gc_config *config, const char *key_eq_value, char *err,
                  size_t errlen) {
  if (!config || !key_eq_value)
    return fail(err, errlen, "gc_config_set: null argument");
  return apply_setting(&config->options, key_eq_value, strlen(key_eq_value),
                       err, errlen);
}

int gc_config_args(gc_config *config, int *argc, char **argv, char *err,
                   size_t errlen) {
  if (!config || !argc || !argv)
    return fail(err, errlen, "gc_config_args: null argument");
  struct gc_options staged = config->options;
  int kept = 1;
  /* First pass: parse everything, so that nothing is half-applied. */
  for (int i = 1; i < *argc; i++) {
    const char *setting = NULL;
    if (!strcmp(argv[i], "-C")) {
      if (i + 1 >= *argc)
        return fail(err, errlen, "-C needs key=value; keys: %.*s",
                    ACCEPTED_KEYS_LENGTH, accepted_keys_list);
      setting = argv[++i];
    } else if (!strncmp(argv[i], "-C", 2)) {
      setting = argv[i] + 2;
    } else {
      continue;
    }
    if (apply_setting(&staged, setting, strlen(setting), err, errlen))
      return -1;
  }
  /* Second pass: compact argv. */
  for (int i = 1; i < *argc; i++) {
    if (!strcmp(argv[i], "-C"))
      i++;
    else if (strncmp(argv[i], "-C", 2))
      argv[kept++] = argv[i];
  }
  argv[kept] = NULL;
  *argc = kept;
  config->options = staged;
  return 0;
}

void gc_config_help(void *file) {
  FILE *out = file ? file : stdout;
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    char def[32];
    const char *value_help;
    switch (spec->parser) {
    case PARSE_COLLECTOR:
      value_help = gc_collector_names();
      snprintf(def, sizeof def, "%s", gc_collector_name_at(0));
      break;
    case PARSE_SIZE:
      value_help = "bytes[K|M|G]";
      gc_format_size(spec->default_value, def, sizeof def);
      break;
    case PARSE_COUNT:
      value_help = "N";
      snprintf(def, sizeof def, "%llu",
               (unsigned long long)spec->default_value);
      break;
    default:
      value_help = "0|1";
      snprintf(def, sizeof def, "%llu",
               (unsigned long long)spec->default_value);
      break;
    }
    fprintf(out, "  -C %s=%s\n      %s (default %s)\n", spec->key, value_help,
            spec->help, def);
  }
  const struct gc_collector_ops *ops;
  for (int i = 0; (ops = gc_collector_ops_at(i)); i++)
    if (ops->option_notes)
      fprintf(out, "  with collector=%s:\n      %s\n", ops->name,
              ops->option_notes);
}

const struct gc_options *gc_config_options(const gc_config *config) {
  return &config->options;
}

void gc_options_defaults(struct gc_options *options) {
  set_defaults(options);
}
