/* builtins.c — the primitive functions. Each receives its evaluated
 * arguments as a list in a root slot (so it may allocate and then re-read
 * them) and has its arity checked before it runs. */
#include "lisp.h"

#include <assert.h>
#include <string.h>

typedef ALLOCATES gc_ref primitive_fn(struct lisp *L, gc_ref *args);

/* Argument i of the list in *args (never allocates). */
static gc_ref arg(struct lisp *L, gc_ref *args, int i) {
  gc_ref list = *args;
  while (i-- > 0)
    list = lisp_cdr(L, list);
  return lisp_car(L, list);
}

static int64_t number_arg(struct lisp *L, gc_ref *args, int i) {
  return lisp_number_value(L, arg(L, args, i));
}

static gc_ref truth(struct lisp *L, bool b) {
  return b ? *L->s_t : NULL;
}

/* ---- Numbers ------------------------------------------------------------- */

static ALLOCATES gc_ref add(struct lisp *L, gc_ref *args) {
  int64_t sum = 0;
  for (gc_ref list = *args; list; list = lisp_cdr(L, list))
    if (__builtin_add_overflow(sum, lisp_number_value(L, lisp_car(L, list)),
                               &sum))
      lisp_error(L, "+: overflow");
  return lisp_number(L, sum);
}

static ALLOCATES gc_ref multiply(struct lisp *L, gc_ref *args) {
  int64_t product = 1;
  for (gc_ref list = *args; list; list = lisp_cdr(L, list))
    if (__builtin_mul_overflow(product, lisp_number_value(L, lisp_car(L, list)),
                               &product))
      lisp_error(L, "*: overflow");
  return lisp_number(L, product);
}

static ALLOCATES gc_ref subtract(struct lisp *L, gc_ref *args) {
  int64_t result = number_arg(L, args, 0);
  gc_ref rest = lisp_cdr(L, *args);
  if (!rest && __builtin_sub_overflow(0, result, &result))
    lisp_error(L, "-: overflow");
  for (; rest; rest = lisp_cdr(L, rest))
    if (__builtin_sub_overflow(result, lisp_number_value(L, lisp_car(L, rest)),
                               &result))
      lisp_error(L, "-: overflow");
  return lisp_number(L, result);
}

static ALLOCATES gc_ref quotient(struct lisp *L, gc_ref *args) {
  int64_t a = number_arg(L, args, 0), b = number_arg(L, args, 1);
  if (b == 0 || (a == INT64_MIN && b == -1))
    lisp_error(L, "quotient: division by zero or overflow");
  return lisp_number(L, a / b);
}

static ALLOCATES gc_ref remainder_(struct lisp *L, gc_ref *args) {
  int64_t a = number_arg(L, args, 0), b = number_arg(L, args, 1);
  if (b == 0 || (a == INT64_MIN && b == -1))
    lisp_error(L, "remainder: division by zero or overflow");
  return lisp_number(L, a % b);
}

static gc_ref less(struct lisp *L, gc_ref *args) {
  return truth(L, number_arg(L, args, 0) < number_arg(L, args, 1));
}
static gc_ref greater(struct lisp *L, gc_ref *args) {
  return truth(L, number_arg(L, args, 0) > number_arg(L, args, 1));
}
static gc_ref less_equal(struct lisp *L, gc_ref *args) {
  return truth(L, number_arg(L, args, 0) <= number_arg(L, args, 1));
}
static gc_ref greater_equal(struct lisp *L, gc_ref *args) {
  return truth(L, number_arg(L, args, 0) >= number_arg(L, args, 1));
}
static gc_ref number_equal(struct lisp *L, gc_ref *args) {
  return truth(L, number_arg(L, args, 0) == number_arg(L, args, 1));
}

/* ---- Predicates ---------------------------------------------------------- */

static gc_ref eq(struct lisp *L, gc_ref *args) {
  return truth(L, arg(L, args, 0) == arg(L, args, 1));
}
static gc_ref null_p(struct lisp *L, gc_ref *args) {
  return truth(L, !arg(L, args, 0));
}
static gc_ref pair_p(struct lisp *L, gc_ref *args) {
  return truth(L, lisp_is(L, arg(L, args, 0), L->cons));
}
static gc_ref number_p(struct lisp *L, gc_ref *args) {
  return truth(L, lisp_is(L, arg(L, args, 0), L->number));
}
static gc_ref string_p(struct lisp *L, gc_ref *args) {
  return truth(L, lisp_is(L, arg(L, args, 0), L->string));
}
static gc_ref symbol_p(struct lisp *L, gc_ref *args) {
  return truth(L, lisp_is(L, arg(L, args, 0), L->symbol));
}
static gc_ref procedure_p(struct lisp *L, gc_ref *args) {
  gc_ref v = arg(L, args, 0);
  return truth(L, lisp_is(L, v, L->closure) || lisp_is(L, v, L->primitive));
}

/* ---- Pairs --------------------------------------------------------------- */

static ALLOCATES gc_ref cons(struct lisp *L, gc_ref *args) {
  return lisp_cons(L, arg(L, args, 0), arg(L, args, 1));
}
static gc_ref car(struct lisp *L, gc_ref *args) {
  return lisp_car(L, arg(L, args, 0));
}
static gc_ref cdr(struct lisp *L, gc_ref *args) {
  return lisp_cdr(L, arg(L, args, 0));
}
static gc_ref set_car(struct lisp *L, gc_ref *args) {
  lisp_set_car(L, arg(L, args, 0), arg(L, args, 1));
  return NULL;
}
static gc_ref set_cdr(struct lisp *L, gc_ref *args) {
  lisp_set_cdr(L, arg(L, args, 0), arg(L, args, 1));
  return NULL;
}
/* The argument list is already a fresh list. */
static gc_ref list(struct lisp *L, gc_ref *args) {
  return *args;
}

/* ---- Strings and symbols ----------------------------------------------- */

static gc_ref string_arg(struct lisp *L, gc_ref *args, int i) {
  gc_ref s = arg(L, args, i);
  if (!lisp_is(L, s, L->string))
    lisp_error(L, "not a string");
  return s;
}

static ALLOCATES gc_ref string_append(struct lisp *L, gc_ref *args) {
  size_t len = 0;
  int n = 0;
  for (gc_ref list = *args; list; list = lisp_cdr(L, list), n++)
    len += gc_array_len(L->heap, string_arg(L, args, n));
  gc_ref result = gc_new_array(L->heap, L->string, len);
  /* The pieces may have moved: re-read them from *args. */
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    gc_ref piece = arg(L, args, i);
    size_t piece_len = gc_array_len(L->heap, piece);
    gc_array_copy(L->heap, result, at, piece, 0, piece_len);
    at += piece_len;
  }
  return result;
}

static ALLOCATES gc_ref string_length(struct lisp *L, gc_ref *args) {
  return lisp_number(L, (int64_t)gc_array_len(L->heap, string_arg(L, args, 0)));
}

static gc_ref string_equal(struct lisp *L, gc_ref *args) {
  gc_ref a = string_arg(L, args, 0), b = string_arg(L, args, 1);
  size_t len = gc_array_len(L->heap, a);
  if (gc_array_len(L->heap, b) != len)
    return NULL;
  for (size_t i = 0; i < len; i++)
    if (gc_get_i8(L->heap, a, i) != gc_get_i8(L->heap, b, i))
      return NULL;
  return *L->s_t;
}

static ALLOCATES gc_ref number_to_string(struct lisp *L, gc_ref *args) {
  char buf[32];
  int len =
      snprintf(buf, sizeof buf, "%lld", (long long)number_arg(L, args, 0));
  return lisp_string(L, buf, (size_t)len);
}

static gc_ref symbol_to_string(struct lisp *L, gc_ref *args) {
  return lisp_symbol_name(L, arg(L, args, 0));
}

/* ---- Output, control, the heap ------------------------------------------- */

static gc_ref display(struct lisp *L, gc_ref *args) {
  lisp_print(L, arg(L, args, 0), false);
  return NULL;
}
static gc_ref write(struct lisp *L, gc_ref *args) {
  lisp_print(L, arg(L, args, 0), true);
  return NULL;
}
static gc_ref newline(struct lisp *L, gc_ref *args) {
  fputc('\n', L->out);
  return NULL;
}

static ALLOCATES gc_ref apply(struct lisp *L, gc_ref *args) {
  return lisp_apply(L, arg(L, args, 0), arg(L, args, 1));
}

/* (error "message"): ends the program with the message, status 1. */
static gc_ref error(struct lisp *L, gc_ref *args) {
  char message[256];
  lisp_string_copy(L, string_arg(L, args, 0), message, sizeof message);
  lisp_error(L, "%s", message);
}

/* (collect): a full collection now. The output never depends on it; it is
 * there so that programs can make collections happen at chosen points. */
static ALLOCATES gc_ref collect(struct lisp *L, gc_ref *args) {
  gc_collect(L->heap);
  return NULL;
}

#define VARIADIC (-1)
static const struct {
  const char *name;
  int min_args, max_args; /* max VARIADIC: no limit */
  primitive_fn *fn;
} primitives[] = {
    {"+", 0, VARIADIC, add},
    {"-", 1, VARIADIC, subtract},
    {"*", 0, VARIADIC, multiply},
    {"quotient", 2, 2, quotient},
    {"remainder", 2, 2, remainder_},
    {"<", 2, 2, less},
    {">", 2, 2, greater},
    {"<=", 2, 2, less_equal},
    {">=", 2, 2, greater_equal},
    {"=", 2, 2, number_equal},
    {"eq?", 2, 2, eq},
    {"null?", 1, 1, null_p},
    {"not", 1, 1, null_p},
    {"pair?", 1, 1, pair_p},
    {"number?", 1, 1, number_p},
    {"string?", 1, 1, string_p},
    {"symbol?", 1, 1, symbol_p},
    {"procedure?", 1, 1, procedure_p},
    {"cons", 2, 2, cons},
    {"car", 1, 1, car},
    {"cdr", 1, 1, cdr},
    {"set-car!", 2, 2, set_car},
    {"set-cdr!", 2, 2, set_cdr},
    {"list", 0, VARIADIC, list},
    {"string-append", 0, VARIADIC, string_append},
    {"string-length", 1, 1, string_length},
    {"string=?", 2, 2, string_equal},
    {"number->string", 1, 1, number_to_string},
    {"symbol->string", 1, 1, symbol_to_string},
    {"display", 1, 1, display},
    {"write", 1, 1, write},
    {"newline", 0, 0, newline},
    {"apply", 2, 2, apply},
    {"error", 1, 1, error},
    {"collect", 0, 0, collect},
};
#define PRIMITIVE_COUNT (int64_t)(sizeof primitives / sizeof primitives[0])

ALLOCATES gc_ref lisp_call_primitive(struct lisp *L, int64_t index,
                                     gc_ref args) {
  assert(index >= 0 && index < PRIMITIVE_COUNT);
  size_t n = lisp_list_length(L, args);
  if (n < (size_t)primitives[index].min_args ||
      (primitives[index].max_args != VARIADIC &&
       n > (size_t)primitives[index].max_args))
    lisp_error(L, "%s: wrong number of arguments (%zu)", primitives[index].name,
               n);
  gc_scope scope = gc_scope_open(L->heap);
  gc_ref *args_slot = gc_root(L->heap, args);
  gc_ref result = primitives[index].fn(L, args_slot);
  gc_scope_close(L->heap, scope);
  return result;
}

ALLOCATES void lisp_install_builtins(struct lisp *L) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *fn = gc_root(h, NULL);
  for (int64_t i = 0; i < PRIMITIVE_COUNT; i++) {
    *fn = lisp_primitive(L, i);
    gc_ref name =
        lisp_intern(L, primitives[i].name, strlen(primitives[i].name));
    lisp_define(L, *L->global_env, name, *fn);
  }
  lisp_define(L, *L->global_env, *L->s_t, *L->s_t);
  gc_scope_close(h, scope);
}
