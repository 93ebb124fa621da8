/* values.c — the Lisp's value types, their constructors and accessors, and
 * environments. Every constructor roots its gc_ref arguments before it
 * allocates (see the rooting rule in lisp.h). */
#include "lisp.h"

#include <assert.h>
#include <string.h>

enum { CAR, CDR };                  /* cons fields */
enum { PARAMS, BODY, CLOSURE_ENV }; /* closure fields */
enum { BINDINGS, PARENT };          /* env fields */
enum { SYMBOL_NAME };               /* symbol field */

void lisp_init_types(struct lisp *L) {
  gc_heap *h = L->heap;
  static const gc_kind one_i64[] = {GC_KIND_I64};
  static const gc_kind one_ref[] = {GC_KIND_REF};
  static const gc_kind two_refs[] = {GC_KIND_REF, GC_KIND_REF};
  static const gc_kind three_refs[] = {GC_KIND_REF, GC_KIND_REF, GC_KIND_REF};
  L->number = gc_type_struct(h, "number", 1, one_i64);
  L->string = gc_type_array(h, "string", GC_KIND_I8);
  L->symbol = gc_type_struct(h, "symbol", 1, one_ref);
  L->cons = gc_type_struct(h, "cons", 2, two_refs);
  L->closure = gc_type_struct(h, "closure", 3, three_refs);
  L->primitive = gc_type_struct(h, "primitive", 1, one_i64);
  L->env = gc_type_struct(h, "env", 2, two_refs);
}

bool lisp_is(struct lisp *L, gc_ref v, gc_type type) {
  return v && gc_type_of(L->heap, v) == type;
}

/* ---- Constructors ---------------------------------------------------------
 * Each opens a scope for its arguments, allocates, fills the new object and
 * closes the scope; the result is valid until the caller's next ALLOCATES
 * call. */

ALLOCATES gc_ref lisp_number(struct lisp *L, int64_t n) {
  gc_ref number = gc_new_struct(L->heap, L->number);
  gc_set_i64(L->heap, number, 0, n);
  return number;
}

ALLOCATES gc_ref lisp_string(struct lisp *L, const char *bytes, size_t len) {
  gc_ref string = gc_new_array(L->heap, L->string, len);
  for (size_t i = 0; i < len; i++)
    gc_set_i8(L->heap, string, i, (uint8_t)bytes[i]);
  return string;
}

ALLOCATES gc_ref lisp_cons(struct lisp *L, gc_ref car, gc_ref cdr) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *car_slot = gc_root(h, car);
  gc_ref *cdr_slot = gc_root(h, cdr);
  gc_ref pair = gc_new_struct(h, L->cons);
  gc_set_ref(h, pair, CAR, *car_slot);
  gc_set_ref(h, pair, CDR, *cdr_slot);
  gc_scope_close(h, scope);
  return pair;
}

ALLOCATES gc_ref lisp_closure(struct lisp *L, gc_ref params, gc_ref body,
                              gc_ref env) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *params_slot = gc_root(h, params);
  gc_ref *body_slot = gc_root(h, body);
  gc_ref *env_slot = gc_root(h, env);
  gc_ref closure = gc_new_struct(h, L->closure);
  gc_set_ref(h, closure, PARAMS, *params_slot);
  gc_set_ref(h, closure, BODY, *body_slot);
  gc_set_ref(h, closure, CLOSURE_ENV, *env_slot);
  gc_scope_close(h, scope);
  return closure;
}

ALLOCATES gc_ref lisp_primitive(struct lisp *L, int64_t index) {
  gc_ref primitive = gc_new_struct(L->heap, L->primitive);
  gc_set_i64(L->heap, primitive, 0, index);
  return primitive;
}

ALLOCATES gc_ref lisp_env(struct lisp *L, gc_ref parent) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *parent_slot = gc_root(h, parent);
  gc_ref env = gc_new_struct(h, L->env);
  gc_set_ref(h, env, PARENT, *parent_slot);
  gc_scope_close(h, scope);
  return env;
}

/* Symbols are interned in one list, so two symbols with the same name are
 * the same object and eq? is pointer equality. A linear search is enough
 * for the few hundred names a program uses, and only the reader interns. */
ALLOCATES gc_ref lisp_intern(struct lisp *L, const char *name, size_t len) {
  gc_heap *h = L->heap;
  for (gc_ref list = *L->symbols; list; list = lisp_cdr(L, list)) {
    gc_ref symbol = lisp_car(L, list);
    if (lisp_string_equal(L, lisp_symbol_name(L, symbol), name, len))
      return symbol;
  }
  gc_scope scope = gc_scope_open(h);
  gc_ref *symbol = gc_root(h, lisp_string(L, name, len));
  /* *symbol holds the name until the symbol exists, then the symbol. */
  gc_ref fresh = gc_new_struct(h, L->symbol);
  gc_set_ref(h, fresh, SYMBOL_NAME, *symbol);
  *symbol = fresh;
  *L->symbols = lisp_cons(L, *symbol, *L->symbols);
  gc_ref result = *symbol;
  gc_scope_close(h, scope);
  return result;
}

ALLOCATES gc_ref *lisp_global_symbol(struct lisp *L, const char *name) {
  gc_ref *slot = gc_global(L->heap, NULL);
  *slot = lisp_intern(L, name, strlen(name));
  return slot;
}

/* ---- Accessors (never allocate) ------------------------------------------ */

int64_t lisp_number_value(struct lisp *L, gc_ref number) {
  if (!lisp_is(L, number, L->number))
    lisp_error(L, "not a number");
  return gc_get_i64(L->heap, number, 0);
}

gc_ref lisp_car(struct lisp *L, gc_ref pair) {
  if (!lisp_is(L, pair, L->cons))
    lisp_error(L, "car: not a pair");
  return gc_get_ref(L->heap, pair, CAR);
}

gc_ref lisp_cdr(struct lisp *L, gc_ref pair) {
  if (!lisp_is(L, pair, L->cons))
    lisp_error(L, "cdr: not a pair");
  return gc_get_ref(L->heap, pair, CDR);
}

void lisp_set_car(struct lisp *L, gc_ref pair, gc_ref v) {
  if (!lisp_is(L, pair, L->cons))
    lisp_error(L, "set-car!: not a pair");
  gc_set_ref(L->heap, pair, CAR, v);
}

void lisp_set_cdr(struct lisp *L, gc_ref pair, gc_ref v) {
  if (!lisp_is(L, pair, L->cons))
    lisp_error(L, "set-cdr!: not a pair");
  gc_set_ref(L->heap, pair, CDR, v);
}

gc_ref lisp_symbol_name(struct lisp *L, gc_ref symbol) {
  if (!lisp_is(L, symbol, L->symbol))
    lisp_error(L, "not a symbol");
  return gc_get_ref(L->heap, symbol, SYMBOL_NAME);
}

bool lisp_string_equal(struct lisp *L, gc_ref string, const char *bytes,
                       size_t len) {
  if (gc_array_len(L->heap, string) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (gc_get_i8(L->heap, string, i) != (uint8_t)bytes[i])
      return false;
  return true;
}

void lisp_string_copy(struct lisp *L, gc_ref string, char *buf,
                      size_t bufsize) {
  size_t len = gc_array_len(L->heap, string);
  if (len >= bufsize)
    len = bufsize - 1;
  for (size_t i = 0; i < len; i++)
    buf[i] = (char)gc_get_i8(L->heap, string, i);
  buf[len] = '\0';
}

size_t lisp_list_length(struct lisp *L, gc_ref list) {
  size_t n = 0;
  for (; list; list = lisp_cdr(L, list))
    n++;
  return n;
}

gc_ref lisp_closure_params(struct lisp *L, gc_ref closure) {
  assert(lisp_is(L, closure, L->closure));
  return gc_get_ref(L->heap, closure, PARAMS);
}

gc_ref lisp_closure_body(struct lisp *L, gc_ref closure) {
  assert(lisp_is(L, closure, L->closure));
  return gc_get_ref(L->heap, closure, BODY);
}

gc_ref lisp_closure_env(struct lisp *L, gc_ref closure) {
  assert(lisp_is(L, closure, L->closure));
  return gc_get_ref(L->heap, closure, CLOSURE_ENV);
}

int64_t lisp_primitive_index(struct lisp *L, gc_ref primitive) {
  assert(lisp_is(L, primitive, L->primitive));
  return gc_get_i64(L->heap, primitive, 0);
}

/* ---- Environments ---------------------------------------------------------
 * An env's bindings are a list of (symbol . value) pairs, newest first; a
 * closure keeps its defining env, so a recursive function's env holds the
 * closure that holds the env: the cycle every collector must handle. */

gc_ref lisp_lookup(struct lisp *L, gc_ref env, gc_ref symbol) {
  for (; env; env = gc_get_ref(L->heap, env, PARENT))
    for (gc_ref b = gc_get_ref(L->heap, env, BINDINGS); b;
         b = gc_get_ref(L->heap, b, CDR)) {
      gc_ref binding = gc_get_ref(L->heap, b, CAR);
      if (gc_get_ref(L->heap, binding, CAR) == symbol)
        return binding;
    }
  return NULL;
}

ALLOCATES void lisp_define(struct lisp *L, gc_ref env, gc_ref symbol,
                           gc_ref value) {
  gc_heap *h = L->heap;
  /* Redefining in the same env updates the binding in place. */
  for (gc_ref b = gc_get_ref(h, env, BINDINGS); b; b = gc_get_ref(h, b, CDR)) {
    gc_ref binding = gc_get_ref(h, b, CAR);
    if (gc_get_ref(h, binding, CAR) == symbol) {
      gc_set_ref(h, binding, CDR, value);
      return;
    }
  }
  gc_scope scope = gc_scope_open(h);
  gc_ref *env_slot = gc_root(h, env);
  gc_ref *binding = gc_root(h, lisp_cons(L, symbol, value));
  gc_ref bindings = lisp_cons(L, *binding, gc_get_ref(h, *env_slot, BINDINGS));
  gc_set_ref(h, *env_slot, BINDINGS, bindings);
  gc_scope_close(h, scope);
}
