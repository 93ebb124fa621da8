/* print.c — display and write. Printing never allocates, so it may walk the
 * heap with plain gc_refs. A list longer than PRINT_LIST_LIMIT (a cyclic
 * one, most likely) is cut short with "...". */
#include "lisp.h"

#define PRINT_LIST_LIMIT 10000

static void print_string(struct lisp *L, gc_ref string, bool write) {
  size_t len = gc_array_len(L->heap, string);
  if (write)
    fputc('"', L->out);
  for (size_t i = 0; i < len; i++) {
    int c = gc_get_i8(L->heap, string, i);
    if (write && (c == '"' || c == '\\'))
      fputc('\\', L->out);
    if (write && c == '\n')
      fputs("\\n", L->out);
    else
      fputc(c, L->out);
  }
  if (write)
    fputc('"', L->out);
}

static void print_list(struct lisp *L, gc_ref list, bool write) {
  fputc('(', L->out);
  for (size_t n = 0;; n++) {
    if (n == PRINT_LIST_LIMIT) {
      fputs("...", L->out);
      break;
    }
    lisp_print(L, lisp_car(L, list), write);
    list = lisp_cdr(L, list);
    if (!list)
      break;
    fputc(' ', L->out);
    if (!lisp_is(L, list, L->cons)) {
      fputs(". ", L->out);
      lisp_print(L, list, write);
      break;
    }
  }
  fputc(')', L->out);
}

void lisp_print(struct lisp *L, gc_ref v, bool write) {
  if (!v)
    fputs("()", L->out);
  else if (lisp_is(L, v, L->number))
    fprintf(L->out, "%lld", (long long)lisp_number_value(L, v));
  else if (lisp_is(L, v, L->string))
    print_string(L, v, write);
  else if (lisp_is(L, v, L->symbol))
    print_string(L, lisp_symbol_name(L, v), false);
  else if (lisp_is(L, v, L->cons))
    print_list(L, v, write);
  else if (lisp_is(L, v, L->closure))
    fputs("#<closure>", L->out);
  else if (lisp_is(L, v, L->primitive))
    fputs("#<primitive>", L->out);
  else if (lisp_is(L, v, L->env))
    fputs("#<environment>", L->out);
  else
    fprintf(L->out, "#<%s>", gc_type_name(L->heap, gc_type_of(L->heap, v)));
}
