/* Conformance: configuration and options — gc_config_new / _free / _set /
 * _args / _help, gc_collector_names, GCHEAP_OPTIONS, and every option error:
 * the message names the key and lists what is accepted, and a failed call
 * applies nothing. */
#include "harness.h"

#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const option_keys[] = {
    "collector", "heap-size",         "max-heap-size", "verify",
    "stress",    "verify-quarantine", "stats",
};
#define NKEYS (sizeof option_keys / sizeof option_keys[0])

/* A configuration with GCHEAP_OPTIONS cleared, so that the stress variant
 * does not change what these tests observe. */
static gc_config *clean_config(void) {
  unsetenv("GCHEAP_OPTIONS");
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  cr_assert(config, "%s", err);
  return config;
}

/* The configuration makes a heap whose null arena is at most limit bytes:
 * allocating more than limit traps OOM. Observes max-heap-size without a
 * getter. */
static bool heap_is_limited_to(gc_config *config, size_t limit) {
  char err[256] = "";
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  cr_assert(heap, "gc_heap_new: %s", err);
  struct trap_log log = {0};
  gc_set_trap_handler(heap, harness_record_trap, &log);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  for (size_t done = 0; done < 2 * limit && !log.total; done += 64 << 10)
    gc_new_array(heap, bytes, 64 << 10);
  bool limited = log.total > 0 && log.kind == GC_TRAP_OOM;
  gc_heap_free(heap);
  return limited;
}

Test(config, defaults_make_a_heap) {
  gc_config *config = clean_config();
  char err[256] = "";
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  if (harness_has_collector("tracing")) {
    cr_assert(heap, "default heap: %s", err);
    cr_assert_str_eq(gc_collector_name(heap), "tracing");
  }
  if (heap)
    gc_heap_free(heap);
  else
    cr_assert(err[0], "gc_heap_new failed without a reason");
  gc_config_free(config);
}

Test(config, null_config_means_defaults) {
  unsetenv("GCHEAP_OPTIONS");
  char err[256] = "";
  gc_heap *heap = gc_heap_new(NULL, err, sizeof err);
  if (harness_has_collector("tracing")) {
    cr_assert(heap, "gc_heap_new(NULL): %s", err);
    cr_assert_str_eq(gc_collector_name(heap), "tracing");
  }
  if (heap)
    gc_heap_free(heap);
  else
    cr_assert(err[0]);
}

Test(config, collector_names_lists_null_and_known_names_only) {
  const char *names = gc_collector_names();
  cr_assert(names && strstr(names, "null"), "names: %s", names);
  char copy[256];
  snprintf(copy, sizeof copy, "%s", names);
  for (char *name = strtok(copy, ", "); name; name = strtok(NULL, ", "))
    cr_assert(!strcmp(name, "tracing") || !strcmp(name, "refcount") ||
                  !strcmp(name, "null") || !strcmp(name, "boehm"),
              "unexpected collector name '%s' in \"%s\"", name, names);
}

COLLECTOR_TEST(config, every_listed_collector_makes_a_heap) {
  gc_config *config = clean_config();
  char setting[64], err[256] = "";
  snprintf(setting, sizeof setting, "collector=%s", param->name);
  cr_assert_eq(gc_config_set(config, setting, err, sizeof err), 0, "%s", err);
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  cr_assert(heap, "%s: %s", param->name, err);
  cr_assert_str_eq(gc_collector_name(heap), param->name);
  gc_heap_free(heap);
  gc_config_free(config);
}

Test(config, every_key_accepts_a_valid_value) {
  gc_config *config = clean_config();
  const char *good[] = {
      "collector=null", "heap-size=0",  "heap-size=4096",  "heap-size=64K",
      "heap-size=2M",   "heap-size=1G", "max-heap-size=0", "max-heap-size=8M",
      "verify=0",       "verify=1",     "stress=0",        "stress=1",
      "stress=1000",    "stats=0",      "stats=1",
  };
  char err[256];
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    err[0] = 0;
    cr_assert_eq(gc_config_set(config, good[i], err, sizeof err), 0,
                 "%s rejected: %s", good[i], err);
  }
  gc_config_free(config);
}

Test(config, unknown_key_names_it_and_lists_the_keys) {
  gc_config *config = clean_config();
  char err[512] = "";
  cr_assert_eq(gc_config_set(config, "colector=null", err, sizeof err), -1);
  cr_assert(strstr(err, "colector"), "message: %s", err);
  for (size_t k = 0; k < NKEYS; k++)
    cr_assert(strstr(err, option_keys[k]), "message lacks '%s': %s",
              option_keys[k], err);
  gc_config_free(config);
}

Test(config, setting_without_equals_is_an_error) {
  gc_config *config = clean_config();
  char err[512] = "";
  cr_assert_eq(gc_config_set(config, "verify", err, sizeof err), -1);
  cr_assert(err[0]);
  err[0] = 0;
  cr_assert_eq(gc_config_set(config, "", err, sizeof err), -1);
  cr_assert(err[0]);
  gc_config_free(config);
}

/* Each bad value is rejected with a message that names the key and shows
 * what is accepted (a fragment every reasonable wording contains). */
Test(config, bad_values_name_the_key_and_the_accepted_values) {
  static const struct {
    const char *setting, *key, *accepted;
  } bad[] = {
      {"verify=2", "verify", "1"},
      {"verify=yes", "verify", "1"},
      {"verify=", "verify", "1"},
      {"stats=-1", "stats", "1"},
      {"stress=-1", "stress", "stress"},
      {"stress=abc", "stress", "stress"},
      {"stress=99999999999999", "stress", "stress"},
      {"heap-size=abc", "heap-size", "K"},
      {"heap-size=12Q", "heap-size", "K"},
      {"heap-size=-4", "heap-size", "K"},
      {"heap-size=", "heap-size", "K"},
      {"max-heap-size=1T", "max-heap-size", "K"},
      {"max-heap-size=99999999999999999999999", "max-heap-size", "K"},
      {"max-heap-size=100000G", "max-heap-size", "max-heap-size"},
  };
  gc_config *config = clean_config();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char err[512] = "";
    cr_assert_eq(gc_config_set(config, bad[i].setting, err, sizeof err), -1,
                 "'%s' was accepted", bad[i].setting);
    cr_assert(strstr(err, bad[i].key), "'%s': message lacks the key: %s",
              bad[i].setting, err);
    cr_assert(strstr(err, bad[i].accepted),
              "'%s': message lacks accepted values ('%s'): %s", bad[i].setting,
              bad[i].accepted, err);
  }
  gc_config_free(config);
}

Test(config, unknown_collector_lists_the_collectors) {
  gc_config *config = clean_config();
  char err[512] = "";
  cr_assert_eq(gc_config_set(config, "collector=bogus", err, sizeof err), -1);
  cr_assert(strstr(err, "collector"), "message: %s", err);
  cr_assert(strstr(err, "bogus"), "message: %s", err);
  char names[256];
  snprintf(names, sizeof names, "%s", gc_collector_names());
  for (char *name = strtok(names, ", "); name; name = strtok(NULL, ", "))
    cr_assert(strstr(err, name), "message lacks '%s': %s", name, err);
  gc_config_free(config);
}

Test(config, boehm_without_boehm_says_so) {
  if (harness_has_collector("boehm"))
    cr_skip_test("this build has collector=boehm");
  gc_config *config = clean_config();
  char err[512] = "";
  cr_assert_eq(gc_config_set(config, "collector=boehm", err, sizeof err), -1);
  cr_assert(strstr(err, "boehm"), "message: %s", err);
  gc_config_free(config);
}

Test(config, a_failed_set_changes_nothing) {
  gc_config *config = clean_config();
  char err[256];
  cr_assert_eq(gc_config_set(config, "collector=null", err, sizeof err), 0);
  cr_assert_eq(gc_config_set(config, "max-heap-size=1M", err, sizeof err), 0);
  cr_assert_eq(gc_config_set(config, "max-heap-size=1Q", err, sizeof err), -1);
  cr_assert_eq(gc_config_set(config, "collector=bogus", err, sizeof err), -1);
  cr_assert(heap_is_limited_to(config, 1 << 20));
  gc_config_free(config);
}

Test(config, args_consume_both_spellings_and_compact_argv) {
  gc_config *config = clean_config();
  char a0[] = "prog", a1[] = "-C", a2[] = "collector=null", a3[] = "bench",
       a4[] = "-Cmax-heap-size=1M", a5[] = "gcbench", a6[] = "-C",
       a7[] = "verify=1", a8[] = "tail";
  char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL};
  int argc = 9;
  char err[256] = "";
  cr_assert_eq(gc_config_args(config, &argc, argv, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(argc, 4);
  cr_assert_str_eq(argv[0], "prog");
  cr_assert_str_eq(argv[1], "bench");
  cr_assert_str_eq(argv[2], "gcbench");
  cr_assert_str_eq(argv[3], "tail");
  cr_assert_null(argv[4], "argv[argc] must stay NULL after compaction");
  cr_assert(heap_is_limited_to(config, 1 << 20));
  gc_config_free(config);
}

Test(config, args_without_options_leave_argv_alone) {
  gc_config *config = clean_config();
  char a0[] = "prog", a1[] = "x", a2[] = "-c";
  char *argv[] = {a0, a1, a2, NULL};
  int argc = 3;
  char err[256] = "";
  cr_assert_eq(gc_config_args(config, &argc, argv, err, sizeof err), 0);
  cr_assert_eq(argc, 3);
  cr_assert_eq(argv[0], a0);
  cr_assert_eq(argv[1], a1);
  cr_assert_eq(argv[2], a2);
  gc_config_free(config);
}

Test(config, args_error_applies_nothing_and_leaves_argv) {
  gc_config *config = clean_config();
  char err[256] = "";
  cr_assert_eq(gc_config_set(config, "collector=null", err, sizeof err), 0);
  char a0[] = "prog", a1[] = "-Cmax-heap-size=1M", a2[] = "-C",
       a3[] = "bogus=1", a4[] = "rest";
  char *argv[] = {a0, a1, a2, a3, a4, NULL};
  char *saved[6];
  memcpy(saved, argv, sizeof argv);
  int argc = 5;
  cr_assert_eq(gc_config_args(config, &argc, argv, err, sizeof err), -1);
  cr_assert(strstr(err, "bogus"), "message: %s", err);
  cr_assert_eq(argc, 5);
  cr_assert_arr_eq(argv, saved, sizeof argv);
  /* max-heap-size=1M came before the error and must not have been applied. */
  cr_assert_not(heap_is_limited_to(config, 1 << 20));
  gc_config_free(config);
}

Test(config, args_dangling_dash_c_is_an_error) {
  gc_config *config = clean_config();
  char a0[] = "prog", a1[] = "-C";
  char *argv[] = {a0, a1, NULL};
  int argc = 2;
  char err[256] = "";
  cr_assert_eq(gc_config_args(config, &argc, argv, err, sizeof err), -1);
  cr_assert(err[0]);
  cr_assert_eq(argc, 2);
  gc_config_free(config);
}

Test(config, environment_settings_apply) {
  setenv("GCHEAP_OPTIONS", "collector=null,max-heap-size=1M", 1);
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  cr_assert(config, "%s", err);
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  cr_assert(heap, "%s", err);
  cr_assert_str_eq(gc_collector_name(heap), "null");
  gc_heap_free(heap);
  cr_assert(heap_is_limited_to(config, 1 << 20));
  gc_config_free(config);
}

Test(config, explicit_settings_override_the_environment) {
  setenv("GCHEAP_OPTIONS", "collector=null,max-heap-size=1M", 1);
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  cr_assert(config, "%s", err);
  cr_assert_eq(gc_config_set(config, "max-heap-size=0", err, sizeof err), 0);
  cr_assert_not(heap_is_limited_to(config, 1 << 20));
  gc_config_free(config);
}

/* The reason goes to the caller's buffer; the library prints nothing. */
Test(config, malformed_environment_fails_with_a_reason,
     .init = cr_redirect_stderr) {
  setenv("GCHEAP_OPTIONS", "verify=1,bogus=3", 1);
  char err[256] = "";
  cr_assert_null(gc_config_new(err, sizeof err));
  cr_assert(strstr(err, "GCHEAP_OPTIONS") && strstr(err, "bogus"), "err: %s",
            err);
  fflush(stderr);
  char text[1024] = "";
  FILE *out = cr_get_redirected_stderr();
  size_t n = fread(text, 1, sizeof text - 1, out);
  text[n] = 0;
  cr_assert_eq(n, 0, "the library printed: %s", text);
}

Test(config, help_lists_every_key_and_collector) {
  FILE *file = tmpfile();
  cr_assert(file);
  gc_config_help(file);
  rewind(file);
  char text[8192] = "";
  size_t n = fread(text, 1, sizeof text - 1, file);
  text[n] = 0;
  fclose(file);
  for (size_t k = 0; k < NKEYS; k++)
    cr_assert(strstr(text, option_keys[k]), "help lacks '%s':\n%s",
              option_keys[k], text);
  cr_assert(strstr(text, "null"), "help lacks the collectors:\n%s", text);
}

Test(config, stats_prints_a_summary_at_heap_free, .init = cr_redirect_stderr) {
  gc_heap *heap = harness_new_heap("null", "stats=1");
  gc_type t = gc_type_array(heap, "a", GC_KIND_I64);
  gc_new_array(heap, t, 10);
  harness_free_heap(heap);
  fflush(stderr);
  char text[4096] = "";
  size_t n = fread(text, 1, sizeof text - 1, cr_get_redirected_stderr());
  text[n] = 0;
  cr_assert(n > 0, "stats=1 printed nothing");
}

Test(config, configs_are_independent_and_reusable) {
  gc_config *a = clean_config(), *b = clean_config();
  char err[256];
  cr_assert_eq(gc_config_set(a, "collector=null", err, sizeof err), 0);
  cr_assert_eq(gc_config_set(a, "max-heap-size=1M", err, sizeof err), 0);
  cr_assert_eq(gc_config_set(b, "collector=null", err, sizeof err), 0);
  cr_assert(heap_is_limited_to(a, 1 << 20));
  cr_assert(heap_is_limited_to(a, 1 << 20)); /* a config makes many heaps */
  cr_assert_not(heap_is_limited_to(b, 1 << 20));
  gc_config_free(a);
  gc_config_free(b);
}

Test(config, heap_new_failure_is_clean) {
  gc_config *config = clean_config();
  char err[256] = "";
  cr_assert_eq(gc_config_set(config, "collector=null", err, sizeof err), 0);
  cr_assert_eq(gc_config_set(config, "max-heap-size=16384G", err, sizeof err),
               0, "%s", err);
  /* A 16 TiB arena may or may not be reservable here; either way the call
   * either succeeds or fails with a reason. */
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  if (heap)
    gc_heap_free(heap);
  else
    cr_assert(err[0]);
  gc_config_free(config);
}

/* heap-size above max-heap-size is a contradiction: gc_heap_new refuses it,
 * naming both keys, on every collector (boehm used to grow to heap-size and
 * never trap). */
COLLECTOR_TEST(config, heap_size_above_max_heap_size_is_an_error) {
  gc_config *config = harness_new_config(param->name, "heap-size=64M");
  char err[256] = "";
  cr_assert_eq(gc_config_set(config, "max-heap-size=1M", err, sizeof err), 0,
               "%s", err);
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  cr_assert_null(heap, "[%s] heap-size=64M max-heap-size=1M made a heap",
                 param->name);
  cr_assert(strstr(err, "heap-size=64M") && strstr(err, "max-heap-size=1M"),
            "[%s] %s", param->name, err);
  gc_config_free(config);
}

/* Live data past max-heap-size traps OOM on every collector, also when
 * heap-size asks for an initial heap up to the limit. */
COLLECTOR_TEST(config, live_data_past_max_heap_size_traps_oom) {
  gc_heap *heap =
      harness_new_heap(param->name, "heap-size=2M,max-heap-size=2M,stress=0");
  const gc_kind kinds[] = {GC_KIND_REF, GC_KIND_REF};
  gc_type pair = gc_type_struct(heap, "pair", 2, kinds);
  gc_type bytes = gc_type_array(heap, "bytes", GC_KIND_I8);
  gc_scope scope = gc_scope_open(heap);
  gc_ref *list = gc_root(heap, NULL);
  bool trapped = false;
  for (int i = 0; i < 64 && !trapped; i++) { /* 64 x 64K: 4M live */
    gc_ref cell = gc_new_struct(heap, pair);
    if (cell) {
      gc_set_ref(heap, cell, 0, *list);
      *list = cell;
      gc_set_ref(heap, cell, 1, gc_new_array(heap, bytes, 64 << 10));
    }
    trapped = harness_traps.pending > 0;
  }
  cr_assert(trapped, "[%s] 4M live in a 2M heap did not trap", param->name);
  EXPECT_TRAP(GC_TRAP_OOM, NULL);
  gc_scope_close(heap, scope);
  harness_free_heap(heap);
}
