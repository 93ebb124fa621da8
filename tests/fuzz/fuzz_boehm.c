/* fuzz_boehm.c — what the fuzzer tells Boehm GC directly, when the build
 * has collector=boehm. (A file of its own: it needs <gc/gc.h>, which
 * the rest of the fuzzer does not.)
 *
 * Boehm scans the writable data of every loaded library for roots. The
 * sanitizer runtimes, linked as shared libraries by build.sh, hold ~10 MB of
 * allocator tables that never point into Boehm's heap, yet scanning them
 * made each Boehm collection take ~20 ms instead of ~0.1 ms, and so
 * collector=boehm took 90% of the fuzzing time. Their data is skipped;
 * everything else Boehm scans as usual.
 */
#ifdef GCHEAP_HAVE_boehm
#include <gc/gc.h>
#include <string.h>

static int scan_library_data(const char *name, void *start, size_t bytes) {
  (void)start;
  (void)bytes;
  return !(name && strstr(name, "libclang_rt."));
}

void fuzz_boehm_init(void) {
  GC_register_has_static_roots_callback(scan_library_data);
}
#else
void fuzz_boehm_init(void) {}
#endif
