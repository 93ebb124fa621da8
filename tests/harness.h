/* harness.h — what every gcheap test shares.
 *
 * The conformance suite runs unchanged on every collector this build offers:
 * COLLECTOR_TEST(suite, name) is a Criterion parameterized test whose
 * parameter is one collector name taken from gc_collector_names(), so a new
 * collector joins the suite by being compiled in. Inside the test body,
 * `param->name` is the collector under test.
 *
 * Heaps made by harness_new_heap() always have verify=1 and a trap handler
 * that records the trap and returns. A test that provokes a trap consumes it
 * with EXPECT_TRAP(kind, "part of the message"); any trap that is not
 * consumed fails the test when the heap is freed with harness_free_heap(), so
 * an unexpected trap can never pass silently.
 *
 * The stress variant of every test is the same executable run with
 * GCHEAP_OPTIONS=stress=1 in its environment (see tests/CMakeLists.txt);
 * gc_config_new() picks it up, so the harness need not know about it.
 */
#ifndef GCHEAP_TESTS_HARNESS_H
#define GCHEAP_TESTS_HARNESS_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <gcheap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- The collector parameter -------------------------------------------- */

/* A fixed array, not a pointer: Criterion runs each test in a fresh process
 * and copies the parameter into it byte for byte. */
struct collector_param {
  char name[32];
  /* Extra options for harness_new_heap ("" or, for ACCESSOR_TEST, "verify=0"
   * or "verify=1"). */
  char options[32];
};

/* One parameter per collector in gc_collector_names() (allocated with
 * cr_malloc, as Criterion requires). */
struct criterion_test_params harness_collector_params(void);

/* A Criterion parameterized test over the parameters params() returns. */
#define HARNESS_PARAM_TEST(params, suite, name, ...)                           \
  ParameterizedTestParameters(suite, name) {                                   \
    return params();                                                           \
  }                                                                            \
  ParameterizedTest(struct collector_param *param, suite, name, ##__VA_ARGS__)

#define COLLECTOR_TEST(suite, name, ...)                                       \
  HARNESS_PARAM_TEST(harness_collector_params, suite, name, ##__VA_ARGS__)

/* The same with every collector twice, under verify=1 and under verify=0:
 * with verify off the accessors take their inline fast path, which must
 * accept and refuse exactly what the checked path does. Pass
 * param->options to harness_new_heap. */
struct criterion_test_params harness_collector_verify_params(void);

#define ACCESSOR_TEST(suite, name, ...)                                        \
  HARNESS_PARAM_TEST(harness_collector_verify_params, suite, name,             \
                     ##__VA_ARGS__)

/* True if name is one of the collectors of this build. */
bool harness_has_collector(const char *name);
/* Skips a collector-specific test in a build without that collector. */
#define SKIP_WITHOUT_COLLECTOR(name)                                           \
  do {                                                                         \
    if (!harness_has_collector(name))                                          \
      cr_skip_test("this build has no collector=%s", name);                    \
  } while (0)
/* Collectors that reclaim memory (all but null, which never frees). */
bool harness_reclaims(const char *collector);
/* Collectors that scan the stack conservatively (boehm). */
bool harness_conservative(const char *collector);

/* ---- Traps -------------------------------------------------------------- */

struct trap_log {
  int pending;       /* recorded and not yet consumed by EXPECT_TRAP */
  int total;         /* recorded since the log was made */
  gc_trap kind;      /* the most recent trap */
  char message[512]; /* its message */
  gc_heap *heap;     /* the heap it came from */
};

/* The log of heaps made by harness_new_heap(). */
extern struct trap_log harness_traps;
/* The collector of the most recent harness_new_heap(), for messages. */
extern char harness_collector[32];

/* A gc_trap_handler recording into the struct trap_log passed as ud. */
void harness_record_trap(gc_heap *heap, gc_trap kind, const char *msg,
                         void *ud);

/* Consumes one pending trap and checks its kind and that its message contains
 * part (NULL: any message). */
void harness_expect_trap(struct trap_log *log, gc_trap kind, const char *part,
                         const char *file, int line);
void harness_expect_no_trap(struct trap_log *log, const char *file, int line);

#define EXPECT_TRAP(kind, part)                                                \
  harness_expect_trap(&harness_traps, (kind), (part), __FILE__, __LINE__)
#define EXPECT_NO_TRAP()                                                       \
  harness_expect_no_trap(&harness_traps, __FILE__, __LINE__)

/* ---- Heaps -------------------------------------------------------------- */

/* A heap of collector with verify=1, then options ("k=v,k=v", may be NULL),
 * on top of gc_config_new()'s defaults and GCHEAP_OPTIONS; traps are recorded
 * in harness_traps. Fails the test if the heap cannot be made. */
gc_heap *harness_new_heap(const char *collector, const char *options);
/* The same, recording traps into log. */
gc_heap *harness_new_heap_logged(const char *collector, const char *options,
                                 struct trap_log *log);
/* Fails the test if a trap is pending, then frees the heap. */
void harness_free_heap(gc_heap *heap);
/* Fails the test if LeakSanitizer (ASan builds) finds unreachable memory, or
 * if valgrind counted memory errors or leaks since the test's first heap.
 * harness_free_heap calls it when the test's last harness heap is freed. */
void harness_check_memory(void);
/* How many bytes of [lo, hi) are resident, page by page (mincore; pages
 * of the range that are not mapped count as not resident). */
uint64_t harness_resident_bytes(uintptr_t lo, uintptr_t hi);
/* True if this kernel backs a range of a mapping at once when asked
 * (MADV_POPULATE_WRITE, Linux 5.14 on), as gc_sys_populate asks it to. */
bool harness_kernel_can_populate(void);
/* A configuration as harness_new_heap uses (caller frees it). */
gc_config *harness_new_config(const char *collector, const char *options);

/* Overwrites a stretch of stack below the caller with zeros, so that a
 * conservative collector finds no stale copy of a reference there. */
void harness_scrub_stack(void);
/* gc_collect after harness_scrub_stack. */
void harness_collect(gc_heap *heap);
/* For the heap-sizing tests: the collections while 64 MiB of garbage (24-
 * byte structs, dropped at once) churn over a rooted list of about 4 MiB.
 * The list is built, prepare(heap, ud) runs (if not NULL), a full
 * collection sets the heap's target from what is live, and then the churn's
 * collections are counted; the list must come out whole. */
uint64_t harness_churn_collections(gc_heap *heap,
                                   void (*prepare)(gc_heap *heap, void *ud),
                                   void *ud);

/* For the tests of a write barrier's failure paths: a global holding an
 * object, both old after a full collection; the inner one's field 0 holds
 * a resource whose destructor harness_check_young_in_old counts. The inner
 * object is reachable only through the other old one, so a minor
 * collection finds it only through what the barrier kept (the remembered
 * set). node: a struct type whose fields 0 and 2 are REF and I64. */
gc_ref *harness_old_holder(gc_heap *heap, gc_type node);
/* After young (42 in field 2) was stored into the inner object's field 0:
 * 16 MiB of garbage (collections on the allocation path, minor ones where
 * the collector has them), then the young object must be whole, and after
 * a full collection the resource destroyed once (collectors that reclaim
 * precisely). Frees the global. */
void harness_check_young_in_old(gc_heap *heap, gc_type node, gc_ref *holder);

static inline gc_stats harness_stats(gc_heap *heap) {
  gc_stats s;
  memset(&s, 0, sizeof s);
  gc_get_stats(heap, &s);
  return s;
}

/* ---- Assertions naming the collector ------------------------------------ */

#define CHECK(cond)                                                            \
  cr_assert((cond), "[%s] %s:%d: %s", harness_collector, __FILE__, __LINE__,   \
            #cond)
#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);            \
    cr_assert(check_a_ == check_b_, "[%s] %s:%d: %s == %s: %lld != %lld",      \
              harness_collector, __FILE__, __LINE__, #a, #b, check_a_,         \
              check_b_);                                                       \
  } while (0)
#define CHECK_STR_CONTAINS(haystack, needle)                                   \
  do {                                                                         \
    const char *check_h_ = (haystack), *check_n_ = (needle);                   \
    cr_assert(check_h_ &&strstr(check_h_, check_n_),                           \
              "[%s] %s:%d: \"%s\" does not contain \"%s\"", harness_collector, \
              __FILE__, __LINE__, check_h_ ? check_h_ : "(null)", check_n_);   \
  } while (0)

#define NOINLINE __attribute__((noinline))

/* ---- Threads passing each other through stages -------------------------- */

/* A stage two threads pass each other through, and a flag to stop a
 * spinning one. */
struct harness_handoff {
  pthread_mutex_t lock;
  pthread_cond_t cv;
  int stage;
  atomic_bool stop;
};
#define HARNESS_HANDOFF_INIT                                                   \
  { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false }

void harness_set_stage(struct harness_handoff *h, int stage);
/* Waits until h reaches stage; as a blocked thread of heap if heap is not
 * NULL (a caller that is blocked already, or not attached, passes NULL),
 * so that the wait holds up no collection. */
void harness_wait_for_stage(gc_heap *heap, struct harness_handoff *h,
                            int stage);

#endif /* GCHEAP_TESTS_HARNESS_H */
