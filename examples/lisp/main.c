/* main.c — the lisp program: a gcheap embedder.
 *
 *   lisp [-C key=value]... [--scale N] [-e EXPR]... [FILE]...
 *   lisp --collectors
 *
 * Evaluates the expressions and files in order in one top-level
 * environment. "-C" options are gcheap's, exactly as the gcheap program
 * takes them (collector=NAME, verify=1, stress=N, ...); GCHEAP_OPTIONS is
 * read too. --scale N binds the global "scale" (default 1) that programs use
 * to size their allocation-heavy loops (0: the smallest run that still
 * covers every path), so a test can run them small under
 * stress=1 and large otherwise with the same output. --collectors prints
 * the collectors this build of gcheap offers, one per line.
 *
 * Exit status: 0 success, 1 a Lisp error, 2 usage or configuration error,
 * 3 the heap ran out of memory (GC_TRAP_OOM), 4 any other trap.
 */
#include "lisp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_LISP_ERROR = 1, EXIT_USAGE = 2, EXIT_OOM = 3, EXIT_TRAP = 4 };

_Noreturn void lisp_error(struct lisp *L, const char *fmt, ...) {
  fflush(stdout);
  va_list ap;
  va_start(ap, fmt);
  fputs("lisp: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  lisp_shutdown(L);
  exit(EXIT_LISP_ERROR);
}

void lisp_shutdown(struct lisp *L) {
  if (L->heap)
    gc_heap_free(L->heap); /* frees the global slots and every object too */
  L->heap = NULL;
}

/* A trap means a heap rule was broken (or the heap is full): report it the
 * way the gcheap program does instead of aborting. */
static void exit_on_trap(gc_heap *heap, gc_trap trap, const char *msg,
                         void *ud) {
  fflush(stdout);
  fprintf(stderr, "lisp: gcheap trap (%s) on %s: %s\n", gc_trap_name(trap),
          gc_collector_name(heap), msg);
  exit(trap == GC_TRAP_OOM ? EXIT_OOM : EXIT_TRAP);
}

static void print_collectors(void) {
  const char *names = gc_collector_names(); /* "a, b, c" */
  for (const char *p = names; *p;) {
    size_t len = strcspn(p, ", ");
    printf("%.*s\n", (int)len, p);
    p += len;
    p += strspn(p, ", ");
  }
}

static char *read_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  size_t cap = 4096, len = 0;
  char *text = malloc(cap);
  size_t n;
  while (text && (n = fread(text + len, 1, cap - len - 1, file)) > 0) {
    len += n;
    if (len + 1 == cap) {
      char *bigger = realloc(text, cap *= 2);
      if (!bigger)
        free(text);
      text = bigger;
    }
  }
  fclose(file);
  if (text)
    text[len] = '\0';
  return text;
}

/* Evaluates every datum of text in the global environment. */
static ALLOCATES void run_text(struct lisp *L, const char *text) {
  gc_scope scope = gc_scope_open(L->heap);
  gc_ref *datum = gc_root(L->heap, NULL);
  while (lisp_read(L, &text, datum))
    lisp_eval(L, *datum, *L->global_env);
  gc_scope_close(L->heap, scope);
}

static ALLOCATES void init(struct lisp *L, gc_heap *heap) {
  L->heap = heap;
  L->out = stdout;
  gc_set_trap_handler(heap, exit_on_trap, NULL);
  lisp_init_types(L);
  L->symbols = gc_global(heap, NULL);
  L->global_env = gc_global(heap, NULL);
  *L->global_env = lisp_env(L, NULL);
  L->s_quote = lisp_global_symbol(L, "quote");
  L->s_if = lisp_global_symbol(L, "if");
  L->s_define = lisp_global_symbol(L, "define");
  L->s_set = lisp_global_symbol(L, "set!");
  L->s_lambda = lisp_global_symbol(L, "lambda");
  L->s_begin = lisp_global_symbol(L, "begin");
  L->s_let = lisp_global_symbol(L, "let");
  L->s_and = lisp_global_symbol(L, "and");
  L->s_or = lisp_global_symbol(L, "or");
  L->s_cond = lisp_global_symbol(L, "cond");
  L->s_else = lisp_global_symbol(L, "else");
  L->s_t = lisp_global_symbol(L, "t");
  lisp_install_builtins(L);
}

static void usage(FILE *out) {
  fprintf(out, "usage: lisp [-C key=value]... [--scale N] [-e EXPR]... "
               "[FILE]...\n       lisp --collectors\n");
}

int main(int argc, char **argv) {
  char err[256] = "";
  gc_config *config = gc_config_new(err, sizeof err);
  if (!config || gc_config_args(config, &argc, argv, err, sizeof err)) {
    fprintf(stderr, "lisp: %s\n", err);
    gc_config_free(config);
    return EXIT_USAGE;
  }
  if (argc == 2 && !strcmp(argv[1], "--collectors")) {
    gc_config_free(config);
    print_collectors();
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "--help")) {
    gc_config_free(config);
    usage(stdout);
    printf("\ncollectors: %s\noptions:\n", gc_collector_names());
    gc_config_help(stdout);
    return 0;
  }
  gc_heap *heap = gc_heap_new(config, err, sizeof err);
  gc_config_free(config);
  if (!heap) {
    fprintf(stderr, "lisp: %s\n", err);
    return EXIT_USAGE;
  }
  struct lisp L = {0};
  init(&L, heap);

  long long scale = 1;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--scale") && i + 1 < argc)
      scale = strtoll(argv[++i], NULL, 10);
  char scale_text[64];
  snprintf(scale_text, sizeof scale_text, "(define scale %lld)", scale);
  run_text(&L, scale_text);

  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scale")) {
      i++;
    } else if (!strcmp(argv[i], "-e") && i + 1 < argc) {
      run_text(&L, argv[++i]);
    } else if (argv[i][0] == '-') {
      usage(stderr);
      lisp_shutdown(&L);
      return EXIT_USAGE;
    } else {
      char *text = read_file(argv[i]);
      if (!text) {
        fprintf(stderr, "lisp: cannot read %s\n", argv[i]);
        lisp_shutdown(&L);
        return EXIT_USAGE;
      }
      run_text(&L, text); /* a Lisp error ends the program, text and all */
      free(text);
    }
  }
  fflush(stdout);
  lisp_shutdown(&L);
  return 0;
}
