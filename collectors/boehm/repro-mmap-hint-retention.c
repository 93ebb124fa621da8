/* repro-mmap-hint-retention.c — Boehm GC alone (no gcheap) keeping part of
 * a dropped linked list alive for good, through a word in its own static
 * data.
 *
 *   cc -O2 collectors/boehm/repro-mmap-hint-retention.c -lgc -o repro &&
 * ./repro
 *   -> with libgc 8.2.2 (Debian 12, gcc 12, -O2), 4 runs of 4: "round 0:
 *      61952 cells, 54016 (or 58112) still marked after 3 collections", the
 *      newest kept cell at page offset 0, the start of a heap section; round
 *      1 fits only 7936 (or 3840) cells, round 2 none.
 *
 * Found with /proc/self/mem: the only word outside the heap and the stack
 * that holds the kept cell's address is at a fixed offset in libgc's .bss
 * (0x5a760 in this build), the one GC_unix_mmap_get_mem writes after mmap.
 *
 * The word is the mmap hint in os_dep.c's GC_unix_mmap_get_mem (a function
 * static, "last_addr"): after each growth it is set to the end of the new
 * mapping. The kernel puts each new mapping just below the previous one, so
 * that end is the start of an older heap section, where the first object of
 * that section lives. Boehm scans its own static data (only GC_arrays and
 * the kinds table are excluded), so that object is a root, and with it every
 * object it reaches, until the heap grows again. */
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct cell {
  struct cell *next;
  uintptr_t payload;
};

/* Where the cells were, hidden from the collector (malloc is not scanned,
 * and the complement is no pointer into its heap anyway). */
static uintptr_t *hidden;

static __attribute__((noinline)) size_t fill_until_out_of_memory(void) {
  struct cell *list = NULL;
  size_t n = 0;
  for (struct cell *c; (c = GC_MALLOC(sizeof *c)) != NULL; list = c) {
    c->next = list;
    hidden[n++] = ~(uintptr_t)c;
  }
  return n;
}

static void *GC_CALLBACK return_null(size_t bytes) {
  return NULL;
}

int main(void) {
  GC_set_all_interior_pointers(0);
  GC_INIT();
  GC_set_oom_fn(return_null);
  GC_set_warn_proc(GC_ignore_warn_proc);
  GC_set_max_heap_size(1 << 20);
  hidden = malloc((1 << 20) / 16 * sizeof *hidden);
  for (int round = 0; round < 3; round++) {
    size_t n = fill_until_out_of_memory();
    for (int i = 0; i < 3; i++)
      GC_gcollect();
    size_t kept = 0, newest = 0;
    for (size_t i = 0; i < n; i++) {
      void *p = (void *)~hidden[i];
      if (GC_base(p) == p && GC_is_marked(p))
        kept++, newest = i;
    }
    printf("round %d: %zu cells, %zu still marked after 3 collections", round,
           n, kept);
    if (kept)
      printf(" (the newest kept: cell %zu at %p, page offset %#lx)", newest,
             (void *)~hidden[newest], (unsigned long)(~hidden[newest] & 4095));
    printf("\n");
  }
  return 0;
}
