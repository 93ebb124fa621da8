/* fuzz_boehm.c — what the fuzzer tells Boehm GC directly, when the build
 * has collector=boehm. (A file of its own: it needs <gc/gc.h>, which
 * the rest of the fuzzer does not.)
 *
 * Boehm scans the writable data of the program and of every loaded library
 * for roots, at every collection. Two kinds of data are skipped here:
 *   - the sanitizer runtimes, linked as shared libraries by build.sh: ~10 MB
 *     of allocator tables that never point into Boehm's heap. Scanning them
 *     made each Boehm collection take ~20 ms instead of ~0.1 ms;
 *   - the fuzzer program's own data (dl_iterate_phdr names it ""): mostly
 *     libFuzzer's coverage and corpus tables, and scanning it took four
 *     fifths of collector=boehm's time (3.5 s against 0.6 s over the same
 *     1,054 inputs). gcheap's boehm collector hands Boehm every root slot
 *     itself (boehm-process.c), and the fuzzer keeps every reference in a
 *     root slot or on the stack (fuzz_program.c's rooting rule; the digest's
 *     static tables hold only objects reachable from root slots), so
 *     nothing a run holds is only in static data: skipping it makes the test
 *     stricter, since a root area gcheap failed to hand over can no longer
 *     be found by chance in a static variable.
 * The other libraries' data is scanned as usual.
 */
#ifdef GCHEAP_HAVE_boehm
#include <gc/gc.h>
#include <string.h>

static int scan_library_data(const char *name, void *start, size_t bytes) {
  (void)start;
  (void)bytes;
  if (!name || !*name)
    return 0; /* the fuzzer program itself */
  return !strstr(name, "libclang_rt.");
}

void fuzz_boehm_init(void) {
  GC_register_has_static_roots_callback(scan_library_data);
}
#else
void fuzz_boehm_init(void) {}
#endif
