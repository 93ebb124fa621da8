/* lisp.h — a small Lisp whose every value lives in a gcheap heap.
 *
 * Values: nil is the null reference; numbers are "number" structs (one I64),
 * strings are "string" arrays of I8, symbols are "symbol" structs holding
 * their name string (interned: one symbol per name, compared by identity),
 * pairs are "cons" structs (car, cdr), functions are "closure" structs
 * (parameters, body, environment) or "primitive" structs (an index into the
 * table of built-ins), environments are "env" structs (a list of (symbol .
 * value) bindings, the enclosing env).
 *
 * The rooting rule, which every function in this interpreter keeps:
 *   A gc_ref in a C variable is valid only until the next call that may
 *   allocate (any gc_new_*, gc_collect, and so every function here marked
 *   ALLOCATES). A value that must survive such a call lives in a root slot
 *   (gc_root, or a global) and is re-read from the slot after the call,
 *   because a moving collector may have moved it.
 * Two consequences shape the code:
 *   - ALLOCATES functions root their gc_ref arguments before allocating, so
 *     a caller may pass values it just read from slots;
 *   - never pass the result of an ALLOCATES call in the same argument list
 *     as a value read from a slot (C leaves the order of evaluation open, so
 *     the read may happen before the allocation moved the object). Assign
 *     the result to a slot first.
 */
#ifndef LISP_H
#define LISP_H

#include <gcheap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ALLOCATES /* marks a function that may allocate, so may move objects   \
                   */

struct lisp {
  gc_heap *heap;
  gc_type number, string, symbol, cons, closure, primitive, env;
  gc_ref *symbols;    /* global slot: the list of every interned symbol */
  gc_ref *global_env; /* global slot: the top-level environment */
  /* Global slots holding the symbols the evaluator recognises. */
  gc_ref *s_quote, *s_if, *s_define, *s_set, *s_lambda, *s_begin, *s_let,
      *s_and, *s_or, *s_cond, *s_else, *s_t;
  FILE *out;
};

/* ---- values.c: types, constructors, accessors ------------------------- */
void lisp_init_types(struct lisp *L);
ALLOCATES gc_ref lisp_number(struct lisp *L, int64_t n);
ALLOCATES gc_ref lisp_string(struct lisp *L, const char *bytes, size_t len);
ALLOCATES gc_ref lisp_intern(struct lisp *L, const char *name, size_t len);
ALLOCATES gc_ref lisp_cons(struct lisp *L, gc_ref car, gc_ref cdr);
ALLOCATES gc_ref lisp_closure(struct lisp *L, gc_ref params, gc_ref body,
                              gc_ref env);
ALLOCATES gc_ref lisp_primitive(struct lisp *L, int64_t index);
ALLOCATES gc_ref lisp_env(struct lisp *L, gc_ref parent);
/* A global slot holding the interned symbol NAME. */
ALLOCATES gc_ref *lisp_global_symbol(struct lisp *L, const char *name);

bool lisp_is(struct lisp *L, gc_ref v, gc_type type);
int64_t lisp_number_value(struct lisp *L, gc_ref number);
gc_ref lisp_car(struct lisp *L, gc_ref pair);
gc_ref lisp_cdr(struct lisp *L, gc_ref pair);
void lisp_set_car(struct lisp *L, gc_ref pair, gc_ref v);
void lisp_set_cdr(struct lisp *L, gc_ref pair, gc_ref v);
/* The name of a symbol (a string). */
gc_ref lisp_symbol_name(struct lisp *L, gc_ref symbol);
bool lisp_string_equal(struct lisp *L, gc_ref string, const char *bytes,
                       size_t len);
/* Copies string into buf as a C string, cut to fit bufsize. */
void lisp_string_copy(struct lisp *L, gc_ref string, char *buf, size_t bufsize);
size_t lisp_list_length(struct lisp *L, gc_ref list);
gc_ref lisp_closure_params(struct lisp *L, gc_ref closure);
gc_ref lisp_closure_body(struct lisp *L, gc_ref closure);
gc_ref lisp_closure_env(struct lisp *L, gc_ref closure);
int64_t lisp_primitive_index(struct lisp *L, gc_ref primitive);

/* ---- env: bindings ----------------------------------------------------- */
/* The binding cell (symbol . value) of symbol in env or an enclosing env,
 * or NULL. */
gc_ref lisp_lookup(struct lisp *L, gc_ref env, gc_ref symbol);
ALLOCATES void lisp_define(struct lisp *L, gc_ref env, gc_ref symbol,
                           gc_ref value);

/* ---- read.c, print.c ----------------------------------------------------- */
/* Reads the next datum from *text (advancing it). Returns false at the end
 * of the text; a syntax error calls lisp_error. */
ALLOCATES bool lisp_read(struct lisp *L, const char **text, gc_ref *datum);
/* display (write = false) or write (strings quoted). Never allocates. */
void lisp_print(struct lisp *L, gc_ref v, bool write);

/* ---- eval.c, builtins.c -------------------------------------------------- */
ALLOCATES gc_ref lisp_eval(struct lisp *L, gc_ref expr, gc_ref env);
/* Applies a closure or primitive to a list of evaluated arguments. */
ALLOCATES gc_ref lisp_apply(struct lisp *L, gc_ref fn, gc_ref args);
ALLOCATES void lisp_install_builtins(struct lisp *L);
ALLOCATES gc_ref lisp_call_primitive(struct lisp *L, int64_t index,
                                     gc_ref args);

/* Reports a Lisp error (not a heap trap) and ends the program, status 1. */
_Noreturn void lisp_error(struct lisp *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The heap and the interpreter's global slots are released. */
void lisp_shutdown(struct lisp *L);

#endif
