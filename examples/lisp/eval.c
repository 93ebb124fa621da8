/* eval.c — the evaluator. Special forms: quote, if, define, set!, lambda,
 * begin, let, and, or, cond. The empty list () is false, anything else true.
 *
 * lisp_eval keeps everything it needs across allocations in five root
 * slots (expr, env, fn, args, value) opened once per call. A call in tail
 * position (the branch of an if, the last form of a body) does not recurse:
 * it replaces *expr and *env and loops, so a tail-recursive Lisp loop runs
 * in constant C stack and constant root slots. After any ALLOCATES call the
 * code re-reads what it needs from the slots, never from a C variable read
 * before the call. */
#include "lisp.h"

static gc_ref second(struct lisp *L, gc_ref list) {
  return lisp_car(L, lisp_cdr(L, list));
}

static gc_ref rest2(struct lisp *L, gc_ref list) {
  return lisp_cdr(L, lisp_cdr(L, list));
}

/* Evaluates every form of body but the last and returns the last form
 * (unevaluated), for the caller to evaluate in tail position. */
static ALLOCATES gc_ref eval_all_but_last(struct lisp *L, gc_ref body,
                                          gc_ref env) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *cursor = gc_root(h, body);
  gc_ref *env_slot = gc_root(h, env);
  while (*cursor && lisp_cdr(L, *cursor)) {
    lisp_eval(L, lisp_car(L, *cursor), *env_slot);
    *cursor = lisp_cdr(L, *cursor);
  }
  gc_ref last = *cursor ? lisp_car(L, *cursor) : NULL;
  gc_scope_close(h, scope);
  return last;
}

/* A fresh list of the values of the forms in list. */
static ALLOCATES gc_ref eval_list(struct lisp *L, gc_ref list, gc_ref env) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *cursor = gc_root(h, list);
  gc_ref *env_slot = gc_root(h, env);
  gc_ref *head = gc_root(h, NULL);
  gc_ref *last = gc_root(h, NULL);
  gc_ref *item = gc_root(h, NULL);
  for (; *cursor; *cursor = lisp_cdr(L, *cursor)) {
    *item = lisp_eval(L, lisp_car(L, *cursor), *env_slot);
    *item = lisp_cons(L, *item, NULL);
    if (*last)
      lisp_set_cdr(L, *last, *item);
    else
      *head = *item;
    *last = *item;
  }
  gc_ref result = *head;
  gc_scope_close(h, scope);
  return result;
}

/* The environment of a call: the closure's env extended with its
 * parameters bound to args. A symbol as the parameter list, or as the tail
 * of a dotted one, takes the remaining arguments as a list. */
static ALLOCATES gc_ref bind_params(struct lisp *L, gc_ref closure,
                                    gc_ref args) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *closure_slot = gc_root(h, closure);
  gc_ref *args_slot = gc_root(h, args);
  gc_ref *frame = gc_root(h, lisp_env(L, lisp_closure_env(L, *closure_slot)));
  gc_ref *params = gc_root(h, lisp_closure_params(L, *closure_slot));
  for (; lisp_is(L, *params, L->cons); *params = lisp_cdr(L, *params)) {
    if (!*args_slot)
      lisp_error(L, "too few arguments");
    lisp_define(L, *frame, lisp_car(L, *params), lisp_car(L, *args_slot));
    *args_slot = lisp_cdr(L, *args_slot);
  }
  if (*params)
    lisp_define(L, *frame, *params, *args_slot);
  else if (*args_slot)
    lisp_error(L, "too many arguments");
  gc_ref result = *frame;
  gc_scope_close(h, scope);
  return result;
}

ALLOCATES gc_ref lisp_apply(struct lisp *L, gc_ref fn, gc_ref args) {
  gc_heap *h = L->heap;
  if (lisp_is(L, fn, L->primitive))
    return lisp_call_primitive(L, lisp_primitive_index(L, fn), args);
  if (!lisp_is(L, fn, L->closure))
    lisp_error(L, "apply: not a function");
  gc_scope scope = gc_scope_open(h);
  gc_ref *body = gc_root(h, lisp_closure_body(L, fn));
  gc_ref *env = gc_root(h, bind_params(L, fn, args));
  gc_ref *last = gc_root(h, eval_all_but_last(L, *body, *env));
  gc_ref result = lisp_eval(L, *last, *env);
  gc_scope_close(h, scope);
  return result;
}

/* The slots of one lisp_eval call. */
struct frame {
  gc_ref *expr, *env, *fn, *args, *value;
};

/* (let ((name init) ...) body...): the inits are evaluated in the outer env,
 * then bound in a new one. Leaves the new env in *f->env and the body's last
 * form in *f->expr. */
static ALLOCATES void eval_let(struct lisp *L, struct frame *f) {
  *f->fn = lisp_env(L, *f->env); /* fn holds the new frame for a while */
  for (*f->args = second(L, *f->expr); *f->args;
       *f->args = lisp_cdr(L, *f->args)) {
    gc_ref binding = lisp_car(L, *f->args);
    *f->value = lisp_eval(L, second(L, binding), *f->env);
    lisp_define(L, *f->fn, lisp_car(L, lisp_car(L, *f->args)), *f->value);
  }
  *f->env = *f->fn;
  *f->expr = eval_all_but_last(L, rest2(L, *f->expr), *f->env);
}

/* (define name value) or (define (name . params) body...). */
static ALLOCATES void eval_define(struct lisp *L, struct frame *f) {
  gc_ref target = second(L, *f->expr);
  if (lisp_is(L, target, L->cons)) {
    *f->value =
        lisp_closure(L, lisp_cdr(L, target), rest2(L, *f->expr), *f->env);
    target = lisp_car(L, second(L, *f->expr)); /* re-read: it may move */
  } else {
    *f->value = lisp_eval(L, second(L, lisp_cdr(L, *f->expr)), *f->env);
    target = second(L, *f->expr);
  }
  if (!lisp_is(L, target, L->symbol))
    lisp_error(L, "define: not a name");
  lisp_define(L, *f->env, target, *f->value);
  *f->value = second(L, *f->expr); /* the name, or (name . params) */
  if (lisp_is(L, *f->value, L->cons))
    *f->value = lisp_car(L, *f->value);
}

static ALLOCATES void eval_set(struct lisp *L, struct frame *f) {
  *f->value = lisp_eval(L, second(L, lisp_cdr(L, *f->expr)), *f->env);
  gc_ref binding = lisp_lookup(L, *f->env, second(L, *f->expr));
  if (!binding)
    lisp_error(L, "set!: unbound variable");
  lisp_set_cdr(L, binding, *f->value);
}

/* (cond (test body...) ... (else body...)): leaves the chosen body's last
 * form in *f->expr, or returns false when no clause applies. */
static ALLOCATES bool eval_cond(struct lisp *L, struct frame *f) {
  for (*f->args = lisp_cdr(L, *f->expr); *f->args;
       *f->args = lisp_cdr(L, *f->args)) {
    gc_ref test = lisp_car(L, lisp_car(L, *f->args));
    if (test != *L->s_else) {
      *f->value = lisp_eval(L, test, *f->env);
      if (!*f->value)
        continue;
    }
    *f->expr =
        eval_all_but_last(L, lisp_cdr(L, lisp_car(L, *f->args)), *f->env);
    return true;
  }
  return false;
}

ALLOCATES gc_ref lisp_eval(struct lisp *L, gc_ref expr, gc_ref env) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  struct frame f = {gc_root(h, expr), gc_root(h, env), gc_root(h, NULL),
                    gc_root(h, NULL), gc_root(h, NULL)};
  for (;;) {
    gc_ref e = *f.expr; /* valid until the next ALLOCATES call */
    if (lisp_is(L, e, L->symbol)) {
      gc_ref binding = lisp_lookup(L, *f.env, e);
      if (!binding) {
        char name[64];
        lisp_string_copy(L, lisp_symbol_name(L, e), name, sizeof name);
        lisp_error(L, "unbound variable: %s", name);
      }
      *f.value = lisp_cdr(L, binding);
      break;
    }
    if (!lisp_is(L, e, L->cons)) { /* numbers, strings, () evaluate to self */
      *f.value = e;
      break;
    }
    gc_ref op = lisp_car(L, e);
    if (op == *L->s_quote) {
      *f.value = second(L, e);
      break;
    } else if (op == *L->s_if) {
      *f.value = lisp_eval(L, second(L, e), *f.env);
      gc_ref branches = rest2(L, *f.expr);
      *f.expr = *f.value ? lisp_car(L, branches)
                         : (lisp_cdr(L, branches) ? second(L, branches) : NULL);
      continue;
    } else if (op == *L->s_define) {
      eval_define(L, &f);
      break;
    } else if (op == *L->s_set) {
      eval_set(L, &f);
      break;
    } else if (op == *L->s_lambda) {
      *f.value = lisp_closure(L, second(L, e), rest2(L, e), *f.env);
      break;
    } else if (op == *L->s_begin) {
      *f.expr = eval_all_but_last(L, lisp_cdr(L, e), *f.env);
      continue;
    } else if (op == *L->s_let) {
      eval_let(L, &f);
      continue;
    } else if (op == *L->s_and || op == *L->s_or) {
      /* All but the last operand here; the last in tail position. */
      bool is_and = op == *L->s_and;
      *f.value = *L->s_t; /* (and) is true, (or) false */
      if (!is_and)
        *f.value = NULL;
      for (*f.args = lisp_cdr(L, e); *f.args && lisp_cdr(L, *f.args);
           *f.args = lisp_cdr(L, *f.args)) {
        *f.value = lisp_eval(L, lisp_car(L, *f.args), *f.env);
        if (is_and ? !*f.value : *f.value != NULL)
          break;
      }
      if (!*f.args || lisp_cdr(L, *f.args))
        break; /* no operands, or decided early: *f.value is the result */
      *f.expr = lisp_car(L, *f.args);
      continue;
    } else if (op == *L->s_cond) {
      if (eval_cond(L, &f))
        continue;
      *f.value = NULL;
      break;
    }
    /* An application: the operator, then the operands, left to right. */
    *f.fn = lisp_eval(L, op, *f.env);
    *f.args = eval_list(L, lisp_cdr(L, *f.expr), *f.env);
    if (lisp_is(L, *f.fn, L->primitive)) {
      *f.value =
          lisp_call_primitive(L, lisp_primitive_index(L, *f.fn), *f.args);
      break;
    }
    if (!lisp_is(L, *f.fn, L->closure))
      lisp_error(L, "not a function");
    *f.env = bind_params(L, *f.fn, *f.args);
    *f.expr = eval_all_but_last(L, lisp_closure_body(L, *f.fn), *f.env);
  }
  gc_ref result = *f.value;
  gc_scope_close(h, scope);
  return result;
}
